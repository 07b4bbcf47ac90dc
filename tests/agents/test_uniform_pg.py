"""Uniform-behaviour PG: the clipped importance ratio, the step against autograd, mistakes counted by hand,
reward queries through the env, learning a tiny margin task within a stated query budget, and resume."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch

import seqreward_env  # noqa: F401
from agents.experiment.loop import train
from agents.learners.uniform_pg import (
    UniformPG,
    UniformPGConfig,
    clipped_importance_ratio,
    importance_weighted_step,
    uniform_importance_ratios,
)
from agents.policy.evaluation import LinearEvaluator
from agents.policy.linear import LinearPolicy
from agents.runs.folder import Run, read_metrics
from seqreward_env import SequenceTask, SequenceVectorEnv

TINY: dict[str, Any] = {"seq_len": 3, "vocab_size": 3, "context_dim": 6, "contexts": "rademacher", "margin": 0.05}


def make_agent(reward: str = "outcome", zeta: float = 1.0, rows: int = 1, seed: int = 0) -> UniformPG:
    spec: dict[str, Any] = {**TINY, "reward": reward}
    envs = SequenceVectorEnv(num_envs=rows, task=SequenceTask(**spec), copy=False, autoreset_mode="disabled")
    policy = LinearPolicy.for_task(envs.task)
    return UniformPG(envs, policy, UniformPGConfig(zeta=zeta), seed, LinearEvaluator(envs.task, 256))


@pytest.mark.parametrize("zeta", [1.0, 1.5, 10.0, 1e6])
def test_clipped_ratio_stays_in_its_interval_and_is_exact_inside(zeta: float) -> None:
    generator = torch.Generator().manual_seed(0)
    log_target = torch.cat([torch.randn(2000, generator=generator) * 30, torch.tensor([-math.inf, -1e30, 1e30])])
    log_behaviour = torch.randn(2003, generator=generator) * 30
    ratio = clipped_importance_ratio(log_target, log_behaviour, zeta)
    assert torch.isfinite(ratio).all()
    assert (ratio >= 1.0 / zeta * (1 - 1e-6)).all() and (ratio <= zeta * (1 + 1e-6)).all()
    raw = torch.exp(log_target.double() - log_behaviour.double())
    inside = (raw > 1.0 / zeta) & (raw < zeta)
    assert torch.allclose(ratio.double()[inside], raw[inside], rtol=1e-5)
    assert torch.allclose(ratio.double()[raw >= zeta], torch.tensor(zeta, dtype=torch.float64), rtol=1e-6)
    assert torch.allclose(ratio.double()[raw <= 1.0 / zeta], torch.tensor(1.0 / zeta, dtype=torch.float64), rtol=1e-6)
    if zeta == 1.0:
        assert (ratio == 1.0).all()  # plain uniform-behaviour PG


def test_ratio_is_the_whole_responses_under_the_outcome_reward_and_the_prefixes_under_the_process_reward() -> None:
    token_probs = torch.tensor([[0.5, 0.25, 0.8], [0.1, 0.9, 0.9]], dtype=torch.float64)
    k = 4  # behaviour: 1/4 per token
    outcome = uniform_importance_ratios(token_probs.log(), k, "outcome", zeta=1e9)
    assert torch.allclose(outcome[0], torch.full((3,), 0.5 * 0.25 * 0.8 * 4**3, dtype=torch.float64))
    assert torch.allclose(outcome[1], torch.full((3,), 0.1 * 0.9 * 0.9 * 4**3, dtype=torch.float64))
    process = uniform_importance_ratios(token_probs.log(), k, "process", zeta=1e9)
    expected = torch.tensor([[2.0, 2.0, 6.4], [0.4, 1.44, 5.184]], dtype=torch.float64)
    assert torch.allclose(process, expected)
    clipped = uniform_importance_ratios(token_probs.log(), k, "process", zeta=2.0)
    assert torch.allclose(clipped, expected.clamp(0.5, 2.0))
    with pytest.raises(ValueError, match="reward"):
        uniform_importance_ratios(token_probs.log(), k, "dense", zeta=2.0)


@pytest.mark.parametrize(("reward", "zeta"), [("outcome", 3.0), ("process", 3.0), ("process", 1.0)])
def test_step_equals_the_adaptive_step_on_the_importance_weighted_score_by_autograd(reward: str, zeta: float) -> None:
    """w + sum_b g_b / (4 + 2 ||g_b||^2), g_b = sum_i rho_bi A_bi grad log p_w(y_bi | x_b, y_b<i)."""
    generator = torch.Generator().manual_seed(1)
    d, k, n, rows = 3, 4, 5, 6
    policy = LinearPolicy(d, k)
    policy.w1.data = torch.randn(d, k, generator=generator)
    policy.w2.data = torch.randn(k, k, generator=generator)
    contexts = torch.randn(rows, d, generator=generator)
    tokens = torch.randint(0, k, (rows, n), generator=generator)
    advantages = (torch.rand(rows, n, generator=generator) < 0.6).float()
    w1, w2 = policy.w1.detach().clone().double(), policy.w2.detach().clone().double()
    expected_w1, expected_w2 = w1.clone(), w2.clone()
    for b in range(rows):
        a1, a2 = w1.clone().requires_grad_(), w2.clone().requires_grad_()
        logits = (contexts[b].double() @ a1).expand(n, k).clone()
        logits[1:] += a2.T[tokens[b, :-1]]
        token_log_probs = torch.log_softmax(logits, dim=-1)[torch.arange(n), tokens[b]]
        with torch.no_grad():
            log_ratio = token_log_probs.cumsum(0) + torch.arange(1, n + 1) * math.log(k)
            if reward == "outcome":
                log_ratio = torch.full((n,), float(token_log_probs.sum()) + n * math.log(k), dtype=torch.float64)
            ratio = log_ratio.clamp(-math.log(zeta), math.log(zeta)).exp()
        grad_1, grad_2 = torch.autograd.grad((ratio * advantages[b] * token_log_probs).sum(), (a1, a2))
        size = 1.0 / (4.0 + 2.0 * (grad_1.pow(2).sum() + grad_2.pow(2).sum()))
        expected_w1 += size * grad_1
        expected_w2 += size * grad_2
    importance_weighted_step(policy, contexts, tokens, advantages, zeta, reward)
    assert torch.allclose(policy.w1.double(), expected_w1, atol=1e-5)
    assert torch.allclose(policy.w2.double(), expected_w2, atol=1e-5)


def test_mistakes_counted_by_hand() -> None:
    """One context x = (1, 1) with y* = (1, 1): at w = 0 every greedy answer is (0, 0), a mistake."""
    teacher = (np.array([[0.0, 0.0], [1.0, 0.0]]), np.zeros((2, 2)))
    task = SequenceTask(seq_len=2, vocab_size=2, context_dim=2, contexts=np.array([[1.0, 1.0]]), teacher=teacher)
    assert task.targets(np.array([[1.0, 1.0]])).tolist() == [[1, 1]]
    envs = SequenceVectorEnv(num_envs=4, task=task, copy=False, autoreset_mode="disabled")
    agent = UniformPG(envs, LinearPolicy.for_task(task), UniformPGConfig(), 0, LinearEvaluator(task, 8))
    metrics = agent.train_step(0)
    assert metrics["train/mistakes"] == 4 and metrics["train/contexts"] == 4
    assert metrics["train/expected_mistakes"] == pytest.approx(4 * (1 - 0.25))
    # now a policy whose greedy answer is right: token 1 with probability sigmoid(5) at each position
    agent.policy.w1.data = torch.tensor([[0.0, 2.5], [0.0, 2.5]])
    agent.policy.w2.data.zero_()
    metrics = agent.train_step(1)
    p = 1.0 / (1.0 + math.exp(-5.0))
    assert metrics["train/mistakes"] == 4 and metrics["train/contexts"] == 8
    assert metrics["train/expected_mistakes"] == pytest.approx(3 + 4 * (1 - p * p), rel=1e-5)
    assert agent.evaluate()["eval/greedy_test_error"] < 1.0


@pytest.mark.parametrize(("reward", "per_response"), [("outcome", 1), ("process", 3)])
def test_agent_counts_the_queries_the_env_answered(reward: str, per_response: int) -> None:
    agent = make_agent(reward, zeta=4.0, rows=5)
    for step in range(7):
        metrics = agent.train_step(step)
    assert metrics["train/reward_queries"] == agent.envs.total_reward_queries == 7 * 5 * per_response
    assert metrics["train/contexts"] == 35


# Measured with seed 0 (seeds 1 and 2 in brackets): greedy test error and test error 1 - E p(y*|x),
# starting at 1 and 1 - 3^-3 = 0.963 from w = 0.
@pytest.mark.parametrize(
    ("reward", "zeta", "rounds", "greedy_error", "test_error"),
    [
        ("outcome", 1.0, 1000, 0.2, 0.8),  # measured 0.07 [0.09, 0.13] and 0.72 [0.70, 0.74]
        pytest.param(
            "outcome", 27.0, 1000, 0.2, 0.93, marks=pytest.mark.slow
        ),  # 0.04 [0.02, 0.08], 0.875 [0.88, 0.875]
        ("process", 1.0, 300, 0.1, 0.4),  # measured 0.04 [0.02, 0.0] and 0.28 [0.24, 0.24]
        ("process", 27.0, 300, 0.1, 0.4),  # measured 0.04 [0.05, 0.0] and 0.28 [0.28, 0.20]
    ],
)
def test_learns_the_tiny_margin_task_within_the_query_budget(
    reward: str, zeta: float, rounds: int, greedy_error: float, test_error: float
) -> None:
    """Online learning from w = 0 (N = 3, k = 3, d = 6, rademacher, gamma = 0.05), one context per round."""
    agent = make_agent(reward, zeta)
    start = agent.evaluate()
    assert (
        start["eval/test_error"] == pytest.approx(1 - 3.0**-3) and start["eval/greedy_test_error"] > 0.6
    )  # answers (0, 0, 0) at w = 0: measured 0.68
    for step in range(rounds):
        agent.train_step(step)
    final = agent.evaluate()
    assert final["train/reward_queries"] == rounds * (3 if reward == "process" else 1)
    assert final["eval/greedy_test_error"] <= greedy_error
    assert final["eval/test_error"] <= test_error
    assert 0 < final["train/mistakes"] < rounds / 2  # the learner stopped erring early on


def test_resume_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    def run_once(path: Path, stop_after: int | None = None) -> UniformPG:
        agent = make_agent("process", zeta=2.0, rows=2, seed=3)
        run = Run(path, {"steps": 30})
        train(run, agent, 30, eval_every=10, show_progress=False, stop_after=stop_after)
        run.close()
        return agent

    straight = run_once(tmp_path / "straight")
    run_once(tmp_path / "resumed", stop_after=14)  # interrupted between the checkpoints at 10 and 20
    resumed = run_once(tmp_path / "resumed")
    assert torch.equal(straight.policy.w1, resumed.policy.w1) and torch.equal(straight.policy.w2, resumed.policy.w2)
    assert (straight.mistakes, straight.expected_mistakes, straight.contexts_seen) == (
        resumed.mistakes,
        resumed.expected_mistakes,
        resumed.contexts_seen,
    )
    assert resumed.reward_queries == resumed.envs.total_reward_queries == straight.reward_queries
    assert read_metrics(tmp_path / "straight") == read_metrics(tmp_path / "resumed")


@pytest.mark.parametrize("zeta", [0.5, 0.0, -2.0, math.inf, math.nan, True, "2"])
def test_bad_zeta_fails_naming_it(zeta: object) -> None:
    with pytest.raises(ValueError, match="zeta"):
        UniformPGConfig(zeta=zeta)  # type: ignore[arg-type]


def test_needs_the_native_vector_env_and_a_policy_of_the_tasks_shape() -> None:
    envs = gym.make_vec("seqreward/Outcome-v0", num_envs=2, vectorization_mode="sync")
    task = SequenceTask()
    with pytest.raises(ValueError, match="SequenceVectorEnv"):
        UniformPG(envs, LinearPolicy(task.context_dim, task.vocab_size), UniformPGConfig(), 0, LinearEvaluator(task, 8))
    native = SequenceVectorEnv(num_envs=2, task=SequenceTask(**TINY))
    with pytest.raises(ValueError, match="context_dim"):
        UniformPG(native, LinearPolicy(5, 3), UniformPGConfig(), 0, LinearEvaluator(native.task, 8))
