"""The LQ experiment's analysis: pure functions of the log10 likelihoods saved at each checkpoint (per level,
``(n,)`` over the evaluation contexts) and the run's test errors, to the quantile table, the summary and the
text printed at the end."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from seqreward_env import likelihood_quantile

LEVELS = ("sequence", "token")
"""Sequence level p(y*|x); token level min_i p(y*_i | x, y*_<i)."""
LOG10 = float(np.log(10.0))

Likelihoods = Mapping[int, Mapping[str, np.ndarray]]
"""Per checkpoint step, per level, the log10 likelihoods ``(n,)``."""


def log10_quantile(log10_values: np.ndarray, eps: float) -> float:
    """log10 LQ(eps) from log10 likelihoods (a quantile commutes with the increasing map log10)."""
    return likelihood_quantile(log10_values, eps)


def eps_grid(num_contexts: int) -> np.ndarray:
    """eps from 1/n to 0.99, log-spaced, and 0: where the empirical quantile changes."""
    return np.unique(np.concatenate([np.geomspace(1.0 / num_contexts, 0.99, 80), [0.0]]))


def quantile_rows(likelihoods: Likelihoods, grid: np.ndarray) -> list[list[Any]]:
    """``lq.csv``'s rows ``[step, level, eps, log10 LQ(eps)]`` for every checkpoint, level and eps of ``grid``
    (eps written to 6 significant digits)."""
    return [
        [step, level, f"{eps:.6g}", log10_quantile(values[level], float(eps))]
        for step, values in likelihoods.items()
        for level in LEVELS
        for eps in grid
    ]


def summarize(
    likelihoods: Likelihoods, test_errors: Mapping[int, float], eps: Sequence[float], config: Mapping[str, Any]
) -> dict[str, Any]:
    """The summary: the settings ``config``, the checkpoint steps, their test errors, and per level log10
    LQ(eps) at every chosen ``eps``, the median log10 likelihood and the fraction below 1e-12."""
    steps = list(likelihoods)
    return {
        "config": dict(config),
        "steps": steps,
        "test_error": [test_errors[step] for step in steps],
        "log10_lq": {
            level: {f"{e:g}": [log10_quantile(likelihoods[s][level], e) for s in steps] for e in eps}
            for level in LEVELS
        },
        "median_log10_likelihood": {
            level: [float(np.median(likelihoods[s][level])) for s in steps] for level in LEVELS
        },
        "fraction_below_1e-12": {
            level: [float(np.mean(likelihoods[s][level] < -12)) for s in steps] for level in LEVELS
        },
    }


def format_summary(summary: Mapping[str, Any]) -> str:
    """A table: per checkpoint its test error and log10 LQ(eps) at both levels."""
    chosen = list(summary["log10_lq"]["sequence"])
    header = "step   test error  " + "  ".join(f"seq LQ({eps})" for eps in chosen)
    header += "  " + "  ".join(f"tok LQ({eps})" for eps in chosen)
    lines = ["log10 likelihood quantiles along pre-training:", header]
    for index, step in enumerate(summary["steps"]):
        cells = [f"{summary['log10_lq'][level][eps][index]:>12.3g}" for level in LEVELS for eps in chosen]
        lines.append(f"{step:<6} {summary['test_error'][index]:>10.4f}  " + "  ".join(cells))
    return "\n".join(lines)
