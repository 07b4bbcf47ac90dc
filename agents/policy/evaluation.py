"""Exact evaluation of any policy during training (teacher-forced p(y*|x), batched): test error, tracked
contexts' likelihoods, LQ, token-level LQ, the mean next-token probability of y*, the share of test
positions where the policy is all but deterministic on a wrong token, and the field's measures of what it
reaches: exact pass@k, Cover@tau and greedy exact match (``agents.policy.coverage``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from agents.policy.coverage import (
    COVER_TAUS,
    PASS_AT_K,
    check_ks,
    check_taus,
    cover_at,
    coverage_metrics,
    pass_at_k,
    sampled_pass_at_k,
)
from agents.policy.linear import LinearPolicy
from agents.policy.network_policy import Policy
from seqreward_env import SequenceTask, likelihood_quantile, linear_token_log_probs

__all__ = [
    "COVER_TAUS",
    "PASS_AT_K",
    "LinearEvaluator",
    "PolicyEvaluator",
    "confidently_wrong_share",
    "cover_at",
    "greedy_decode",
    "greedy_exact_match",
    "pass_at_k",
    "policy_token_log_probs",
    "sampled_pass_at_k",
]


class PolicyEvaluator:
    """Computes the task's exact metrics of a policy (linear: in float64 closed form; network: teacher-forced
    in batches), with the test set's targets computed once.

    Args:
        task: the task (its fixed test set: the given one, else drawn from its seed).
        test_size: number of test contexts taken from the task's test set (ignored with ``test_contexts``).
        tracked: optional ``(M, d)`` contexts whose likelihoods are logged one by one (e.g. the centres).
        off_support: optional indices into ``tracked`` whose mean likelihood is logged as
            ``eval/off_support_likelihood``.
        lq_eps: eps of the logged likelihood quantiles.
        test_contexts: optional ``(n, d)`` test set to use instead of the task's.
        pass_at_k: the k of the logged exact ``eval/pass@k``.
        cover_taus: the tau of the logged ``eval/cover@tau``.
    """

    def __init__(
        self,
        task: SequenceTask,
        test_size: int = 1024,
        tracked: np.ndarray | None = None,
        off_support: np.ndarray | None = None,
        lq_eps: float = 0.1,
        test_contexts: np.ndarray | None = None,
        pass_at_k: Sequence[int] = PASS_AT_K,
        cover_taus: Sequence[float] = COVER_TAUS,
    ) -> None:
        self.task = task
        self.pass_at_k, self.cover_taus = check_ks(pass_at_k, "pass_at_k"), check_taus(cover_taus, "cover_taus")
        if test_contexts is None:
            self.test_contexts = task.test_contexts(test_size)
        else:
            self.test_contexts = task.check_context("test_contexts", test_contexts).reshape(-1, task.context_dim)
        self.test_targets = task.targets(self.test_contexts)
        self.tracked = tracked
        self.tracked_targets = None if tracked is None else task.targets(tracked)
        self.off_support = None if off_support is None else np.asarray(off_support, dtype=np.int64)
        self.lq_eps = lq_eps

    def token_log_probs(self, policy: Policy) -> np.ndarray:
        """log p(y*_i | x, y*_<i) on the test set: ``(test_size, N)``."""
        return policy_token_log_probs(policy, self.test_contexts, self.test_targets)

    def tracked_likelihoods(self, policy: Policy) -> np.ndarray:
        """p(y*|x) of the tracked contexts: ``(M,)``."""
        if self.tracked is None or self.tracked_targets is None:
            return np.zeros(0)
        return np.exp(policy_token_log_probs(policy, self.tracked, self.tracked_targets).sum(axis=1))

    def __call__(self, policy: Policy) -> dict[str, Any]:
        token_log_probs = self.token_log_probs(policy)
        likelihoods = np.exp(token_log_probs.sum(axis=1))
        metrics: dict[str, Any] = {
            "eval/test_error": self.task.test_error(likelihoods),
            "eval/likelihood_quantile": likelihood_quantile(likelihoods, self.lq_eps),
            "eval/token_likelihood_quantile": likelihood_quantile(np.exp(token_log_probs.min(axis=1)), self.lq_eps),
            # the mean over test contexts and positions of p(y*_i | x, y*_<i): the model's quality per token
            "eval/mean_token_probability": float(np.exp(token_log_probs).mean()),
        }
        # positions where the policy all but always writes a wrong token (a collapse shows here), and whether
        # its greedy decode is y*: one teacher-forced pass gives both
        wrong, greedy = teacher_forced_argmax(policy, self.test_contexts, self.test_targets)
        metrics["eval/confidently_wrong"] = wrong
        metrics["eval/greedy_exact_match"] = greedy
        metrics.update(coverage_metrics(token_log_probs.sum(axis=1), self.pass_at_k, self.cover_taus, strict=False))
        if self.tracked is not None:
            tracked = self.tracked_likelihoods(policy)
            metrics["eval/tracked_likelihood"] = tracked.tolist()
            metrics["eval/tracked_likelihood_mean"] = float(tracked.mean())
            if self.off_support is not None and self.off_support.size:
                metrics["eval/off_support_likelihood"] = float(tracked[self.off_support].mean())
        return metrics


CONFIDENT = 0.99
"""A next-token distribution this concentrated on one token counts as deterministic."""


def confidently_wrong_share(
    policy: Policy, contexts: np.ndarray, targets: np.ndarray, confident: float = CONFIDENT, chunk: int = 4096
) -> float:
    """The share of (context, position) pairs, teacher-forced along the targets ``(n, N)`` at contexts
    ``(n, d)``, where the policy gives a token other than y*_i a probability of at least ``confident``."""
    return teacher_forced_argmax(policy, contexts, targets, confident, chunk)[0]


def teacher_forced_argmax(
    policy: Policy, contexts: np.ndarray, targets: np.ndarray, confident: float = CONFIDENT, chunk: int = 4096
) -> tuple[float, float]:
    """From one teacher-forced pass along the targets ``(n, N)`` at contexts ``(n, d)``: the share of
    (context, position) pairs where a wrong token has probability >= ``confident`` (``confidently_wrong_share``)
    and the greedy exact match, the share of contexts whose greedy decode is the target.

    Greedy decoding writes y* exactly when, at every position, the most probable token after the prefix
    y*_<i is y*_i (then the prefix it wrote is y*_<i): so the teacher-forced argmax decides it, with the
    decode's tie rule (the first most probable token, as ``greedy_decode``)."""
    wrong, exact = 0, 0
    with torch.no_grad():
        for start in range(0, len(contexts), chunk):
            x = torch.as_tensor(contexts[start : start + chunk], device=policy.device)
            y = torch.as_tensor(targets[start : start + chunk], device=policy.device)
            probs = policy.token_probs(x, y).double()
            top, token = probs.max(dim=-1)  # indices of the first maximal value, as argmax's
            wrong += int(((top >= confident) & (token != y)).sum())
            exact += int((token == y).all(dim=1).sum())
    return wrong / max(1, targets.size), exact / max(1, len(targets))


def greedy_decode(policy: Policy, contexts: np.ndarray, seq_len: int) -> np.ndarray:
    """The policy's greedy responses ``(n, N)`` int64 for contexts ``(n, d)``: the most probable token at
    every step (the first of equals), written autoregressively through ``begin``/``next_probs`` (the
    rollout's interface, with the transformer's key-value cache)."""
    with torch.no_grad():
        x = torch.as_tensor(np.asarray(contexts, dtype=np.float32), device=policy.device)
        cache = policy.begin(x)
        previous: torch.Tensor | None = None
        tokens = []
        for _ in range(seq_len):
            previous = policy.next_probs(cache, previous).argmax(dim=-1)
            tokens.append(previous)
    return torch.stack(tokens, dim=1).cpu().numpy().astype(np.int64)


def greedy_exact_match(policy: Policy, contexts: np.ndarray, targets: np.ndarray) -> float:
    """The share of contexts ``(n, d)`` whose greedy decode is the target ``(n, N)`` (exact, one teacher-forced
    pass; ``greedy_decode`` writes the responses themselves)."""
    if len(contexts) == 0:
        raise ValueError("contexts must hold at least one context, got an empty array")
    return teacher_forced_argmax(policy, contexts, targets)[1]


LinearEvaluator = PolicyEvaluator
"""The name this evaluator had when only the linear policy existed."""


def policy_token_log_probs(policy: Policy, contexts: np.ndarray, targets: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """log p(y_i | x, y_<i) of ``(n, N)`` targets, float64 ``(n, N)``: exact in float64 for the linear
    policy, teacher-forced in chunks of ``chunk`` rows for a network."""
    if isinstance(policy, LinearPolicy):
        w1, w2 = policy.as_numpy()
        return linear_token_log_probs(w1, w2, contexts, targets)
    out = np.empty(targets.shape, dtype=np.float64)
    with torch.no_grad():
        for start in range(0, len(contexts), chunk):
            x = torch.as_tensor(contexts[start : start + chunk], device=policy.device)
            y = torch.as_tensor(targets[start : start + chunk], device=policy.device)
            out[start : start + chunk] = policy.token_log_probs(x, y).double().cpu().numpy()
    return out
