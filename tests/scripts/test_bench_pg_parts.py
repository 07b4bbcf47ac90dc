"""The PG step's profile times every part where the step really calls it (a part never reached would read
0) and puts the learner back as it was."""

from __future__ import annotations

import gymnasium as gym
import pytest

import seqreward_env  # noqa: F401
from agents.learners.paper_pg import PaperPG, PaperPGConfig
from agents.policy.evaluation import LinearEvaluator
from agents.policy.linear import LinearPolicy
from scripts.bench_pg_parts import PARTS, profile


def test_every_part_is_timed_and_the_parts_add_up_to_the_step() -> None:
    envs = gym.make_vec("seqreward/Outcome-v0", num_envs=16, copy=False, reward_values=(-1.0, 1.0))
    task = envs.unwrapped.task
    agent = PaperPG(envs, LinearPolicy.for_task(task), PaperPGConfig(), 0, LinearEvaluator(task, test_size=8))
    calls = []
    times = profile(agent, 3, lambda: calls.append(1))
    assert len(calls) == 3 and all(len(times[part]) == 3 for part in (*PARTS, "rest", "total"))
    for part in PARTS:
        assert min(times[part]) > 0, part
    for index in range(3):
        parts = sum(times[part][index] for part in (*PARTS, "rest"))
        assert parts == pytest.approx(times["total"][index])
    # the wrappers are gone: the step runs the policy's and the env's own methods again
    assert "transition_table" not in vars(agent.policy) and "step" not in vars(envs.unwrapped)
    assert "sample_context_rows" not in vars(task) and agent.train_step(10)["train/reward_queries"] > 0
