"""Dynamic sampling, the difficulty filter and the curriculum inside GroupPG and PaperPG: every query spent
(dropped groups included) is the env's count, a level change acts at the next update and is in the metrics,
resume restores the curriculum exactly, and bad settings fail where they enter naming the option."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
import torch

from agents.experiment.jobs import Evaluation, Job, TaskSpec, run_job
from agents.experiment.loop import train
from agents.learners.difficulty import DifficultyConfig
from agents.learners.group_pg import GroupPG, GroupPGConfig
from agents.learners.paper_pg import PaperPG, PaperPGConfig
from agents.policy.choice import PolicyChoice
from agents.policy.evaluation import LinearEvaluator
from agents.policy.linear import LinearPolicy
from agents.runs.folder import Run, read_metrics
from seqreward_env import SequenceTask, SequenceVectorEnv

TINY = {"seq_len": 4, "vocab_size": 3, "context_dim": 4, "num_components": 4, "margin": 0.05}
HINTS = DifficultyConfig(curriculum="fixed", curriculum_ladder=(3, 2, 1, 0), schedule_steps=3)
ADAPTIVE_N = DifficultyConfig(
    curriculum="adaptive", curriculum_axis="seq_len", curriculum_ladder=(2, 3, 4), window=2, target_pass_rate=0.2
)
SETTINGS: dict[str, DifficultyConfig] = {
    "dynamic_sampling": DifficultyConfig(dynamic_sampling=True, max_refill_batches=3),
    "group_filter": DifficultyConfig(filter_band=(0.2, 0.8), max_refill_batches=2),
    "oracle_filter": DifficultyConfig(filter_band=(0.01, 0.9), filter_estimate="oracle"),
    "hint_schedule": HINTS,
    "adaptive_seq_len": ADAPTIVE_N,
    "adaptive_hint_with_dynamic_sampling": dataclasses.replace(
        HINTS, curriculum="adaptive", dynamic_sampling=True, window=2, target_pass_rate=0.3
    ),
}


def group_learner(difficulty: DifficultyConfig, reward: str = "outcome", seed: int = 5) -> GroupPG:
    task = SequenceTask(**TINY, reward=reward)
    envs = SequenceVectorEnv(num_envs=8, task=task, copy=False)
    config = GroupPGConfig(
        method="rloo", num_contexts=2, group_size=4, optimizer="adagrad", learning_rate=0.5, difficulty=difficulty
    )
    return GroupPG(envs, LinearPolicy.for_task(task), config, seed, LinearEvaluator(task, 64))


def paper_learner(difficulty: DifficultyConfig, reward: str = "process", seed: int = 5) -> PaperPG:
    task = SequenceTask(**TINY, reward=reward)
    envs = SequenceVectorEnv(num_envs=8, task=task, copy=False)
    return PaperPG(
        envs, LinearPolicy.for_task(task), PaperPGConfig(difficulty=difficulty), seed, LinearEvaluator(task, 64)
    )


def run(learner: Any, path: Path, stop_after: int | None = None) -> Any:
    with Run(path, {"learner": "difficulty"}) as folder:
        train(folder, learner, 12, eval_every=4, show_progress=False, stop_after=stop_after)
    return learner


# The paper's PG asks each context once: its filter is the oracle's (the group estimate's refusal is tested below).
CASES = [
    (make, name)
    for make in (group_learner, paper_learner)
    for name in sorted(SETTINGS)
    if not (make is paper_learner and name == "group_filter")
]


@pytest.mark.parametrize(("make", "name"), CASES, ids=[f"{make.__name__}-{name}" for make, name in CASES])
def test_resume_restores_the_curriculum_and_queries_are_every_env_s(make: Any, name: str, tmp_path: Path) -> None:
    difficulty = SETTINGS[name]
    straight = run(make(difficulty), tmp_path / "straight")
    run(make(difficulty), tmp_path / "resumed", stop_after=6)  # between the checkpoints at 4 and 8
    resumed = run(make(difficulty), tmp_path / "resumed")
    torch.testing.assert_close(resumed.policy.w1, straight.policy.w1, rtol=0, atol=0)
    assert read_metrics(tmp_path / "resumed") == read_metrics(tmp_path / "straight")
    assert resumed.difficulty.state_dict()["schedule"] == straight.difficulty.state_dict()["schedule"]
    assert resumed.difficulty.counts == straight.difficulty.counts
    # Every query the learner counts is one an env answered, the dropped groups' and the level envs' included.
    assert straight.reward_queries == straight.summary()["env_reward_queries"] > 0
    assert resumed.reward_queries == straight.reward_queries


def test_dynamic_sampling_counts_the_queries_of_dropped_groups() -> None:
    learner = group_learner(DifficultyConfig(dynamic_sampling=True, max_refill_batches=4))
    drawn = 0
    for step in range(6):
        metrics = learner.train_step(step)
        drawn += metrics["difficulty/drawn_groups"]
    # From the uniform policy (p(y*) = 3^-4) most groups are all wrong and dropped, yet each cost G queries.
    assert learner.difficulty is not None and learner.difficulty.counts["dropped_groups"] > 0
    assert learner.reward_queries == drawn * 4 == learner.envs.total_reward_queries
    assert drawn > 6 * 2  # refills happened: more groups drawn than the 2 per update kept


def test_a_level_change_acts_at_the_next_update_and_is_in_the_metrics(tmp_path: Path) -> None:
    task = TaskSpec({**TINY})
    job = Job(
        learner="group_pg",
        config=GroupPGConfig(method="rloo", num_contexts=2, group_size=4, difficulty=HINTS),
        task=task,
        budget=9,
        seed=0,
        run_dir=str(tmp_path / "run"),
        policy=PolicyChoice(),
        evaluation=Evaluation(every=3, test_size=32),
    )
    run_job(job)
    records = [record for record in read_metrics(tmp_path / "run") if "curriculum/level" in record]
    # The level in force after each update: 3 updates per level (hints 3, 2, 1, 0).
    assert [record["curriculum/level"] for record in records] == [0, 0, 1, 1, 1, 2, 2, 2, 3]
    assert [record["curriculum/hint"] for record in records] == [3, 3, 2, 2, 2, 1, 1, 1, 0]
    assert [record["curriculum/moved"] for record in records].count(1) == 3
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["config"]["difficulty"]["curriculum_ladder"] == [3, 2, 1, 0]
    assert config["config"]["difficulty"]["schedule_steps"] == 3


def test_the_hint_is_given_through_the_prefix_and_costs_no_query() -> None:
    learner = paper_learner(DifficultyConfig(curriculum="fixed", curriculum_ladder=(3, 0), schedule_steps=1))
    learner.train_step(0)  # hint 3: one token written, one process query per row
    assert learner.reward_queries == 8 * 1
    learner.train_step(1)  # hint 0: four tokens written
    assert learner.reward_queries == 8 * 1 + 8 * 4


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"filter_band": (0.8, 0.2)}, r"filter_band \(--filter-band\) must be \(lo, hi\) with 0 <= lo < hi <= 1"),
        ({"filter_band": (0.2, 1.5)}, r"filter_band \(--filter-band\) must be"),
        ({"max_refill_batches": -1}, r"max_refill_batches \(--max-refill-batches\) must be >= 0"),
        (
            {"curriculum": "fixed", "curriculum_ladder": (2, 0), "start_level": 2},
            r"level of 'hint' must lie in \[0, 1\]",
        ),
        ({"curriculum": "fixed", "curriculum_ladder": ()}, "curriculum_ladder must hold"),
        ({"curriculum": "sometimes"}, "curriculum"),
        ({"curriculum_axis": "depth"}, "curriculum_axis"),
    ],
)
def test_bad_settings_fail_at_construction_naming_the_option(settings: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DifficultyConfig(**settings)


def test_a_hint_longer_than_n_and_a_length_curriculum_on_a_transformer_are_refused() -> None:
    with pytest.raises(ValueError, match="hint of 4 tokens is not shorter than N=4"):
        group_learner(DifficultyConfig(curriculum="fixed", curriculum_ladder=(4, 0)))
    task = SequenceTask(**TINY)
    transformer = PolicyChoice(name="transformer").make(task, "cpu", seed=0)
    envs = SequenceVectorEnv(num_envs=8, task=task, copy=False)
    with pytest.raises(ValueError, match="curriculum_axis='seq_len' needs a policy that shares its parameters"):
        GroupPG(
            envs,
            transformer,
            GroupPGConfig(num_contexts=2, group_size=4, difficulty=ADAPTIVE_N),
            0,
            LinearEvaluator(task, 16),
        )
    with pytest.raises(ValueError, match="filter_estimate='group' needs G >= 2"):
        paper_learner(DifficultyConfig(filter_band=(0.2, 0.8)))
    unreachable = DifficultyConfig(curriculum="fixed", curriculum_axis="margin", curriculum_ladder=(0.9, 0.05))
    with pytest.raises(ValueError, match="curriculum_ladder value 0.9 of 'margin': margin=0.9 is not reachable"):
        group_learner(unreachable)
