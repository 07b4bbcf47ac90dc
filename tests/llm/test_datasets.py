"""The prompt datasets: training prompts drawn from the run's seed stream (the task's distribution, margin
honoured), the fixed test set in order, exact contexts in a column, and SFT pairs with no end token."""

from __future__ import annotations

import numpy as np
import pytest

from agents.llm import PromptEncoding, prompt_dataset, sft_dataset, test_dataset
from seqreward_env import SequenceTask


def test_prompt_datasets_are_seeded_and_keep_exact_contexts(task: SequenceTask, encoding: PromptEncoding) -> None:
    first, again, other = (prompt_dataset(task, encoding, 64, seed=s) for s in (5, 5, 6))
    assert first["prompt"] == again["prompt"] and first["prompt"] != other["prompt"]
    contexts = np.array(first["context"], dtype=np.float32)
    assert task.margins(contexts).min() >= task.margin_condition
    assert first["prompt"] == encoding.prompt_texts(contexts)
    np.testing.assert_array_equal(np.array(first["target"]), task.targets(contexts))
    with pytest.raises(ValueError, match="num_prompts must be a positive integer"):
        prompt_dataset(task, encoding, 0)


def test_test_dataset_is_the_tasks_test_set(task: SequenceTask, encoding: PromptEncoding) -> None:
    data = test_dataset(task, encoding, 32)
    np.testing.assert_array_equal(np.array(data["context"], dtype=np.float32), task.test_contexts(32))


def test_sft_pairs_hold_prompt_then_y_star_and_mask_the_prompt(task: SequenceTask, encoding: PromptEncoding) -> None:
    x = task.test_contexts(4)
    data = sft_dataset(task, encoding, x)
    ids, mask = np.array(data["input_ids"]), np.array(data["completion_mask"])
    d = task.context_dim
    np.testing.assert_array_equal(ids[:, :d], encoding.prompt_ids(x))
    np.testing.assert_array_equal(ids[:, d:], encoding.response_ids(task.targets(x)))
    assert mask[:, :d].sum() == 0 and mask[:, d:].all()
