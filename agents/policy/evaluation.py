"""Exact evaluation of any policy during training (teacher-forced p(y*|x), batched): test error, tracked
contexts' likelihoods, LQ, token-level LQ, the mean next-token probability of y* and the share of test
positions where the policy is all but deterministic on a wrong token."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from agents.policy.linear import LinearPolicy
from agents.policy.network_policy import Policy
from seqreward_env import SequenceTask, likelihood_quantile, linear_token_log_probs


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
    """

    def __init__(
        self,
        task: SequenceTask,
        test_size: int = 1024,
        tracked: np.ndarray | None = None,
        off_support: np.ndarray | None = None,
        lq_eps: float = 0.1,
        test_contexts: np.ndarray | None = None,
    ) -> None:
        self.task = task
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
            # positions where the policy all but always writes a wrong token (a collapse shows here)
            "eval/confidently_wrong": confidently_wrong_share(policy, self.test_contexts, self.test_targets),
        }
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
    wrong = 0
    with torch.no_grad():
        for start in range(0, len(contexts), chunk):
            x = torch.as_tensor(contexts[start : start + chunk], device=policy.device)
            y = torch.as_tensor(targets[start : start + chunk], device=policy.device)
            probs = policy.token_probs(x, y).double()
            top, token = probs.max(dim=-1)
            wrong += int(((top >= confident) & (token != y)).sum())
    return wrong / max(1, targets.size)


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
