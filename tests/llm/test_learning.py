"""Learning with TRL on a lossless id: from an SFT base of test error 0.6, 100 steps of the per-token PRM trainer
(8 prompts x 8 completions, Adam 3e-4) lower the exact test error by at least 0.05 (measured: 0.595 -> 0.530)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agents.llm import (
    ExactEvalCallback,
    ProcessGRPOTrainer,
    PromptEncoding,
    process_reward_func,
    prompt_dataset,
    sft_base_model,
    tiny_causal_lm,
)
from seqreward_env import SequenceTask
from tests.llm.conftest import grpo_config, kept_contexts


@pytest.mark.slow
def test_per_token_prm_lowers_the_test_error_of_a_weak_base(
    task: SequenceTask, encoding: PromptEncoding, tokenizer: Any, tmp_path: Path
) -> None:
    every = kept_contexts(task)
    model = tiny_causal_lm(encoding, seed=0)
    base = sft_base_model(
        model,
        tokenizer,
        task,
        encoding,
        every[every[:, 0] > 0],
        str(tmp_path / "sft"),
        target_test_error=0.6,
        max_steps=300,
        eval_every=10,
    )
    assert base[-1]["eval/test_error"] <= 0.6
    reward = process_reward_func(task, encoding)
    callback = ExactEvalCallback(task, encoding, eval_every=100, reward_funcs=[reward])
    trainer = ProcessGRPOTrainer(
        model=model,
        reward_funcs=[reward],
        args=grpo_config(
            tmp_path / "prm",
            task.seq_len,
            per_device_train_batch_size=64,
            num_generations=8,
            max_steps=100,
            learning_rate=3e-4,
            lr_scheduler_type="constant",
            logging_steps=100,
        ),
        train_dataset=prompt_dataset(task, encoding, 800, seed=1),
        processing_class=tokenizer,
        callbacks=[callback],
    )
    trainer.train()
    assert callback.records[-1]["eval/test_error"] <= base[-1]["eval/test_error"] - 0.05
    assert reward.reward_queries == 100 * 64 * task.seq_len
