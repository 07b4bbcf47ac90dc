"""The likelihood quantile LQ(eps) = sup{a : P(p <= a) <= eps} on hand-made samples, with exact arithmetic."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from seqreward_env import SequenceTask, likelihood_quantile

TENTHS = np.arange(1, 11) / 10  # 0.1, 0.2, ..., 1.0


def reference_quantile(values: list[float], eps: str) -> float:
    """The smallest sample value v with empirical P(p <= v) > eps, with eps as an exact decimal.

    The empirical distribution function F is a right-continuous step function, so {a : F(a) <= eps} is an
    interval ending just below the first sample value at which F jumps above eps: that value is the sup.
    """
    n = len(values)
    for v in sorted(values):
        if Fraction(sum(1 for u in values if u <= v), n) > Fraction(eps):
            return v
    raise AssertionError("eps < 1 always leaves a value above it")


@pytest.mark.parametrize(
    ("eps", "expected"),
    [("0", 0.1), ("0.05", 0.1), ("0.1", 0.2), ("0.15", 0.2), ("0.2", 0.3), ("0.3", 0.4), ("0.7", 0.8), ("0.95", 1.0)],
)
def test_tenths(eps: str, expected: float) -> None:
    assert likelihood_quantile(TENTHS, float(eps)) == expected
    assert reference_quantile(list(TENTHS), eps) == expected


@pytest.mark.parametrize("eps", ["0.07", "0.14", "0.28", "0.29", "0.57", "0.58", "0.9"])
def test_hundredths_where_eps_times_n_rounds_down(eps: str) -> None:
    """0.29 * 100 is 28.999999999999996 in floating point: the quantile must still be the 30th value."""
    values = np.arange(1, 101) / 100
    expected = values[round(float(eps) * 100)]
    assert likelihood_quantile(values, float(eps)) == expected
    assert likelihood_quantile(values[::-1], float(eps)) == expected  # order of the sample does not matter


def test_ties() -> None:
    values = np.array([0.5, 0.1, 0.9, 0.1, 0.1])
    assert likelihood_quantile(values, 0.0) == 0.1
    assert likelihood_quantile(values, 0.4) == 0.1  # P(p <= a) jumps from 0 to 0.6 at a = 0.1
    assert likelihood_quantile(values, 0.59) == 0.1
    assert likelihood_quantile(values, 0.6) == 0.5
    assert likelihood_quantile(values, 0.79) == 0.5
    assert likelihood_quantile(values, 0.8) == 0.9
    assert likelihood_quantile(np.full(7, 0.25), 0.5) == 0.25
    assert likelihood_quantile(np.array([0.3]), 0.0) == likelihood_quantile(np.array([0.3]), 0.99) == 0.3


def test_matches_exact_reference_on_random_samples() -> None:
    rng = np.random.default_rng(0)
    checked = 0
    for n in (1, 2, 3, 7, 10, 20, 33, 100):
        values = np.round(rng.random(n), 1)  # rounding to tenths makes many ties
        for hundredths in range(100):
            eps = f"{hundredths / 100:.2f}"
            assert likelihood_quantile(values, float(eps)) == reference_quantile(values.tolist(), eps), (n, eps)
            checked += 1
    assert checked == 800


def test_is_monotone_in_eps() -> None:
    values = np.random.default_rng(1).random(57)
    quantiles = [likelihood_quantile(values, eps) for eps in np.linspace(0, 0.99, 100)]
    assert quantiles == sorted(quantiles)
    assert quantiles[0] == values.min()


@pytest.mark.parametrize("eps", [-0.1, 1.0, 1.5, float("nan"), float("inf")])
def test_eps_out_of_range_is_refused(eps: float) -> None:
    with pytest.raises(ValueError, match="eps"):
        likelihood_quantile(TENTHS, eps)


def test_bad_samples_are_refused() -> None:
    with pytest.raises(ValueError, match="values"):
        likelihood_quantile(np.array([]), 0.1)
    with pytest.raises(ValueError, match="values"):
        likelihood_quantile(np.ones((2, 2)), 0.1)
    with pytest.raises(ValueError, match="values"):
        likelihood_quantile(np.array([0.1, np.nan]), 0.1)


def test_token_level_quantile_is_at_least_the_sequence_level_one() -> None:
    """min_i p(y*_i | ...) >= prod_i p(y*_i | ...), so the token-level LQ bounds the sequence-level LQ."""
    task = SequenceTask(seq_len=5, vocab_size=4, context_dim=4)
    rng = np.random.default_rng(0)
    w1, w2 = rng.normal(size=(4, 4)), rng.normal(size=(4, 4))
    x = task.test_contexts(300)
    sequence, token = task.likelihood(w1, w2, x), task.token_min_probability(w1, w2, x)
    assert np.all(token >= sequence)
    for eps in (0.0, 0.1, 0.5, 0.9):
        assert likelihood_quantile(token, eps) >= likelihood_quantile(sequence, eps)
