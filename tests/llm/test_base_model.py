"""A base model of chosen weakness: SFT stops at the first evaluation at or below the target test error, and the
model it returns can be copied into independent models (TRL's forward patch removed)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from agents.llm import PromptEncoding, answer_log_probs, sft_base_model, tiny_causal_lm
from seqreward_env import SequenceTask
from tests.llm.conftest import every_context


def test_sft_stops_at_the_target_test_error_and_releases_the_model(
    task: SequenceTask, encoding: PromptEncoding, tokenizer: Any, tmp_path: Path
) -> None:
    every = every_context(task)
    support = every[(every[:, 0] > 0) & (task.margins(every) >= 0.02)]
    model = tiny_causal_lm(encoding, seed=0)
    records = sft_base_model(
        model,
        tokenizer,
        task,
        encoding,
        support,
        str(tmp_path),
        target_test_error=0.9,
        max_steps=200,
        eval_every=5,
        test_size=256,
    )
    errors = [r["eval/test_error"] for r in records]
    assert errors[0] > 0.9 >= errors[-1] and all(e > 0.9 for e in errors[1:-1])
    assert records[-1]["step"] < 200
    x = task.test_contexts(16)
    before = answer_log_probs(model, encoding, x, task.targets(x))
    twin = copy.deepcopy(model)
    with torch.no_grad():
        for parameter in twin.parameters():
            parameter.mul_(0.0)
    np.testing.assert_allclose(answer_log_probs(model, encoding, x, task.targets(x)), before)
    np.testing.assert_allclose(answer_log_probs(twin, encoding, x, task.targets(x)), np.log(0.25), rtol=1e-6)


def test_stop_level_is_checked(task: SequenceTask, encoding: PromptEncoding, tokenizer: Any, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="stop_at_test_error must lie in"):
        sft_base_model(tiny_causal_lm(encoding), tokenizer, task, encoding, task.test_contexts(4), str(tmp_path), 1.5)
