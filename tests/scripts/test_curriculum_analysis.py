"""The curriculum experiment's analysis on hand-made runs: censored medians, the growth law that fits better,
queries to lifting the off-support contexts, and runs past the budget counted as censored."""

from __future__ import annotations

import math

import pytest

from scripts.curriculum.analysis import (
    better_law,
    censored_median,
    coverage_against_base,
    growth_against,
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


def query_rows(method: str, queries_at: dict[int, float], pairs: int, spread: float = 0.1) -> list[dict]:
    """Rows of ``method`` over ``pairs`` (task draw, seed) pairs: at each N, queries ``queries_at[N]`` scaled
    by a per-pair factor in [1 - spread, 1 + spread] (the same for every method: paired base models)."""
    rows = []
    for pair in range(pairs):
        factor = 1 - spread + 2 * spread * pair / max(1, pairs - 1)
        for n, queries in queries_at.items():
            rows.append(
                {"method": method, "task_seed": pair % 3, "seed": pair // 3, "seq_len": n, "censored": False,
                 "queries_to_target": queries * factor}
            )  # fmt: skip
    return rows


def test_growth_against_orm_tells_a_changed_law_from_a_changed_constant() -> None:
    lengths = [2, 4, 6, 8]
    rows = (
        query_rows("orm", {n: 100 * 3.0**n for n in lengths}, 9)
        + query_rows("orm_dynamic_sampling", {n: 250 * 3.0**n for n in lengths}, 9)  # 2.5 x ORM's at every N
        + query_rows("orm_hint_curriculum", {n: 100 * n**2 for n in lengths}, 9)  # a power law
    )
    methods = ["orm", "orm_dynamic_sampling", "orm_hint_curriculum"]
    against = growth_against(rows, methods, lengths, reps=200)
    assert set(against) == {"orm_dynamic_sampling", "orm_hint_curriculum"}
    same = against["orm_dynamic_sampling"]
    assert same["verdict"] == "same law" and math.isclose(same["rate_ratio"], 1.0, abs_tol=1e-9)
    assert math.isclose(same["constant_factor"], 2.5, rel_tol=1e-9)
    changed = against["orm_hint_curriculum"]
    assert changed["verdict"] == "slower" and changed["rate_ratio_ci95"][1] < 1
    one_pair = growth_against(query_rows("orm", {2: 9.0, 4: 81.0}, 1) + query_rows("prm", {2: 4.0, 4: 8.0}, 1),
                              ["orm", "prm"], [2, 4])  # fmt: skip
    assert one_pair["prm"]["verdict"] is None and one_pair["prm"]["rate_ratio_ci95"] is None  # nothing to resample


def test_growth_against_orm_fits_both_over_the_lengths_where_both_medians_are_reached() -> None:
    rows = query_rows("orm", {2: 9.0, 4: 81.0, 6: 729.0}, 4) + query_rows("prm", {2: 9.0, 4: 81.0, 6: 50.0}, 4)
    for row in rows:
        if row["method"] == "prm" and row["seq_len"] == 6 and row["seed"] == 0:
            row["censored"] = True  # pairs 0, 1 and 2 have seed 0: 3 of 4 censored
    against = growth_against(rows, ["orm", "prm"], [2, 4, 6], reps=50)
    assert against["prm"]["lengths"] == [2, 4]  # both fitted where both medians are reached
    assert math.isclose(against["prm"]["rate_ratio"], 1.0, rel_tol=1e-9)  # N = 6's censored median is no point


def test_pass_at_k_columns_and_the_coverage_against_the_base_model() -> None:
    trained = {**summary(True, 300, 300), "final_pass@1": 0.9, "final_pass@16": 0.95, "final_pass@256": 0.96}
    base = {"final_pass@16": 0.3, "final_pass@1": 0.05, "final_pass@256": 0.99}
    row = run_row(("orm", 0, 2, 0), trained, [], CONFIG, base)
    assert [key for key in row if "pass@" in key] == [
        "pass@1", "pass@16", "pass@256", "base_pass@1", "base_pass@16", "base_pass@256"
    ]  # fmt: skip
    curves = method_curves([row], ["orm"], [2], 1000)
    assert curves["orm"]["mean_pass@16"] == [0.95] and curves["orm"]["mean_base_pass@256"] == [0.99]
    coverage = coverage_against_base(curves)["orm"]
    assert coverage["k"] == [1, 16, 256] and coverage["crossover_k"] == [256]  # the base reaches more at k = 256
    assert coverage["area"][0] > 0
