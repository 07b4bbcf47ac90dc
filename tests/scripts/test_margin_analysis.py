"""The margin experiment's analysis on hand-made run summaries: the table, the curves along gamma and the
fitted exponent of 1/gamma (exact on queries that follow 1/gamma^2)."""

from __future__ import annotations

import pytest

from scripts.margin import analysis


def run(queries: float | None, spent: float, env: int | None = None) -> dict:
    return {
        "reached": queries is not None,
        "queries_to_target": queries,
        "base_test_error": 0.9,
        "final_test_error": 0.05,
        "final_reward_queries": spent,
        "final_updates": 7,
        "reward_queries": int(spent),
        "env_reward_queries": int(spent) if env is None else env,
        "tries": None,
    }


GAMMAS = (0.04, 0.02, 0.08)
RESULTS = {
    ("adaptive_pg", g, seed): run(3.0 / g**2 * (1 + 0.1 * seed), 3.0 / g**2 * 2) for g in GAMMAS for seed in (0, 1, 2)
}


def test_curves_sort_gamma_and_the_exponent_is_two_for_an_inverse_square_law() -> None:
    summary = analysis.summarize(RESULTS, {"algorithms": ("adaptive_pg",), "margins": GAMMAS, "seeds": 3})
    curve = summary["series"]["adaptive_pg"]
    assert curve["margin"] == [0.02, 0.04, 0.08]
    assert curve["median_queries"] == pytest.approx([3.3 / g**2 for g in (0.02, 0.04, 0.08)])
    assert curve["inverse_margin_squared"] == pytest.approx([2500.0, 625.0, 156.25])
    assert summary["exponent_of_inverse_margin"]["adaptive_pg"] == pytest.approx(2.0)
    assert summary["exponent_of_inverse_margin_ci95"]["adaptive_pg"] == pytest.approx([2.0, 2.0])
    assert summary["queries_match_env"] is True
    assert "(1/gamma)^2.00" in analysis.format_summary(summary)


def test_table_rows_and_a_query_count_that_disagrees() -> None:
    results = {**RESULTS, ("adaptive_pg", 0.02, 1): run(None, 9000.0, env=8999)}
    rows = analysis.table_rows(results)
    assert [(r["margin"], r["seed"]) for r in rows][:3] == [(0.02, 0), (0.02, 1), (0.02, 2)]
    assert rows[1]["inverse_margin_squared"] == pytest.approx(2500.0)
    assert rows[1]["agent_reward_queries"] == 9000 and rows[1]["env_reward_queries"] == 8999
    summary = analysis.summarize(results, {"algorithms": ("adaptive_pg",), "margins": GAMMAS, "seeds": 3})
    assert summary["queries_match_env"] is False
    assert summary["series"]["adaptive_pg"]["reached"] == [2, 3, 3]
