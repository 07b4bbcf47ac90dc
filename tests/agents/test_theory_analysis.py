"""The query experiments' shared analysis on hand-made run summaries: table columns, curves over seeds,
the query-count check and the growth fits (exact on made-up data that follows a known law)."""

from __future__ import annotations

import math

import pytest

from agents.analysis.theory import (
    estimate_fields,
    growth_fits,
    queries_match_env,
    query_curve,
    run_columns,
)


def summary(queries: float | None, spent: float, *, tries: int | None = 3, env: int | None = None) -> dict:
    """A run summary as run_job writes it: reached when ``queries`` is given."""
    return {
        "reached": queries is not None,
        "queries_to_target": queries,
        "final_test_error": 0.05 if queries is not None else 0.4,
        "final_reward_queries": spent,
        "final_updates": int(spent) // 2,
        "reward_queries": int(spent),
        "env_reward_queries": int(spent) if env is None else env,
        **({} if tries is None else {"tries": tries}),
    }


def test_run_columns_rename_the_query_counts_and_default_tries() -> None:
    columns = run_columns(summary(40.0, 50.0, tries=None, env=49))
    assert columns == {
        "tries": None,
        "reached": True,
        "queries_to_target": 40.0,
        "final_test_error": 0.05,
        "final_reward_queries": 50.0,
        "final_updates": 25,
        "agent_reward_queries": 50,
        "env_reward_queries": 49,
    }


def test_query_curve_takes_medians_over_the_runs_that_reached_the_target() -> None:
    curve = query_curve(
        [
            [summary(10.0, 12.0), summary(40.0, 40.0), summary(None, 100.0)],
            [summary(None, 70.0), summary(None, 80.0)],
        ]
    )
    assert curve["median_queries"] == [25.0, None]
    assert curve["geometric_mean_queries"][0] == pytest.approx(20.0)  # sqrt(10 * 40)
    assert curve["geometric_mean_queries"][1] is None
    assert curve["reached"] == [2, 0]
    assert curve["max_spent"] == [100.0, 80.0]


def test_queries_match_env_is_false_when_one_run_disagrees() -> None:
    assert queries_match_env([summary(10.0, 12.0), summary(None, 30.0)])
    assert not queries_match_env([summary(10.0, 12.0), summary(None, 30.0, env=29)])


def test_growth_fits_recover_a_geometric_and_a_power_law() -> None:
    lengths = [2, 4, 6, 8]
    geometric = growth_fits(lengths, [5.0 * 3.0**n for n in lengths])
    assert geometric["rate_per_token"] == pytest.approx(3.0)
    low, high = geometric["rate_per_token_ci95"]
    assert low == pytest.approx(3.0) and high == pytest.approx(3.0)  # an exact fit has no spread
    power = growth_fits(lengths, [7.0 * n**1.5 for n in lengths])
    assert power["power_of_n"] == pytest.approx(1.5)
    # the points without a value are left out: two points still fit, without an interval
    sparse = growth_fits(lengths, [None, 2.0**4, None, 2.0**8])
    assert sparse["rate_per_token"] == pytest.approx(2.0)
    assert sparse["rate_per_token_ci95"] == [None, None]


def test_estimate_fields_without_a_fit() -> None:
    assert estimate_fields("slope", None) == {"slope": None, "slope_ci95": None}
    fitted = growth_fits([1, 2], [1.0, math.e])
    assert set(fitted) == {"rate_per_token", "rate_per_token_ci95", "power_of_n", "power_of_n_ci95"}
