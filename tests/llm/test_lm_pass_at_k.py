"""Exact pass@k, Cover@tau and greedy exact match of a Hugging Face causal LM: the callback's numbers against
the LM's own next-token distributions read through the env's observations (the sampling path) and its greedy
decode written token by token."""

from __future__ import annotations

import numpy as np
import pytest

from agents.learners.sb3.evaluation import greedy_decode
from agents.llm import CausalLMPolicy, ExactEvalCallback, PromptEncoding, tiny_causal_lm
from agents.policy.evaluation import cover_at, greedy_exact_match, pass_at_k
from seqreward_env import SequenceTask


def test_callback_logs_exact_pass_at_k_cover_and_greedy_match(task: SequenceTask, encoding: PromptEncoding) -> None:
    model = tiny_causal_lm(encoding, seed=4)
    x = task.test_contexts(32)
    callback = ExactEvalCallback(task, encoding, test_size=32, pass_at_k=(1, 8, 2**30), cover_taus=(1e-6, 0.5))
    record = callback.evaluate(model, step=0)
    policy = CausalLMPolicy(model, encoding)
    probs = task.policy_token_probabilities(policy.next_token_probs, x)
    log_likelihoods = np.log(probs).sum(axis=1)
    expected = pass_at_k(log_likelihoods, (1, 8, 2**30))
    for k, value in zip((1, 8, 2**30), expected, strict=True):
        assert record[f"eval/pass@{k}"] == pytest.approx(value, rel=1e-4)
    assert record["eval/cover@1e-06"] == pytest.approx(cover_at(np.exp(log_likelihoods), 1e-6))
    decoded = greedy_decode(policy.next_token_probs, task, x)
    assert record["eval/greedy_exact_match"] == pytest.approx(np.all(decoded == task.targets(x), axis=1).mean())
    # the teacher-forced greedy match agrees with the decode on its own responses and on altered ones
    assert greedy_exact_match(policy, x, decoded) == 1.0  # type: ignore[arg-type]
    altered = decoded.copy()
    altered[::2, 0] = (altered[::2, 0] + 1) % task.vocab_size
    assert greedy_exact_match(policy, x, altered) == pytest.approx(0.5)  # type: ignore[arg-type]
