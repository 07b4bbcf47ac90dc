"""Exact evaluation: teacher-forced likelihoods of y* and likelihood quantiles, never by sampling."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from seqreward_env._checks import check_array, check_real


def linear_token_log_probs(w1: np.ndarray, w2: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """log p_w(y_i | x, y_<i) of the linear autoregressive policy, teacher-forced on ``y``.

    The next-token distribution depends on the prefix only through its last token, so each context's
    k + 1 possible log-normalisers (after each token, and at position 1) are computed once and looked
    up per position: ``(n, k + 1, k)`` work instead of ``(n, N, k)``.

    Args:
        w1: ``(d, k)``; w2: ``(k, k)`` with ``w2[j, prev]`` the weight of token j after token prev.
        x: ``(n, d)`` contexts; y: ``(n, N)`` int tokens in [0, k).

    Returns:
        ``(n, N)`` float64 log-probabilities.
    """
    w1 = np.asarray(w1, dtype=np.float64)
    w2 = np.asarray(w2, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    n, length = y.shape
    k = w2.shape[0]
    base = np.asarray(x, dtype=np.float64) @ w1  # (n, k)
    transitions = np.concatenate([w2.T, np.zeros((1, k))])  # row p: the logit shift after token p; row k: none
    log_norm = _logsumexp(base[:, None, :] + transitions[None, :, :])  # (n, k + 1)
    previous = np.empty_like(y)
    previous[:, 0] = k
    previous[:, 1:] = y[:, :-1]
    rows = np.arange(n)[:, None]
    return base[rows, y] + transitions[previous, y] - log_norm[rows, previous]


def teacher_forced_observation(x: np.ndarray, y: np.ndarray, position: int, vocab_size: int) -> dict[str, np.ndarray]:
    """The batched env observation after ``position`` tokens of ``y`` were written (later ones unwritten)."""
    tokens = np.full(y.shape, vocab_size, dtype=np.int64)
    tokens[:, :position] = y[:, :position]
    return {"context": x, "tokens": tokens, "position": np.full(len(x), position, dtype=np.int64)}


def policy_token_probs(
    policy: Callable[[dict[str, np.ndarray]], np.ndarray], x: np.ndarray, y: np.ndarray, vocab_size: int
) -> np.ndarray:
    """p(y_i | x, y_<i) of any policy mapping batched observations to ``(n, k)`` next-token probabilities."""
    probs = np.empty(y.shape, dtype=np.float64)
    for i in range(y.shape[1]):
        step = np.asarray(policy(teacher_forced_observation(x, y, i, vocab_size)), dtype=np.float64)
        if step.shape != (len(x), vocab_size):
            raise ValueError(
                f"policy must return next-token probabilities of shape {(len(x), vocab_size)}, got {step.shape}"
            )
        probs[:, i] = step[np.arange(len(x)), y[:, i]]
    return probs


def likelihood_quantile(values: np.ndarray, eps: float) -> float:
    """LQ(eps) = sup{a : P(p <= a) <= eps}, estimated with the empirical distribution of ``values``.

    With values sorted ascending v_(1) <= ... <= v_(n), the empirical P(p <= a) stays <= eps exactly
    while at most m = floor(eps n) values are <= a, that is for a < v_(m+1): the supremum is v_(m+1).

    Args:
        values: ``(n,)`` sampled likelihoods (sequence level p(y*|x), or token level min_i p(y*_i|...)).
        eps: in [0, 1).
    """
    eps = check_real("eps", eps, 0.0)
    if eps >= 1.0:
        raise ValueError(f"eps must lie in [0, 1), got {eps!r}")
    sorted_values = np.sort(check_array("values", values, (None,)))
    n = len(sorted_values)
    if n == 0:
        raise ValueError("values must hold at least one likelihood, got an empty array")
    m = int(np.floor(eps * n))
    if (m + 1) / n <= eps:  # floor of a product that rounded down, e.g. 0.29 * 100 = 28.999...
        m += 1
    return float(sorted_values[min(m, n - 1)])


def _logsumexp(logits: np.ndarray) -> np.ndarray:
    top = logits.max(axis=-1, keepdims=True)
    return (top + np.log(np.exp(logits - top).sum(axis=-1, keepdims=True)))[..., 0]
