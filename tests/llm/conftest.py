"""What the LLM-stack tests share: the lossless process task, its encoding and tokenizer, and a small
GRPO configuration that trains on CPU in seconds."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("trl")

from transformers import PreTrainedTokenizerFast  # noqa: E402
from trl import GRPOConfig  # noqa: E402

import seqreward_env  # noqa: E402,F401  (registers the ids)
from agents.llm import PromptEncoding, make_tokenizer, task_grpo_config  # noqa: E402
from seqreward_env import SequenceTask  # noqa: E402

ENV_ID = "seqreward/RademacherProcess-v0"


@pytest.fixture(scope="module")
def task() -> SequenceTask:
    return gym.make(ENV_ID).unwrapped.task  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def encoding(task: SequenceTask) -> PromptEncoding:
    return PromptEncoding.for_task(task)


@pytest.fixture(scope="module")
def tokenizer(encoding: PromptEncoding) -> PreTrainedTokenizerFast:
    return make_tokenizer(encoding)


def every_context(task: SequenceTask) -> np.ndarray:
    """Every point of the Rademacher task's {-1, +1}^d, float32 ``(2^d, d)``, margin or not."""
    return np.array(list(itertools.product([-1.0, 1.0], repeat=task.context_dim)), dtype=np.float32)


def kept_contexts(task: SequenceTask) -> np.ndarray:
    """The contexts the task emits: the points of {-1, +1}^d whose margin meets its condition."""
    every = every_context(task)
    return every[task.margins(every) >= task.margin_condition]


def grpo_config(output_dir: Path, seq_len: int, **overrides: Any) -> GRPOConfig:
    """A GRPO configuration for tiny CPU runs: groups of 4, 8 completions per step, 2 steps."""
    settings: dict[str, Any] = {
        "per_device_train_batch_size": 8,
        "num_generations": 4,
        "max_steps": 2,
        "learning_rate": 1e-2,
        "use_cpu": True,
        "seed": 0,
        "logging_steps": 1,
        **overrides,
    }
    return task_grpo_config(seq_len, str(output_dir), **settings)
