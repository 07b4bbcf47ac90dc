"""OBLR-PO's learning rate and the group-PG agent: SNR statistics, the rate rule, GRPO's clipped ratio and KL
penalty against autograd, every method's step and diagnostics, learning, resume and run folders."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

import seqreward_env  # noqa: F401
from agents.experiment.jobs import FINAL_MODEL, Evaluation, Job, TaskSpec, run_job
from agents.learners.group_pg import METHODS, GroupPG, GroupPGConfig
from agents.learners.pretrain import PretrainConfig, Pretrainer
from agents.policy.evaluation import LinearEvaluator
from agents.policy.linear import LinearPolicy
from agents.rules.snr import GradientStatistics, SNRLearningRate, gradient_statistics
from agents.rules.surrogates import clipped_ratio_weights, kl_penalty_weights
from agents.runs.folder import DONE, read_metrics, without_seal

TASK = {"seq_len": 4, "vocab_size": 4, "context_dim": 6, "num_components": 6}


def statistics(snr: float) -> GradientStatistics:
    return GradientStatistics(1.0, 1.0, snr, max(snr - 1.0, 0.0))


# ----- SNR and the learning-rate rule -------------------------------------------------------------
def test_gradient_statistics_by_hand() -> None:
    per_context = torch.tensor([[1.0, 0.0], [3.0, 2.0], [2.0, 4.0]])
    mean = per_context.mean(dim=0)  # (2, 2)
    trace_covariance = float(per_context.var(dim=0).sum())  # (1 + 4) / 2... with B - 1
    result = gradient_statistics(per_context)
    assert result.sq_norm == pytest.approx(8.0)
    assert result.trace_variance == pytest.approx(trace_covariance / 3)
    assert result.snr == pytest.approx(8.0 / (trace_covariance / 3))
    assert result.debiased_snr == pytest.approx((8.0 - trace_covariance / 3) / (trace_covariance / 3))
    assert float(mean.pow(2).sum()) == pytest.approx(result.sq_norm)
    assert gradient_statistics(torch.zeros(4, 3)).snr == 0.0
    assert math.isinf(gradient_statistics(torch.ones(4, 3)).snr)
    with pytest.raises(ValueError, match="at least 2 contexts"):
        gradient_statistics(torch.ones(1, 3))


def test_snr_learning_rate_rule() -> None:
    rate = SNRLearningRate(eta_max=2.0, eta_min=0.1, smoothing=0.9)
    # bias correction: the first smoothed SNR is the first SNR itself
    assert rate(statistics(3.0)) == pytest.approx(2.0 * 3 / 4)
    assert rate.smoothed_snr == pytest.approx(3.0)
    # the second: (0.9 * 0.1 * 3 + 0.1 * 1) / (1 - 0.81)
    smoothed = (0.9 * 0.1 * 3.0 + 0.1 * 1.0) / (1 - 0.9**2)
    assert rate(statistics(1.0)) == pytest.approx(2.0 * smoothed / (1 + smoothed))
    flat = SNRLearningRate(eta_max=2.0, eta_min=0.1, smoothing=0.0)
    assert flat(statistics(0.0)) == 0.1  # clipped up to eta_min
    assert flat(statistics(float("inf"))) == pytest.approx(2.0, rel=1e-5)  # capped, finite
    assert flat(statistics(float("nan"))) == 0.1
    debiased = SNRLearningRate(eta_max=1.0, eta_min=0.01, smoothing=0.0, estimator="debiased")
    assert debiased(statistics(3.0)) == pytest.approx(2.0 / 3.0)  # debiased SNR 2
    copy = SNRLearningRate(eta_max=2.0, eta_min=0.1, smoothing=0.9)
    copy.load_state_dict(rate.state_dict())
    assert copy(statistics(5.0)) == rate(statistics(5.0))
    for bad in ({"eta_min": 0.0}, {"eta_min": 3.0}, {"smoothing": 1.0}, {"estimator": "robust"}):
        with pytest.raises(ValueError):
            SNRLearningRate(**{"eta_max": 2.0, "eta_min": 0.1, **bad})


# ----- GRPO's surrogate in closed form against autograd -------------------------------------------
@pytest.mark.parametrize("epsilon", [0.0, 0.2])
def test_clipped_ratio_and_kl_weights_give_the_surrogate_gradient(epsilon: float) -> None:
    generator = torch.Generator().manual_seed(3)
    d, k, rows, n = 3, 4, 10, 5
    policy = LinearPolicy(d, k)
    policy.w1.data = torch.randn(d, k, generator=generator, dtype=torch.float64)
    policy.w2.data = torch.randn(k, k, generator=generator, dtype=torch.float64)
    x = torch.randn(rows, d, generator=generator, dtype=torch.float64)
    tokens = torch.randint(0, k, (rows, n), generator=generator)
    old_log_probs = policy.token_log_probs(x, tokens) + 0.4 * torch.randn(rows, n, generator=generator)
    reference_log_probs = policy.token_log_probs(x, tokens) + 0.3 * torch.randn(rows, n, generator=generator)
    advantages = torch.randn(rows, 1, generator=generator, dtype=torch.float64).expand(rows, n)
    beta = 0.05
    # autograd of sum_t min(rho A, clip(rho) A) - beta k3, with k3 = p_ref/p - log(p_ref/p) - 1
    w1 = policy.w1.detach().clone().requires_grad_(True)
    w2 = policy.w2.detach().clone().requires_grad_(True)
    logits = (x @ w1).unsqueeze(1).repeat(1, n, 1)
    logits = torch.cat([logits[:, :1], logits[:, 1:] + w2.T[tokens[:, :-1]]], dim=1)
    log_probs = torch.log_softmax(logits, dim=-1).gather(-1, tokens.unsqueeze(-1)).squeeze(-1)
    ratio = torch.exp(log_probs - old_log_probs)
    clipped = ratio.clamp(1 - epsilon, 1 + epsilon) if epsilon > 0 else ratio
    surrogate = torch.minimum(ratio * advantages, clipped * advantages).sum()
    log_ratio = reference_log_probs - log_probs
    objective = surrogate - beta * (torch.exp(log_ratio) - log_ratio - 1).sum()
    objective.backward()
    current = policy.token_log_probs(x, tokens).detach()
    weights, active = clipped_ratio_weights(current, old_log_probs, advantages, epsilon)
    weights = weights + kl_penalty_weights(current, reference_log_probs, beta)
    grad_w1, grad_w2 = policy.score(x, tokens, policy.token_probs(x, tokens), weights)
    torch.testing.assert_close(grad_w1, w1.grad)
    torch.testing.assert_close(grad_w2, w2.grad)
    assert bool(active.all()) == (epsilon == 0)


# ----- the agent ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def base_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A briefly pre-trained base model of the small task, saved once."""
    envs = gym.make_vec("seqreward/Outcome-v0", num_envs=1, **TASK)
    task = envs.unwrapped.task
    policy = LinearPolicy.for_task(task)
    trainer = Pretrainer(task, policy, PretrainConfig(batch_size=64), 0, LinearEvaluator(task, 8))
    for step in range(20):
        trainer.train_step(step)
    path = tmp_path_factory.mktemp("base") / "base_model.pt"
    policy.save(path)
    return path


def make_agent(base_model: Path, reward: str = "outcome", seed: int = 0, **settings: object) -> GroupPG:
    config = GroupPGConfig(**{"num_contexts": 4, "group_size": 4, **settings})  # type: ignore[arg-type]
    envs = gym.make_vec(f"seqreward/{reward.capitalize()}-v0", num_envs=16, copy=False, **TASK)
    evaluator = LinearEvaluator(envs.unwrapped.task, 64)
    return GroupPG(envs, LinearPolicy.load(base_model), config, seed, evaluator)


DIAGNOSTICS = (
    "diag/trace_variance",
    "diag/snr",
    "diag/baseline",
    "diag/equal_reward_groups",
    "diag/entropy",
    "paired/trace_variance/rloo",
)


@pytest.mark.parametrize("reward", ["outcome", "process"])
@pytest.mark.parametrize("method", list(METHODS))
def test_every_method_steps_and_logs_its_diagnostics(base_model: Path, method: str, reward: str) -> None:
    agent = make_agent(base_model, reward, method=method, learning_rate=0.5)
    before = [p.detach().clone() for p in agent.policy.parameters()]
    metrics = agent.train_step(0)
    for key in DIAGNOSTICS:
        assert math.isfinite(metrics[key]), key
    assert metrics["train/reward_queries"] == 16 * (1 if reward == "outcome" else TASK["seq_len"])
    assert 0.0 <= metrics["diag/equal_reward_groups"] <= 1.0
    assert 0.0 < metrics["diag/entropy"] <= math.log(TASK["vocab_size"])
    step = torch.cat([(p.detach() - b).reshape(-1) for p, b in zip(agent.policy.parameters(), before, strict=True)])
    rate = metrics["train/learning_rate"]
    # plain SGD moves w by exactly rate * g, g the mean of the per-context estimates the diagnostics use
    assert float(step.norm()) == pytest.approx(rate * metrics["train/grad_norm"], rel=1e-4, abs=1e-7)
    if method == "oblr_po":
        assert 0.005 <= rate <= 0.5 and metrics["diag/snr_smoothed"] == pytest.approx(metrics["diag/snr"])
    else:
        assert rate == 0.5
    if method == "reinforce":
        assert metrics["diag/baseline"] == 0.0


def test_grpo_with_clipped_epochs_and_kl_penalty(base_model: Path) -> None:
    agent = make_agent(base_model, method="grpo", learning_rate=1.0, epochs=3, clip_epsilon=0.1, kl_coef=0.1)
    metrics = [agent.train_step(step) for step in range(3)]
    assert all(0.0 <= m["diag/clip_fraction"] <= 1.0 for m in metrics)
    assert metrics[0]["diag/kl_to_base"] == pytest.approx(0.0, abs=1e-12)  # the first batch: the base model
    assert metrics[-1]["diag/kl_to_base"] > 0.0


def test_an_update_that_overflows_is_undone_and_counted(base_model: Path) -> None:
    agent = make_agent(base_model, method="reinforce", learning_rate=1.0)
    before = [p.detach().clone() for p in agent.policy.parameters()]
    size = sum(p.numel() for p in agent.policy.parameters())
    agent._ascend(torch.full((size,), float("inf"), dtype=torch.float64))  # as from a rate far too large
    assert agent.skipped_updates == 1
    for parameter, saved in zip(agent.policy.parameters(), before, strict=True):
        torch.testing.assert_close(parameter.detach(), saved)
    assert agent.train_step(0)["train/skipped_updates"] == 1
    assert math.isfinite(agent.evaluate()["eval/test_error"])


def test_oblr_po_learns_the_small_task(base_model: Path) -> None:
    agent = make_agent(base_model, method="oblr_po", learning_rate=2.0, num_contexts=8, group_size=8)
    agent.envs = gym.make_vec("seqreward/Outcome-v0", num_envs=64, copy=False, **TASK)
    start = agent.evaluate()["eval/test_error"]
    for step in range(30):
        agent.train_step(step)
    end = agent.evaluate()["eval/test_error"]
    assert end < start - 0.2, (start, end)  # measured 0.48 -> 0.08


def test_resuming_from_a_state_dict_continues_exactly(base_model: Path) -> None:
    straight = make_agent(base_model, method="oblr_po", seed=5)
    for step in range(4):
        straight.train_step(step)
    first = make_agent(base_model, method="oblr_po", seed=5)
    for step in range(2):
        first.train_step(step)
    second = make_agent(base_model, method="oblr_po", seed=99)
    second.load_state_dict(first.state_dict())
    for step in range(2, 4):
        second.train_step(step)
    for a, b in zip(straight.policy.parameters(), second.policy.parameters(), strict=True):
        torch.testing.assert_close(a, b)
    assert straight.reward_queries == second.reward_queries


def test_config_validation() -> None:
    for bad in (
        {"method": "ppo"},
        {"optimizer": "rmsprop"},
        {"num_contexts": 1},
        {"group_size": 1},
        {"learning_rate": 0.0},
        {"epochs": 0},
        {"clip_epsilon": 1.5},
        {"oblr_baseline": "median"},
        {"baseline_weights": "norm"},
        {"snr_estimator": "robust"},
    ):
        with pytest.raises(ValueError):
            GroupPGConfig(**bad)  # type: ignore[arg-type]
    assert GroupPGConfig(method="oblr_po", oblr_baseline="self_including").estimator == "weighted_self_including"
    assert GroupPGConfig(method="dr_grpo").estimator == "dr_grpo"


def test_group_job_writes_its_run_folder_and_a_finished_run_is_reused(base_model: Path, tmp_path: Path) -> None:
    job = Job(
        learner="group_pg",
        config=GroupPGConfig(method="rloo", num_contexts=2, group_size=3),
        task=TaskSpec(TASK, env_id="seqreward/Process-v0"),
        budget=4,
        seed=0,
        run_dir=str(tmp_path / "run"),
        base_model=str(base_model),
        evaluation=Evaluation(every=2, test_size=16),
    )
    summary = run_job(job)
    records = read_metrics(job.run_dir)
    evaluations = [r for r in records if "eval/test_error" in r]
    assert [r["step"] for r in evaluations] == [0, 2, 4]
    assert evaluations[-1]["train/reward_queries"] == 4 * 6 * TASK["seq_len"]
    assert summary["reward_queries"] == summary["env_reward_queries"] == 96
    assert without_seal(tmp_path / "run" / DONE) == summary
    assert (tmp_path / "run" / FINAL_MODEL).is_file()
    assert any((tmp_path / "run" / "tb").iterdir())
    stamp = (tmp_path / "run" / "metrics.jsonl").stat().st_mtime_ns
    assert run_job(job) == summary  # finished: reused without touching the folder
    assert (tmp_path / "run" / "metrics.jsonl").stat().st_mtime_ns == stamp
    with pytest.raises(ValueError, match="different config.*budget"):
        run_job(dataclasses.replace(job, budget=6))


def test_same_seed_same_run(base_model: Path) -> None:
    runs = []
    for _ in range(2):
        agent = make_agent(base_model, reward="process", method="grpo", seed=3)
        runs.append([agent.train_step(step)["train/reward"] for step in range(3)])
    assert runs[0] == runs[1]
    assert np.isfinite(runs[0]).all()
