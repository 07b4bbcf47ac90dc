"""The pass@k experiment's analysis: pure functions of the measures the runs' models gave (no running). Per
setting: the base and trained pass@k curves averaged over seeds within each task draw, their means over draws
with percentile bootstrap intervals (draws resampled whole), the crossover k* (the smallest k at which the
base model's pass@k is at least the trained model's, as Yue et al., arXiv 2504.13837, read it off sampled
curves), the pass@1 gain, the area between the curves over log2 k, Cover@tau and greedy exact match."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from agents.policy.coverage import area_between, crossover_k

CONFIDENCE = 0.95


def per_draw(runs: Sequence[dict[str, Any]], which: str, name: str) -> tuple[list[int], np.ndarray]:
    """The draws and ``(draws, ...)`` means over each draw's seeds of one measure (``which``: "base" or
    "trained"; ``name``: "pass_at_k", "cover" or "greedy_exact_match")."""
    draws = sorted({int(run["draw"]) for run in runs})
    if not draws:
        raise ValueError("runs must hold at least one run")
    means = [
        np.mean([np.asarray(run[which][name], dtype=np.float64) for run in runs if run["draw"] == draw], axis=0)
        for draw in draws
    ]
    return draws, np.asarray(means)


def bootstrap_mean(
    values: np.ndarray, reps: int = 2000, seed: int = 0, confidence: float = CONFIDENCE
) -> dict[str, Any]:
    """The mean over the first axis (draws) of ``values`` ``(draws, ...)`` and its percentile bootstrap interval,
    resampling draws whole (one draw: the interval is the point)."""
    values = np.asarray(values, dtype=np.float64)
    mean = values.mean(axis=0)
    picks = np.random.default_rng(seed).integers(0, len(values), size=(reps, len(values)))
    means = values[picks].mean(axis=1)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail], axis=0)
    as_list = (lambda a: a.tolist()) if mean.ndim else float
    return {"mean": as_list(mean), "low": as_list(low), "high": as_list(high)}


def summarise_setting(
    runs: Sequence[dict[str, Any]], ks: Sequence[int], taus: Sequence[float], reps: int = 2000
) -> dict[str, Any]:
    """The statistics of one setting from its runs (``[{"draw", "seed", "base": measures, "trained":
    measures}]``, measures as ``jobs.model_measures``): per measure the mean over draws (of the means over
    seeds) with its bootstrap interval; the crossover k* of the mean curves (None: none up to the largest k)
    and of each draw's; the pass@1 gain and the area between the trained and base curves over log2 k
    (positive: the trained model reaches more), each with an interval."""
    ks = list(ks)
    draws, base = per_draw(runs, "base", "pass_at_k")
    _, trained = per_draw(runs, "trained", "pass_at_k")
    base_mean, trained_mean = base.mean(axis=0), trained.mean(axis=0)
    crossings = [crossover_k(ks, b, t) for b, t in zip(base, trained, strict=True)]
    areas = np.array([area_between(ks, b, t) for b, t in zip(base, trained, strict=True)])
    return {
        "draws": len(draws),
        "runs": len(runs),
        "collapsed_runs": sum(bool(run.get("collapsed")) for run in runs),
        "base_pass_at_k": bootstrap_mean(base, reps),
        "trained_pass_at_k": bootstrap_mean(trained, reps),
        "gap_pass_at_k": bootstrap_mean(trained - base, reps),
        "crossover_k": crossover_k(ks, base_mean, trained_mean),
        "crossover_k_per_draw": crossings,
        "draws_with_crossover": sum(k is not None for k in crossings),
        "pass_at_1_gain": bootstrap_mean(trained[:, 0] - base[:, 0], reps),
        "area": bootstrap_mean(areas, reps),
        "largest_k_gain": bootstrap_mean(trained[:, -1] - base[:, -1], reps),
        "base_cover": bootstrap_mean(per_draw(runs, "base", "cover")[1], reps),
        "trained_cover": bootstrap_mean(per_draw(runs, "trained", "cover")[1], reps),
        "base_greedy_exact_match": bootstrap_mean(per_draw(runs, "base", "greedy_exact_match")[1], reps),
        "trained_greedy_exact_match": bootstrap_mean(per_draw(runs, "trained", "greedy_exact_match")[1], reps),
        "taus": list(taus),
    }


def k_text(k: int | None, largest: int) -> str:
    """k as printed: powers of 2 above 16 as 2^e; None as "none up to 2^e"."""
    if k is None:
        return f"none up to {k_text(largest, largest)}"
    return f"2^{k.bit_length() - 1}" if k > 16 and k & (k - 1) == 0 else str(k)


def summary_line(label: str, summary: dict[str, Any], ks: Sequence[int]) -> str:
    """One setting as printed."""
    gain, area = summary["pass_at_1_gain"], summary["area"]
    return (
        f"{label}: pass@1 {summary['base_pass_at_k']['mean'][0]:.3f} -> {summary['trained_pass_at_k']['mean'][0]:.3f} "
        f"(gain {gain['mean']:+.3f} [{gain['low']:+.3f}, {gain['high']:+.3f}]); pass@{k_text(ks[-1], ks[-1])} "
        f"{summary['base_pass_at_k']['mean'][-1]:.3f} -> {summary['trained_pass_at_k']['mean'][-1]:.3f}; "
        f"k* {k_text(summary['crossover_k'], ks[-1])} ({summary['draws_with_crossover']}/{summary['draws']} draws cross); "
        f"area {area['mean']:+.2f} [{area['low']:+.2f}, {area['high']:+.2f}]"
        + (
            f"; {summary['collapsed_runs']} of {summary['runs']} runs flagged collapsed"
            if summary.get("collapsed_runs")
            else ""
        )
    )


def format_summary(result: dict[str, Any]) -> str:
    """The experiment's printed summary: one line per setting."""
    ks = result["k"]
    lines = [
        f"exact pass@k over {result['config']['draws']} task draws x {result['config']['seeds']} seeds "
        f"(mean over draws [95% bootstrap interval over draws]); k* = smallest k where the base model's "
        "pass@k is at least the trained model's"
    ]
    lines += [summary_line(entry["label"], entry["summary"], ks) for entry in result["settings"]]
    return "\n".join(lines)


def table_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One CSV row per setting: what it varies and its statistics at k = 1 and the largest k."""
    ks = result["k"]
    rows = []
    for entry in result["settings"]:
        summary = entry["summary"]
        rows.append(
            {
                **entry["setting"],
                "draws": summary["draws"],
                "collapsed_runs": summary["collapsed_runs"],
                "base_pass_at_1": summary["base_pass_at_k"]["mean"][0],
                "trained_pass_at_1": summary["trained_pass_at_k"]["mean"][0],
                f"base_pass_at_{ks[-1]}": summary["base_pass_at_k"]["mean"][-1],
                f"trained_pass_at_{ks[-1]}": summary["trained_pass_at_k"]["mean"][-1],
                "crossover_k": summary["crossover_k"],
                "draws_with_crossover": summary["draws_with_crossover"],
                "pass_at_1_gain": summary["pass_at_1_gain"]["mean"],
                "area": summary["area"]["mean"],
                "area_low": summary["area"]["low"],
                "area_high": summary["area"]["high"],
                **{
                    f"trained_cover@{tau:g}": value
                    for tau, value in zip(result["taus"], summary["trained_cover"]["mean"], strict=True)
                },
                "trained_greedy_exact_match": summary["trained_greedy_exact_match"]["mean"],
            }
        )
    return rows
