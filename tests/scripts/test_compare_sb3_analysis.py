"""The SB3-against-PG comparison's analysis on hand-made curves (no training)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scripts.compare_sb3 import analysis


def curve(errors: list[float], per_point: int = 100, queries_per_step: float = 1.0) -> analysis.Curve:
    steps = np.arange(len(errors), dtype=np.int64) * per_point
    return {
        "env_steps": steps,
        "reward_queries": (steps * queries_per_step).astype(np.int64),
        "test_error": np.array(errors, dtype=float),
    }


def test_choose_rate_takes_the_lowest_score_and_the_smaller_rate_on_a_tie() -> None:
    rate, grid = analysis.choose_rate({0.1: 0.5, 0.3: 0.2, 1.0: 0.2}, [0.1, 0.3, 1.0])
    assert rate == 0.3 and grid == {"0.1": 0.5, "0.3": 0.2, "1": 0.2}
    assert analysis.choose_rate({}, [0.003]) == (0.003, {})  # a grid of one rate is not tuned


def test_stack_curves_refuses_seeds_evaluated_at_different_steps() -> None:
    stacked = analysis.stack_curves([curve([0.9, 0.5, 0.1]), curve([0.8, 0.4, 0.2])])
    assert stacked["test_error"].shape == (2, 3)
    np.testing.assert_array_equal(analysis.at_env_steps(stacked, 100), [0.5, 0.4])
    with pytest.raises(ValueError, match="env_steps"):
        analysis.stack_curves([curve([0.9, 0.5]), curve([0.9, 0.5], per_point=50)])
    with pytest.raises(ValueError):  # not an evaluation point
        analysis.at_env_steps(stacked, 150)


def test_method_summary_reads_both_budgets_and_marks_a_rate_at_the_grid_edge() -> None:
    # An outcome run of N = 4: a quarter query per step; equal steps at 200 of 400.
    runs = [
        curve([0.9, 0.6, 0.4, 0.3, 0.2], queries_per_step=0.25),
        curve([0.9, 0.5, 0.2, 0.1, 0.1], queries_per_step=0.25),
    ]
    row = analysis.method_summary(analysis.stack_curves(runs), 200, [0.5, 0.75], 1.0, {"0.3": 0.4, "1": 0.2})
    at_steps, at_queries = row["equal_env_steps"], row["equal_reward_queries"]
    assert at_steps["env_steps"] == 200 and at_steps["reward_queries"] == 50
    assert at_steps["test_errors"] == [0.4, 0.2] and at_steps["test_error_mean"] == pytest.approx(0.3)
    # Two seeds: the t-interval's half-width is t(0.975, 1) * s / sqrt(2) = 12.706 * 0.1414 / 1.414.
    assert at_steps["test_error_ci95"] == pytest.approx(12.7062 * 0.1, rel=1e-4)
    assert at_queries["env_steps"] == 400 and at_queries["reward_queries"] == 100
    assert at_queries["test_errors"] == [0.2, 0.1] and at_queries["greedy_exact_match_mean"] == 0.625
    assert row["rate_at_grid_edge"] and row["learning_rate"] == 1.0
    assert not analysis.method_summary(analysis.stack_curves(runs), 200, [0.5], 0.3, {"0.3": 0.4})["rate_at_grid_edge"]


def test_run_row_and_curve_rows_hold_what_the_runs_logged() -> None:
    run = curve([0.9, 0.5, 0.25])
    row = analysis.run_row("tune", "process", "ppo", 0.003, 1000, run, math.nan, 100)
    assert row["env_steps"] == 200 and row["reward_queries"] == 200
    assert row["test_error_at_equal_env_steps"] == 0.5 and row["final_test_error"] == 0.25
    assert math.isnan(row["final_greedy_exact_match"])
    rows = analysis.curve_rows({"process": {"ppo": analysis.stack_curves([run, curve([0.7, 0.3, 0.25])])}})
    assert [r["env_steps"] for r in rows] == [0, 100, 200]
    assert [r["test_error_mean"] for r in rows] == pytest.approx([0.8, 0.4, 0.25])
    assert rows[-1]["test_error_ci95"] == 0.0  # both seeds at 0.25
