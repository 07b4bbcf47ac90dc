"""The compare experiment's run: pre-train the base model, tune each method's rate, run the evaluation seeds, then write the
tables, the figure and the TensorBoard views from what the runs logged (``python -m scripts.compare``; settings in
``scripts.compare.settings``)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from agents.analysis.tables import write_table
from agents.experiment.cli import run_experiment
from agents.runs.folder import read_metrics
from agents.runs.tensorboard import experiment_views
from scripts.compare import analysis
from scripts.compare.jobs import (
    evaluation_jobs,
    pretrain_base_model,
    tuning_errors,
    tuning_jobs,
    tuning_seeds,
)
from scripts.compare.plots import CHARTS, draw, write_curve_events
from scripts.compare.settings import EXPERIMENT, QUICK, CompareConfig, queries_per_step, steps_for

__all__ = ["QUICK", "CompareConfig", "main", "run_compare"]


def main(argv: list[str] | None = None) -> Path:
    """``python -m scripts.compare [--quick] ...``: run (or resume) in the run folder and print the summary."""
    return run_experiment(EXPERIMENT, run_compare, format_summary, argv)


def run_compare(config: CompareConfig, run_dir: Path, *, show_progress: bool = True) -> dict[str, Any]:
    """Pre-train, tune each method's rate, run the evaluation seeds, then write every output from what the
    runs wrote."""
    run_dir.mkdir(parents=True, exist_ok=True)
    base_model, base_error = pretrain_base_model(config, run_dir / "pretrain", show_progress=show_progress)
    rates = [float(rate) for rate in config.learning_rates]
    tuning = tuning_jobs(config, run_dir, base_model)
    errors = tuning_errors(config, tuning, run_dir / "runs" / "tune", show_progress)
    grid: dict[str, dict[str, dict[str, float]]] = {reward: {} for reward in config.rewards}
    chosen: dict[tuple[str, str], float] = {}
    for reward in config.rewards:
        for method in config.methods:
            chosen[reward, method], scores = analysis.choose_rate(errors[reward, method])
            grid[reward][method] = {f"{rate:g}": scores[rate] for rate in rates}
    evaluation = evaluation_jobs(config, run_dir, base_model, chosen)
    config.sweep(evaluation.values(), "evaluation runs", show_progress)
    records = {
        (phase, *key): read_metrics(job.run_dir)
        for phase, jobs in (("tune", tuning), ("eval", evaluation))
        for key, job in jobs.items()
    }
    write_table(run_dir / "compare.csv", analysis.run_rows(records))
    results: dict[str, dict[str, Any]] = {reward: {} for reward in config.rewards}
    curves: dict[str, dict[str, dict[str, np.ndarray]]] = {reward: {} for reward in config.rewards}
    for reward in config.rewards:
        for method in config.methods:
            runs = [records["eval", reward, method, chosen[reward, method], seed] for seed in range(config.seeds)]
            curves[reward][method] = analysis.method_curves(runs)
            results[reward][method] = analysis.method_summary(
                runs, chosen[reward, method], rates, grid[reward][method], curves[reward][method]
            )
    summary = {
        "config": asdict(config),
        "base_test_error": base_error,
        "seeds": config.seeds,
        "tuning_seeds": tuning_seeds(config),
        "steps": {reward: steps_for(config, reward) for reward in config.rewards},
        "queries": {reward: steps_for(config, reward) * queries_per_step(config, reward) for reward in config.rewards},
        "results": results,
        "paired_trace_variance": {reward: analysis.paired_ratios(curves[reward]) for reward in config.rewards},
        "probability_of_lower_error_than_best": {
            reward: analysis.improvement_over_best(results[reward]) for reward in config.rewards
        },
    }
    rows = analysis.curve_rows(curves)
    write_table(run_dir / "compare_curves.csv", rows)
    write_curve_events(run_dir / "tb_compare", rows)
    draw(run_dir / "compare.png", config, summary, curves)
    experiment_views(run_dir, CHARTS, run_dir / "compare.png")
    return summary


def format_summary(summary: dict[str, Any]) -> str:
    return "\n".join(analysis.summary_lines(summary))
