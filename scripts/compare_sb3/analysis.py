"""The SB3-against-PG comparison's analysis: pure functions of the runs' curves (environment steps, reward
queries and test errors, as read from their ``metrics.jsonl``) to the rate each method keeps, the test errors
at equal environment steps and at equal reward queries, and the rows of the tables."""

from __future__ import annotations

from typing import Any

import numpy as np

from agents.analysis.statistics import aggregate, mean_interval

LABELS = {"paper_pg": "paper's PG (Adagrad)", "ppo": "SB3 PPO", "a2c": "SB3 A2C"}
Curve = dict[str, np.ndarray]


def choose_rate(scores: dict[float, float], rates: list[float]) -> tuple[float, dict[str, float]]:
    """The rate of lowest mean final test error (ties: the smaller rate) and the grid as ``{"<rate:g>": score}``;
    without scores (a grid of one rate is not tuned) the grid's first rate."""
    grid = {f"{rate:g}": score for rate, score in scores.items()}
    return (min(scores, key=lambda rate: (scores[rate], rate)) if scores else rates[0]), grid


def stack_curves(runs: list[Curve]) -> Curve:
    """One method's seeds side by side: the shared axes and ``test_error`` ``(seeds, points)``."""
    for run in runs[1:]:
        for axis in ("env_steps", "reward_queries"):
            if not np.array_equal(run[axis], runs[0][axis]):
                raise ValueError(f"runs of one method evaluated at different {axis}: {runs[0][axis]} vs {run[axis]}")
    return {**{axis: runs[0][axis] for axis in ("env_steps", "reward_queries")},
            "test_error": np.stack([run["test_error"] for run in runs])}  # fmt: skip


def at_env_steps(curve: Curve, steps: int) -> np.ndarray:
    """Per-seed test error at exactly ``steps`` environment steps (an evaluation point of every run)."""
    (index,) = np.flatnonzero(curve["env_steps"] == steps)
    return np.asarray(curve["test_error"][..., index])


def method_summary(
    curve: Curve, equal_steps: int, exact_match: list[float], rate: float, grid: dict[str, float]
) -> dict[str, Any]:
    """One method's row of the summary from its stacked curve (``stack_curves``): the test errors at
    ``equal_steps`` environment steps and at the end (equal reward queries), with 95% t-intervals (and the
    IQM at the end), the final greedy exact matches, the chosen rate and the tuning grid."""
    at_steps, at_queries = at_env_steps(curve, equal_steps), curve["test_error"][:, -1]
    return {
        "learning_rate": rate,
        "tuning_final_test_error": grid,
        "rate_at_grid_edge": len(grid) > 1 and f"{rate:g}" in (min(grid, key=float), max(grid, key=float)),
        "equal_env_steps": {
            "env_steps": equal_steps,
            "reward_queries": int(curve["reward_queries"][curve["env_steps"] == equal_steps][0]),
            "test_error_mean": float(at_steps.mean()),
            "test_error_ci95": float(mean_interval(at_steps)[1]),
            "test_errors": at_steps.tolist(),
        },
        "equal_reward_queries": {
            "env_steps": int(curve["env_steps"][-1]),
            "reward_queries": int(curve["reward_queries"][-1]),
            "test_error_mean": float(at_queries.mean()),
            "test_error_ci95": float(mean_interval(at_queries)[1]),
            "test_error_iqm": aggregate(at_queries, "iqm").as_dict() if np.all(np.isfinite(at_queries)) else None,
            "test_errors": at_queries.tolist(),
            "greedy_exact_match_mean": float(np.mean(exact_match)),
            "greedy_exact_matches": exact_match,
        },
    }


def run_row(
    phase: str, reward: str, method: str, rate: float, seed: int, curve: Curve, match: float, equal_steps: int
) -> dict[str, Any]:
    """One run's row of ``compare_sb3.csv``: its budgets as it logged them, its test error at ``equal_steps``
    and at the end, its final greedy exact match (NaN for a tuning run)."""
    return {
        "phase": phase,
        "reward": reward,
        "method": method,
        "learning_rate": rate,
        "seed": seed,
        "env_steps": int(curve["env_steps"][-1]),
        "reward_queries": int(curve["reward_queries"][-1]),
        "test_error_at_equal_env_steps": float(at_env_steps(curve, equal_steps)),
        "final_test_error": float(curve["test_error"][-1]),
        "final_greedy_exact_match": match,
    }


def curve_rows(curves: dict[str, dict[str, Curve]]) -> list[dict[str, Any]]:
    """Rows of ``compare_sb3_curves.csv``: per reward, method and evaluation point, the mean test error over
    the seeds and the half-width of its 95% t-interval."""
    rows = []
    for reward, by_method in curves.items():
        for method, curve in by_method.items():
            mean, half_width = mean_interval(curve["test_error"])
            for steps, queries, m, h in zip(curve["env_steps"], curve["reward_queries"], mean, half_width, strict=True):
                rows.append(
                    {
                        "reward": reward,
                        "method": method,
                        "env_steps": int(steps),
                        "reward_queries": int(queries),
                        "test_error_mean": float(m),
                        "test_error_ci95": float(h),
                    }
                )
    return rows


def format_summary(summary: dict[str, Any]) -> str:
    """The printed summary: per reward and method, the test error at the equal budgets."""
    lines = [
        f"test error (mean +- 95% t-interval over {summary['seeds']} seeds) at {summary['equal_env_steps']} "
        f"environment steps and at {summary['query_budget']} reward queries"
    ]
    for reward, table in summary["results"].items():
        lines.append(f"{reward} reward:")
        for method, row in table.items():
            steps, queries = row["equal_env_steps"], row["equal_reward_queries"]
            edge = " (grid edge)" if row["rate_at_grid_edge"] else ""
            lines.append(
                f"  {LABELS[method]:<22} lr {row['learning_rate']:<7g}{edge:<12} "
                f"at {steps['env_steps']} steps ({steps['reward_queries']} queries): "
                f"{steps['test_error_mean']:.4f} +- {steps['test_error_ci95']:.4f}   "
                f"at {queries['reward_queries']} queries ({queries['env_steps']} steps): "
                f"{queries['test_error_mean']:.4f} +- {queries['test_error_ci95']:.4f}, "
                f"greedy exact match {queries['greedy_exact_match_mean']:.3f}"
            )
    return "\n".join(lines)
