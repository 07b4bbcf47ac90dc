"""Run folders: an interrupted and resumed run ends where an uninterrupted one does, logging each step once."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import pytest
import torch

import seqreward_env  # noqa: F401
from agents.experiment.loop import train
from agents.learners.paper_pg import PaperPG, PaperPGConfig
from agents.policy.evaluation import LinearEvaluator
from agents.policy.linear import LinearPolicy
from agents.runs.folder import Run, read_metrics

STEPS, EVAL_EVERY = 24, 8


def make_agent() -> PaperPG:
    envs = gym.make_vec("seqreward/Process-v0", num_envs=16, copy=False)
    task = envs.unwrapped.task
    return PaperPG(envs, LinearPolicy.for_task(task), PaperPGConfig(), 7, LinearEvaluator(task, 32))


def run_once(path: Path, stop_after: int | None = None) -> PaperPG:
    agent = make_agent()
    run = Run(path, {"steps": STEPS})
    train(run, agent, STEPS, eval_every=EVAL_EVERY, show_progress=False, stop_after=stop_after)
    run.close()
    return agent


def test_resume_gives_the_same_weights_and_logs_each_step_once(tmp_path: Path) -> None:
    straight = run_once(tmp_path / "straight")
    run_once(tmp_path / "resumed", stop_after=13)  # interrupted between checkpoints (at 8 and 16)
    partial = read_metrics(tmp_path / "resumed")
    assert max(record["step"] for record in partial) == 13
    resumed = run_once(tmp_path / "resumed")
    torch.testing.assert_close(resumed.policy.w1, straight.policy.w1, rtol=0, atol=0)
    torch.testing.assert_close(resumed.policy.w2, straight.policy.w2, rtol=0, atol=0)
    assert read_metrics(tmp_path / "resumed") == read_metrics(tmp_path / "straight")
    steps = [(record["step"], "eval/test_error" in record) for record in read_metrics(tmp_path / "resumed")]
    assert len(steps) == len(set(steps))
    assert {step for step, _ in steps} == set(range(STEPS + 1))


def test_tensorboard_events_are_written(tmp_path: Path) -> None:
    run_once(tmp_path / "run")
    events = list((tmp_path / "run" / "tb").glob("events.out.tfevents.*"))
    assert events and sum(path.stat().st_size for path in events) > 0
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(tmp_path / "run" / "tb"))
    accumulator.Reload()
    tags = set(accumulator.Tags()["scalars"])
    assert {"eval/test_error", "train/reward", "train/reward_queries", "train/grad_norm", "train/learning_rate"} <= tags
    assert [event.step for event in accumulator.Scalars("eval/test_error")] == list(range(0, STEPS + 1, EVAL_EVERY))


def test_a_different_config_in_the_same_folder_is_refused(tmp_path: Path) -> None:
    Run(tmp_path, {"lr": 0.1}).close()
    with pytest.raises(ValueError, match="different config"):
        Run(tmp_path, {"lr": 0.2})
    assert json.loads((tmp_path / "config.json").read_text()) == {"lr": 0.1}
