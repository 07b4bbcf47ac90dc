"""The comparison's analysis on hand-made run records (no training): the rate choice, curves and summaries
over seeds, the paired ratios to RLOO, the chance of beating the best method, and the table rows."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from scripts.compare import analysis

INF = float("inf")


def step(queries: int, snr: float, trace: float, rloo: float, weighted: float, reinforce: float) -> dict[str, Any]:
    return {
        "train/reward_queries": queries,
        "train/learning_rate": 0.5,
        "diag/snr": snr,
        "diag/trace_variance": trace,
        "diag/equal_reward_groups": 0.25,
        "diag/entropy": 1.0,
        "paired/trace_variance/rloo": rloo,
        "paired/trace_variance/weighted_leave_one_out": weighted,
        "paired/trace_variance/reinforce": reinforce,
    }


def evaluation(queries: int, error: float) -> dict[str, Any]:
    return {"train/reward_queries": queries, "eval/test_error": error}


def run(errors: tuple[float, float, float], snr: tuple[float, float] = (1.0, 3.0)) -> list[dict[str, Any]]:
    """A run of two steps of 8 queries: evaluations at 0, 8 and 16 queries (after each step's record)."""
    return [
        evaluation(0, errors[0]),
        step(8, snr[0], 0.2, rloo=2.0, weighted=1.0, reinforce=4.0),
        evaluation(8, errors[1]),
        step(16, snr[1], 0.4, rloo=0.0, weighted=0.0, reinforce=1.0),  # equal-reward groups: 0 / 0 and 1 / 0
        evaluation(16, errors[2]),
    ]


def test_rate_choice_is_the_lowest_mean_over_tuning_seeds() -> None:
    # the mean over seeds decides, not the best single seed
    assert analysis.choose_rate({0.5: [0.30, 0.30], 2.0: [0.10, 0.60]}) == (0.5, {0.5: 0.30, 2.0: 0.35})
    # one diverged seed makes the rate's mean inf: it never beats a finite rate, however good its other seeds
    assert analysis.choose_rate({0.5: [0.40, 0.40], 2.0: [0.01, INF]})[0] == 0.5
    # a tie goes to the smaller rate, whatever order the rates come in
    assert analysis.choose_rate({4.0: [0.2], 1.0: [0.2], 2.0: [0.3]})[0] == 1.0
    # every rate diverged: the smallest
    assert analysis.choose_rate({8.0: [INF], 2.0: [INF, INF]}) == (2.0, {8.0: INF, 2.0: INF})
    with pytest.raises(ValueError, match="at least one final test error per rate"):
        analysis.choose_rate({0.5: []})


def test_curves_and_summary_over_seeds() -> None:
    runs = [run((0.6, 0.4, 0.2)), run((0.6, 0.3, 0.4), snr=(math.nan, 5.0))]
    curves = analysis.method_curves(runs)
    assert curves["eval_queries"].tolist() == [0, 8, 16]
    assert curves["step_queries"].tolist() == [8, 16]
    assert curves["test_error"].tolist() == [[0.6, 0.4, 0.2], [0.6, 0.3, 0.4]]
    assert curves["trace_variance"].shape == (2, 2)
    ratios = curves["paired_weighted_leave_one_out_to_rloo"]
    assert ratios[:, 0].tolist() == [0.5, 0.5] and np.isnan(ratios[:, 1]).all()
    assert curves["paired_reinforce_to_rloo"][:, 0].tolist() == [2.0, 2.0]
    assert np.isinf(curves["paired_reinforce_to_rloo"][:, 1]).all()

    row = analysis.method_summary(runs, 1.0, [0.5, 1.0, 2.0], {"1": 0.3}, curves)
    assert row["final_test_errors"] == [0.2, 0.4]
    assert row["final_test_error_mean"] == pytest.approx(0.3)
    assert row["final_test_error_ci95"] == pytest.approx(12.706 * 0.1, rel=1e-3)  # t(1) 97.5% x s / sqrt(2)
    assert row["rate_at_grid_edge"] is False
    assert analysis.method_summary(runs, 2.0, [0.5, 1.0, 2.0], {}, curves)["rate_at_grid_edge"] is True
    assert row["snr_mean"] == pytest.approx((1.0 + 3.0 + 5.0) / 3)  # the nan step is left out
    assert row["mean_test_error_over_run"] == pytest.approx(2.5 / 6)
    assert row["reward_queries"] == [16.0, 16.0]
    iqm = row["final_test_error_iqm"]
    assert 0.2 <= iqm["low"] <= iqm["point"] <= iqm["high"] <= 0.4

    paired = analysis.paired_ratios({"a": curves, "b": curves})
    # finite ratios only: 0.5 in each of the 4 runs' first batch (0 / 0 dropped)
    assert paired["weighted_leave_one_out"] == {
        "median": 0.5, "quartiles": [0.5, 0.5], "fraction_below_rloo": 1.0, "batches": 4
    }  # fmt: skip
    assert paired["reinforce"]["batches"] == 4 and paired["reinforce"]["fraction_below_rloo"] == 0.0


def test_improvement_over_the_best_leaves_out_diverged_methods() -> None:
    table = {
        "a": {"final_test_errors": [0.1, 0.2, 0.3], "final_test_error_mean": 0.2},
        "b": {"final_test_errors": [0.4, 0.5, 0.6], "final_test_error_mean": 0.5},
        "c": {"final_test_errors": [0.0, INF, 0.0], "final_test_error_mean": INF},
    }
    improvement = analysis.improvement_over_best(table)
    assert improvement["best"] == "a" and set(improvement) == {"best", "b"}
    assert improvement["b"]["point"] == 0.0  # every run of b ends above every run of a
    assert analysis.improvement_over_best({"c": table["c"]}) == {"best": None}


def test_table_rows() -> None:
    records = {
        ("tune", "outcome", "rloo", 2.0, 1000): run((0.6, 0.4, 0.2)),
        ("eval", "outcome", "rloo", 2.0, 0): run((0.6, 0.3, 0.3)),
    }
    rows = analysis.run_rows(records)
    assert [row["phase"] for row in rows] == ["eval", "tune"]  # ordered by the key's text
    assert rows[1] == {
        "phase": "tune", "reward": "outcome", "method": "rloo", "learning_rate": 2.0, "seed": 1000,
        "reward_queries": 16, "final_test_error": 0.2, "mean_test_error": pytest.approx(0.4),
        "mean_trace_variance": pytest.approx(0.3), "median_snr": 2.0, "mean_learning_rate": 0.5,
        "collapsed": False, "collapse_reasons": "",
    }  # fmt: skip
    worse = analysis.run_rows({("eval", "outcome", "rloo", 2.0, 0): run((0.3, 0.2, 0.4))})[0]
    assert worse["collapsed"] is True and worse["collapse_reasons"] == "worse_than_base"

    curves = analysis.method_curves([run((0.6, 0.4, 0.2)), run((0.6, 0.4, 0.4), snr=(math.inf, 3.0))])
    rows = analysis.curve_rows({"outcome": {"rloo": curves}})
    errors = [row for row in rows if row["quantity"] == "test_error"]
    assert [(row["reward_queries"], row["mean"]) for row in errors] == [(0, 0.6), (8, 0.4), (16, pytest.approx(0.3))]
    assert errors[0]["ci95"] == 0.0
    snr = [row for row in rows if row["quantity"] == "snr"]
    assert [row["reward_queries"] for row in snr] == [8, 16]
    assert np.isnan(snr[0]["mean"]) and snr[1]["mean"] == 3.0  # one seed's inf leaves no mean there
    assert {row["quantity"] for row in rows} == {"test_error", *analysis.DIAGNOSTICS}


def test_summary_lines_order_methods_by_final_error() -> None:
    row = {
        "learning_rate": 2.0, "rate_at_grid_edge": True, "final_test_error_ci95": 0.01, "snr_mean": 1.5,
        "trace_variance_mean": 0.002,
    }  # fmt: skip
    summary = {
        "base_test_error": 0.5,
        "queries": {"outcome": 64},
        "seeds": 2,
        "results": {
            "outcome": {"rloo": {**row, "final_test_error_mean": 0.3}, "oblr_po": {**row, "final_test_error_mean": 0.1}}
        },
        "probability_of_lower_error_than_best": {"outcome": {"best": "oblr_po", "rloo": {"point": 0.25}}},
    }
    lines = analysis.summary_lines(summary)
    assert lines[0] == "base model test error 0.5000"
    assert lines[2].lstrip().startswith("OBLR-PO") and "(grid edge)" in lines[2]
    assert lines[3].lstrip().startswith("RLOO")
    assert lines[4] == "  P(lower final error than OBLR-PO): RLOO 0.25"
