"""The margin experiment's run: every algorithm at every margin from w = 0, then the table, the figure and the TensorBoard
views from what the runs wrote (``python -m scripts.margin``; settings in
``scripts.margin.settings``)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from agents.analysis.tables import write_series_events, write_table
from agents.experiment.cli import run_experiment
from agents.experiment.jobs import run_job
from agents.experiment.sweep import run_sweep
from agents.runs.tensorboard import experiment_views
from scripts.margin.analysis import format_summary, summarize, table_rows
from scripts.margin.jobs import make_jobs
from scripts.margin.plots import draw
from scripts.margin.settings import EXPERIMENT, QUICK, MarginConfig

# TensorBoard custom-scalars layout: the runs of the experiment's summary events on shared charts.
CHARTS = {
    "margin: every algorithm": {
        "median queries to the target against 1000 gamma": ["margin/median_queries"],
        "runs that reached the target": ["margin/reached"],
    }
}

__all__ = ["QUICK", "MarginConfig", "main", "run_margin"]


def main(argv: list[str] | None = None) -> Path:
    """``python -m scripts.margin [--quick] ...``: run (or resume) in the run folder and print the summary."""
    return run_experiment(EXPERIMENT, run_margin, format_summary, argv)


def run_margin(config: MarginConfig, run_dir: Path, *, show_progress: bool = True) -> dict[str, Any]:
    """Run every (algorithm, gamma, seed), then write every output from the runs."""
    run_dir.mkdir(parents=True, exist_ok=True)
    jobs = make_jobs(config, run_dir)
    summaries = run_sweep(
        run_job,
        list(jobs.values()),
        backend=config.backend,
        workers=config.workers,
        ray_address=config.ray_address or None,
        description="runs",
        show_progress=show_progress,
    )
    results = dict(zip(jobs, summaries, strict=True))
    rows = table_rows(results)
    write_table(run_dir / "margin.csv", rows)
    summary = summarize(results, asdict(config))
    write_series_events(run_dir / "tb_margin", summary["series"], "margin", "margin")
    draw(run_dir / "margin.png", config, summary["series"], rows)
    experiment_views(run_dir, CHARTS, run_dir / "margin.png")
    return summary
