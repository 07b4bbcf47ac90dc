"""Learning on a tiny task: pre-training (both methods) and the paper's PG with each reward reach stated errors."""

from __future__ import annotations

import gymnasium as gym
import pytest
import torch

import seqreward_env  # noqa: F401
from agents.learners.paper_pg import PaperPG, PaperPGConfig
from agents.learners.pretrain import PretrainConfig, Pretrainer
from agents.policy.evaluation import LinearEvaluator
from agents.policy.linear import LinearPolicy
from agents.policy.rollout import Rollout
from agents.rules.advantages import paper_advantages
from seqreward_env import SequenceTask

TINY = {"seq_len": 6, "vocab_size": 4, "context_dim": 8, "num_components": 8}


def pretrained(task: SequenceTask, config: PretrainConfig, steps: int, seed: int = 0) -> LinearPolicy:
    policy = LinearPolicy.for_task(task)
    trainer = Pretrainer(task, policy, config, seed, LinearEvaluator(task, 8))
    for step in range(steps):
        trainer.train_step(step)
    return policy


def test_adagrad_pretraining_learns_the_tiny_task() -> None:
    task = SequenceTask(**TINY)
    evaluator = LinearEvaluator(task, 256)
    assert evaluator(LinearPolicy.for_task(task))["eval/test_error"] > 0.99  # uniform: p(y*) = 4^-6
    policy = pretrained(task, PretrainConfig(batch_size=64), steps=100)
    assert evaluator(policy)["eval/test_error"] < 0.6  # measured 0.41


def test_adaptive_sgd_pretraining_learns_the_tiny_task() -> None:
    task = SequenceTask(**TINY)
    policy = pretrained(task, PretrainConfig(method="adaptive_sgd"), steps=300)
    assert LinearEvaluator(task, 256)(policy)["eval/test_error"] < 0.4  # measured 0.24


@pytest.mark.parametrize(("env_id", "threshold"), [("seqreward/Outcome-v0", 0.6), ("seqreward/Process-v0", 0.45)])
def test_paper_pg_improves_a_weak_base_model(env_id: str, threshold: float) -> None:
    envs = gym.make_vec(env_id, num_envs=64, reward_values=(-1.0, 1.0), copy=False)
    task = envs.unwrapped.task
    base = pretrained(task, PretrainConfig(batch_size=16), steps=10)
    evaluator = LinearEvaluator(task, 256)
    base_error = evaluator(base)["eval/test_error"]
    assert base_error > 0.8  # measured 0.85
    agent = PaperPG(envs, base.copy(), PaperPGConfig(), 0, evaluator)
    for step in range(100):
        metrics = agent.train_step(step)
    # measured after 100 steps: 0.43 with the outcome reward, 0.28 with the process reward
    assert agent.evaluate()["eval/test_error"] < threshold
    assert metrics["train/reward_queries"] == envs.unwrapped.total_reward_queries


def test_paper_advantages() -> None:
    rewards = torch.tensor([[0.0, 1.0], [0.0, -1.0], [0.0, 1.0]])
    batch = Rollout(
        contexts=torch.zeros(3, 1),
        tokens=torch.zeros(3, 2, dtype=torch.long),
        rewards=rewards,
        probs=torch.zeros(3, 2, 2),
        generated=torch.tensor([[True, True], [True, True], [False, True]]),
        success=torch.zeros(3, dtype=torch.bool),
        reward_queries=3,
    )
    outcome = paper_advantages(batch.rewards, batch.generated, "outcome", None)  # R - mean R on every generated token
    torch.testing.assert_close(outcome, torch.tensor([[2 / 3, 2 / 3], [-4 / 3, -4 / 3], [0.0, 2 / 3]]))
    torch.testing.assert_close(paper_advantages(batch.rewards, batch.generated, "outcome", False)[0], torch.tensor([1.0, 1.0]))
    torch.testing.assert_close(paper_advantages(batch.rewards, batch.generated, "process", None), rewards * batch.generated)
    with_baseline = paper_advantages(batch.rewards, batch.generated, "process", True)
    torch.testing.assert_close(with_baseline[:, 1], torch.tensor([2 / 3, -4 / 3, 2 / 3]))
    with pytest.raises(ValueError, match="reward"):
        paper_advantages(batch.rewards, batch.generated, "dense", None)
