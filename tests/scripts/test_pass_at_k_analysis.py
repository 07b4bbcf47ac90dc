"""The pass@k experiment's analysis on hand-made measures (nothing runs): means over seeds within draws, then
over draws with bootstrap intervals, the crossover, the pass@1 gain and the area between the curves."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from scripts.pass_at_k import analysis
from scripts.pass_at_k.settings import QUICK, PassAtKConfig, settings

KS = (1, 2, 4, 8)


def measures(curve: list[float], cover: float = 0.5, greedy: float = 0.0) -> dict[str, Any]:
    return {"pass_at_k": curve, "cover": [cover], "greedy_exact_match": greedy}


def runs() -> list[dict[str, Any]]:
    """Two draws x two seeds: the trained model wins at k = 1, 2 and loses from k = 4 on in draw 0; in draw 1
    it wins everywhere."""
    base = {0: [0.1, 0.3, 0.6, 0.9], 1: [0.2, 0.3, 0.4, 0.5]}
    trained = {
        (0, 0): [0.5, 0.5, 0.5, 0.5],
        (0, 1): [0.3, 0.5, 0.5, 0.7],
        (1, 0): [0.6, 0.7, 0.8, 0.9],
        (1, 1): [0.4, 0.5, 0.6, 0.7],
    }
    return [
        {
            "draw": d,
            "seed": s,
            "base": measures(base[d]),
            "trained": measures(curve, cover=0.25 * (d + 1), greedy=s),
            "collapsed": (d, s) == (1, 1),
        }
        for (d, s), curve in trained.items()
    ]


def test_per_draw_means_over_seeds() -> None:
    draws, trained = analysis.per_draw(runs(), "trained", "pass_at_k")
    assert draws == [0, 1]
    np.testing.assert_allclose(trained, [[0.4, 0.5, 0.5, 0.6], [0.5, 0.6, 0.7, 0.8]])


def test_setting_summary() -> None:
    summary = analysis.summarise_setting(runs(), KS, (0.5,), reps=500)
    np.testing.assert_allclose(summary["trained_pass_at_k"]["mean"], [0.45, 0.55, 0.6, 0.7])
    np.testing.assert_allclose(summary["base_pass_at_k"]["mean"], [0.15, 0.3, 0.5, 0.7])
    # draw 0 crosses at k = 4 (0.6 >= 0.5), draw 1 never; the mean curves meet at k = 8 (0.7 = 0.7: no crossing)
    assert summary["crossover_k_per_draw"] == [4, None]
    assert summary["draws_with_crossover"] == 1
    assert summary["collapsed_runs"] == 1
    assert "1 of 4 runs flagged collapsed" in analysis.summary_line("s", summary, KS)
    assert summary["crossover_k"] is None
    assert summary["pass_at_1_gain"]["mean"] == pytest.approx(0.3)
    # areas over log2 k by trapezoids: draw 0 gaps [0.3, 0.2, -0.1, -0.3] -> 0.25 + 0.05 - 0.2 = 0.1;
    # draw 1 gaps [0.3, 0.3, 0.3, 0.3] -> 0.9
    assert summary["area"]["mean"] == pytest.approx(0.5)
    assert summary["area"]["low"] == pytest.approx(0.1) and summary["area"]["high"] == pytest.approx(0.9)
    assert summary["trained_cover"]["mean"] == [pytest.approx(0.375)]
    assert summary["trained_greedy_exact_match"]["mean"] == pytest.approx(0.5)
    np.testing.assert_allclose(summary["gap_pass_at_k"]["mean"], [0.3, 0.25, 0.1, 0.0], atol=1e-12)


def test_bootstrap_interval_brackets_the_mean_and_is_a_point_for_one_draw() -> None:
    values = np.random.default_rng(0).normal(size=(8, 3))
    result = analysis.bootstrap_mean(values, reps=1000)
    assert all(
        low <= mean <= high for low, mean, high in zip(result["low"], result["mean"], result["high"], strict=True)
    )
    single = analysis.bootstrap_mean(np.array([0.4]), reps=100)
    assert single == {"mean": 0.4, "low": 0.4, "high": 0.4}


def test_grid_holds_every_learner_and_sweep() -> None:
    grid = settings(PassAtKConfig())
    assert {s.learner for s in grid if s.group == "learners"} == set(PassAtKConfig().learners)
    assert sorted(s.step for s in grid if s.group == "length" and s.learner == "orm") == [250, 1000, 4000, 16000]
    assert {s.seq_len for s in grid if s.group == "seq_len"} == {8, 32}
    assert {s.policy for s in grid if s.group == "policy"} == {"mlp", "transformer"}
    assert len(settings(QUICK)) == len(QUICK.learners) + 2 * (len(QUICK.checkpoints) + 1 - 1 + 1 + 1 + 2)


@pytest.mark.parametrize(
    ("changes", "flag"),
    [
        ({"steps": 300}, "--steps"),
        ({"batch_size": 60}, "--batch-size"),
        ({"learners": ("orm", "sac")}, "learners"),
        ({"ks": (1, 0)}, "ks"),
        ({"taus": (0.5, 1.5)}, "taus"),
        ({"checkpoints": (0, -1)}, "--checkpoints"),
    ],
)
def test_bad_settings_are_refused(changes: dict[str, Any], flag: str) -> None:
    with pytest.raises(ValueError, match=flag):
        PassAtKConfig(**changes)
