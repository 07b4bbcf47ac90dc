"""reasoning-gym's curriculum of the seqreward dataset: ``create_curriculum("seqreward")`` works, its levels give
configurations whose tasks are the env-side curriculum's settings, and its hint is y*'s prefix."""

from __future__ import annotations

import pytest

pytest.importorskip("reasoning_gym")

from reasoning_gym.factory import create_curriculum  # noqa: E402

from agents.llm.reasoning_gym_tasks import CURRICULUM_LADDERS, SeqrewardConfig, SeqrewardDataset  # noqa: E402


def test_the_curriculum_levels_map_to_the_env_settings() -> None:
    curriculum = create_curriculum("seqreward")
    assert set(curriculum.attributes) == set(CURRICULUM_LADDERS)
    seen = []
    while True:
        config = curriculum.generate_configuration({"size": 4, "seed": 1})
        env_settings = curriculum.as_env_curriculum().settings()
        data = SeqrewardDataset(config)
        assert (data.task.seq_len, data.task.margin_condition, config.hint) == (
            env_settings["seq_len"],
            env_settings["margin"],
            env_settings["hint"],
        )
        for item in data:
            target = item["metadata"]["target"]
            assert len(target) == env_settings["seq_len"]
            words = [data.encoding.answer_tokens[token] for token in target[: config.hint]]
            assert ("The answer begins with: " + " ".join(words) in item["question"]) == (config.hint > 0)
            assert data.score_answer(item["answer"], item) == 1.0
        seen.append((config.hint, config.seq_len, config.margin))
        if not curriculum.increment_global_level():
            break
    assert seen[0] == (2, 3, 0.08) and seen[-1] == (0, 4, 0.02)
    assert curriculum.decrement_attr_level("hint") and curriculum.get_attr_value("hint") == 1
    assert curriculum.as_env_curriculum().levels["hint"] == 1


def test_a_level_outside_the_ladder_and_a_hint_not_shorter_than_n_are_refused() -> None:
    curriculum = create_curriculum("seqreward")
    with pytest.raises(ValueError, match="Invalid level: 3 for attribute 'SeqrewardCurriculum.hint'"):
        curriculum.set_attr_level("hint", 3)
    with pytest.raises(ValueError, match=r"hint must be an integer in \[0, N - 1\] = \[0, 2\], got 3"):
        SeqrewardConfig(hint=3, seq_len=3).validate()
