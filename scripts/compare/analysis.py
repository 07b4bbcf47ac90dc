"""The comparison's analysis: functions of what the runs wrote (their ``metrics.jsonl`` records), no running.
Which rate the tuning picks, each method's curves over seeds, its summary with confidence intervals, the
chance of beating the best method, the paired trace-variance ratios to RLOO, and the rows of the tables."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from agents.analysis.collapse import collapse_flags, collapse_note
from agents.analysis.statistics import aggregate, mean_interval, probability_of_improvement

Records = list[dict[str, Any]]
"""One run's metrics records, in order (``agents.runs.folder.read_metrics``)."""

LABELS = {
    "reinforce": "REINFORCE",
    "reinforce_mean": "REINFORCE (batch mean)",
    "rloo": "RLOO",
    "grpo": "GRPO",
    "dr_grpo": "Dr. GRPO",
    "oblr_po": "OBLR-PO",
    "oblr_baseline": "OBLR baseline, fixed rate",
    "grpo_clip": "GRPO (clip, 4 epochs, KL)",
    "oblr_po_debiased": "OBLR-PO (debiased SNR)",
}
DIAGNOSTICS = {
    "trace_variance": "diag/trace_variance",
    "snr": "diag/snr",
    "learning_rate": "train/learning_rate",
    "equal_reward_groups": "diag/equal_reward_groups",
    "entropy": "diag/entropy",
}
"""The per-step curves: name -> the metric a step logs."""
PAIRED = ("weighted_leave_one_out", "reinforce")
"""Estimators whose trace variance on the same batches is compared with RLOO's."""


def label(method: str) -> str:
    return LABELS.get(method, method)


def choose_rate(errors: Mapping[float, list[float]]) -> tuple[float, dict[float, float]]:
    """The tuned learning rate: the one with the lowest mean final test error over its tuning seeds.

    Args:
        errors: ``{rate: [final test error of each tuning seed]}``, inf for a diverged run (so a rate with
            one diverged seed scores inf and never beats a finite one).

    Returns:
        The chosen rate (on a tie, the smaller rate; if every rate diverged, the smallest) and the mean of
        each rate.
    """
    if not errors or any(len(values) == 0 for values in errors.values()):
        raise ValueError(f"errors must give at least one final test error per rate, got {errors!r}")
    scores = {float(rate): float(np.mean(values)) for rate, values in errors.items()}
    return min(scores, key=lambda rate: (scores[rate], rate)), scores


def method_curves(runs: list[Records]) -> dict[str, np.ndarray]:
    """Per-seed arrays ``(seeds, points)`` from the runs' records: test error at each evaluation
    (``eval_queries`` ``(points,)`` its reward-query axis), the diagnostics at every step (``step_queries``),
    and the paired trace-variance ratios to RLOO on the same batches (nan or inf where RLOO's is 0)."""
    evaluations = [[r for r in records if "eval/test_error" in r] for records in runs]
    steps = [[r for r in records if "diag/snr" in r] for records in runs]
    curves = {
        "eval_queries": np.array([r["train/reward_queries"] for r in evaluations[0]], dtype=float),
        "test_error": np.array([[r["eval/test_error"] for r in run] for run in evaluations], dtype=float),
        "step_queries": np.array([r["train/reward_queries"] for r in steps[0]], dtype=float),
    }
    for name, key in DIAGNOSTICS.items():
        curves[name] = np.array([[r[key] for r in run] for run in steps], dtype=float)
    for estimator in PAIRED:
        numerator = np.array([[r[f"paired/trace_variance/{estimator}"] for r in run] for run in steps], dtype=float)
        denominator = np.array([[r["paired/trace_variance/rloo"] for r in run] for run in steps], dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):  # a batch of equal-reward groups: 0 / 0, dropped later
            curves[f"paired_{estimator}_to_rloo"] = numerator / denominator
    return curves


def method_summary(
    runs: list[Records], rate: float, rates: list[float], grid: dict[str, float], curves: dict[str, np.ndarray]
) -> dict[str, Any]:
    """One method's row of the summary: its tuned ``rate`` (and whether it lies on an edge of the grid
    ``rates``), the tuning scores ``grid``, and over its evaluation seeds the final test error (mean, 95%
    interval, each seed's, interquartile mean), and the run averages of its diagnostics."""
    final = curves["test_error"][:, -1]
    mean, half_width = mean_interval(final)
    snr = curves["snr"][np.isfinite(curves["snr"])]
    return {
        "learning_rate": rate,
        "rate_at_grid_edge": len(rates) > 1 and rate in (min(rates), max(rates)),
        "tuning_final_test_error": grid,
        "final_test_error_mean": float(mean),
        "final_test_error_ci95": float(half_width),
        "final_test_errors": final.tolist(),
        # robust to one odd seed: the interquartile mean with its stratified bootstrap interval (rliable)
        "final_test_error_iqm": aggregate(final, "iqm").as_dict() if np.all(np.isfinite(final)) else None,
        "mean_test_error_over_run": float(curves["test_error"].mean()),
        "snr_mean": float(snr.mean()) if snr.size else float("nan"),
        "snr_median": float(np.median(snr)) if snr.size else float("nan"),
        "trace_variance_mean": float(np.nanmean(curves["trace_variance"])),
        "equal_reward_groups_mean": float(np.nanmean(curves["equal_reward_groups"])),
        "learning_rate_mean": float(np.nanmean(curves["learning_rate"])),
        "final_entropy": float(np.nanmean(curves["entropy"][:, -1])),
        "reward_queries": [float(records[-1]["train/reward_queries"]) for records in runs],
        "collapse": [collapse_flags(records) for records in runs],
    }


def improvement_over_best(table: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """P(a run of the method ends with a lower test error than a run of the method with the lowest mean),
    for every other method, with its stratified bootstrap interval (rliable); methods with a diverged seed
    are left out, and ``{"best": None}`` when none is left."""
    finite = {method: row for method, row in table.items() if np.all(np.isfinite(row["final_test_errors"]))}
    if not finite:
        return {"best": None}
    best = min(finite, key=lambda method: finite[method]["final_test_error_mean"])
    reference = finite[best]["final_test_errors"]
    return {
        "best": best,
        **{
            method: probability_of_improvement(row["final_test_errors"], reference, lower_is_better=True).as_dict()
            for method, row in finite.items()
            if method != best
        },
    }


def pooled_ratios(curves: Mapping[str, Mapping[str, np.ndarray]], estimator: str) -> np.ndarray:
    """``estimator``'s paired trace-variance ratios to RLOO over every method's runs and steps, flattened
    (non-finite ones included)."""
    return np.concatenate([np.ravel(c[f"paired_{estimator}_to_rloo"]) for c in curves.values()])


def paired_ratios(curves: Mapping[str, Mapping[str, np.ndarray]]) -> dict[str, Any]:
    """Trace variance on the same batches relative to RLOO, pooled over every method's runs and steps: the
    median, quartiles and fraction below 1 of the finite ratios, per estimator that has any."""
    out: dict[str, Any] = {}
    for estimator in PAIRED:
        ratios = pooled_ratios(curves, estimator)
        ratios = ratios[np.isfinite(ratios)]
        if not ratios.size:
            continue
        out[estimator] = {
            "median": float(np.median(ratios)),
            "quartiles": [float(np.quantile(ratios, 0.25)), float(np.quantile(ratios, 0.75))],
            "fraction_below_rloo": float(np.mean(ratios < 1.0)),
            "batches": int(ratios.size),
        }
    return out


def run_rows(runs: Mapping[tuple[Any, ...], Records]) -> list[dict[str, Any]]:
    """compare.csv: one row per run, keyed ``(phase, reward, method, rate, seed)``, ordered by the key's
    text, with its final and mean test error and the run means of its diagnostics."""
    rows = []
    for (phase, reward, method, rate, seed), records in sorted(runs.items(), key=lambda item: str(item[0])):
        errors = [r["eval/test_error"] for r in records if "eval/test_error" in r]
        steps = [r for r in records if "diag/snr" in r]
        flags = collapse_flags(records)
        rows.append(
            {
                "phase": phase,
                "reward": reward,
                "method": method,
                "learning_rate": rate,
                "seed": seed,
                "reward_queries": records[-1]["train/reward_queries"],
                "final_test_error": errors[-1],
                "mean_test_error": float(np.mean(errors)),
                "mean_trace_variance": float(np.mean([r["diag/trace_variance"] for r in steps])),
                "median_snr": float(np.median([r["diag/snr"] for r in steps])),
                "mean_learning_rate": float(np.mean([r["train/learning_rate"] for r in steps])),
                "collapsed": flags["collapsed"],
                "collapse_reasons": "; ".join(flags["collapse_reasons"]),
            }
        )
    return rows


def curve_rows(curves: Mapping[str, Mapping[str, Mapping[str, np.ndarray]]]) -> list[dict[str, Any]]:
    """compare_curves.csv (long format): per reward, method and quantity, the mean over seeds and its 95%
    half-width at each reward-query count (test error at the evaluations, the diagnostics at every step;
    a non-finite diagnostic value in any seed makes that point's mean nan)."""
    rows = []
    for reward, by_method in curves.items():
        for method, curve in by_method.items():
            quantities = [("test_error", curve["eval_queries"], curve["test_error"])] + [
                (name, curve["step_queries"], np.where(np.isfinite(curve[name]), curve[name], np.nan))
                for name in DIAGNOSTICS
            ]
            for name, queries, values in quantities:
                mean, half_width = mean_interval(values)
                for x, m, h in zip(queries, mean, half_width, strict=True):
                    rows.append(
                        {"reward": reward, "method": method, "quantity": name, "reward_queries": int(x), "mean": m,
                         "ci95": h}
                    )  # fmt: skip
    return rows


def summary_lines(summary: dict[str, Any]) -> list[str]:
    """The summary as printed: per reward, the methods from the lowest final test error, then each one's
    chance of ending below the best."""
    lines = [f"base model test error {summary['base_test_error']:.4f}"]
    for reward, table in summary["results"].items():
        lines.append(f"{reward} reward ({summary['queries'][reward]} queries per run, {summary['seeds']} seeds):")
        for method, row in sorted(table.items(), key=lambda item: item[1]["final_test_error_mean"]):
            edge = " (grid edge)" if row["rate_at_grid_edge"] else ""
            lines.append(
                f"  {label(method):<28} lr {row['learning_rate']:<5g}{edge:<12} final test error "
                f"{row['final_test_error_mean']:.4f} +- {row['final_test_error_ci95']:.4f}   "
                f"SNR {row['snr_mean']:.3g}   trace var {row['trace_variance_mean']:.3g}"
                + collapse_note(row.get("collapse", []))
            )
        improvement = summary["probability_of_lower_error_than_best"][reward]
        chances = [f"{label(m)} {e['point']:.2f}" for m, e in improvement.items() if m != "best"]
        if chances:
            lines.append(f"  P(lower final error than {label(improvement['best'])}): " + ", ".join(chances))
    return lines
