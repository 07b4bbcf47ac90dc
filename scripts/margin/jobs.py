"""The margin experiment's jobs: per (algorithm, gamma, seed) a run of the algorithm from the uniform model
(w = 0) on the task of margin gamma, until the target test error or the query budget."""

from __future__ import annotations

from pathlib import Path

from agents.experiment.jobs import LEARNERS, Job, TaskSpec
from scripts.common.query_jobs import query_job
from scripts.margin.settings import MarginConfig, task_keywords_at

Key = tuple[str, float, int]
"""(algorithm, gamma, seed) of a run."""


def make_jobs(config: MarginConfig, run_dir: Path) -> dict[Key, Job]:
    """Every (algorithm, gamma, seed), each with its default config and ``rows`` contexts side by side,
    until the test error is at most ``target_error`` or ``query_budget`` queries are spent; evaluated every
    1% of the budget (at least every 1000 steps) and on a grid growing 5% a step. Smallest margin first:
    the slowest runs start first."""
    jobs = {
        (algorithm, gamma, seed): query_job(
            config,
            algorithm,
            LEARNERS[algorithm].config_class()(),
            TaskSpec(task_keywords_at(config, gamma)),
            seed,
            str(run_dir / "runs" / algorithm / f"gamma{gamma:g}" / f"seed{seed}"),
            description=f"{algorithm} gamma={gamma:g}",
        )
        for algorithm in list(config.algorithms)
        for gamma in list(config.margins)
        for seed in range(config.seeds)
    }
    return dict(sorted(jobs.items(), key=lambda item: item[0][1]))
