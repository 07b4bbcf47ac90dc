"""The mistakes experiment's analysis on hand-made inputs: one run's row from its summary and task, the
series along N and gamma with their fits (exact on mistakes that follow k^N / gamma^2), and the
cumulative-mistake curve of a run's records."""

from __future__ import annotations

from typing import Any

import pytest

from scripts.mistakes import analysis
from seqreward_env import SequenceTask


def test_run_row_reads_the_summary_and_the_task() -> None:
    task = SequenceTask(seq_len=3, vocab_size=2, context_dim=4, margin=0.2, reward="process", task_seed=0)
    summary = {
        "final_step": 300,
        "final_greedy_test_error": 0.0,
        "final_mistakes": 17,
        "final_expected_mistakes": 16.5,
        "final_updates": 300,
        "final_reward_queries": 900,
        "env_reward_queries": 900,
        "final_test_error": 0.02,
    }
    row = analysis.run_row(summary, task, zeta=1.0, seed=4, test_size=64)
    assert (row["seq_len"], row["vocab_size"], row["gamma"], row["reward"], row["seed"]) == (3, 2, 0.2, "process", 4)
    assert row["smallest_test_margin"] >= 0.2  # every context of a task with margin 0.2 has at least that
    assert row["converged"] is True and row["mistakes"] == 17 and row["rounds"] == 300
    assert row["rate"] == pytest.approx(2**3 / 0.2**2)
    assert analysis.run_row({**summary, "final_greedy_test_error": 0.01}, task, 1.0, 4, 64)["converged"] is False


def row(seq_len: int, gamma: float, seed: int, reward: str = "outcome") -> dict:
    rate = 2**seq_len / gamma**2
    return {
        "seq_len": seq_len,
        "gamma": gamma,
        "reward": reward,
        "zeta": 1.0,
        "mistakes": 0.5 * rate * (1.0 if seed == 0 else 3.0),  # mean over the two seeds: rate exactly
        "expected_mistakes": 1.0,
        "rounds": 100 * seed,
        "converged": seed == 0,
        "rate": rate,
    }


def test_series_fit_the_growth_per_token_and_the_exponent_in_gamma() -> None:
    settings = [(1, 0.2), (2, 0.2), (3, 0.2), (2, 0.1), (2, 0.4)]
    rows = [row(n, g, seed, reward) for reward in ("outcome", "process") for n, g in settings for seed in (0, 1)]
    series = analysis.group_series(rows, [1, 2, 3], 0.2, [0.1, 0.2, 0.4], 2)
    assert set(series) == {"outcome, zeta=1", "process, zeta=1"}
    curve = series["outcome, zeta=1"]
    assert [p["seq_len"] for p in curve["by_seq_len"]] == [1, 2, 3]
    assert curve["by_seq_len"][1] == {**curve["by_gamma"][1], "seq_len": 2}  # the setting both sweeps share
    assert curve["by_seq_len"][0]["mistakes_over_rate"] == pytest.approx(1.0)
    assert curve["by_seq_len"][0]["mistakes_min"] == pytest.approx(0.5 * 2 / 0.04)
    assert curve["by_seq_len"][0]["converged"] == 1 and curve["by_seq_len"][0]["rounds_mean"] == 50.0
    assert curve["growth_per_token"] == pytest.approx(2.0)
    assert curve["gamma_exponent"] == pytest.approx(-2.0)
    assert curve["all_converged"] is False
    assert "x2.00" in analysis.format_summary({"config": {"vocab_size": 2}, "series": series})


def test_mistake_curve_keeps_the_records_after_round_zero_that_count_mistakes() -> None:
    records: list[dict[str, Any]] = [
        {"step": 0, "train/mistakes": 0},
        {"step": 5, "train/mistakes": 3},
        {"step": 5, "eval/test_error": 0.4},
        {"step": 10, "train/mistakes": 4},
    ]
    assert analysis.mistake_curve(records) == {"step": [5, 10], "mistakes": [3, 4]}
