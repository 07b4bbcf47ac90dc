"""The mistakes experiment's analysis: pure functions from each run's summary (``run_job``'s ``done.json``)
and its task to one table row, from the rows to the mean mistakes along each sweep with the fitted growth
per token and exponent in gamma, the cumulative-mistake curve of a run's records, and the text summary."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from agents.analysis.statistics import growth_per_token, interval_text, power_law_exponent
from agents.analysis.theory import estimate_fields
from seqreward_env import SequenceTask


def run_row(summary: Mapping[str, Any], task: SequenceTask, zeta: float, seed: int, test_size: int) -> dict[str, Any]:
    """One run's row: its setting (N, k, gamma, the smallest margin among the ``test_size`` test contexts,
    reward, zeta, seed), the rounds it played, whether its greedy answers were all right at the end, its
    mistakes (and their expectation), updates, reward queries (the learner's and the env's), its last
    test error and the bound's rate k^N / gamma^2."""
    gamma = float(task.margin_condition or 0.0)
    return {
        "seq_len": task.seq_len,
        "vocab_size": task.vocab_size,
        "gamma": gamma,
        "smallest_test_margin": float(task.margins(task.test_contexts(test_size)).min()),
        "reward": task.reward,
        "zeta": zeta,
        "seed": seed,
        "rounds": summary["final_step"],
        "converged": summary["final_greedy_test_error"] == 0.0,
        "mistakes": summary["final_mistakes"],
        "expected_mistakes": summary["final_expected_mistakes"],
        "updates": summary["final_updates"],
        "reward_queries": summary["final_reward_queries"],
        "env_reward_queries": summary["env_reward_queries"],
        "test_error": summary["final_test_error"],
        "rate": task.vocab_size**task.seq_len / gamma**2,
    }


def point(runs: Sequence[Mapping[str, Any]], key: str, value: float) -> dict[str, Any]:
    """The seeds of one setting (rows of the same N and gamma): mean, least and most mistakes, the mean
    expected mistakes and rounds, how many converged, and the mean mistakes over the rate."""
    mistakes = np.array([r["mistakes"] for r in runs], dtype=float)
    return {
        key: value,
        "seq_len": runs[0]["seq_len"],
        "gamma": runs[0]["gamma"],
        "mistakes_mean": float(mistakes.mean()),
        "mistakes_min": float(mistakes.min()),
        "mistakes_max": float(mistakes.max()),
        "expected_mistakes_mean": float(np.mean([r["expected_mistakes"] for r in runs])),
        "rounds_mean": float(np.mean([r["rounds"] for r in runs])),
        "converged": int(sum(r["converged"] for r in runs)),
        "seeds": len(runs),
        "rate": runs[0]["rate"],
        "mistakes_over_rate": float(mistakes.mean() / runs[0]["rate"]),
    }


def group_series(
    rows: Sequence[Mapping[str, Any]],
    seq_lens: Sequence[int],
    margin: float,
    margins: Sequence[float],
    margin_seq_len: int,
) -> dict[str, Any]:
    """Per (reward, zeta), named ``"<reward>, zeta=<zeta>"``: the points along N (at gamma = ``margin``) and
    along gamma (at N = ``margin_seq_len``), least-squares fits of log mistakes on N (growth per token, to
    be set beside k) and on log gamma (the exponent, beside -2) with their intervals, and whether every run
    converged."""
    series: dict[str, Any] = {}
    for reward in sorted({r["reward"] for r in rows}):
        for zeta in sorted({r["zeta"] for r in rows}):
            runs = [r for r in rows if r["reward"] == reward and r["zeta"] == zeta]
            by_n = [point([r for r in runs if r["seq_len"] == n and r["gamma"] == margin], "seq_len", n)
                    for n in seq_lens]  # fmt: skip
            by_gamma = [point([r for r in runs if r["seq_len"] == margin_seq_len and r["gamma"] == g], "gamma", g)
                        for g in margins]  # fmt: skip
            series[f"{reward}, zeta={zeta:g}"] = {
                "reward": reward,
                "zeta": zeta,
                "by_seq_len": by_n,
                "by_gamma": by_gamma,
                **estimate_fields(
                    "growth_per_token",
                    growth_per_token([p["seq_len"] for p in by_n], [p["mistakes_mean"] for p in by_n]),
                ),
                **estimate_fields(
                    "gamma_exponent",
                    power_law_exponent([p["gamma"] for p in by_gamma], [p["mistakes_mean"] for p in by_gamma]),
                ),
                "all_converged": all(r["converged"] for r in runs),
            }
    return series


def mistake_curve(records: Iterable[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """A run's cumulative mistakes over rounds: ``step`` and ``mistakes`` of every logged record after
    round 0 that holds ``train/mistakes``."""
    kept = [r for r in records if "train/mistakes" in r and r["step"] > 0]
    return {"step": [r["step"] for r in kept], "mistakes": [r["train/mistakes"] for r in kept]}


def format_summary(summary: Mapping[str, Any]) -> str:
    """The lines printed at the end: per series the fits and whether every run converged, then per setting
    the mistakes beside the rate."""
    lines = []
    for name, curve in summary["series"].items():
        growth, exponent = curve["growth_per_token"], curve["gamma_exponent"]
        lines.append(
            f"{name}: mistakes grow x{growth:.2f}{interval_text(curve['growth_per_token_ci95'])} per token "
            f"(k = {summary['config']['vocab_size']}), exponent in gamma "
            f"{exponent:.2f}{interval_text(curve['gamma_exponent_ci95'])} (rate: -2); "
            f"every run converged: {curve['all_converged']}"
            if growth is not None and exponent is not None
            else f"{name}:"
        )
        for p in curve["by_seq_len"] + curve["by_gamma"]:
            lines.append(
                f"  N={p['seq_len']:<3} gamma={p['gamma']:<5g} mistakes {p['mistakes_mean']:>9.1f} "
                f"[{p['mistakes_min']:.0f}, {p['mistakes_max']:.0f}]  k^N/gamma^2 {p['rate']:>9.0f}  "
                f"ratio {p['mistakes_over_rate']:.3f}  rounds {p['rounds_mean']:.0f}  converged {p['converged']}/{p['seeds']}"
            )
    return "\n".join(lines)
