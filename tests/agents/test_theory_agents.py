"""The theory's agents through the env: every query counted by the env, Algorithm 1's tries per context and
Algorithm 2's per position, updates only on rewarded responses, the adaptive PG step by hand, the uniformly
drawn iterate, learning a tiny task within a stated budget, and resume."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from agents.experiment.loop import train
from agents.learners import adaptive_pg
from agents.learners.adaptive_pg import AdaptivePG, AdaptivePGConfig
from agents.learners.best_of_m import BestOfM, BestOfMConfig
from agents.learners.process_repair import ProcessRepair, ProcessRepairConfig
from agents.policy.evaluation import LinearEvaluator
from agents.policy.linear import LinearPolicy
from agents.policy.rollout import Rollout
from agents.runs.folder import Run, read_metrics
from seqreward_env import SequenceTask, SequenceVectorEnv

# N = 3, k = 3 (k^N = 27 answers), d = 4, contexts with margin >= 0.05.
TINY = {"seq_len": 3, "vocab_size": 3, "context_dim": 4, "num_components": 4, "margin": 0.05}
ALGORITHMS = ("best_of_m", "process_repair", "adaptive_pg_outcome", "adaptive_pg_process")


def make_agent(
    algorithm: str, rows: int = 4, seed: int = 0, tries: int | None = None, base_scale: float = 0.0, **settings: Any
) -> Any:
    reward = "outcome" if algorithm in ("best_of_m", "adaptive_pg_outcome") else "process"
    task = SequenceTask(**TINY, reward=reward)
    envs = SequenceVectorEnv(num_envs=rows, task=task, copy=False, autoreset_mode="disabled")
    base = LinearPolicy.for_task(task)
    if base_scale:
        generator = torch.Generator().manual_seed(11)
        base.w1.data.copy_(base_scale * torch.randn(base.w1.shape, generator=generator))
        base.w2.data.copy_(base_scale * torch.randn(base.w2.shape, generator=generator))
    evaluator = LinearEvaluator(task, 256)
    if algorithm == "best_of_m":
        return BestOfM(envs, base.copy(), BestOfMConfig(tries=tries), seed, evaluator, base=base)
    if algorithm == "process_repair":
        return ProcessRepair(
            envs, base.copy(), ProcessRepairConfig(tries=tries, **settings), seed, evaluator, base=base
        )
    return AdaptivePG(envs, base.copy(), AdaptivePGConfig(), seed, evaluator)


class QueryLog:
    """Records, per env row, every reward query as (context, prefix length), read from the reset options."""

    def __init__(self, envs: SequenceVectorEnv) -> None:
        self.queries: list[list[tuple[bytes, int]]] = [[] for _ in range(envs.num_envs)]
        original = envs.reset

        def reset(**kwargs: Any) -> Any:
            options = kwargs.get("options") or {}
            prefixes = options.get("prefix")
            for row in range(envs.num_envs):
                length = 0 if prefixes is None else len(prefixes[row])
                self.queries[row].append((np.asarray(options["context"][row]).tobytes(), length))
            return original(**kwargs)

        envs.reset = reset  # type: ignore[method-assign]

    def longest_runs(self, key: Any) -> int:
        """The most consecutive queries on one row sharing ``key(query)``."""
        longest = 0
        for row in self.queries:
            run, previous = 0, None
            for query in row:
                run = run + 1 if key(query) == previous else 1
                previous = key(query)
                longest = max(longest, run)
        return longest


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_agent_reports_the_env_own_query_count(algorithm: str) -> None:
    agent = make_agent(algorithm)
    for step in range(60):
        metrics = agent.train_step(step)
    assert metrics["train/reward_queries"] == agent.reward_queries == agent.envs.total_reward_queries > 0
    assert agent.evaluate()["train/reward_queries"] == agent.envs.total_reward_queries


def test_best_of_m_spends_at_most_one_plus_m_queries_per_context() -> None:
    tries = 3
    agent = make_agent("best_of_m", tries=tries)
    log = QueryLog(agent.envs)
    for step in range(150):
        metrics = agent.train_step(step)
    # the on-policy response and at most m extra ones per context (same context, whole responses: prefix N-1)
    assert log.longest_runs(lambda query: query[0]) <= 1 + tries
    assert {length for row in log.queries for _, length in row} == {TINY["seq_len"] - 1}
    assert metrics["train/max_context_queries"] == 1 + tries  # from the uniform model m = 3 is often not enough
    assert metrics["train/searches_failed"] > 0


def test_process_repair_never_spends_more_than_m_queries_per_position() -> None:
    tries = 2
    agent = make_agent("process_repair", tries=tries)
    log = QueryLog(agent.envs)
    for step in range(150):
        metrics = agent.train_step(step)
    assert log.longest_runs(lambda query: query) <= tries  # consecutive queries on one context and position
    assert metrics["train/max_position_queries"] == tries
    assert metrics["train/repairs_failed"] > 0 and metrics["train/repair_queries"] > 0


def test_best_of_m_learns_only_from_a_correct_response(monkeypatch: pytest.MonkeyPatch) -> None:
    agent = make_agent("best_of_m", rows=1, tries=2)
    answers: list[bool] = []
    original = agent.query

    def query(*args: Any) -> np.ndarray:
        accepted = original(*args)
        answers.append(bool(accepted[0]))
        return accepted

    monkeypatch.setattr(agent, "query", query)
    for step in range(150):
        before, updates = agent.policy.state_dict(), agent.updates
        agent.train_step(step)
        changed = not torch.equal(before["w1"], agent.policy.w1.detach()) or agent.updates != updates
        assert changed == answers[-1]  # one update per correct response, none after a wrong one
    assert agent.updates == sum(answers) > 0


@pytest.mark.parametrize("reward", ["outcome", "process"])
def test_adaptive_pg_step_by_hand(reward: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """w <- w + g_A / (4 + 2 ||g_A||^2), g_A = sum_i A_i grad log p(y_i | x, y_<i), A_i = r (outcome) or r_i."""
    agent = make_agent(f"adaptive_pg_{reward}", rows=1, base_scale=1.0)
    batches: list[Rollout] = []
    original = adaptive_pg.rollout

    def rollout(*args: Any, **kwargs: Any) -> Rollout:
        batches.append(original(*args, **kwargs))
        return batches[-1]

    monkeypatch.setattr(adaptive_pg, "rollout", rollout)
    checked = 0
    for step in range(40):
        w1, w2 = (value.double() for value in agent.policy.state_dict().values())
        agent.train_step(step)
        batch = batches[-1]
        rewards = (batch.rewards[0] == 1.0).double()
        if reward == "outcome":
            rewards = torch.full_like(rewards, float(rewards[-1]))
        if rewards.sum() == 0:
            torch.testing.assert_close(agent.policy.w1.double(), w1, rtol=0, atol=0)
            continue
        x, tokens = batch.contexts[0].double(), batch.tokens[0]
        w1_, w2_ = w1.clone().requires_grad_(True), w2.clone().requires_grad_(True)
        objective = sum(
            rewards[i] * torch.log_softmax(x @ w1_ + (w2_[:, tokens[i - 1]] if i else 0.0), dim=0)[tokens[i]]
            for i in range(len(tokens))
        )
        g1, g2 = torch.autograd.grad(objective, (w1_, w2_))
        size = 1.0 / (4.0 + 2.0 * float((g1**2).sum() + (g2**2).sum()))
        torch.testing.assert_close(agent.policy.w1.double(), w1 + size * g1, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(agent.policy.w2.double(), w2 + size * g2, rtol=1e-5, atol=1e-6)
        checked += 1
    assert checked >= 3


def test_uniformly_drawn_iterate_is_uniform_over_the_iterates() -> None:
    agent = make_agent("adaptive_pg_outcome", rows=1)
    draws, last = 4000, 3
    steps: Counter[int] = Counter()
    for _ in range(draws):
        agent.iterates, agent.drawn_step = 1, 0
        for step in range(1, last + 1):
            agent._draw_iterate(step)
        steps[agent.drawn_step] += 1
    assert set(steps) == {0, 1, 2, 3}
    for count in steps.values():
        assert count / draws == pytest.approx(0.25, abs=0.03)
    metrics = agent.evaluate()
    assert {"eval/test_error", "eval/uniform_iterate_test_error", "eval/uniform_iterate_step"} <= set(metrics)


# Measured with rows = 4 from the uniform model (seeds 0 to 2): test error 0.1 after 500 to 900 queries for
# Algorithm 1, 300 for Algorithm 2 and 300 to 400 for adaptive PG (both rewards).
@pytest.mark.slow
@pytest.mark.parametrize(
    ("algorithm", "settings", "budget"),
    [("best_of_m", {}, 2000), ("process_repair", {}, 1200), ("process_repair", {"step_per_token": True}, 600)],
)
def test_algorithm_learns_the_tiny_task_within_the_budget(
    algorithm: str, settings: dict[str, Any], budget: int
) -> None:
    agent = make_agent(algorithm, seed=3, **settings)
    assert agent.evaluate()["eval/test_error"] > 0.9  # uniform model: p(y*|x) = 1/27
    while agent.reward_queries < budget:
        agent.train_step(0)
    assert agent.evaluate()["eval/test_error"] <= 0.1


def test_adaptive_pg_learns_the_tiny_task_within_the_budget() -> None:
    agent = make_agent("adaptive_pg_outcome", seed=3)
    while agent.reward_queries < 1500:
        agent.train_step(0)
    metrics = agent.evaluate()
    assert metrics["eval/test_error"] <= 0.1
    assert metrics["eval/uniform_iterate_test_error"] < 0.9


def run_once(algorithm: str, path: Path, stop_after: int | None = None) -> Any:
    agent = make_agent(algorithm, seed=5)
    run = Run(path, {"algorithm": algorithm})
    train(run, agent, 30, eval_every=8, show_progress=False, stop_after=stop_after)
    run.close()
    return agent


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_resume_equals_an_uninterrupted_run(algorithm: str, tmp_path: Path) -> None:
    straight = run_once(algorithm, tmp_path / "straight")
    run_once(algorithm, tmp_path / "resumed", stop_after=13)  # interrupted between the checkpoints at 8 and 16
    resumed = run_once(algorithm, tmp_path / "resumed")
    for name in ("w1", "w2"):
        torch.testing.assert_close(getattr(resumed.policy, name), getattr(straight.policy, name), rtol=0, atol=0)
    assert read_metrics(tmp_path / "resumed") == read_metrics(tmp_path / "straight")
    assert resumed.envs.total_reward_queries == straight.envs.total_reward_queries == straight.reward_queries
