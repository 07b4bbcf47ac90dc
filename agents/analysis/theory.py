"""Analysis shared by the theory's query experiments (the base model barrier in N, the margin): from the
summaries ``run_job`` returned for the runs of a sweep, the columns of one table row per run, the curve of
queries to the target over a swept setting (median, geometric mean, runs that reached it, most spent), and
the fits the theory is read by, each with its 95% interval.

A run summary is the ``done.json`` of a run under a stop rule on ``eval/test_error``
(``agents.experiment.jobs.summarize_run``): ``reached``, ``queries_to_target``, ``final_test_error``,
``final_reward_queries``, ``final_updates``, ``reward_queries`` (the learner's count),
``env_reward_queries`` (the env's) and the learner's ``tries``. Everything here is a pure function of such
summaries: it never runs anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agents.analysis.statistics import (
    Estimate,
    growth_per_token,
    interval_or_none,
    point_or_none,
    power_law_exponent,
    query_statistics,
)

Summary = Mapping[str, Any]


def run_columns(summary: Summary) -> dict[str, Any]:
    """The columns every query experiment's table has for one run, from its summary: m (``tries``; None
    for a learner without one), whether and after how many queries it reached the target, its last test
    error, queries and updates, and the learner's and the env's query counts (equal when every query went
    through the env)."""
    return {
        "tries": summary.get("tries"),
        "reached": summary["reached"],
        "queries_to_target": summary["queries_to_target"],
        "final_test_error": summary["final_test_error"],
        "final_reward_queries": summary["final_reward_queries"],
        "final_updates": summary["final_updates"],
        "agent_reward_queries": summary["reward_queries"],
        "env_reward_queries": summary["env_reward_queries"],
    }


def query_curve(settings: Sequence[Sequence[Summary]]) -> dict[str, list[Any]]:
    """Queries to the target along a swept setting; ``settings[i]`` holds the summaries of the seeds at the
    i-th value. Returns lists with one entry per value: ``median_queries`` and ``geometric_mean_queries``
    over the runs that reached the target (None where none did), ``reached`` (how many did) and
    ``max_spent`` (the most queries any run spent: a lower bound where one did not reach it)."""
    points = [query_statistics([dict(summary) for summary in runs]) for runs in settings]
    return {
        "median_queries": [point["median"] for point in points],
        "geometric_mean_queries": [point["geometric_mean"] for point in points],
        "reached": [point["reached"] for point in points],
        "max_spent": [point["max_spent"] for point in points],
    }


def queries_match_env(summaries: Sequence[Summary]) -> bool:
    """Whether every run's learner counted exactly the reward queries its env answered."""
    return all(summary["reward_queries"] == summary["env_reward_queries"] for summary in summaries)


def estimate_fields(name: str, estimate: Estimate | None) -> dict[str, Any]:
    """A fit as two JSON fields: ``name`` (its point, None without a fit) and ``name_ci95`` (its interval)."""
    return {name: point_or_none(estimate), f"{name}_ci95": interval_or_none(estimate)}


def growth_fits(lengths: Sequence[float], values: Sequence[float | None]) -> dict[str, Any]:
    """values ~ C r^N: r per extra token (``rate_per_token``); values ~ C N^p: the power p (``power_of_n``);
    each with its 95% interval. Points without a value (None) are left out of the fits."""
    return {
        **estimate_fields("rate_per_token", growth_per_token(lengths, values)),
        **estimate_fields("power_of_n", power_law_exponent(lengths, values)),
    }
