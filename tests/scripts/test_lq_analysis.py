"""The LQ experiment's analysis on hand-made log10 likelihoods: quantiles, the eps grid, the table rows
and the summary."""

from __future__ import annotations

import numpy as np
import pytest

from scripts.lq import analysis

LIKELIHOODS = {
    0: {"sequence": np.full(10, -4.0), "token": np.full(10, -1.0)},
    50: {"sequence": np.arange(-19.0, 1.0, 2.0), "token": np.linspace(-2.0, 0.0, 10)},
}


def test_eps_grid_spans_one_over_n_to_099_with_zero() -> None:
    grid = analysis.eps_grid(100)
    assert grid[0] == 0.0 and grid[1] == pytest.approx(0.01) and grid[-1] == pytest.approx(0.99)
    assert np.all(np.diff(grid) > 0)


def test_summary_and_rows_from_the_likelihoods() -> None:
    summary = analysis.summarize(LIKELIHOODS, {0: 0.99, 25: 0.5, 50: 0.3}, [0.1, 0.5], {"seed": 0})
    assert summary["steps"] == [0, 50] and summary["test_error"] == [0.99, 0.3]
    assert summary["log10_lq"]["sequence"]["0.1"][0] == -4.0  # the uniform model: every context alike
    # LQ(eps) = sup{a : P(p <= a) <= eps}: with 10 values, eps = 0.1 allows one value at or below a
    assert summary["log10_lq"]["sequence"]["0.1"][1] == analysis.log10_quantile(LIKELIHOODS[50]["sequence"], 0.1)
    assert summary["fraction_below_1e-12"]["sequence"] == [0.0, 0.4]  # -19, -17, -15, -13
    assert summary["median_log10_likelihood"]["token"][1] == pytest.approx(-1.0)
    rows = analysis.quantile_rows(LIKELIHOODS, np.array([0.0, 0.5]))
    assert len(rows) == 2 * 2 * 2
    assert rows[0] == [0, "sequence", "0", -4.0]
    text = analysis.format_summary(summary)
    assert text.splitlines()[2].startswith("0 ") and "0.9900" in text
