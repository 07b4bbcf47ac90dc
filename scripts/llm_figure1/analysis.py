"""The LLM Figure 1's analysis: pure functions from the runs' evaluation records (the package's ``eval/...``
records, as ``metrics.jsonl`` holds them) to the summary table; nothing here runs or reads a file.

A run is a list of records ``{"step", "train/reward_queries", "eval/test_error", "eval/tracked_likelihood",
...}``, the first at the base model. An off-support context is a tracked context whose base likelihood is below
the threshold; it is *lifted* when its final likelihood exceeds the lift level.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

Record = Mapping[str, Any]


def off_support_indices(base_likelihoods: Sequence[float], threshold: float) -> np.ndarray:
    """Indices of the tracked contexts whose base likelihood is below ``threshold``."""
    return np.flatnonzero(np.asarray(base_likelihoods, dtype=np.float64) < threshold)


def lifted_fraction(run: Sequence[Record], off_support: np.ndarray, level: float) -> float:
    """The share of the off-support contexts whose likelihood at the run's last evaluation exceeds ``level``
    (nan when there is none)."""
    if len(off_support) == 0:
        return float("nan")
    final = np.asarray(run[-1]["eval/tracked_likelihood"], dtype=np.float64)
    return float(np.mean(final[off_support] > level))


def _spread(values: Sequence[float]) -> dict[str, float]:
    array = np.asarray(values, dtype=np.float64)
    return {"mean": float(array.mean()), "min": float(array.min()), "max": float(array.max())}


def summarise(
    runs: Mapping[str, Sequence[Sequence[Record]]],
    off_support: Mapping[str, np.ndarray],
    level: float,
) -> list[dict[str, Any]]:
    """One row per method: its seeds, off-support contexts, base and final test error, lifted share and final
    reward queries (mean, min and max over seeds).

    Args:
        runs: method name -> one list of records per seed.
        off_support: method name -> indices of its off-support tracked contexts (from its own base).
        level: the lift level.
    """
    rows = []
    for name, seeds in runs.items():
        if not seeds or any(not run for run in seeds):
            raise ValueError(f"method {name!r} has a seed without evaluation records")
        rows.append(
            {
                "method": name,
                "seeds": len(seeds),
                "off_support": int(len(off_support[name])),
                "base_test_error": float(seeds[0][0]["eval/test_error"]),
                "test_error": _spread([run[-1]["eval/test_error"] for run in seeds]),
                "lifted": _spread([lifted_fraction(run, off_support[name], level) for run in seeds]),
                "reward_queries": _spread([run[-1]["train/reward_queries"] for run in seeds]),
            }
        )
    return rows


def markdown_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """The summary as a markdown table (mean [min, max] over seeds)."""

    def cell(spread: Mapping[str, float], digits: int) -> str:
        return f"{spread['mean']:.{digits}f} [{spread['min']:.{digits}f}, {spread['max']:.{digits}f}]"

    lines = [
        "| method | seeds | off-support contexts | base test error | final test error | off-support lifted | reward queries |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['method']} | {row['seeds']} | {row['off_support']} | {row['base_test_error']:.3f} | "
            f"{cell(row['test_error'], 3)} | {cell(row['lifted'], 2)} | {row['reward_queries']['mean']:.0f} |"
        )
    return "\n".join(lines)


def curve(run: Sequence[Record], key: str) -> tuple[np.ndarray, np.ndarray]:
    """(reward queries, ``key``) along a run's evaluations."""
    queries = np.array([r["train/reward_queries"] for r in run], dtype=np.float64)
    return queries, np.array([r[key] for r in run], dtype=np.float64)
