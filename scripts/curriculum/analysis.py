"""The curriculum experiment's analysis: pure functions of the runs' summaries and metric records to its table,
its curves of queries against N per method (runs that hit the budget counted as censored, not dropped), the
fitted growth laws and the text summary. It never runs anything."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from agents.analysis.statistics import interval_text
from agents.analysis.theory import growth_fits
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


def run_row(
    key: tuple[str, int, int, int], summary: Summary, records: Sequence[Record], config: Mapping[str, Any]
) -> dict[str, Any]:
    """One table row: the run's identity, the query experiments' columns, whether each target was reached
    within the budget (else censored), the off-support contexts and their lifted share at the end, and what the
    tricks did (groups dropped, curriculum changes and final level)."""
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
        curves[method] = curve
    return curves


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
        rate, power = growth["rate_per_token"], growth["power_of_n"]
        lines.append(
            f"  fitted: x{rate:.3g}{interval_text(growth['rate_per_token_ci95'], '.3g')} per token, "
            f"N^{power:.2f}{interval_text(growth['power_of_n_ci95'])}; better fit: {growth['better_law'] or 'too few points'}"
            if rate is not None and power is not None
            else "  no fit (fewer than two lengths reached)"
        )
    lines.append(f"agent query counts equal the env's: {summary['queries_match_env']}")
    if summary.get("collapsed_runs"):
        lines.append("COLLAPSED (not results): " + ", ".join(summary["collapsed_runs"]))
    return "\n".join(lines)
