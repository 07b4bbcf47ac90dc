"""The LLM Figure 1's analysis: pure functions from the runs' evaluation records (the package's ``eval/...``
records, as ``metrics.jsonl`` holds them) to the summary table; nothing here runs or reads a file.

A run is a list of records ``{"step", "train/reward_queries", "eval/test_error", "eval/tracked_likelihood",
...}``, the first at the base model. An off-support context is a tracked context whose base likelihood is below
the threshold; it is *lifted* when its final likelihood exceeds the lift level.

A run has *settled* at the first evaluation step s (at least ``min_steps``) where the test error changed by at
most ``tolerance`` over the last fifth of the run, from the last evaluation at or before 0.8 s to s; a run that
never settles before its step cap is *censored* (reported as such, with its value at the cap). Each method's
learning rate is the one of its sweep whose tuning runs end at the lowest mean test error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from agents.analysis.statistics import mean_interval
from agents.policy.coverage import PASS_AT_K_GRID, area_between, crossover_k, pass_at_k

Record = Mapping[str, Any]
# The share of the run over which the test error's change is measured (the last fifth).
LAST_SHARE = 0.2


def settled_step(run: Sequence[Record], tolerance: float, min_steps: int) -> int | None:
    """The first evaluation step s >= ``min_steps`` where |test error(s) - test error(s')| <= ``tolerance``, s' the
    last evaluation at or before (1 - ``LAST_SHARE``) s; None when the run never settles (censored)."""
    steps = np.array([r["step"] for r in run], dtype=np.int64)
    errors = np.array([r["eval/test_error"] for r in run], dtype=np.float64)
    for index in range(1, len(run)):
        step = int(steps[index])
        if step < min_steps:
            continue
        earlier = np.flatnonzero(steps <= (1 - LAST_SHARE) * step)
        if len(earlier) and abs(errors[index] - errors[earlier[-1]]) <= tolerance:
            return step
    return None


def until_settled(run: Sequence[Record], tolerance: float, min_steps: int) -> tuple[list[Record], bool]:
    """The run's records up to the step it settled at, and whether it is censored (never settled: all records)."""
    step = settled_step(run, tolerance, min_steps)
    if step is None:
        return list(run), True
    return [r for r in run if r["step"] <= step], False


def choose_learning_rate(tuning: Mapping[float, Sequence[Sequence[Record]]]) -> float:
    """The rate whose tuning runs end at the lowest mean test error (the smaller rate on a tie).

    Args:
        tuning: learning rate -> one list of records per tuning seed.
    """
    if not tuning or any(not runs or any(not run for run in runs) for runs in tuning.values()):
        raise ValueError("every learning rate of the sweep needs tuning runs with evaluation records")
    finals = {rate: float(np.mean([run[-1]["eval/test_error"] for run in runs])) for rate, runs in tuning.items()}
    return min(sorted(finals), key=lambda rate: finals[rate])


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
    """Mean, min, max and the 95% Student-t interval of the mean (``low``, ``high``; NaN for one value)."""
    array = np.asarray(values, dtype=np.float64)
    mean, half = mean_interval(array)
    return {
        "mean": float(array.mean()),
        "min": float(array.min()),
        "max": float(array.max()),
        "low": float(mean - half),
        "high": float(mean + half),
    }


def summarise(
    runs: Mapping[str, Sequence[Sequence[Record]]],
    off_support: Mapping[str, np.ndarray],
    level: float,
    censored: Mapping[str, Sequence[bool]] | None = None,
    learning_rates: Mapping[str, float] | None = None,
) -> list[dict[str, Any]]:
    """One row per method: its seeds, off-support contexts, base and final test error, lifted share, final
    reward queries and steps (mean, min, max and 95% interval over seeds), censored seeds and learning rate.

    Args:
        runs: method name -> one list of records per seed (each up to where it settled, or to its cap).
        off_support: method name -> indices of its off-support tracked contexts (from its own base).
        level: the lift level.
        censored: method name -> per seed, whether it hit the step cap without settling (default: none).
        learning_rates: method name -> the learning rate its sweep chose (default: none recorded).
    """
    rows = []
    for name, seeds in runs.items():
        if not seeds or any(not run for run in seeds):
            raise ValueError(f"method {name!r} has a seed without evaluation records")
        lifted = [lifted_fraction(run, off_support[name], level) for run in seeds]
        rows.append(
            {
                "method": name,
                "seeds": len(seeds),
                "off_support": int(len(off_support[name])),
                "base_test_error": float(seeds[0][0]["eval/test_error"]),
                "test_error": _spread([run[-1]["eval/test_error"] for run in seeds]),
                "lifted": _spread(lifted) if not np.isnan(lifted).any() else _spread([np.nan]),
                "reward_queries": _spread([run[-1]["train/reward_queries"] for run in seeds]),
                "steps": _spread([run[-1]["step"] for run in seeds]),
                "censored": int(sum((censored or {}).get(name, [False] * len(seeds)))),
                "learning_rate": (learning_rates or {}).get(name),
            }
        )
    return rows


def tracked_pass_at_k(record: Record, ks: Sequence[int]) -> list[float]:
    """Exact pass@k, ``(K,)`` as a list, at one evaluation: the mean over the tracked contexts (every context of
    the task, each counted once) of 1 - (1 - p(y*|x))^k, from the record's ``eval/tracked_likelihood``."""
    likelihoods = np.clip(np.asarray(record["eval/tracked_likelihood"], dtype=np.float64), 0.0, 1.0)
    with np.errstate(divide="ignore"):  # p = 0 is log p = -inf: never reached at any k
        return [float(value) for value in pass_at_k(np.log(likelihoods), ks)]


def final_pass_at_k(
    runs: Mapping[str, Sequence[Sequence[Record]]], ks: Sequence[int] = PASS_AT_K_GRID
) -> dict[str, Any]:
    """Each method's exact pass@k curves (k = ``ks``, default 1 to 2^30) of its base model (the runs' first
    record) and of every seed's final model (its last record, where the run settled or hit its cap), with
    the seeds' mean, the crossover k* (the smallest k where the base's pass@k is at least the mean final
    model's; None: none up to the largest k; Yue et al., arXiv 2504.13837) and the area between the curves
    over log2 k (positive: the trained model above the base): ``{"k": ks, "<method>": {"base": (K,),
    "final": (seeds, K), "mean": (K,), "crossover_k", "area"}}``, all lists."""
    result: dict[str, Any] = {"k": list(ks)}
    for name, seeds in runs.items():
        if not seeds or any(not run for run in seeds):
            raise ValueError(f"method {name!r} has a seed without evaluation records")
        base = tracked_pass_at_k(seeds[0][0], ks)
        final = [tracked_pass_at_k(run[-1], ks) for run in seeds]
        mean = np.mean(final, axis=0)
        cross = crossover_k(ks, base, mean)
        result[name] = {
            "base": base,
            "final": final,
            "mean": mean.tolist(),
            "crossover_k": None if cross is None else int(cross),
            "area": float(area_between(ks, base, mean)),
        }
    return result


def pass_at_k_lines(passes: Mapping[str, Any]) -> list[str]:
    """One line per method: pass@1 and pass@k at the largest k, base -> mean final model, k* and the area."""
    ks = passes["k"]
    lines = [f"exact pass@k over every context, base -> final model (mean over seeds), k = 1 to {ks[-1]}:"]
    for name, curves in passes.items():
        if name == "k":
            continue
        cross = curves["crossover_k"]
        lines.append(
            f"  {name}: pass@1 {curves['base'][0]:.3f} -> {curves['mean'][0]:.3f}; pass@{ks[-1]} "
            f"{curves['base'][-1]:.3f} -> {curves['mean'][-1]:.3f}; k* {cross if cross is not None else 'none'}; "
            f"area {curves['area']:+.2f}"
        )
    return lines


def markdown_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """The summary as a markdown table (mean [min, max] over seeds)."""

    def cell(spread: Mapping[str, float], digits: int) -> str:
        if np.isnan(spread["mean"]):
            return "-"
        if np.isnan(spread.get("low", np.nan)):
            return f"{spread['mean']:.{digits}f}"
        return f"{spread['mean']:.{digits}f} [{spread['low']:.{digits}f}, {spread['high']:.{digits}f}]"

    lines = [
        "| method | learning rate | seeds (censored) | off-support contexts | base test error | final test error "
        "| off-support lifted | steps | reward queries |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        rate = "-" if row.get("learning_rate") is None else f"{row['learning_rate']:g}"
        lines.append(
            f"| {row['method']} | {rate} | {row['seeds']} ({row.get('censored', 0)}) | {row['off_support']} | "
            f"{row['base_test_error']:.3f} | {cell(row['test_error'], 3)} | {cell(row['lifted'], 2)} | "
            f"{row['steps']['mean']:.0f} | {row['reward_queries']['mean']:.0f} |"
        )
    return "\n".join(lines)


def curve(run: Sequence[Record], key: str) -> tuple[np.ndarray, np.ndarray]:
    """(reward queries, ``key``) along a run's evaluations."""
    queries = np.array([r["train/reward_queries"] for r in run], dtype=np.float64)
    return queries, np.array([r[key] for r in run], dtype=np.float64)
