"""The adaptive-step experiment's analysis: pure functions of the runs' summaries (``run_job``'s ``done.json``)
to its table, per (policy, step scale) the curve of queries to the target against N with its fitted growth
(95% intervals, ``agents.analysis.statistics``), and the answer: whose process-reward cost stays near
linear in N."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agents.analysis.statistics import growth_text
from agents.analysis.theory import growth_fits, queries_match_env, query_curve, run_columns

Summary = Mapping[str, Any]
Key = tuple[str, float, int, int]

NEAR_LINEAR = 1.5
"""A power of N whose 95% interval lies wholly below this counts as near-linear, wholly above it as not
(the linear policy's process-reward cost is about N^0.6 to N^1; geometric growth fits ever larger powers
as N grows); an interval across it leaves the question undecided."""


def variant_label(policy: str, scale: float) -> str:
    """E.g. "transformer, c = 4" (c = 1: the theory's step)."""
    return f"{policy}, c = {scale:g}" + (" (theory)" if scale == 1 else "")


def variant_name(policy: str, scale: float) -> str:
    """The variant's key in JSON and TensorBoard: e.g. "transformer_c4"."""
    return f"{policy}_c{scale:g}"


def table_rows(
    results: Mapping[Key, Summary],
    bases: Mapping[tuple[str, int, int], Summary],
    step_sizes: Mapping[Key, float | None],
) -> list[dict]:
    """One row per run, sorted by (policy, c, N, seed): its base model's quality, its mean step size per
    verified token (``step_sizes``, from the run's ``train/step_size``) and how the run went."""
    return [
        {
            "policy": policy,
            "step_scale": scale,
            "seq_len": seq_len,
            "seed": seed,
            "base_token_probability": bases[policy, seq_len, seed]["final_mean_token_probability"],
            "base_test_error": bases[policy, seq_len, seed]["final_test_error"],
            "mean_step_size": step_sizes.get((policy, scale, seq_len, seed)),
            **run_columns(result),
            "collapsed": result.get("collapsed"),
        }
        for (policy, scale, seq_len, seed), result in sorted(results.items())
    ]


def variant_series(
    results: Mapping[Key, Summary], variants: Sequence[tuple[str, float]], lengths: Sequence[int], seeds: int
) -> dict[str, dict[str, Any]]:
    """Per variant (``variant_name``): its policy and c, N, and the queries to the target over the seeds
    (``query_curve``)."""
    return {
        variant_name(policy, scale): {
            "policy": policy,
            "step_scale": scale,
            "seq_len": list(lengths),
            **query_curve([[results[policy, scale, n, seed] for seed in range(seeds)] for n in lengths]),
        }
        for policy, scale in variants
    }


def growth_verdict(lengths: Sequence[int], median_queries: Sequence[float | None]) -> dict[str, Any]:
    """The fitted growth per token and power of N of the median queries, with 95% intervals
    (``growth_fits``), and whether the cost is near-linear: True when the power's interval lies wholly
    below ``NEAR_LINEAR``, False when wholly above, None when it straddles it or there is no interval."""
    fits = growth_fits(lengths, median_queries)
    interval = fits["power_of_n_ci95"]
    near_linear = None
    if interval is not None and interval[0] is not None and interval[1] is not None:
        near_linear = True if interval[1] < NEAR_LINEAR else False if interval[0] > NEAR_LINEAR else None
    return {**fits, "near_linear": near_linear}


def summarize(
    results: Mapping[Key, Summary],
    bases: Mapping[tuple[str, int, int], Summary],
    variants: Sequence[tuple[str, float]],
    config: Mapping[str, Any],
    step_sizes: Mapping[Key, float | None],
) -> dict[str, Any]:
    """The experiment's summary: its settings, the curves and fits per variant (with the mean step size
    per verified token at each N, over the seeds), the base models' test errors, the collapsed runs and
    whether every query count agrees with the env's."""
    lengths = list(config["seq_lens"])
    series = variant_series(results, variants, lengths, config["seeds"])
    for policy, scale in variants:
        series[variant_name(policy, scale)]["mean_step_size"] = [
            mean_or_none([step_sizes.get((policy, scale, n, seed)) for seed in range(config["seeds"])]) for n in lengths
        ]
    return {
        "config": dict(config),
        "series": series,
        "growth": {name: growth_verdict(lengths, curve["median_queries"]) for name, curve in series.items()},
        "base_test_error": {
            policy: [
                sum(bases[policy, n, s]["final_test_error"] for s in range(config["seeds"])) / config["seeds"]
                for n in lengths
            ]
            for policy in sorted({policy for policy, _ in variants})
        },  # fmt: skip
        "collapsed_runs": [
            f"{variant_label(policy, scale)} N={n} seed {seed}"
            for (policy, scale, n, seed), result in sorted(results.items())
            if result.get("collapsed")
        ],
        "queries_match_env": queries_match_env(list(results.values())),
    }


def mean_or_none(values: Sequence[float | None]) -> float | None:
    """The mean of the values that are not None (None if none is)."""
    present = [value for value in values if value is not None]
    return sum(present) / len(present) if present else None


def format_summary(summary: Mapping[str, Any]) -> str:
    """The lines printed at the end: per variant the median queries at each N, then its fits and verdict."""
    lines = []
    for name, curve in summary["series"].items():
        lines.append(f"{variant_label(curve['policy'], curve['step_scale'])}: median queries to the target")
        cells = [
            f"N={n}: {'-' if q is None else f'{q:.0f}'} ({r} reached)"
            for n, q, r in zip(curve["seq_len"], curve["median_queries"], curve["reached"], strict=True)
        ]
        lines.append("  " + ", ".join(cells))
        steps = [f"{step:.2g}" if step is not None else "-" for step in curve.get("mean_step_size", [])]
        if steps:
            lines.append("  mean step per verified token: " + ", ".join(steps))
        growth = summary["growth"][name]
        fit = growth_text(growth)
        if fit is None:
            lines.append("  no fit")
            continue
        verdict = {True: "near-linear", False: "not near-linear", None: "undecided"}[growth["near_linear"]]
        lines.append(f"  fitted: {fit}: {verdict}")
    if summary.get("collapsed_runs"):
        lines.append("COLLAPSED (not results): " + ", ".join(summary["collapsed_runs"]))
    lines.append(f"agent query counts equal the env's: {summary['queries_match_env']}")
    return "\n".join(lines)
