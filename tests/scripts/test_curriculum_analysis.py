"""The curriculum experiment's analysis on hand-made runs: censored medians, the growth law that fits better,
queries to lifting the off-support contexts, and runs past the budget counted as censored."""

from __future__ import annotations

import math

import pytest

from scripts.curriculum.analysis import (
    better_law,
    censored_median,
    method_curves,
    queries_to_lift,
    run_row,
    summarize,
)

CONFIG = {
    "query_budget": 1000,
    "lifted_above": 0.5,
    "lifted_share": 0.5,
    "seq_lens": (2, 4, 6),
    "methods": ("orm", "prm"),
}


def summary(reached: bool, queries: int | None, spent: int) -> dict:
    return {
        "reached": reached,
        "queries_to_target": queries,
        "final_test_error": 0.1,
        "final_reward_queries": spent,
        "final_step": 10,
        "reward_queries": spent,
        "env_reward_queries": spent,
    }


def test_censored_median_counts_censored_runs_as_larger_than_every_observed_one() -> None:
    assert censored_median([1.0, 2.0, None]) == 2.0
    assert censored_median([1.0, 2.0, 3.0, None]) == 2.5
    assert censored_median([1.0, None, None]) is None
    assert censored_median([1.0, 2.0, None, None]) is None  # the median lies past the budget
    assert censored_median([]) is None


def test_the_better_law_is_the_one_the_points_follow() -> None:
    lengths = [2, 4, 6, 8, 10]
    assert better_law(lengths, [3.0**n for n in lengths])["better_law"] == "exponential"
    assert better_law(lengths, [float(n) ** 2 for n in lengths])["better_law"] == "power"
    assert better_law(lengths, [9.0, 81.0, None, None, None])["better_law"] is None  # two points fit both exactly


def test_queries_to_lift_reads_the_first_evaluation_with_enough_contexts_lifted() -> None:
    records = [
        {"train/reward_queries": 0, "eval/tracked_likelihood": [0.0, 0.0, 0.0, 0.0]},
        {"train/reward_queries": 100, "eval/tracked_likelihood": [0.9, 0.1, 0.0, 0.0]},
        {"train/reward_queries": 200, "eval/tracked_likelihood": [0.9, 0.6, 0.0, 0.0]},
    ]
    assert queries_to_lift(records, 0.5, 0.5) == 200.0
    assert queries_to_lift(records, 0.5, 0.75) is None
    assert queries_to_lift([{"train/reward_queries": 5}], 0.5, 0.5) is None  # nothing tracked


def test_a_run_past_the_budget_is_censored_and_the_curves_count_it() -> None:
    evaluations = [{"step": 0, "eval/test_error": 0.9, "train/reward_queries": 0, "eval/tracked_likelihood": [0.0]}]
    rows = [
        run_row(("orm", 0, 2, 0), summary(True, 300, 300), evaluations, CONFIG),
        run_row(("orm", 0, 2, 1), summary(True, 1500, 1500), evaluations, CONFIG),  # reached, but past the budget
        run_row(("orm", 0, 2, 2), summary(False, None, 1000), evaluations, CONFIG),
        run_row(("prm", 0, 2, 0), summary(True, 50, 50), [], CONFIG),
    ]
    assert [row["censored"] for row in rows] == [False, True, True, False]
    assert rows[0]["lift_censored"] is True and rows[3]["lift_censored"] is None  # no off-support contexts tracked
    curves = method_curves(rows, ["orm", "prm"], [2], 1000)
    assert curves["orm"]["runs"] == [3] and curves["orm"]["reached"] == [1] and curves["orm"]["censored"] == [2]
    assert curves["orm"]["median_queries"] == [None]  # two of three censored: the median is too
    assert curves["prm"]["median_queries"] == [50.0] and curves["prm"]["lift_runs"] == [0]
    result = summarize(rows, {**CONFIG, "seq_lens": (2,)})
    assert result["queries_match_env"] is True
    assert result["growth"]["prm"]["rate_per_token"] is None  # one length: no fit
    assert math.isclose(result["series"]["prm"]["median_queries"][0], 50.0)


@pytest.mark.parametrize("budget", [100, 10_000])
def test_censoring_follows_the_budget(budget: int) -> None:
    row = run_row(("orm", 0, 2, 0), summary(True, 500, 500), [], {**CONFIG, "query_budget": budget})
    assert row["censored"] is (500 > budget)
