"""The TRL pieces of the curriculum: prompts rendered with the hint of the level in force when read, the level
moved by the task reward's record of a step and saved with a checkpoint, and bad settings refused."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from agents.learners.difficulty import DifficultyConfig
from agents.llm import PromptEncoding, outcome_reward_func
from agents.llm.curriculum import CurriculumCallback, DynamicSamplingGRPOTrainer, curriculum_prompt_dataset
from seqreward_env import SequenceTask

ADAPTIVE = DifficultyConfig(curriculum="adaptive", curriculum_ladder=(3, 1, 0), window=2, target_pass_rate=0.5)


def test_prompts_carry_the_hint_of_the_level_in_force_when_read(
    task: SequenceTask, encoding: PromptEncoding, tmp_path: Path
) -> None:
    reward = outcome_reward_func(task, encoding)
    callback = CurriculumCallback(ADAPTIVE, reward)
    data = curriculum_prompt_dataset(task, encoding, 4, callback, seed=2)
    row = data[0]
    words = [encoding.answer_tokens[token] for token in row["target"]]
    assert row["prompt"].endswith(" " + " ".join(words[:3]))
    state = SimpleNamespace(global_step=1, log_history=[])
    args = SimpleNamespace(output_dir=str(tmp_path))
    right = np.full((8, task.seq_len), task.reward_high)
    for step in (1, 2):  # two steps at success rate 1 >= 0.5: one level harder
        reward.last_token_rewards = right
        state.global_step = step
        callback.on_step_end(args, state, None)
    assert callback.hint == 1 and state.log_history[-1]["curriculum/hint"] == 1.0
    assert data[0]["prompt"].endswith(" " + words[0]) and not data[0]["prompt"].endswith(" ".join(words[:2]))
    callback.on_save(args, state, None)
    fresh = CurriculumCallback(ADAPTIVE, reward)
    fresh.load_checkpoint(tmp_path / "checkpoint-2")
    assert fresh.hint == 1 and fresh.schedule.state_dict() == callback.schedule.state_dict()


def test_bad_settings_are_refused(task: SequenceTask, encoding: PromptEncoding) -> None:
    reward = outcome_reward_func(task, encoding)
    with pytest.raises(ValueError, match="curriculum on the 'hint' axis"):
        CurriculumCallback(DifficultyConfig(dynamic_sampling=True), reward)
    with pytest.raises(ValueError, match="hint of 4 tokens is not shorter than N=4"):
        CurriculumCallback(DifficultyConfig(curriculum="fixed", curriculum_ladder=(4, 0)), reward)
    with pytest.raises(ValueError, match="max_refill_batches must be an integer >= 0, got -1"):
        DynamicSamplingGRPOTrainer(model=None, reward_funcs=[reward], max_refill_batches=-1)
