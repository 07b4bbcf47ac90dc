"""The field's measures of what a policy can reach, computed exactly from its likelihoods p(y*|x):
pass@k, Cover@tau and greedy exact match; and the sampled pass@k estimator an LLM paper reports.

- pass@k of a context: the chance that at least one of k independent samples is y*, 1 - (1 - p)^k,
  computed as -expm1(k log(1 - p)) with log(1 - p) from log p (``log1mexp``), so that p near 0 (down to
  1e-300 and 0) and near 1 keep their digits for any k (2^30 and beyond). Averaged over contexts.
- Cover@tau ("Cover@tau", arXiv 2510.08325): the share of contexts with p(y*|x) >= tau.
- Greedy exact match: the share of contexts whose greedy decode (the most probable token at every
  step) is y*.
- The sampled estimator (Chen et al., arXiv 2107.03374, eq. 1): from n samples with c correct,
  1 - C(n - c, k) / C(n, k), computed as 1 - prod_{i = n - c + 1}^{n} (1 - k / i) in log space.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

PASS_AT_K = (1, 16, 256, 4096, 2**20)
"""The k of ``eval/pass@k`` logged by every evaluation unless configured otherwise."""
COVER_TAUS = (0.1, 0.5, 0.9)
"""The tau of ``eval/cover@tau`` logged by every evaluation unless configured otherwise."""
PASS_AT_K_GRID = tuple(4**i for i in range(16))
"""k = 1, 4, 16, ..., 2^30: the grid of the pass@k curves the experiments report."""


def check_ks(ks: Any, name: str = "ks") -> tuple[int, ...]:
    """``ks`` as a non-empty tuple of ints >= 1 (an int alone is one k); anything else is a ``ValueError``
    naming ``name``, the value and what is allowed."""
    values = (ks,) if isinstance(ks, numbers.Integral) or np.ndim(ks) == 0 else tuple(ks)
    if not values:
        raise ValueError(f"{name} must hold at least one k (an integer >= 1), got {ks!r}")
    for k in values:
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
            raise ValueError(f"{name} must be integers k >= 1, got {k!r} in {ks!r}")
    return tuple(int(k) for k in values)


def check_taus(taus: Any, name: str = "tau") -> tuple[float, ...]:
    """``taus`` as a non-empty tuple of floats in (0, 1] (a number alone is one tau)."""
    values = (taus,) if np.ndim(taus) == 0 else tuple(taus)
    if not values:
        raise ValueError(f"{name} must hold at least one threshold in (0, 1], got {taus!r}")
    for tau in values:
        if isinstance(tau, bool) or not isinstance(tau, numbers.Real) or not 0.0 < float(tau) <= 1.0:
            raise ValueError(f"{name} must lie in (0, 1], got {tau!r}")
    return tuple(float(tau) for tau in values)


def check_log_likelihoods(log_likelihoods: Any, name: str = "log_likelihoods") -> np.ndarray:
    """``(n,)`` float64 log p(y*|x) of at least one context, each <= 0 (-inf allowed: p = 0), none NaN."""
    values = np.asarray(log_likelihoods, dtype=np.float64).reshape(-1)
    if values.size == 0:
        raise ValueError(f"{name} must hold at least one context, got an empty array")
    if np.isnan(values).any():
        raise ValueError(f"{name} must not be NaN, got NaN at contexts {np.flatnonzero(np.isnan(values))[:5].tolist()}")
    if (values > 0).any():
        bad = np.flatnonzero(values > 0)
        raise ValueError(f"{name} must be <= 0 (log-probabilities), got {values[bad[0]]!r} at context {int(bad[0])}")
    return values


def check_likelihoods(likelihoods: Any, name: str = "likelihoods") -> np.ndarray:
    """``(n,)`` float64 p(y*|x) of at least one context, each in [0, 1], none NaN."""
    values = np.asarray(likelihoods, dtype=np.float64).reshape(-1)
    if values.size == 0:
        raise ValueError(f"{name} must hold at least one context, got an empty array")
    outside = np.isnan(values) | (values < 0) | (values > 1)
    if outside.any():
        index = int(np.flatnonzero(outside)[0])
        raise ValueError(f"{name} must be probabilities in [0, 1], got {values[index]!r} at context {index}")
    return values


def log1mexp(log_p: np.ndarray) -> np.ndarray:
    """log(1 - e^l) for l <= 0, accurate at both ends (Maechler, "Accurately computing log(1 - exp(-|a|))",
    2012): log(-expm1(l)) for l > -log 2, log1p(-exp(l)) below. l = 0 gives -inf."""
    log_p = np.asarray(log_p, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.where(log_p > -math.log(2.0), np.log(-np.expm1(np.minimum(log_p, 0.0))), np.log1p(-np.exp(log_p)))


def pass_at_k_per_context(log_likelihoods: Any, ks: Any) -> np.ndarray:
    """Exact pass@k of each context: ``(n, K)`` = 1 - (1 - p)^k for ``(n,)`` log p(y*|x) and K values of k."""
    log_p = check_log_likelihoods(log_likelihoods)
    k = np.asarray(check_ks(ks), dtype=np.float64)
    log_fail = log1mexp(log_p)[:, None]  # log(1 - p): 0 at p = 0, -inf at p = 1 (k >= 1 is finite: no 0 * inf)
    return -np.expm1(log_fail * k[None, :])


def pass_at_k(log_likelihoods: Any, ks: Any) -> np.ndarray:
    """Exact pass@k averaged over contexts: ``(K,)`` for ``(n,)`` log p(y*|x) and K values of k (an int k
    gives ``(1,)``). The chance that k samples from the policy include y*, for a context drawn from the
    test set; exact, without sampling (arXiv 2107.03374 estimates it from samples instead)."""
    return pass_at_k_per_context(log_likelihoods, ks).mean(axis=0)


def cover_at(likelihoods: Any, tau: Any) -> Any:
    """Cover@tau (arXiv 2510.08325): the share of contexts with p(y*|x) >= tau. A float for one tau, a
    ``(T,)`` array for a sequence of taus; each tau in (0, 1]."""
    values = check_likelihoods(likelihoods)
    taus = check_taus(tau)
    shares = (values[:, None] >= np.asarray(taus)[None, :]).mean(axis=0)
    return float(shares[0]) if np.ndim(tau) == 0 else shares


def sampled_pass_at_k(n: Any, c: Any, k: Any) -> Any:
    """Chen et al.'s unbiased pass@k estimator (arXiv 2107.03374, eq. 1) from ``n`` samples of which ``c``
    are correct: 1 - C(n - c, k) / C(n, k), as 1 - prod_{i=n-c+1}^{n} (1 - k/i) summed in log space (no
    huge binomials). ``c`` may be an array (one count per problem); the result has its shape."""
    for name, value, low in (("n", n, 1), ("k", k, 1)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if k > n:
        raise ValueError(f"k must be at most n (the samples drawn), got k={k!r} with n={n!r}")
    counts = np.asarray(c)
    if counts.dtype == bool or not np.issubdtype(counts.dtype, np.integer) or (counts < 0).any() or (counts > n).any():
        raise ValueError(f"c must be integers in [0, n={n}] (correct samples), got {c!r}")
    i = np.arange(1, n + 1, dtype=np.float64)
    with np.errstate(divide="ignore"):
        terms = np.log1p(-np.minimum(k / i, 1.0))  # log(1 - k/i); -inf for i <= k (then n - c < k)
    # tail[j] = sum_{i = n - j + 1}^{n} log(1 - k/i): the log of C(n - j, k) / C(n, k)
    tail = np.concatenate([[0.0], np.cumsum(terms[::-1])])
    result = -np.expm1(tail[counts])
    return float(result) if result.ndim == 0 else result


def crossover_k(ks: Sequence[int], base: ArrayLike, trained: ArrayLike, tol: float = 1e-9) -> int | None:
    """The smallest k of the grid at which the base model's pass@k is at least the trained model's (Yue et
    al., arXiv 2504.13837, read such crossovers off sampled curves); None: none up to the largest k. Where
    the two curves agree to within ``tol`` (both at 1, or both on the same plateau) the base has not
    overtaken: such k are skipped."""
    grid = check_ks(ks)
    base_values, trained_values = np.asarray(base, dtype=np.float64), np.asarray(trained, dtype=np.float64)
    if base_values.shape != (len(grid),) or trained_values.shape != (len(grid),):
        raise ValueError(
            f"base and trained must hold one value per k ({len(grid)}), got {base_values.shape} and {trained_values.shape}"
        )
    at = np.flatnonzero((base_values >= trained_values) & (np.abs(base_values - trained_values) > tol))
    return None if at.size == 0 else grid[int(at[0])]


def area_between(ks: Sequence[int], base: ArrayLike, trained: ArrayLike) -> float:
    """The area between the trained and the base pass@k curves over log2 k (trapezoids): positive where the
    trained model reaches more, in units of pass rate x doublings of k."""
    grid = np.log2(np.asarray(check_ks(ks), dtype=np.float64))
    gap = np.asarray(trained, dtype=np.float64) - np.asarray(base, dtype=np.float64)
    if gap.shape != grid.shape:
        raise ValueError(f"base and trained must hold one value per k ({len(grid)}), got {gap.shape}")
    return float(np.trapezoid(gap, grid)) if len(grid) > 1 else 0.0


def metric_names(ks: Sequence[int], taus: Sequence[float]) -> list[str]:
    """The ``eval/`` names under which ``coverage_metrics`` logs."""
    return [f"eval/pass@{k}" for k in ks] + [f"eval/cover@{tau:g}" for tau in taus]


def coverage_metrics(
    log_likelihoods: Any, ks: Sequence[int] = PASS_AT_K, taus: Sequence[float] = COVER_TAUS, *, strict: bool = True
) -> dict[str, float]:
    """``eval/pass@k`` for each k and ``eval/cover@tau`` for each tau from ``(n,)`` log p(y*|x).

    ``strict=False`` is the evaluators' mode, which must log rather than stop a run: a log-likelihood a
    rounding error above 0 (a float32 network's softmax) counts as 0, and a NaN one (a diverged model)
    makes every metric NaN."""
    if not strict:
        values = np.asarray(log_likelihoods, dtype=np.float64).reshape(-1)
        if values.size and np.isnan(values).any():
            return dict.fromkeys(metric_names(ks, taus), float("nan"))
        log_likelihoods = np.minimum(values, 0.0)
    log_p = check_log_likelihoods(log_likelihoods)
    passes = pass_at_k(log_p, ks)
    covers = cover_at(np.exp(log_p), tuple(taus))
    names = metric_names(ks, taus)
    return dict(zip(names, [*map(float, passes), *map(float, covers)], strict=True))
