"""The mistakes experiment's jobs: per (reward, zeta, N, gamma, seed) an online-learning run of
uniform-behaviour PG from w = 0, one fresh context per round, until the greedy answer is right on every
test context or the rounds run out; and reading back the cumulative mistakes the runs logged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agents.experiment.jobs import Evaluation, Job, StopRule, TaskSpec
from agents.learners.uniform_pg import UniformPGConfig
from agents.runs.folder import read_metrics
from scripts.mistakes.analysis import mistake_curve
from scripts.mistakes.settings import MistakesConfig, sweep_settings, task_kwargs


def make_jobs(config: MistakesConfig, run_dir: Path, show_progress: bool) -> list[Job]:
    """One run per (reward, zeta, (N, gamma), seed), in that order: ``max_rounds`` rounds at most, the
    greedy answers checked on ``test_size`` test contexts every ``eval_every`` rounds and the run stopped at
    the first check where none is wrong."""
    evaluation = Evaluation(
        every=config.eval_every,
        log_every=config.log_every,
        test_size=config.test_size,
        stop=StopRule("eval/greedy_test_error", at_most=0.0),
    )
    return [
        Job(
            learner="uniform_pg",
            config=UniformPGConfig(zeta=zeta),
            task=TaskSpec(task_kwargs(config, seq_len, gamma, reward)),
            budget=config.max_rounds,
            seed=seed,
            run_dir=str(run_dir / "runs" / reward / f"zeta{zeta:g}" / f"N{seq_len}-gamma{gamma:g}" / f"seed{seed}"),
            evaluation=evaluation,
            show_progress=show_progress,
            description=f"N={seq_len} gamma={gamma:g}",
        )
        for reward in config.rewards
        for zeta in list(config.zetas)
        for seq_len, gamma in sweep_settings(config)
        for seed in range(config.seeds)
    ]


def read_cumulative_mistakes(config: MistakesConfig, jobs: list[Job]) -> dict[str, Any]:
    """The cumulative mistakes over rounds of every seed in the first series' sweep in N (the reward and
    zeta of the first job, gamma = ``margin``): ``reward``, ``zeta`` and ``runs``, a list of
    ``{"seq_len", "seed", "step", "mistakes"}``."""
    first = jobs[0]
    reward, zeta = first.task.keywords["reward"], first.config.zeta
    runs = []
    for job in jobs:
        keywords = job.task.keywords
        same_series = (keywords["reward"], job.config.zeta) == (reward, zeta)
        if not same_series or keywords["margin"] != config.margin or keywords["seq_len"] not in config.seq_lens:
            continue
        curve = mistake_curve(read_metrics(job.run_dir))
        runs.append({"seq_len": keywords["seq_len"], "seed": job.seed, **curve})
    return {"reward": reward, "zeta": zeta, "runs": runs}
