"""The SB3-against-PG comparison's jobs: the task, the budgets and evaluation grid in environment steps, one
``Job`` per (phase, reward, method, learning rate, seed) (``paper_pg`` for the paper's PG, ``sb3`` for PPO
and A2C), and reading each run's curve back from its ``metrics.jsonl``."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from agents.experiment.jobs import FINAL_MODEL, Evaluation, Job, TaskSpec
from agents.experiment.settings import task_keywords
from agents.learners.paper_pg import PaperPGConfig
from agents.learners.sb3.config import SB3Config
from agents.learners.sb3.evaluation import greedy_decode
from agents.policy.linear import LinearPolicy
from agents.runs.folder import read_metrics
from scripts.compare_sb3.settings import ENV_IDS, CompareSB3Config, learning_rates
from seqreward_env import SequenceTask

REWARD_VALUES = (-1.0, 1.0)  # the paper's
TUNING_SEED_OFFSET = 1000


def task_kwargs(config: CompareSB3Config) -> dict[str, Any]:
    return task_keywords(config, reward_values=REWARD_VALUES)


def eval_every(config: CompareSB3Config) -> int:
    """Environment steps between evaluations: a multiple of every method's update size (a PG step, a PPO and
    an A2C rollout), so that all methods evaluate at the same steps."""
    unit = math.lcm(
        config.pg_batch_size * config.seq_len,
        config.num_envs * config.ppo_n_steps,
        config.num_envs * config.a2c_n_steps,
    )
    return unit * max(1, math.ceil(config.query_budget / config.evaluations / unit))


def env_steps(config: CompareSB3Config, reward: str) -> int:
    """Environment steps of a run: the (rounded) query budget, times N under the outcome reward."""
    budget = eval_every(config) * config.evaluations
    return budget * (config.seq_len if reward == "outcome" else 1)


def pg_env_steps_per_update(config: CompareSB3Config) -> int:
    """Environment steps of one step of the paper's PG: a batch of whole episodes."""
    return config.pg_batch_size * config.seq_len


def make_job(
    config: CompareSB3Config,
    run_dir: Path,
    phase: str,
    reward: str,
    method: str,
    rate: float,
    seed: int,
    show_progress: bool,
) -> Job:
    """The run of ``method`` at learning rate ``rate`` and ``seed`` on ``reward`` in
    ``<run_dir>/runs/<phase>/<reward>/<method>/lr<rate>/seed<seed>``. The paper's PG starts from w = 0 (the
    default linear policy) and counts its budget in PG steps; PPO and A2C in environment steps."""
    folder = str(run_dir / "runs" / phase / reward / method / f"lr{rate:g}" / f"seed{seed}")
    steps, every = env_steps(config, reward), eval_every(config)
    task = TaskSpec(task_kwargs(config), env_id=ENV_IDS[reward])
    common: dict[str, Any] = {"seed": seed, "run_dir": folder, "device": config.device, "show_progress": show_progress}
    if method == "paper_pg":
        per_step = pg_env_steps_per_update(config)
        return Job(
            learner="paper_pg",
            config=PaperPGConfig(learning_rate=rate),
            task=task,
            budget=steps // per_step,
            rows=config.pg_batch_size,
            evaluation=Evaluation(every=every // per_step, test_size=config.test_size),
            description=f"PG {reward}",
            **common,
        )
    n_steps = config.ppo_n_steps if method == "ppo" else config.a2c_n_steps
    batch = {"batch_size": config.ppo_batch_size} if method == "ppo" else {}
    return Job(
        learner="sb3",
        config=SB3Config(
            algo=method, algo_kwargs={"n_steps": n_steps, "learning_rate": rate, **batch}, device=config.device
        ),
        task=task,
        budget=steps,
        rows=config.num_envs,
        evaluation=Evaluation(every=every, test_size=config.test_size),
        description=f"{method} {reward}",
        **common,
    )


def tuning_seeds(config: CompareSB3Config) -> list[int]:
    return [TUNING_SEED_OFFSET + index for index in range(config.tuning_seeds)]


def tuning_jobs(config: CompareSB3Config, run_dir: Path, show_progress: bool) -> dict[tuple[str, str, float, int], Job]:
    """The tuning runs, by (reward, method, rate, seed): every rate of every grid of more than one rate."""
    return {
        (reward, method, rate, seed): make_job(config, run_dir, "tune", reward, method, rate, seed, show_progress)
        for reward in config.rewards
        for method in config.methods
        if len(learning_rates(config, method)) > 1
        for rate in learning_rates(config, method)
        for seed in tuning_seeds(config)
    }


def evaluation_jobs(
    config: CompareSB3Config, run_dir: Path, chosen: dict[tuple[str, str], float], show_progress: bool
) -> dict[tuple[str, str, int], Job]:
    """The reported runs, by (reward, method, seed): each method at its chosen rate on seeds 0, 1, ..."""
    return {
        (reward, method, seed): make_job(
            config, run_dir, "eval", reward, method, chosen[reward, method], seed, show_progress
        )
        for reward in config.rewards
        for method in config.methods
        for seed in range(config.seeds)
    }


def run_curve(job: Job) -> dict[str, np.ndarray]:
    """A run's evaluations from its ``metrics.jsonl``: ``env_steps``, ``reward_queries`` and ``test_error``,
    each ``(points,)``. SB3 runs log their environment steps (``train/env_steps``); a PG step is a batch of
    whole episodes, ``rows * N`` environment steps."""
    records = [record for record in read_metrics(job.run_dir) if "eval/test_error" in record]
    if job.learner == "sb3":
        steps = [record["train/env_steps"] for record in records]
    else:
        per_step = job.env_rows() * int(job.task.keywords["seq_len"])
        steps = [record["step"] * per_step for record in records]
    return {
        "env_steps": np.array(steps, dtype=np.int64),
        "reward_queries": np.array([record["train/reward_queries"] for record in records], dtype=np.int64),
        "test_error": np.array([record["eval/test_error"] for record in records], dtype=float),
    }


def final_greedy_exact_match(job: Job, task: SequenceTask) -> float:
    """Fraction of the test contexts on which the final policy's greedy decoding writes y* exactly: logged
    by SB3 runs at every evaluation, decoded from the final linear policy of a PG run."""
    if job.learner == "sb3":
        records = [record for record in read_metrics(job.run_dir) if "eval/greedy_exact_match" in record]
        return float(records[-1]["eval/greedy_exact_match"])
    policy = LinearPolicy.load(Path(job.run_dir) / FINAL_MODEL)
    contexts = task.test_contexts(job.evaluation.test_size)
    greedy = greedy_decode(policy.observation_probs, task, contexts)
    return float(np.mean(np.all(greedy == task.targets(contexts), axis=1)))
