"""The margin experiment's analysis: pure functions of the runs' summaries (``run_job``'s ``done.json``) to
its table, its curves of queries against gamma beside 1/gamma^2, the fitted exponent of 1/gamma and the text
summary."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agents.analysis.statistics import interval_text, power_law_exponent
from agents.analysis.theory import estimate_fields, queries_match_env, query_curve, run_columns
from scripts.margin.settings import LABELS

Summary = Mapping[str, Any]


def table_rows(results: Mapping[tuple[str, float, int], Summary]) -> list[dict[str, Any]]:
    """One row per run, sorted by (algorithm, gamma, seed): its setting, 1/gamma^2 and how it went."""
    return [
        {
            "algorithm": algorithm,
            "margin": gamma,
            "seed": seed,
            "inverse_margin_squared": gamma**-2,
            "base_test_error": result["base_test_error"],
            **run_columns(result),
        }
        for (algorithm, gamma, seed), result in sorted(results.items())
    ]


def query_series(
    results: Mapping[tuple[str, float, int], Summary], algorithms: Sequence[str], margins: Sequence[float], seeds: int
) -> dict[str, dict[str, list[Any]]]:
    """Per algorithm, along increasing gamma: the queries to the target over the seeds (``query_curve``)
    and the theory's rate 1/gamma^2."""
    gammas = sorted(margins)
    return {
        algorithm: {
            "margin": gammas,
            **query_curve([[results[algorithm, g, seed] for seed in range(seeds)] for g in gammas]),
            "inverse_margin_squared": [g**-2 for g in gammas],
        }
        for algorithm in algorithms
    }


def summarize(results: Mapping[tuple[str, float, int], Summary], config: Mapping[str, Any]) -> dict[str, Any]:
    """The experiment's summary from its runs and its settings ``config`` (a ``MarginConfig`` as a dict):
    the curves, the fitted p of queries ~ C (1/gamma)^p per algorithm (the theory's bounds have p = 2) with
    its interval, and whether every query count agrees with the env's."""
    series = query_series(results, list(config["algorithms"]), list(config["margins"]), config["seeds"])
    fits = {
        algorithm: estimate_fields(
            "exponent", power_law_exponent([1.0 / g for g in curve["margin"]], curve["median_queries"])
        )
        for algorithm, curve in series.items()
    }
    return {
        "config": dict(config),
        "series": series,
        "exponent_of_inverse_margin": {algorithm: fit["exponent"] for algorithm, fit in fits.items()},
        "exponent_of_inverse_margin_ci95": {algorithm: fit["exponent_ci95"] for algorithm, fit in fits.items()},
        "queries_match_env": queries_match_env(list(results.values())),
    }


def format_summary(summary: Mapping[str, Any]) -> str:
    """The lines printed at the end: per algorithm the fitted exponent, then per gamma the median queries,
    the runs that reached the target and 1/gamma^2."""
    lines = []
    for algorithm, curve in summary["series"].items():
        exponent = summary["exponent_of_inverse_margin"][algorithm]
        interval = interval_text(summary["exponent_of_inverse_margin_ci95"][algorithm])
        fitted = "no fit" if exponent is None else f"queries ~ (1/gamma)^{exponent:.2f}{interval}"
        lines.append(f"{LABELS[algorithm]}: {fitted}")
        for gamma, median, reached in zip(curve["margin"], curve["median_queries"], curve["reached"], strict=True):
            shown = "-" if median is None else f"{median:.0f}"
            lines.append(
                f"  gamma={gamma:<6g} median queries {shown:>9} ({reached} reached)  1/gamma^2={gamma**-2:.0f}"
            )
    lines.append(f"agent query counts equal the env's: {summary['queries_match_env']}")
    return "\n".join(lines)
