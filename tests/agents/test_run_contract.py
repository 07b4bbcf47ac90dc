"""The run contract, checked once for every learner: resume equals an uninterrupted run, the reward queries
a learner reports are the env's own count, a bad config or a policy for another task fails at
construction, a folder another holder locks is refused, and a crafted checkpoint is refused unexecuted."""

from __future__ import annotations

import dataclasses
import math
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import pytest
import torch

import seqreward_env  # noqa: F401
from agents.experiment.loop import train
from agents.learners.adaptive_pg import AdaptivePG, AdaptivePGConfig
from agents.learners.best_of_m import BestOfM, BestOfMConfig
from agents.learners.contract import Trainable
from agents.learners.group_pg import METHODS, GroupPG, GroupPGConfig
from agents.learners.paper_pg import PaperPG, PaperPGConfig
from agents.learners.pretrain import PretrainConfig, Pretrainer
from agents.learners.process_repair import ProcessRepair, ProcessRepairConfig
from agents.learners.registry import LEARNERS as REGISTRY
from agents.learners.uniform_pg import UniformPG, UniformPGConfig
from agents.policy.evaluation import LinearEvaluator
from agents.policy.linear import LinearPolicy
from agents.runs.folder import Run, RunFolderBusy, read_metrics
from seqreward_env import SequenceTask, SequenceVectorEnv

TINY = {"seq_len": 3, "vocab_size": 3, "context_dim": 4, "num_components": 4, "margin": 0.05}
OTHER_TASK = SequenceTask(seq_len=3, vocab_size=4, context_dim=5)
STEPS, EVAL_EVERY, INTERRUPT = 10, 4, 6


def native_envs(reward: str, rows: int) -> SequenceVectorEnv:
    return SequenceVectorEnv(
        num_envs=rows, task=SequenceTask(**TINY, reward=reward), copy=False, autoreset_mode="disabled"
    )


def gym_envs(reward: str, rows: int) -> Any:
    return gym.make_vec(f"seqreward/{reward.title()}-v0", num_envs=rows, copy=False, **TINY)


def task_of(envs: Any) -> SequenceTask:
    if isinstance(envs, SequenceTask):
        return envs
    return envs.unwrapped.task if hasattr(envs, "unwrapped") else envs.task


# Each learner: (make envs, build the learner from envs / policy / config / seed, its default config,
# a field and a bad value for it).
Builder = Callable[[Any, LinearPolicy, Any, int], Any]
LEARNERS: dict[str, tuple[Callable[[], Any], Builder, Any, str, Any]] = {
    "paper_pg": (
        lambda: gym_envs("process", 8),
        lambda envs, policy, config, seed: PaperPG(envs, policy, config, seed, LinearEvaluator(task_of(envs), 64)),
        PaperPGConfig(),
        "learning_rate",
        math.inf,
    ),
    **{
        f"group_pg_{method}": (
            lambda: gym_envs("outcome", 8),
            lambda envs, policy, config, seed: GroupPG(envs, policy, config, seed, LinearEvaluator(task_of(envs), 64)),
            GroupPGConfig(method=method, num_contexts=2, group_size=4),
            "kl_coef",
            math.nan,
        )
        for method in METHODS
    },
    "adaptive_pg": (
        lambda: native_envs("outcome", 4),
        lambda envs, policy, config, seed: AdaptivePG(envs, policy, config, seed, LinearEvaluator(envs.task, 64)),
        AdaptivePGConfig(),
        "uniform_iterate",
        "yes",
    ),
    "algorithm_1_best_of_m": (
        lambda: native_envs("outcome", 4),
        lambda envs, policy, config, seed: BestOfM(envs, policy, config, seed, LinearEvaluator(envs.task, 64)),
        BestOfMConfig(tries=4),
        "tries",
        1.5,
    ),
    "algorithm_2_process_repair": (
        lambda: native_envs("process", 4),
        lambda envs, policy, config, seed: ProcessRepair(envs, policy, config, seed, LinearEvaluator(envs.task, 64)),
        ProcessRepairConfig(tries=4),
        "lq_contexts",
        "10",
    ),
    "uniform_pg": (
        lambda: native_envs("outcome", 1),
        lambda envs, policy, config, seed: UniformPG(envs, policy, config, seed, LinearEvaluator(envs.task, 64)),
        UniformPGConfig(),
        "zeta",
        math.inf,
    ),
    "pretrain": (
        lambda: SequenceTask(**TINY),
        lambda task, policy, config, seed: Pretrainer(task, policy, config, seed, LinearEvaluator(task, 64)),
        PretrainConfig(batch_size=16),
        "batch_size",
        "10",
    ),
}


def build(name: str, seed: int = 3) -> tuple[Any, Any]:
    make_envs, make_learner, config, _, _ = LEARNERS[name]
    envs = make_envs()
    return make_learner(envs, LinearPolicy.for_task(task_of(envs)), config, seed), envs


def run_once(name: str, path: Path, stop_after: int | None = None) -> tuple[Any, Any]:
    learner, envs = build(name)
    with Run(path, {"learner": name}) as run:
        train(run, learner, STEPS, eval_every=EVAL_EVERY, show_progress=False, stop_after=stop_after)
    return learner, envs


@pytest.mark.parametrize("name", sorted(LEARNERS))
def test_resume_equals_an_uninterrupted_run_and_queries_are_the_envs(name: str, tmp_path: Path) -> None:
    straight, straight_envs = run_once(name, tmp_path / "straight")
    run_once(name, tmp_path / "resumed", stop_after=INTERRUPT)  # between the checkpoints at 4 and 8
    resumed, resumed_envs = run_once(name, tmp_path / "resumed")
    for tensor in ("w1", "w2"):
        torch.testing.assert_close(getattr(resumed.policy, tensor), getattr(straight.policy, tensor), rtol=0, atol=0)
    records = read_metrics(tmp_path / "resumed")
    assert records == read_metrics(tmp_path / "straight")
    assert [record["step"] for record in records if "eval/test_error" in record] == [0, 4, 8, 10]
    if name != "pretrain":  # pre-training asks no reward
        count = straight_envs.unwrapped.total_reward_queries
        assert straight.reward_queries == count > 0
        assert resumed.reward_queries == count
        assert records[-1]["train/reward_queries"] == count


@pytest.mark.parametrize("name", sorted(LEARNERS))
def test_a_bad_config_fails_at_construction_naming_the_field(name: str) -> None:
    _, _, config, field, bad = LEARNERS[name]
    with pytest.raises(ValueError, match=field):
        dataclasses.replace(config, **{field: bad})


@pytest.mark.parametrize("name", sorted(LEARNERS))
def test_a_policy_for_another_task_fails_at_construction(name: str) -> None:
    make_envs, make_learner, config, _, _ = LEARNERS[name]
    with pytest.raises(ValueError, match="context_dim"):
        make_learner(make_envs(), LinearPolicy.for_task(OTHER_TASK), config, 0)


class RunsCode:
    """Unpickling this would call ``Path.touch`` on a file: a stand-in for any code a checkpoint could run."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (self.target,))


@pytest.mark.parametrize("name", sorted(LEARNERS))
def test_a_crafted_checkpoint_is_refused_without_running_and_a_held_folder_is_refused(
    name: str, tmp_path: Path
) -> None:
    folder = tmp_path / "run"
    run_once(name, folder, stop_after=1)
    witness = tmp_path / "code_ran"
    with open(folder / "checkpoint.pt", "wb") as file:
        pickle.dump({"step": 4, "state": RunsCode(witness)}, file, protocol=2)
    with pytest.raises(ValueError, match="checkpoint.pt"):
        Run(folder, {"learner": name})
    assert not witness.exists()
    (folder / "checkpoint.pt").unlink()
    with Run(folder, {"learner": name}), pytest.raises(RunFolderBusy, match="in use by another process"):
        Run(folder, {"learner": name})


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: PaperPGConfig(learning_rate=math.inf), "learning_rate"),
        (lambda: PaperPGConfig(baseline="yes"), "baseline"),
        (lambda: GroupPGConfig(kl_coef=math.nan), "kl_coef"),
        (lambda: GroupPGConfig(epochs=1.5), "epochs"),
        (lambda: GroupPGConfig(snr_smoothing=1.0), "snr_smoothing"),
        (lambda: GroupPGConfig(num_contexts=True), "num_contexts"),
        (lambda: PretrainConfig(batch_size="10"), "batch_size"),
        (lambda: UniformPGConfig(zeta=math.nan), "zeta"),
        (lambda: BestOfMConfig(delta=math.inf), "delta"),
    ],
)
def test_each_reproduced_bad_config_is_refused_naming_its_field(make: Callable[[], Any], field: str) -> None:
    with pytest.raises(ValueError, match=rf"{field} \(--{field.replace('_', '-')}\)|{field} must"):
        make()


def test_every_registered_learner_is_a_trainable_and_each_but_sb3_is_checked_here() -> None:
    """The registry's learners declare the contract (subclasses of ``Trainable``, dataclass configs); the
    table above builds one of each (SB3's learner has its own contract tests in test_sb3_learner.py)."""
    classes = {name: kind.learner_class() for name, kind in REGISTRY.items()}
    for name, learner in classes.items():
        assert Trainable in learner.__mro__, name  # declared, not only matching by shape
        assert dataclasses.is_dataclass(REGISTRY[name].config_class()), name
    built = {type(build(name)[0]) for name in LEARNERS}
    assert {learner for name, learner in classes.items() if name != "sb3"} == built


def test_a_learner_gets_the_hooks_defaults_and_overrides_them() -> None:
    learner, _ = build("paper_pg")
    assert (learner.summary(), learner.env_steps_per_update, learner.save_final("unused")) == ({}, 1, None)
    theory, _ = build("algorithm_1_best_of_m")
    assert theory.summary() == {"tries": 4}  # Algorithm 1's number of tries m, reported by a finished run
