"""The curriculum experiment's run: pre-train the base models, run every method from them, then write the
table, the summary, the figure and the TensorBoard views from what the runs wrote (``python -m
scripts.curriculum``; settings in ``scripts.curriculum.settings``)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from agents.analysis.tables import write_series_events, write_table
from agents.experiment.cli import run_experiment
from agents.runs.folder import read_metrics
from agents.runs.tensorboard import experiment_views
from scripts.curriculum.analysis import format_summary, run_row, summarize
from scripts.curriculum.jobs import method_jobs, pretrain_jobs
from scripts.curriculum.plots import draw
from scripts.curriculum.settings import EXPERIMENT, QUICK, CurriculumConfig

__all__ = ["QUICK", "CurriculumConfig", "main", "run_curriculum"]

# TensorBoard custom-scalars layout: the runs of the experiment's summary events on shared charts.
CHARTS = {
    "curriculum: tricks against the barrier": {
        "median queries to the target against N": ["curriculum/median_queries"],
        "runs that reached the target": ["curriculum/reached"],
    }
}


def main(argv: list[str] | None = None) -> Path:
    """``python -m scripts.curriculum [--quick] ...``: run (or resume) in the run folder and print the summary."""
    return run_experiment(EXPERIMENT, run_curriculum, format_summary, argv)


def run_curriculum(config: CurriculumConfig, run_dir: Path, *, show_progress: bool = True) -> dict[str, Any]:
    """Pre-train the base models, run every method from them, then write every output from the runs."""
    run_dir.mkdir(parents=True, exist_ok=True)
    bases = pretrain_jobs(config, run_dir)
    base_summaries = dict(
        zip(bases, config.sweep(list(bases.values()), "pre-train base models", show_progress), strict=True)
    )
    jobs = method_jobs(config, run_dir, bases)
    results = dict(zip(jobs, config.sweep(list(jobs.values()), "runs", show_progress), strict=True))
    settings = asdict(config)
    rows = [
        run_row(key, result, read_metrics(jobs[key].run_dir), settings, base_summaries[key[1:]])
        for key, result in sorted(results.items())
    ]
    write_table(run_dir / "curriculum.csv", rows)
    summary = summarize(rows, settings)
    write_series_events(run_dir / "tb_curriculum", summary["series"], "seq_len", "curriculum")
    draw(run_dir / "curriculum.png", config, summary["series"], rows)
    experiment_views(run_dir, CHARTS, run_dir / "curriculum.png")
    return summary
