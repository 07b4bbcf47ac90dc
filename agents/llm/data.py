"""``datasets.Dataset`` builders over a task: training prompts drawn as the env draws contexts, the fixed test
set, and (prompt, y*) pairs for supervised fine-tuning. Every row keeps its exact context in the ``context``
column (the reward functions score against it, not against the prompt, which may be quantised)."""

from __future__ import annotations

import numpy as np
from datasets import Dataset

from agents.common.seeding import check_seed, stream
from agents.llm.encoding import PromptEncoding
from seqreward_env import SequenceTask


def _check_size(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def training_contexts(task: SequenceTask, num_prompts: int, seed: int) -> np.ndarray:
    """``(num_prompts, d)`` float32 contexts from the task's distribution (margin condition honoured), drawn with
    the stream ``stream(seed, "prompts")`` of ``agents.common.seeding``."""
    rng = np.random.default_rng(stream(check_seed("seed", seed), "prompts"))
    return task.sample_contexts(rng, _check_size("num_prompts", num_prompts))


def contexts_dataset(task: SequenceTask, encoding: PromptEncoding, contexts: np.ndarray) -> Dataset:
    """Columns ``prompt`` (text), ``context`` (the exact context, d floats) and ``target`` (y*, N ints)."""
    contexts = task.check_context("contexts", contexts).reshape(-1, task.context_dim)
    return Dataset.from_dict(
        {
            "prompt": encoding.prompt_texts(contexts),
            "context": contexts.tolist(),
            "target": task.targets(contexts).tolist(),
        }
    )


def prompt_dataset(task: SequenceTask, encoding: PromptEncoding, num_prompts: int, seed: int = 0) -> Dataset:
    """``num_prompts`` training prompts drawn as the env draws contexts (see ``training_contexts``)."""
    return contexts_dataset(task, encoding, training_contexts(task, num_prompts, seed))


def test_dataset(task: SequenceTask, encoding: PromptEncoding, size: int = 1024) -> Dataset:
    """The task's fixed test set (``task.test_contexts(size)``) as prompts."""
    return contexts_dataset(task, encoding, task.test_contexts(_check_size("size", size)))


# pytest would collect ``test_dataset`` as a test wherever it is imported into a test module.
test_dataset.__test__ = False  # type: ignore[attr-defined]


def sft_dataset(task: SequenceTask, encoding: PromptEncoding, contexts: np.ndarray) -> Dataset:
    """(prompt, y*) pairs for TRL's SFTTrainer, already tokenized: ``input_ids`` (prompt then y*'s answer tokens,
    d + N ids) and ``completion_mask`` (1 on y*), so that SFTTrainer adds no end-of-sequence token (the answer
    head gives it no probability) and trains on the answer tokens only."""
    contexts = task.check_context("contexts", contexts).reshape(-1, task.context_dim)
    ids = np.concatenate([encoding.prompt_ids(contexts), encoding.response_ids(task.targets(contexts))], axis=1)
    mask = np.zeros(ids.shape, dtype=np.int64)
    mask[:, task.context_dim :] = 1
    return Dataset.from_dict({"input_ids": ids.tolist(), "completion_mask": mask.tolist()})
