"""The adaptive-step experiment's run: pre-train the base models, run Algorithm 2 for every variant from them,
then write the table, the fits, the figure and the TensorBoard views (``python -m scripts.adaptive_step``;
settings in ``scripts.adaptive_step.settings``)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from agents.analysis.tables import write_series_events, write_table
from agents.experiment.cli import run_experiment
from agents.runs.folder import read_metrics
from agents.runs.tensorboard import experiment_views
from scripts.adaptive_step.analysis import format_summary, mean_or_none, summarize, table_rows
from scripts.adaptive_step.jobs import pretraining, repair_jobs, variants
from scripts.adaptive_step.plots import draw
from scripts.adaptive_step.settings import EXPERIMENT, QUICK, AdaptiveStepConfig, barrier_settings

__all__ = ["QUICK", "AdaptiveStepConfig", "main", "run_adaptive_step"]

CHARTS = {
    "adaptive step: Algorithm 2 per policy and step scale": {
        "median queries to the target against N": ["adaptive_step/median_queries"],
        "runs that reached the target": ["adaptive_step/reached"],
    }
}


def mean_step_size(run_dir: str) -> float | None:
    """The mean of a run's logged ``train/step_size`` (the step per verified token), None if none."""
    return mean_or_none([record.get("train/step_size") for record in read_metrics(run_dir)])


def run_adaptive_step(config: AdaptiveStepConfig, run_dir: Path, *, show_progress: bool = True) -> dict[str, Any]:
    """Pre-train the base models, run Algorithm 2 for every variant from them, then write every output."""
    run_dir.mkdir(parents=True, exist_ok=True)
    bases = pretraining(config, run_dir)
    pretrained = config.sweep(list(bases.values()), "pre-train base models", show_progress)
    base_summaries = dict(zip(bases, pretrained, strict=True))
    jobs = repair_jobs(config, run_dir, bases)
    results = dict(zip(jobs, config.sweep(list(jobs.values()), "runs", show_progress), strict=True))
    step_sizes = {key: mean_step_size(job.run_dir) for key, job in jobs.items()}
    rows = table_rows(results, base_summaries, step_sizes)
    write_table(run_dir / "adaptive_step.csv", rows)
    summary = summarize(results, base_summaries, variants(config), asdict(config), step_sizes)
    write_series_events(run_dir / "tb_adaptive_step", summary["series"], "seq_len", "adaptive_step")
    draw(run_dir / "adaptive_step.png", barrier_settings(config, "transformer"), summary["series"], rows)
    experiment_views(run_dir, CHARTS, run_dir / "adaptive_step.png")
    return summary


def main(argv: list[str] | None = None) -> Path:
    """``python -m scripts.adaptive_step [--quick] ...``: run (or resume) in the run folder and print the summary."""
    return run_experiment(EXPERIMENT, run_adaptive_step, format_summary, argv)
