"""The curriculum experiment's jobs: per (task draw, N, seed) a base model pre-trained to a fixed quality per
token; per method a run from it until the test error target or the query budget, its evaluation tracking the
test contexts off the base model's support."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from agents.experiment.jobs import FINAL_MODEL, Evaluation, Job, StopRule, TaskSpec
from agents.experiment.settings import task_keywords
from agents.learners.group_pg import GroupPGConfig
from agents.learners.paper_pg import PaperPGConfig
from agents.learners.pretrain import PretrainConfig
from agents.policy.choice import PolicyChoice, load_policy
from agents.policy.evaluation import policy_token_log_probs
from scripts.common.query_jobs import query_evaluation
from scripts.curriculum.settings import CurriculumConfig, difficulty_config

BaseKey = tuple[int, int, int]
"""(task seed, N, seed) of a base model."""
Key = tuple[str, int, int, int]
"""(method, task seed, N, seed) of a run."""


def task_spec(config: CurriculumConfig, task_seed: int, seq_len: int, reward: str = "outcome") -> TaskSpec:
    return TaskSpec(task_keywords(config, seq_len=seq_len, margin=config.margin, task_seed=task_seed, reward=reward))


def pretrain_jobs(config: CurriculumConfig, run_dir: Path) -> dict[BaseKey, Job]:
    """Per (task draw, N, seed): pre-training from the uniform policy, stopped at the first step whose mean
    p(y*_i | x, y*_<i) on the test set reaches ``token_probability``."""
    settings = PretrainConfig(batch_size=config.pretrain_batch_size, learning_rate=config.pretrain_learning_rate)
    evaluation = Evaluation(
        every=1,
        test_size=config.test_size,
        stop=StopRule("eval/mean_token_probability", at_least=config.token_probability),
    )
    return {
        (task_seed, seq_len, seed): Job(
            learner="pretrain",
            config=settings,
            task=task_spec(config, task_seed, seq_len),
            budget=config.pretrain_max_steps,
            seed=seed,
            run_dir=str(run_dir / "runs" / "pretrain" / f"task{task_seed}" / f"N{seq_len}" / f"seed{seed}"),
            policy=PolicyChoice.of(config),
            evaluation=evaluation,
            device=config.device,
            description=f"pre-train task {task_seed} N={seq_len}",
        )
        for task_seed in config.task_seeds
        for seq_len in config.seq_lens
        for seed in range(config.seeds)
    }


def off_support_contexts(config: CurriculumConfig, task_seed: int, seq_len: int, base_model: str) -> np.ndarray:
    """The test contexts whose base-model likelihood p0(y*|x) is below ``off_support_below``: ``(T, d)``."""
    task = task_spec(config, task_seed, seq_len).build()
    contexts = task.test_contexts(config.test_size)
    policy = load_policy(base_model, device=config.device)
    likelihoods = np.exp(policy_token_log_probs(policy, contexts, task.targets(contexts)).sum(axis=1))
    return contexts[likelihoods < config.off_support_below]


def learner_settings(config: CurriculumConfig, method: str, seq_len: int) -> tuple[str, Any, str, int]:
    """(learner, its config, the reward, the most reward queries one update can spend) of ``method``."""
    difficulty = difficulty_config(config, method, seq_len)
    episodes = config.episodes_per_update
    if method.startswith("prm"):
        return "paper_pg", PaperPGConfig(learning_rate=config.learning_rate, difficulty=difficulty), "process", episodes
    group = GroupPGConfig(
        method="rloo",
        learning_rate=config.learning_rate,
        optimizer="adagrad",
        num_contexts=config.num_contexts,
        group_size=config.group_size,
        paired_diagnostics=False,
        difficulty=difficulty,
    )
    return "group_pg", group, "outcome", episodes


def method_jobs(config: CurriculumConfig, run_dir: Path, bases: dict[BaseKey, Job]) -> dict[Key, Job]:
    """Per (method, task draw, N, seed): ``method`` from that base model until the test error target, for at
    least ``query_budget`` queries (updates enough for the cheapest update; runs that spend more per update,
    dropped groups included, are censored at the budget by the analysis). Longest N first."""
    jobs: dict[Key, Job] = {}
    for (task_seed, seq_len, seed), base_job in bases.items():
        base_model = str(Path(base_job.run_dir) / FINAL_MODEL)
        off_support = off_support_contexts(config, task_seed, seq_len, base_model)
        for method in config.methods:
            learner, settings, reward, cheapest = learner_settings(config, method, seq_len)
            if method == "prm":
                cheapest *= seq_len  # no hint: every update asks N process queries per episode
            steps = max(1, config.query_budget // cheapest)
            evaluation = query_evaluation(steps, config.test_size, config.target_error)
            evaluation = dataclasses.replace(evaluation, every=max(1, steps // 50), log_every=max(1, steps // 500))
            if len(off_support):
                evaluation = dataclasses.replace(
                    evaluation,
                    tracked=off_support.tolist(),
                    off_support=tuple(range(len(off_support))),
                )
            jobs[method, task_seed, seq_len, seed] = Job(
                learner=learner,
                config=settings,
                task=task_spec(config, task_seed, seq_len, reward),
                budget=steps,
                seed=seed,
                rows=config.episodes_per_update if learner == "paper_pg" else None,  # the paper's PG: B G contexts
                run_dir=str(run_dir / "runs" / method / f"task{task_seed}" / f"N{seq_len}" / f"seed{seed}"),
                base_model=base_model,
                policy=PolicyChoice.of(config),
                evaluation=evaluation,
                device=config.device,
                description=f"{method} task {task_seed} N={seq_len}",
            )
    return dict(sorted(jobs.items(), key=lambda item: -item[0][2]))
