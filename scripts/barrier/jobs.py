"""The barrier experiment's jobs: per (N, seed) the pre-training of a base model to a fixed quality per
token, and per (algorithm, N, seed) a run of Algorithm 1 or 2 from that base model until the target test
error or the query budget."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agents.experiment.jobs import FINAL_MODEL, Evaluation, Job, StopRule, TaskSpec
from agents.experiment.settings import task_keywords
from agents.learners.best_of_m import BestOfMConfig
from agents.learners.pretrain import PretrainConfig
from agents.learners.process_repair import ProcessRepairConfig
from agents.policy.choice import PolicyChoice
from scripts.barrier.settings import BarrierConfig
from scripts.common.query_jobs import query_job

Key = tuple[str, int, int]
"""(algorithm, N, seed) of a run."""


def task_spec(config: BarrierConfig, seq_len: int) -> TaskSpec:
    """The task of length ``seq_len`` (the teacher and test set depend on ``task_seed`` only, not on N)."""
    return TaskSpec(task_keywords(config, seq_len=seq_len, margin=config.margin))


def pretrain_jobs(config: BarrierConfig, run_dir: Path) -> dict[tuple[int, int], Job]:
    """Per (N, seed): supervised pre-training (Adagrad on (x, y*), from a uniform policy), evaluated at every
    step and stopped at the first whose mean p(y*_i | x, y*_<i) on the test set reaches
    ``token_probability`` (at most ``pretrain_max_steps`` steps; the summary's ``reached`` says whether)."""
    settings = PretrainConfig(batch_size=config.pretrain_batch_size, learning_rate=config.pretrain_learning_rate)
    evaluation = Evaluation(
        every=1,
        test_size=config.test_size,
        stop=StopRule("eval/mean_token_probability", at_least=config.token_probability),
    )
    return {
        (seq_len, seed): Job(
            learner="pretrain",
            config=settings,
            task=task_spec(config, seq_len),
            budget=config.pretrain_max_steps,
            seed=seed,
            run_dir=str(run_dir / "runs" / "pretrain" / f"N{seq_len}" / f"seed{seed}"),
            policy=PolicyChoice.of(config),
            evaluation=evaluation,
            device=config.device,
            description=f"pre-train N={seq_len}",
        )
        for seq_len in list(config.seq_lens)
        for seed in range(config.seeds)
    }


def base_model_file(job: Job) -> str:
    """The file of the base model a pre-training job writes."""
    return str(Path(job.run_dir) / FINAL_MODEL)


def algorithm_config(config: BarrierConfig, algorithm: str) -> Any:
    """Algorithm 1's or 2's config: the given m (or the paper's from the LQ), its eps and delta."""
    if algorithm == "best_of_m":
        return BestOfMConfig(tries=config.tries, lq_eps=config.lq_eps, delta=config.delta)
    return ProcessRepairConfig(
        tries=config.tries, lq_eps=config.lq_eps, delta=config.delta, step_per_token=config.step_per_token
    )


def algorithm_jobs(config: BarrierConfig, run_dir: Path, pretraining: dict[tuple[int, int], Job]) -> dict[Key, Job]:
    """Per (algorithm, N, seed): the algorithm from the (N, seed) base model, ``rows`` contexts side by side,
    until the test error is at most ``target_error`` or ``query_budget`` queries are spent; evaluated every
    1% of the budget (at least every 1000 steps) and on a grid growing 5% a step, so the queries to the
    target are known to 5%. Longest N first: the slowest runs start first."""
    jobs = {
        (algorithm, seq_len, seed): query_job(
            config,
            algorithm,
            algorithm_config(config, algorithm),
            task_spec(config, seq_len),
            seed,
            str(run_dir / "runs" / algorithm / f"N{seq_len}" / f"seed{seed}"),
            base_model=base_model_file(pretraining[seq_len, seed]),
            description=f"{algorithm} N={seq_len}",
        )
        for algorithm in list(config.algorithms)
        for seq_len in list(config.seq_lens)
        for seed in range(config.seeds)
    }
    return dict(sorted(jobs.items(), key=lambda item: -item[0][1]))
