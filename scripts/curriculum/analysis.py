"""The curriculum experiment's analysis: pure functions of the runs' summaries and metric records to its table,
its curves of queries against N per method (runs that hit the budget counted as censored, not dropped), the
fitted growth laws, each trick's growth rate against plain ORM's (a bootstrap over the paired base models), the
exact pass@k at the end beside the base model's and the text summary. It never runs anything."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from agents.analysis.statistics import BOOTSTRAP_REPS, BOOTSTRAP_SEED, CONFIDENCE, growth_text, interval_text
from agents.analysis.theory import growth_fits
from agents.policy.coverage import area_between, crossover_k
from scripts.curriculum.settings import METHODS

Summary = Mapping[str, Any]
Record = Mapping[str, Any]


def lifted_share(record: Record, lifted_above: float) -> float | None:
    """The share of the tracked (off-support) contexts whose likelihood exceeds ``lifted_above`` in one
    evaluation record; None where nothing is tracked."""
    tracked = record.get("eval/tracked_likelihood")
    if not tracked:
        return None
    return float(np.mean(np.asarray(tracked, dtype=np.float64) > lifted_above))


def queries_to_lift(records: Sequence[Record], lifted_above: float, share: float) -> float | None:
    """The reward queries at the first evaluation where at least ``share`` of the off-support contexts are
    lifted (likelihood above ``lifted_above``); None if none was (or none is tracked)."""
    for record in records:
        value = lifted_share(record, lifted_above)
        if value is not None and value >= share:
            return float(record.get("train/reward_queries", 0))
    return None


def censored(queries: float | None, budget: int) -> bool:
    """Whether a run did not reach its target within ``budget`` queries (it spent the budget first)."""
    return queries is None or queries > budget


PASS_PREFIX = "final_pass@"
"""A run summary's exact pass@k at its end: ``final_pass@<k>`` (the k the evaluation logs)."""


def pass_at_k_columns(summary: Summary, prefix: str = "") -> dict[str, float]:
    """The exact pass@k a run's summary holds at its end, as ``{prefix}pass@<k>`` columns in increasing k."""
    ks = sorted(int(key[len(PASS_PREFIX) :]) for key in summary if key.startswith(PASS_PREFIX))
    return {f"{prefix}pass@{k}": float(summary[f"{PASS_PREFIX}{k}"]) for k in ks}


def run_row(
    key: tuple[str, int, int, int],
    summary: Summary,
    records: Sequence[Record],
    config: Mapping[str, Any],
    base: Summary | None = None,
) -> dict[str, Any]:
    """One table row: the run's identity, the query experiments' columns, whether each target was reached
    within the budget (else censored), the off-support contexts and their lifted share at the end, what the
    tricks did (groups dropped, curriculum changes and final level) and the exact pass@k at the end, beside
    that of its base model (``base``: the pre-training run's summary)."""
    method, task_seed, seq_len, seed = key
    budget = int(config["query_budget"])
    evaluations = [record for record in records if "eval/test_error" in record]
    trained = [record for record in records if "train/reward_queries" in record and "eval/test_error" not in record]
    last_train = trained[-1] if trained else {}
    lift = queries_to_lift(evaluations, config["lifted_above"], config["lifted_share"])
    tracked = evaluations[-1].get("eval/tracked_likelihood") if evaluations else None
    queries = summary["queries_to_target"] if summary["reached"] else None
    return {
        "method": method,
        "task_seed": task_seed,
        "seq_len": seq_len,
        "seed": seed,
        "reached": summary["reached"],
        "queries_to_target": summary["queries_to_target"],
        "final_test_error": summary["final_test_error"],
        "final_reward_queries": summary["final_reward_queries"],
        "final_step": summary["final_step"],
        "agent_reward_queries": summary["reward_queries"],
        "env_reward_queries": summary["env_reward_queries"],
        "collapsed": summary.get("collapsed"),
        "censored": censored(queries, budget),
        "off_support_contexts": len(tracked) if tracked else 0,
        "final_lifted_share": lifted_share(evaluations[-1], config["lifted_above"]) if evaluations else None,
        "queries_to_lift": lift,
        "lift_censored": None if not tracked else censored(lift, budget),
        "dropped_groups": last_train.get("difficulty/total_dropped_groups"),
        "curriculum_changes": last_train.get("curriculum/changes"),
        "curriculum_final_level": last_train.get("curriculum/level"),
        **pass_at_k_columns(summary),
        **(pass_at_k_columns(base, "base_") if base is not None else {}),
    }


def censored_median(values: Sequence[float | None]) -> float | None:
    """The median of ``values`` with each censored run (None) counted as larger than every observed one: None
    (itself censored) when half of the runs or more did not reach the target."""
    if not values:
        return None
    ordered = sorted(math.inf if value is None else float(value) for value in values)
    middle = len(ordered) // 2
    median = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return None if math.isinf(median) else median


def better_law(lengths: Sequence[float], values: Sequence[float | None]) -> dict[str, Any]:
    """Which of log q = a + b N (exponential) and log q = a + p log N (power) fits the points with a value
    better: their residual sums of squares in log space and the name of the smaller (None with fewer than
    three points, where both fit exactly or not at all)."""
    pairs = [(float(n), math.log(v)) for n, v in zip(lengths, values, strict=True) if v is not None and v > 0]
    if len(pairs) < 3:
        return {"better_law": None, "rss_exponential": None, "rss_power": None}
    n, log_q = np.array(pairs).T
    rss = {}
    for name, x in (("exponential", n), ("power", np.log(n))):
        coefficients = np.polyfit(x, log_q, 1)
        rss[name] = float(np.sum((np.polyval(coefficients, x) - log_q) ** 2))
    return {
        "better_law": min(rss, key=rss.__getitem__),
        "rss_exponential": rss["exponential"],
        "rss_power": rss["power"],
    }


def method_curves(
    rows: Sequence[Mapping[str, Any]], methods: Sequence[str], lengths: Sequence[int], budget: int
) -> dict[str, dict[str, list[Any]]]:
    """Per method, along N: the runs, how many reached each target within ``budget`` and the censored median
    of the queries to it (test error, and the share of off-support contexts lifted, over the runs that have
    off-support contexts)."""
    curves: dict[str, dict[str, list[Any]]] = {}
    for method in methods:
        curve: dict[str, list[Any]] = {key: [] for key in (
            "seq_len", "runs", "reached", "censored", "median_queries", "lift_runs", "lifted", "median_queries_to_lift"
        )}  # fmt: skip
        for n in lengths:
            runs = [row for row in rows if row["method"] == method and row["seq_len"] == n]
            queries = [None if row["censored"] else row["queries_to_target"] for row in runs]
            lifts = [row for row in runs if row["lift_censored"] is not None]
            curve["seq_len"].append(n)
            curve["runs"].append(len(runs))
            curve["reached"].append(sum(value is not None for value in queries))
            curve["censored"].append(sum(value is None for value in queries))
            curve["median_queries"].append(censored_median(queries))
            curve["lift_runs"].append(len(lifts))
            curve["lifted"].append(sum(not row["lift_censored"] for row in lifts))
            curve["median_queries_to_lift"].append(
                censored_median([None if row["lift_censored"] else row["queries_to_lift"] for row in lifts])
            )
            for column in pass_columns(rows):  # the exact pass@k at the end, mean over the runs
                curve.setdefault(f"mean_{column}", []).append(
                    float(np.mean([row[column] for row in runs])) if runs else None
                )
        curves[method] = curve
    return curves


def pass_columns(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """The pass@k columns (the run's and its base model's) that every row has."""
    if not rows:
        return []
    return [column for column in rows[0] if "pass@" in column and all(column in row for row in rows)]


def paired_medians(
    rows: Sequence[Mapping[str, Any]], methods: Sequence[str], lengths: Sequence[int]
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Queries to the target as an array ``(methods, lengths, pairs)``, one column per (task draw, seed) pair,
    the base model every method starts from at each N (inf: censored or missing), and the pairs."""
    pairs = sorted({(int(row["task_seed"]), int(row["seed"])) for row in rows})
    where = {pair: index for index, pair in enumerate(pairs)}
    queries = np.full((len(methods), len(lengths), len(pairs)), np.inf)
    slots = {(method, n): (i, j) for i, method in enumerate(methods) for j, n in enumerate(lengths)}
    for row in rows:
        slot = slots.get((row["method"], row["seq_len"]))
        if slot is not None and not row["censored"]:
            queries[(*slot, where[int(row["task_seed"]), int(row["seed"])])] = float(row["queries_to_target"])
    return queries, pairs


def common_lengths(medians: np.ndarray, index: int, reference: int) -> np.ndarray:
    """The lengths (a mask) at which both methods' medians ``(methods, lengths)`` are reached."""
    return (
        np.isfinite(medians[index]) & np.isfinite(medians[reference]) & (medians[index] > 0) & (medians[reference] > 0)
    )


def slope_differences(lengths: np.ndarray, medians: np.ndarray, reference: int) -> np.ndarray:
    """Per method (row of ``medians`` ``(methods, lengths)``): the least-squares slope of its log median against
    N minus the reference's, both fitted over the lengths where both are reached (NaN with fewer than two)."""
    differences = np.full(len(medians), np.nan)
    for index in range(len(medians)):
        both = common_lengths(medians, index, reference)
        if both.sum() >= 2:
            mine, theirs = (np.polyfit(lengths[both], np.log(medians[row][both]), 1)[0] for row in (index, reference))
            differences[index] = mine - theirs
    return differences


def growth_against(
    rows: Sequence[Mapping[str, Any]],
    methods: Sequence[str],
    lengths: Sequence[int],
    reference: str = "orm",
    reps: int = BOOTSTRAP_REPS,
    seed: int = BOOTSTRAP_SEED,
) -> dict[str, dict[str, Any]]:
    """Per method, its growth per token against ``reference``'s over the lengths where both medians are reached
    (a censored median is not a point of either fit): the ratio of the fitted rates (exp of the difference of the
    slopes of log median queries against N) with a 95% percentile interval from a bootstrap that resamples the
    (task draw, seed) pairs, every method's runs of a pair together (they share their base models); and the
    constant factor, the geometric mean over those lengths of the ratio of the medians. ``verdict``: "slower" or
    "faster" growth where the interval excludes 1, "same law" where it holds 1 (then only the constant
    differs), None without an interval (a single pair)."""
    if reference not in methods:
        return {}
    queries, pairs = paired_medians(rows, methods, lengths)
    if len(pairs) < 2:
        reps = 0  # one base model per length: nothing to resample, no interval
    x = np.asarray(lengths, dtype=np.float64)
    ref = list(methods).index(reference)
    medians = np.median(queries, axis=2)  # the censored medians: inf where half or more runs are censored
    point = slope_differences(x, medians, ref)
    generator = np.random.default_rng(seed)
    draws = np.array(
        [
            slope_differences(x, np.median(queries[:, :, generator.integers(len(pairs), size=len(pairs))], axis=2), ref)
            for _ in range(reps)
        ]
    ).reshape(reps, len(methods))
    result: dict[str, dict[str, Any]] = {}
    tail = 50 * (1 - CONFIDENCE)
    for index, method in enumerate(methods):
        if method == reference or np.isnan(point[index]):
            continue
        differences = draws[:, index][np.isfinite(draws[:, index])]
        low, high = np.exp(np.percentile(differences, [tail, 100 - tail])) if len(differences) else (math.nan, math.nan)
        both = common_lengths(medians, index, ref)
        verdict = "same law" if low <= 1 <= high else ("slower" if high < 1 else "faster")
        result[method] = {
            "lengths": [int(n) for n in x[both]],
            "rate_ratio": float(np.exp(point[index])),
            "rate_ratio_ci95": None if math.isnan(low) else [float(low), float(high)],
            "resamples_with_fit": int(len(differences)),
            "constant_factor": float(np.exp(np.mean(np.log(medians[index][both] / medians[ref][both])))),
            "verdict": None if math.isnan(low) else verdict,
        }
    return result


def coverage_against_base(series: Mapping[str, Mapping[str, list[Any]]]) -> dict[str, dict[str, Any]]:
    """Per method and N, its mean exact pass@k at the end against its base models' mean: the crossover k* (the
    smallest k of the logged grid at which the base is at least the trained model; None: none) and the area
    between the curves over log2 k (positive: the trained model reaches more)."""
    result: dict[str, dict[str, Any]] = {}
    for method, curve in series.items():
        trained = [key for key in curve if key.startswith("mean_pass@")]
        if not trained or not all(key.replace("mean_", "mean_base_") in curve for key in trained):
            continue
        ks = [int(key.split("@")[1]) for key in trained]
        entry: dict[str, list[Any]] = {"k": ks, "crossover_k": [], "area": []}
        for index in range(len(curve["seq_len"])):
            mine = [curve[key][index] for key in trained]
            base = [curve[key.replace("mean_", "mean_base_")][index] for key in trained]
            usable = None not in mine and None not in base
            entry["crossover_k"].append(crossover_k(ks, base, mine) if usable else None)
            entry["area"].append(area_between(ks, base, mine) if usable else None)
        result[method] = entry
    return result


def summarize(rows: Sequence[Mapping[str, Any]], config: Mapping[str, Any]) -> dict[str, Any]:
    """The experiment's summary from its table rows and settings (``CurriculumConfig`` as a dict): the curves,
    the growth laws per method (rate per token and power of N with 95% intervals, and which fits better),
    whether every query count agrees with the env's."""
    lengths = list(config["seq_lens"])
    curves = method_curves(rows, list(config["methods"]), lengths, int(config["query_budget"]))
    return {
        "config": dict(config),
        "series": curves,
        "growth": {
            method: {**growth_fits(lengths, curve["median_queries"]), **better_law(lengths, curve["median_queries"])}
            for method, curve in curves.items()
        },
        "against_orm": growth_against(rows, list(config["methods"]), lengths),
        "coverage": coverage_against_base(curves),
        "queries_match_env": all(row["agent_reward_queries"] == row["env_reward_queries"] for row in rows),
        "collapsed_runs": [
            f"{row['method']} task {row['task_seed']} N={row['seq_len']} seed {row['seed']}"
            for row in rows
            if row.get("collapsed")
        ],
    }


def format_summary(summary: Mapping[str, Any]) -> str:
    """The lines printed at the end: per method and N the censored median queries to each target and the runs
    that reached it, then the fitted growth law."""
    budget = summary["config"]["query_budget"]
    lines = [
        f"median reward queries to the target (censored at the budget of {budget}; '>' where half or more were; "
        "lifting the off-support contexts is measured until a run stops, at the test-error target or the budget)"
    ]
    for method, curve in summary["series"].items():
        lines.append(f"{METHODS[method]}:")
        for index, n in enumerate(curve["seq_len"]):
            median, lift = curve["median_queries"][index], curve["median_queries_to_lift"][index]
            lines.append(
                f"  N={n:<3} test error: {'>' + str(budget) if median is None else f'{median:.0f}':>10} "
                f"({curve['reached'][index]}/{curve['runs'][index]} reached)   off-support lifted: "
                + (
                    f"{'not reached' if lift is None else f'{lift:.0f}':>11} ({curve['lifted'][index]}/{curve['lift_runs'][index]})"
                    if curve["lift_runs"][index]
                    else "no off-support contexts"
                )
            )
        growth = summary["growth"][method]
        fit = growth_text(growth)
        lines.append(
            "  no fit (fewer than two lengths reached)"
            if fit is None
            else f"  fitted: {fit}; better fit: {growth['better_law'] or 'too few points'}"
        )
    lines.extend(comparison_lines(summary))
    lines.append(f"agent query counts equal the env's: {summary['queries_match_env']}")
    if summary.get("collapsed_runs"):
        lines.append("COLLAPSED (not results): " + ", ".join(summary["collapsed_runs"]))
    return "\n".join(lines)


VERDICTS = {
    "slower": "grows slower: the law changed",
    "faster": "grows faster",
    "same law": "same law within the interval: only the constant differs",
    None: "no interval (one base model per length)",
}
"""How the growth comparison's verdict is printed."""


def comparison_lines(summary: Mapping[str, Any]) -> list[str]:
    """Each trick's growth against plain ORM's, then the exact pass@k at the end at the longest N."""
    lines = []
    if summary.get("against_orm"):
        lines.append("growth per token against plain ORM's (ratio of the rates, 95% bootstrap over the base models):")
    for method, entry in summary.get("against_orm", {}).items():
        constant = entry["constant_factor"]
        lines.append(
            f"  {METHODS[method]}: x{entry['rate_ratio']:.3f}{interval_text(entry['rate_ratio_ci95'], '.3f')}, "
            f"{VERDICTS[entry['verdict']]}; queries x{constant:.3g} of ORM's (geometric mean; both fitted over "
            f"N = {', '.join(map(str, entry['lengths']))}, where both medians are reached)"
        )
    series = summary["series"]
    first: Mapping[str, Any] = next(iter(series.values()), {})
    trained = [key[len("mean_") :] for key in first if key.startswith("mean_pass@")]
    if trained:
        lines.append(f"exact pass@k at the end, N={first['seq_len'][-1]}, mean over runs ({', '.join(trained)}):")
        for method, curve in series.items():
            coverage = summary.get("coverage", {}).get(method)
            lines.append(
                f"  {METHODS[method]}: "
                + number_list([curve[f"mean_{column}"][-1] for column in trained])
                + (
                    f"; base overtakes at k* = {coverage['crossover_k'][-1] or 'none'}, area "
                    f"{coverage['area'][-1]:+.3f}"
                    if coverage and coverage["area"][-1] is not None
                    else ""
                )
            )
        if all(f"mean_base_{column}" in first for column in trained):
            lines.append("  base model: " + number_list([first[f"mean_base_{column}"][-1] for column in trained]))
    return lines


def number_list(values: Sequence[float | None]) -> str:
    """Values as printed in a summary line (n/a for None)."""
    return ", ".join("n/a" if value is None else f"{value:.4f}" for value in values)
