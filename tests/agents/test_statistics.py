"""The comparison experiments' statistics on hand-made inputs whose answers are known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from agents.analysis.statistics import (
    aggregate,
    fit_log_slope,
    growth_per_token,
    growth_text,
    interval_text,
    mean_interval,
    power_law_exponent,
    probability_of_improvement,
)


def test_mean_interval_is_the_student_t_interval() -> None:
    mean, half_width = mean_interval(np.array([1.0, 2.0, 3.0]))
    # t_(0.975, 2) = 4.30265272975; the sample standard deviation of 1, 2, 3 is 1
    assert mean == 2.0 and half_width == pytest.approx(4.302652729749464 / math.sqrt(3), rel=1e-9)
    means, widths = mean_interval(np.array([[0.0, 5.0], [2.0, 5.0]]))  # along seeds, per column
    assert means.tolist() == [1.0, 5.0] and widths[1] == 0.0 and widths[0] == pytest.approx(12.706204736, rel=1e-9)
    assert np.isnan(mean_interval(np.array([4.0]))[1])  # one seed: no spread, no interval


def test_interquartile_mean_and_its_bootstrap_interval() -> None:
    scores = np.arange(1.0, 9.0)  # the middle half is 3, 4, 5, 6
    iqm = aggregate(scores, "iqm")
    assert iqm.point == pytest.approx(4.5)
    assert 1.0 <= iqm.low < iqm.point < iqm.high <= 8.0
    before = np.random.get_state()[1].copy()  # noqa: NPY002 (the point: it must not move)
    assert aggregate(scores, "iqm") == iqm  # seeded: the same runs give the same interval
    assert np.array_equal(np.random.get_state()[1], before)  # noqa: NPY002 and NumPy's global state is left alone
    assert aggregate(scores, "iqm", seed=1) != iqm
    outlier = aggregate([1.0, 2.0, 3.0, 4.0, 1000.0], "iqm")
    assert outlier.point == pytest.approx(3.0)  # the trimmed mean ignores the diverged seed
    assert aggregate([1.0, 2.0, 3.0, 4.0, 1000.0], "mean").point == pytest.approx(202.0)
    constant = aggregate(np.full(6, 0.25), "median")
    assert (constant.point, constant.low, constant.high) == (0.25, 0.25, 0.25)


def test_probability_of_improvement() -> None:
    low_errors, high_errors = [0.1, 0.2, 0.15], [0.5, 0.6, 0.55, 0.7]
    assert probability_of_improvement(low_errors, high_errors, lower_is_better=True).point == 1.0
    assert probability_of_improvement(low_errors, high_errors).point == 0.0
    # x = (1, 3), y = (2, 2): x wins 2 of 4 pairs; ties count one half
    assert probability_of_improvement([1.0, 3.0], [2.0, 2.0]).point == pytest.approx(0.5)
    assert probability_of_improvement([2.0, 3.0], [2.0, 1.0]).point == pytest.approx((1 + 1 + 0.5 + 1) / 4)
    estimate = probability_of_improvement([0.0, 1.0, 2.0, 3.0], [0.5, 1.5, 2.5, 3.5])
    assert estimate.point == pytest.approx(6 / 16)  # 1 > 0.5; 2 > 0.5, 1.5; 3 > 0.5, 1.5, 2.5
    assert 0.0 <= estimate.low <= estimate.point <= estimate.high <= 1.0


def test_fits_recover_growth_and_exponent_with_intervals() -> None:
    growth = growth_per_token([1, 2, 3], [6.0, 18.0, 54.0])
    assert growth is not None and growth.point == pytest.approx(3.0)
    assert growth.low == pytest.approx(3.0) and growth.high == pytest.approx(3.0)  # exact data: zero width
    exponent = power_law_exponent([0.1, 0.2, 0.4], [400.0, 100.0, 25.0])
    assert exponent is not None and exponent.point == pytest.approx(-2.0)
    noisy = power_law_exponent([10.0, 20.0, 40.0, 80.0], [100.0 * 1.1, 400.0 / 1.1, 1600.0 * 1.1, 6400.0 / 1.1])
    assert noisy is not None and noisy.low < 2.0 < noisy.high and noisy.high - noisy.low < 1.0
    two_points = fit_log_slope([1.0, 2.0], [math.e, math.e**3])
    assert two_points is not None and two_points.slope == pytest.approx(2.0) and math.isnan(two_points.low)
    assert growth_per_token([2], [5.0]) is None
    assert growth_per_token([1, 2, 3], [None, 0.0, 5.0]) is None  # only one usable point
    assert interval_text([1.0, 2.5]) == " [1.00, 2.50]" and interval_text([None, None]) == ""
    fit = {"rate_per_token": 1.314, "rate_per_token_ci95": [1.13, 1.51], "power_of_n": 1.456, "power_of_n_ci95": None}
    assert growth_text(fit) == "x1.31 [1.13, 1.51] per token, N^1.46"
    assert growth_text({**fit, "power_of_n": None}) is None  # one law missing: no fit line


def test_bad_inputs_name_the_argument() -> None:
    with pytest.raises(ValueError, match="statistic must be one of"):
        aggregate([1.0, 2.0], "trimmed")
    with pytest.raises(ValueError, match="values must be finite"):
        aggregate([1.0, float("nan")])
    with pytest.raises(ValueError, match="x and y must have the same tasks"):
        probability_of_improvement(np.ones((3, 2)), np.ones((3, 1)))
    with pytest.raises(ValueError, match="xs must be positive"):
        power_law_exponent([0.0, 1.0], [1.0, 2.0])
