"""The adaptive-step experiment: its analysis on hand-made run summaries (curves, fits with intervals, the
near-linear verdict, the table), its jobs (one base per policy shared by its step scales; the scale reaches
Algorithm 2's config), the step scale itself, and a tiny end-to-end run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from agents.learners.process_repair import ProcessRepairConfig
from agents.policy.linear import LinearPolicy
from agents.policy.network_policy import NetworkPolicy
from agents.rules.adaptive import token_adaptive_update
from scripts.adaptive_step import analysis
from scripts.adaptive_step import run as adaptive_step
from scripts.adaptive_step.jobs import pretraining, repair_jobs, variants
from seqreward_env import SequenceTask

LENGTHS = [2, 4, 6, 8]


def run(queries: float | None, errors: float = 0.05) -> dict:
    return {
        "reached": queries is not None, "queries_to_target": queries, "final_test_error": errors,
        "final_reward_queries": queries or 1000, "final_updates": 10, "reward_queries": queries or 1000,
        "env_reward_queries": queries or 1000, "tries": 3, "collapsed": False,
    }  # fmt: skip


def results(rule: dict[tuple[str, float], object]) -> dict:
    return {
        (policy, scale, n, seed): run(rule[policy, scale](n, seed))  # type: ignore[operator]
        for (policy, scale) in rule
        for n in LENGTHS
        for seed in range(3)
    }


def test_a_linear_cost_is_near_linear_a_geometric_one_is_not_and_noise_is_undecided() -> None:
    rule = {
        ("linear", 1.0): lambda n, seed: 20.0 * n + seed,
        ("transformer", 1.0): lambda n, seed: 5.0 * 3.0**n + seed,
    }
    summaries = results(rule)
    series = analysis.variant_series(summaries, list(rule), LENGTHS, 3)
    assert series["linear_c1"]["median_queries"] == [41.0, 81.0, 121.0, 161.0]
    linear = analysis.growth_verdict(LENGTHS, series["linear_c1"]["median_queries"])
    geometric = analysis.growth_verdict(LENGTHS, series["transformer_c1"]["median_queries"])
    assert linear["near_linear"] is True and linear["power_of_n"] == pytest.approx(1.0, abs=0.05)
    assert geometric["near_linear"] is False and geometric["rate_per_token"] == pytest.approx(3.0, rel=0.01)
    assert geometric["power_of_n_ci95"][0] > analysis.NEAR_LINEAR
    noisy = analysis.growth_verdict(LENGTHS, [40.0, 400.0, 60.0, 900.0])
    assert noisy["power_of_n_ci95"][0] < analysis.NEAR_LINEAR < noisy["power_of_n_ci95"][1]
    assert noisy["near_linear"] is None
    assert analysis.growth_verdict([2, 4], [10.0, 20.0])["near_linear"] is None  # two points: no interval


def test_summary_table_and_text() -> None:
    rule = {
        ("linear", 1.0): lambda n, seed: 10.0 * n,
        ("transformer", 4.0): lambda n, seed: None if n == 8 else 9.0 * n,
    }
    summaries = results(rule)
    summaries["transformer", 4.0, 2, 1]["collapsed"] = True
    bases = {
        (policy, n, seed): {"final_mean_token_probability": 0.5, "final_test_error": 0.2 + n / 100}
        for policy in ("linear", "transformer") for n in LENGTHS for seed in range(3)
    }  # fmt: skip
    steps = {key: 0.1 for key in summaries}
    config = {"seq_lens": LENGTHS, "seeds": 3}
    summary = analysis.summarize(summaries, bases, list(rule), config, steps)
    assert summary["series"]["transformer_c4"]["reached"] == [3, 3, 3, 0]
    assert summary["series"]["linear_c1"]["mean_step_size"] == pytest.approx([0.1] * 4)
    assert summary["base_test_error"]["linear"] == pytest.approx([0.22, 0.24, 0.26, 0.28])
    assert summary["collapsed_runs"] == ["transformer, c = 4 N=2 seed 1"]
    text = analysis.format_summary(summary)
    assert "linear, c = 1 (theory): median queries" in text and "N=8: - (0 reached)" in text
    assert "COLLAPSED (not results): transformer, c = 4 N=2 seed 1" in text
    rows = analysis.table_rows(summaries, bases, steps)
    assert len(rows) == 2 * 4 * 3 and rows[0]["policy"] == "linear" and rows[0]["mean_step_size"] == 0.1


def test_jobs_share_one_base_per_policy_and_carry_the_scale(tmp_path: Path) -> None:
    config = adaptive_step.AdaptiveStepConfig(
        seq_lens=(2, 3), seeds=2, linear_step_scales=(1.0,), transformer_step_scales=(1.0, 4.0)
    )
    assert variants(config) == [("linear", 1.0), ("transformer", 1.0), ("transformer", 4.0)]
    bases = pretraining(config, tmp_path)
    assert len(bases) == 2 * 2 * 2 and bases["transformer", 3, 1].policy.name == "transformer"
    jobs = repair_jobs(config, tmp_path, bases)
    assert len(jobs) == 3 * 2 * 2
    assert jobs["transformer", 4.0, 3, 1].config.step_scale == 4.0
    assert jobs["transformer", 4.0, 3, 1].base_model == jobs["transformer", 1.0, 3, 1].base_model
    assert jobs["linear", 1.0, 3, 1].base_model != jobs["transformer", 1.0, 3, 1].base_model
    assert next(iter(jobs))[2] == 3  # the longest N first


def test_the_step_scale_multiplies_the_theory_step() -> None:
    task = SequenceTask(seq_len=3, vocab_size=3, context_dim=4, num_components=4)
    contexts = torch.as_tensor(task.test_contexts(4))
    tokens = torch.as_tensor(task.targets(task.test_contexts(4)))
    weights = torch.ones(4, 3)
    steps = {}
    for scale in (1.0, 4.0):
        for policy in (LinearPolicy(4, 3), NetworkPolicy.from_linear(LinearPolicy(4, 3))):
            steps[scale, type(policy).__name__] = token_adaptive_update(policy, contexts, tokens, weights, scale)
    assert torch.allclose(steps[4.0, "LinearPolicy"], 4 * steps[1.0, "LinearPolicy"])
    assert torch.allclose(steps[4.0, "NetworkPolicy"], steps[4.0, "LinearPolicy"].float(), rtol=1e-4)
    with pytest.raises(ValueError, match="step_scale"):
        ProcessRepairConfig(step_scale=0.0)


def test_bad_settings_fail_naming_the_flag(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "1000")  # one line per message in the error box
    for flags, message in (
        (["--transformer-step-scales", "0"], "--transformer-step-scales must be positive"),
        (["--heads", "3"], "heads must divide"),
    ):
        with pytest.raises(SystemExit) as refused:
            adaptive_step.main([*flags, "--run-dir", str(tmp_path)])
        assert message in str(refused.value) + capsys.readouterr().err


@pytest.mark.slow
def test_a_tiny_run_writes_its_summary(tmp_path: Path) -> None:
    flags = ["--quick", "--seq-lens", "2", "3", "--seeds", "1", "--query-budget", "3000", "--test-size", "32"]
    run_dir = adaptive_step.main([*flags, "--workers", "1", "--no-progress", "--run-dir", str(tmp_path)])
    summary = json.loads((run_dir / "adaptive_step.json").read_text())
    assert set(summary["series"]) == {"linear_c1", "transformer_c1", "transformer_c4"}
    assert summary["queries_match_env"] is True
    assert (run_dir / "adaptive_step.png").stat().st_size > 10_000
