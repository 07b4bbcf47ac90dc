"""The barrier experiment's analysis: pure functions of the runs' summaries (``run_job``'s ``done.json``) to
its table, its curves of queries against N beside k^N and N k, the fitted growth and the text summary."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agents.analysis.statistics import growth_text
from agents.analysis.theory import growth_fits, queries_match_env, query_curve, run_columns
from scripts.barrier.settings import ALGORITHMS

BASE_METRICS = ("mean_token_probability", "test_error", "likelihood_quantile")
"""The base models' metrics the summary averages over seeds (stored under their ``eval/`` names)."""

Summary = Mapping[str, Any]


def table_rows(results: Mapping[tuple[str, int, int], Summary], bases: Mapping[tuple[int, int], Summary]) -> list[dict]:
    """One row per run, sorted by (algorithm, N, seed): the base model it started from (its quality per
    token, test error, LQ and token-level LQ, the pre-training steps it took) and how the run went."""
    return [
        {
            "algorithm": algorithm,
            "seq_len": seq_len,
            "seed": seed,
            "base_token_probability": bases[seq_len, seed]["final_mean_token_probability"],
            "base_test_error": bases[seq_len, seed]["final_test_error"],
            "base_likelihood_quantile": bases[seq_len, seed]["final_likelihood_quantile"],
            "base_token_likelihood_quantile": bases[seq_len, seed]["final_token_likelihood_quantile"],
            "pretrain_steps": bases[seq_len, seed]["final_step"],
            **run_columns(result),
            "collapsed": result.get("collapsed"),
        }
        for (algorithm, seq_len, seed), result in sorted(results.items())
    ]


def query_series(
    results: Mapping[tuple[str, int, int], Summary],
    algorithms: Sequence[str],
    lengths: Sequence[int],
    seeds: int,
    vocab_size: int,
) -> dict[str, dict[str, list[Any]]]:
    """Per algorithm, along N: the queries to the target over the seeds (``query_curve``), m of seed 0, and
    the two reference rates k^N (the outcome reward's barrier) and N k (the process reward's)."""
    lengths = list(lengths)
    return {
        algorithm: {
            "seq_len": lengths,
            **query_curve([[results[algorithm, n, seed] for seed in range(seeds)] for n in lengths]),
            "tries": [results[algorithm, n, 0].get("tries") for n in lengths],
            "k_to_the_n": [float(vocab_size) ** n for n in lengths],
            "n_times_k": [float(n * vocab_size) for n in lengths],
        }
        for algorithm in algorithms
    }


def base_model_means(
    bases: Mapping[tuple[int, int], Summary], lengths: Sequence[int], seeds: int
) -> dict[str, dict[str, float]]:
    """Per N (as a string): the base models' quality per token, test error and LQ, averaged over seeds."""
    return {
        str(n): {
            f"eval/{name}": float(sum(bases[n, seed][f"final_{name}"] for seed in range(seeds)) / seeds)
            for name in BASE_METRICS
        }
        for n in lengths
    }


def summarize(
    results: Mapping[tuple[str, int, int], Summary],
    bases: Mapping[tuple[int, int], Summary],
    config: Mapping[str, Any],
) -> dict[str, Any]:
    """The experiment's summary from its runs and its settings ``config`` (a ``BarrierConfig`` as a dict):
    the curves, the fitted growth per algorithm, the base models and whether every query count agrees."""
    lengths = list(config["seq_lens"])
    series = query_series(results, list(config["algorithms"]), lengths, config["seeds"], config["vocab_size"])
    return {
        "config": dict(config),
        "series": series,
        "growth": {algorithm: growth_fits(lengths, curve["median_queries"]) for algorithm, curve in series.items()},
        "base_models": base_model_means(bases, lengths, config["seeds"]),
        "queries_match_env": queries_match_env(list(results.values())),
        "collapsed_runs": [
            f"{algorithm} N={seq_len} seed {seed}"
            for (algorithm, seq_len, seed), result in sorted(results.items())
            if result.get("collapsed")
        ],
    }


def format_summary(summary: Mapping[str, Any]) -> str:
    """The lines printed at the end: per algorithm and N the median queries, the runs that reached the
    target, m and the reference rates, then the fitted growth."""
    lines = []
    for algorithm, curve in summary["series"].items():
        lines.append(f"{ALGORITHMS[algorithm]}: median queries to the target (runs that reached it / runs)")
        for index, n in enumerate(curve["seq_len"]):
            median = curve["median_queries"][index]
            lines.append(
                f"  N={n:<3} {'-' if median is None else f'{median:.0f}':>10}  ({curve['reached'][index]} reached)  "
                f"m={curve['tries'][index]}  k^N={curve['k_to_the_n'][index]:.0f}  Nk={curve['n_times_k'][index]:.0f}"
            )
        fit = growth_text(summary["growth"][algorithm])
        lines.append("  no fit" if fit is None else f"  fitted: {fit}")
    lines.append(f"agent query counts equal the env's: {summary['queries_match_env']}")
    if summary.get("collapsed_runs"):
        lines.append(
            "COLLAPSED (ended worse than the base or deterministic on wrong tokens; not results): "
            + ", ".join(summary["collapsed_runs"])
        )
    return "\n".join(lines)
