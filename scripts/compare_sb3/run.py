"""The compare_sb3 experiment's run: tune each method's rate, run the evaluation seeds, then write the tables, the figure
and the TensorBoard views from what the runs logged (``python -m scripts.compare_sb3``; settings in
``scripts.compare_sb3.settings``)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from agents.analysis.tables import write_table
from agents.experiment.cli import run_experiment
from agents.experiment.jobs import Job
from agents.runs.tensorboard import experiment_views
from scripts.compare_sb3 import analysis
from scripts.compare_sb3.jobs import (
    env_steps,
    eval_every,
    evaluation_jobs,
    final_greedy_exact_match,
    run_curve,
    task_kwargs,
    tuning_jobs,
    tuning_seeds,
)
from scripts.compare_sb3.plots import CHARTS, draw, write_curve_events
from scripts.compare_sb3.settings import EXPERIMENT, QUICK, CompareSB3Config, learning_rates
from seqreward_env import SequenceTask

__all__ = ["QUICK", "CompareSB3Config", "main", "run_compare"]


def main(argv: list[str] | None = None) -> Path:
    """``python -m scripts.compare_sb3 [--quick] ...``: run (or resume) in the run folder and print the summary."""
    return run_experiment(EXPERIMENT, run_compare, analysis.format_summary, argv)


def run_compare(config: CompareSB3Config, run_dir: Path, *, show_progress: bool = True) -> dict[str, Any]:
    """Tune each method's rate, run the evaluation seeds, then write every output from what the runs logged."""
    run_dir.mkdir(parents=True, exist_ok=True)
    per_run_progress = show_progress and config.workers == 1 and config.backend == "local"
    seeds = tuning_seeds(config)
    tuning = tuning_jobs(config, run_dir, per_run_progress)
    config.sweep(list(tuning.values()), "tuning runs", show_progress)
    grid: dict[tuple[str, str], dict[str, float]] = {}
    chosen: dict[tuple[str, str], float] = {}
    for reward in config.rewards:
        for method in config.methods:
            scores = {
                rate: float(np.mean([run_curve(tuning[reward, method, rate, s])["test_error"][-1] for s in seeds]))
                for rate in learning_rates(config, method)
                if (reward, method, rate, seeds[0]) in tuning
            }
            chosen[reward, method], grid[reward, method] = analysis.choose_rate(scores, learning_rates(config, method))
    evaluation = evaluation_jobs(config, run_dir, chosen, per_run_progress)
    config.sweep(list(evaluation.values()), "evaluation runs", show_progress)

    task = SequenceTask(**task_kwargs(config))
    jobs: dict[tuple[Any, ...], Job] = {**tuning, **evaluation}
    curves = {key: run_curve(job) for key, job in jobs.items()}
    exact_match = {key: final_greedy_exact_match(job, task) for key, job in evaluation.items()}
    equal_steps = env_steps(config, "process")
    rows = [analysis.run_row("tune", *key, curves[key], float("nan"), equal_steps) for key in tuning]
    rows += [
        analysis.run_row("eval", reward, method, chosen[reward, method], seed, curves[reward, method, seed],
                         exact_match[reward, method, seed], equal_steps)
        for reward, method, seed in evaluation
    ]  # fmt: skip
    write_table(run_dir / "compare_sb3.csv", rows)
    results: dict[str, dict[str, Any]] = {reward: {} for reward in config.rewards}
    mean_curves: dict[str, dict[str, analysis.Curve]] = {reward: {} for reward in config.rewards}
    for reward in config.rewards:
        for method in config.methods:
            mean_curves[reward][method] = analysis.stack_curves(
                [curves[reward, method, seed] for seed in range(config.seeds)]
            )
            results[reward][method] = analysis.method_summary(
                mean_curves[reward][method],
                equal_steps,
                [exact_match[reward, method, seed] for seed in range(config.seeds)],
                chosen[reward, method],
                grid[reward, method],
            )
    summary = {
        "config": asdict(config),
        "eval_every_env_steps": eval_every(config),
        "query_budget": eval_every(config) * config.evaluations,
        "equal_env_steps": equal_steps,
        "env_steps": {reward: env_steps(config, reward) for reward in config.rewards},
        "seeds": config.seeds,
        "tuning_seeds": seeds if tuning else [],
        "results": results,
    }
    write_table(run_dir / "compare_sb3_curves.csv", analysis.curve_rows(mean_curves))
    write_curve_events(run_dir / "tb_compare", mean_curves)
    draw(run_dir / "compare_sb3.png", config, summary, mean_curves)
    experiment_views(run_dir, CHARTS, run_dir / "compare_sb3.png")
    return summary
