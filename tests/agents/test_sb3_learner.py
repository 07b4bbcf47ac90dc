"""SB3 and sb3-contrib algorithms as learners of the training loop, checked for every algorithm: a run
interrupted and resumed equals an uninterrupted one (parameters, metrics, SB3's own log), one train_step is
one iteration of SB3's own learn(), the reward queries reported are the env's own count, and a bad config
fails at construction naming the field."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import pytest
import torch
from stable_baselines3.common.vec_env import VecMonitor

from agents.common.config_checks import ConfigError
from agents.common.seeding import derive_seed
from agents.experiment.loop import train
from agents.learners.sb3.callbacks import SB3Evaluator
from agents.learners.sb3.config import ALGORITHMS, SB3Config
from agents.learners.sb3.extractors import sequence_policy_kwargs
from agents.learners.sb3.learner import SB3Learner
from agents.learners.sb3.vec_env import SB3VecEnv
from agents.runs.folder import Run, read_metrics
from seqreward_env import SequenceTask, SequenceVectorEnv

TASK = SequenceTask(seq_len=3, vocab_size=3, context_dim=3, reward="process")
ROWS = 4
# Small rollouts (4 steps on 4 rows: episodes of 3 steps run across updates) and small minibatches.
KWARGS: dict[str, dict[str, Any]] = {
    "ppo": {"n_steps": 4, "batch_size": 8, "n_epochs": 2},
    "a2c": {"n_steps": 4},
    "maskable_ppo": {"n_steps": 4, "batch_size": 8, "n_epochs": 2},
    "recurrent_ppo": {"n_steps": 4, "batch_size": 8, "n_epochs": 2},
}
STEPS, EVAL_EVERY, INTERRUPT = 6, 2, 3  # the interrupt falls between the checkpoints at 2 and 4
TIME_COLUMNS = ("time/fps", "time/time_elapsed")  # wall-clock columns of SB3's progress.csv


def make_envs() -> SequenceVectorEnv:
    return SequenceVectorEnv(num_envs=ROWS, task=TASK, autoreset_mode="same_step")


def build(algo: str, log_dir: Path | None = None, seed: int = 5) -> tuple[SB3Learner, SequenceVectorEnv]:
    envs = make_envs()
    config = SB3Config(algo=algo, algo_kwargs=KWARGS[algo])
    return SB3Learner(envs, None, config, seed, SB3Evaluator(TASK, 64), log_dir=log_dir), envs


def run_once(algo: str, folder: Path, stop_after: int | None = None) -> tuple[SB3Learner, SequenceVectorEnv]:
    learner, envs = build(algo, log_dir=folder / "sb3")
    with Run(folder, {"algo": algo}) as run:
        train(run, learner, STEPS, eval_every=EVAL_EVERY, show_progress=False, stop_after=stop_after)
    learner.close()
    return learner, envs


def progress_rows(folder: Path) -> list[dict[str, str]]:
    with open(folder / "sb3" / "progress.csv", newline="") as file:
        return [{k: v for k, v in row.items() if k not in TIME_COLUMNS} for row in csv.DictReader(file)]


def assert_same_parameters(left: SB3Learner, right: SB3Learner) -> None:
    right_state = right.model.policy.state_dict()
    for name, tensor in left.model.policy.state_dict().items():
        torch.testing.assert_close(tensor, right_state[name], rtol=0, atol=0, msg=name)


@pytest.mark.parametrize("algo", sorted(ALGORITHMS))
def test_resume_equals_an_uninterrupted_run_and_queries_are_the_envs(algo: str, tmp_path: Path) -> None:
    straight, straight_envs = run_once(algo, tmp_path / "straight")
    run_once(algo, tmp_path / "resumed", stop_after=INTERRUPT)
    resumed, resumed_envs = run_once(algo, tmp_path / "resumed")

    assert_same_parameters(resumed, straight)
    records = read_metrics(tmp_path / "resumed")
    # JSON text compares NaN (an undefined explained variance) equal to itself.
    assert json.dumps(records) == json.dumps(read_metrics(tmp_path / "straight"))
    assert [record["step"] for record in records if "eval/test_error" in record] == [0, 2, 4, 6]
    updates = [record for record in records if "eval/test_error" not in record]
    per_update = straight.env_steps_per_update
    assert per_update == KWARGS[algo]["n_steps"] * ROWS
    assert [record["train/env_steps"] for record in updates] == [step * per_update for step in range(1, STEPS + 1)]
    assert [record["train/n_updates"] for record in updates] == [
        step * KWARGS[algo].get("n_epochs", 1) for step in range(1, STEPS + 1)
    ]
    assert all(math.isfinite(record["train/value_loss"]) for record in updates)

    count = straight_envs.total_reward_queries
    assert straight.reward_queries == count > 0
    assert resumed.reward_queries == resumed_envs.total_reward_queries == count
    assert records[-1]["train/reward_queries"] == count

    # SB3's own log continues too: the rows after the checkpoint are written once, with the same values.
    rows = progress_rows(tmp_path / "resumed")
    assert rows == progress_rows(tmp_path / "straight")
    assert [int(row["time/total_timesteps"]) for row in rows] == [step * per_update for step in range(1, STEPS + 1)]


@pytest.mark.parametrize("algo", sorted(ALGORITHMS))
def test_each_train_step_is_one_iteration_of_sb3_learn(algo: str) -> None:
    updates, seed = 3, 11
    learner, _ = build(algo, seed=seed)
    for step in range(updates):
        learner.train_step(step)
    algo_class, policy = ALGORITHMS[algo]
    kwargs = {**SB3Config(algo=algo).algorithm_kwargs(), **KWARGS[algo]}
    reference = algo_class(
        policy,
        VecMonitor(SB3VecEnv(make_envs()), info_keywords=("is_success",)),
        seed=derive_seed(seed, "sb3") % 2**32,
        device="cpu",
        policy_kwargs=sequence_policy_kwargs(),
        **kwargs,
    )
    reference.learn(total_timesteps=updates * learner.env_steps_per_update)
    assert reference.num_timesteps == learner.model.num_timesteps
    reference_state = reference.policy.state_dict()
    for name, tensor in learner.model.policy.state_dict().items():
        torch.testing.assert_close(tensor, reference_state[name], rtol=0, atol=0, msg=name)


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"algo": "dqn"}, "algo", "must be one of"),
        ({"algo_kwargs": [("n_steps", 4)]}, "algo_kwargs", "must be dict"),
        ({"algo_kwargs": {"n_steps": 0}}, "algo_kwargs", r"algo_kwargs\['n_steps'\] must be an integer >= 1"),
        ({"algo_kwargs": {"batch_size": 8.0}}, "algo_kwargs", r"'batch_size'\] must be an integer"),
        ({"algo_kwargs": {"learning_rate": math.inf}}, "algo_kwargs", r"'learning_rate'\] must be plain data"),
        ({"algo_kwargs": {"learning_rate": -0.1}}, "algo_kwargs", r"'learning_rate'\] must be a number in \(0, inf\)"),
        ({"algo_kwargs": {"learning_rate": lambda progress: 0.1}}, "algo_kwargs", "must be plain data"),
        ({"algo_kwargs": {"gamma": 1.5}}, "algo_kwargs", r"'gamma'\] must be a number in \[0, 1\]"),
        ({"algo_kwargs": {"learning_rte": 0.1}}, "algo_kwargs", "is not an argument of PPO"),
        ({"algo_kwargs": {"seed": 3}}, "algo_kwargs", "is set by the learner"),
        ({"algo_kwargs": {"policy_kwargs": [64]}}, "algo_kwargs", "policy_kwargs'\\] must be a dict"),
        ({"algo": "a2c", "algo_kwargs": {"batch_size": 8}}, "algo_kwargs", "is not an argument of A2C"),
        ({"device": "gpu7"}, "device", "must be a torch device"),
    ],
)
def test_a_bad_config_fails_at_construction_naming_the_field(fields: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as error:
        SB3Config(**fields)
    assert error.value.field == field
    assert field in str(error.value)


def test_the_learner_refuses_an_env_sb3_cannot_step_a_bad_seed_and_a_state_of_another_algorithm() -> None:
    config = SB3Config(algo="a2c", algo_kwargs=KWARGS["a2c"])
    next_step = SequenceVectorEnv(num_envs=ROWS, task=TASK)
    with pytest.raises(ValueError, match="autoreset_mode='same_step'"):
        SB3Learner(next_step, None, config, 0, SB3Evaluator(TASK, 8))
    with pytest.raises(ValueError, match="seed"):
        SB3Learner(make_envs(), None, config, -1, SB3Evaluator(TASK, 8))
    with pytest.raises(ValueError, match="config must be an SB3Config"):
        SB3Learner(make_envs(), None, {"algo": "a2c"}, 0, SB3Evaluator(TASK, 8))  # type: ignore[arg-type]
    ppo, _ = build("ppo")
    a2c, _ = build("a2c")
    with pytest.raises(ValueError, match="algo 'ppo'; this learner runs 'a2c'"):
        a2c.load_state_dict(ppo.state_dict())
