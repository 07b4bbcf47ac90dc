"""The barrier experiment's analysis on hand-made run summaries: the table, the curves beside k^N and N k,
the base models' means and the printed summary."""

from __future__ import annotations

import pytest

from scripts.barrier import analysis


def run(queries: float | None, spent: float, tries: int) -> dict:
    return {
        "reached": queries is not None,
        "queries_to_target": queries,
        "final_test_error": 0.08,
        "final_reward_queries": spent,
        "final_updates": 10,
        "reward_queries": int(spent),
        "env_reward_queries": int(spent),
        "tries": tries,
    }


def base(probability: float, error: float, steps: int) -> dict:
    return {
        "final_mean_token_probability": probability,
        "final_test_error": error,
        "final_likelihood_quantile": 0.01,
        "final_token_likelihood_quantile": 0.2,
        "final_step": steps,
    }


RESULTS = {
    ("best_of_m", 2, 0): run(30.0, 30.0, 5),
    ("best_of_m", 2, 1): run(50.0, 60.0, 6),
    ("best_of_m", 4, 0): run(270.0, 270.0, 20),
    ("best_of_m", 4, 1): run(None, 400.0, 21),
    ("process_repair", 2, 0): run(20.0, 20.0, 4),
    ("process_repair", 2, 1): run(24.0, 24.0, 4),
    ("process_repair", 4, 0): run(40.0, 41.0, 5),
    ("process_repair", 4, 1): run(44.0, 44.0, 5),
}
BASES = {
    (2, 0): base(0.6, 0.5, 30),
    (2, 1): base(0.62, 0.4, 31),
    (4, 0): base(0.6, 0.8, 40),
    (4, 1): base(0.64, 0.7, 42),
}
CONFIG = {"seq_lens": (2, 4), "algorithms": ("best_of_m", "process_repair"), "seeds": 2, "vocab_size": 3}


def test_table_rows_join_each_run_with_its_base_model_in_sorted_order() -> None:
    rows = analysis.table_rows(dict(reversed(RESULTS.items())), BASES)
    assert [(r["algorithm"], r["seq_len"], r["seed"]) for r in rows] == sorted(RESULTS)
    row = rows[3]  # best_of_m, N = 4, seed 1: spent its budget
    assert row["base_token_probability"] == 0.64 and row["pretrain_steps"] == 42
    assert row["reached"] is False and row["queries_to_target"] is None and row["tries"] == 21


def test_summary_curves_rates_and_base_means() -> None:
    summary = analysis.summarize(RESULTS, BASES, CONFIG)
    outcome = summary["series"]["best_of_m"]
    assert outcome["median_queries"] == [40.0, 270.0]
    assert outcome["reached"] == [2, 1]
    assert outcome["max_spent"] == [60.0, 400.0]
    assert outcome["tries"] == [5, 20]  # seed 0's m
    assert outcome["k_to_the_n"] == [9.0, 81.0] and outcome["n_times_k"] == [6.0, 12.0]
    # two points: the growth per token is the ratio's square root per token, without an interval
    assert summary["growth"]["process_repair"]["rate_per_token"] == pytest.approx((42.0 / 22.0) ** 0.5)
    assert summary["base_models"]["4"]["eval/mean_token_probability"] == pytest.approx(0.62)
    assert summary["base_models"]["2"]["eval/test_error"] == pytest.approx(0.45)
    assert summary["queries_match_env"] is True
    text = analysis.format_summary(summary)
    assert "N=4" in text and "(1 reached)" in text and "equal the env's: True" in text
