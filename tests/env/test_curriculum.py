"""The env-facing curriculum: levels and their moves, bad ladders and levels, the hint through the ``prefix``
reset option taking effect at the next reset, and tasks at other lengths sharing the teacher."""

from __future__ import annotations

import numpy as np
import pytest

from seqreward_env import SequenceEnv, SequenceTask
from seqreward_env.curriculum import AXES, Curriculum, CurriculumWrapper, contexts_above_floor, hint_prefixes, task_at

TASK = {"seq_len": 5, "vocab_size": 3, "context_dim": 4, "num_components": 4}


def test_increment_and_decrement_walk_the_ladders_and_stop_at_their_ends() -> None:
    curriculum = Curriculum({"hint": (4, 2, 0), "sigma": (0.01, 0.1)})
    assert curriculum.settings() == {**{axis: None for axis in AXES}, "hint": 4, "sigma": 0.01}
    assert curriculum.increment("hint") and curriculum.levels == {"hint": 1, "sigma": 0}
    assert curriculum.increment() and curriculum.levels == {"hint": 2, "sigma": 1}  # every axis, as a global level
    assert curriculum.at_hardest and not curriculum.increment()
    assert curriculum.decrement("sigma") and curriculum.settings()["sigma"] == 0.01
    assert curriculum.decrement() and curriculum.levels == {"hint": 1, "sigma": 0}
    assert curriculum.decrement() and not curriculum.decrement()
    restored = Curriculum({"hint": (4, 2, 0), "sigma": (0.01, 0.1)})
    curriculum.increment("hint")
    restored.load_state_dict(curriculum.state_dict())
    assert restored.levels == curriculum.levels == {"hint": 1, "sigma": 0}


@pytest.mark.parametrize(
    ("ladders", "levels", "message"),
    [
        ({"hint": (2, 0)}, {"hint": 2}, r"level of 'hint' must lie in \[0, 1\]"),
        ({"hint": (2, 0)}, {"hint": -1}, r"level of 'hint' must lie in \[0, 1\]"),
        ({"depth": (1, 2)}, None, "axes \\['depth'\\] are unknown"),
        ({"hint": ()}, None, "ladder of 'hint' must be a non-empty sequence"),
        ({"hint": (1.5,)}, None, "ladder of 'hint' must hold integers >= 0"),
        ({"margin": (0.1, -0.1)}, None, "ladder of 'margin' must hold finite numbers > 0"),
        ({"likelihood_floor": (1.0,)}, None, r"floors in \[0, 1\)"),
    ],
)
def test_a_bad_ladder_or_level_is_refused_naming_the_axis(ladders: dict, levels: dict | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Curriculum(ladders, levels)


def test_a_hint_not_shorter_than_n_is_refused() -> None:
    task = SequenceTask(**TASK)
    with pytest.raises(ValueError, match="hint of 5 tokens is not shorter than N=5"):
        Curriculum({"hint": (5, 0)}).check_task(task)
    with pytest.raises(ValueError, match="hint of 3 tokens is not shorter than N=3"):
        Curriculum({"hint": (3, 0), "seq_len": (3, 5)}).check_task(task)
    with pytest.raises(ValueError, match="hint must be shorter than N=5"):
        hint_prefixes(task, task.sample_contexts(np.random.default_rng(0), 2), 5)


def test_a_level_change_takes_effect_at_the_next_reset_not_mid_episode() -> None:
    curriculum = Curriculum({"hint": (3, 1)})
    env = CurriculumWrapper(SequenceEnv(**TASK), curriculum)
    observation, info = env.reset(seed=0)
    task = env.unwrapped.task  # type: ignore[attr-defined]
    target = task.targets(observation["context"][None])[0]
    assert observation["position"] == 3 and list(observation["tokens"][:3]) == list(target[:3])
    assert info["curriculum_levels"] == {"hint": 0}
    curriculum.increment()
    observation, *_ = env.step(target[3])  # the episode under way keeps its hint
    assert observation["position"] == 4
    observation, info = env.reset()
    target = task.targets(observation["context"][None])[0]
    assert observation["position"] == 1 and observation["tokens"][0] == target[0]
    assert info["curriculum_levels"] == {"hint": 1}
    # The hint costs no query: the first episode was left before its end (no query), the second costs one.
    for token in target[1:]:
        *_, terminated, _, step_info = env.step(token)
    assert terminated and step_info["is_success"] and env.unwrapped.total_reward_queries == 1  # type: ignore[attr-defined]


def test_the_same_seed_gives_the_same_hinted_episode() -> None:
    first = CurriculumWrapper(SequenceEnv(**TASK), Curriculum({"hint": (2,)})).reset(seed=7)[0]
    second = CurriculumWrapper(SequenceEnv(**TASK), Curriculum({"hint": (2,)})).reset(seed=7)[0]
    np.testing.assert_array_equal(first["context"], second["context"])
    np.testing.assert_array_equal(first["tokens"], second["tokens"])


def test_task_at_keeps_the_teacher_and_changes_only_the_asked_axes() -> None:
    task = SequenceTask(**TASK, margin=0.02, reward="process")
    shorter = task_at(task, {"seq_len": 3, "sigma": 0.2})
    x = task.sample_contexts(np.random.default_rng(1), 16)
    np.testing.assert_array_equal(shorter.targets(x), task.targets(x)[:, :3])  # y* of the short task is a prefix
    assert (shorter.seq_len, shorter.distribution.sigma, shorter.margin_condition, shorter.reward) == (  # type: ignore[attr-defined]
        3,
        0.2,
        0.02,
        "process",
    )


def test_contexts_above_the_floor_have_that_base_likelihood() -> None:
    task = SequenceTask(**TASK)
    scores = lambda x: np.abs(x[:, 0]) / 2.0  # noqa: E731  (a stand-in likelihood in [0, 1])
    contexts, drawn = contexts_above_floor(task, np.random.default_rng(0), 8, scores, 0.5)
    assert contexts.shape == (8, 4) and drawn >= 8 and (scores(contexts) >= 0.5).all()
    every, drawn = contexts_above_floor(task, np.random.default_rng(0), 8, scores, 0.0)
    assert drawn == 8
