"""The barrier experiment's run: pre-train the base models, run each algorithm from them, then write the
table, the summary, the figure and the TensorBoard views from what the runs wrote (``python -m
scripts.barrier``; settings in ``scripts.barrier.settings``)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from agents.analysis.tables import write_series_events, write_table
from agents.experiment.cli import run_experiment
from agents.runs.tensorboard import experiment_views
from scripts.barrier.analysis import format_summary, summarize, table_rows
from scripts.barrier.jobs import algorithm_jobs, pretrain_jobs
from scripts.barrier.plots import draw
from scripts.barrier.settings import EXPERIMENT, QUICK, BarrierConfig

__all__ = ["QUICK", "BarrierConfig", "main", "run_barrier"]

# TensorBoard custom-scalars layout: the runs of the experiment's summary events on shared charts.
CHARTS = {
    "barrier: Algorithm 1 (ORM) against Algorithm 2 (PRM)": {
        "median queries to the target against N": ["barrier/median_queries"],
        "runs that reached the target": ["barrier/reached"],
    }
}


def main(argv: list[str] | None = None) -> Path:
    """``python -m scripts.barrier [--quick] ...``: run (or resume) in the run folder and print the summary."""
    return run_experiment(EXPERIMENT, run_barrier, format_summary, argv)


def run_barrier(config: BarrierConfig, run_dir: Path, *, show_progress: bool = True) -> dict[str, Any]:
    """Pre-train the base models, run every algorithm from them, then write every output from the runs."""
    run_dir.mkdir(parents=True, exist_ok=True)
    pretraining = pretrain_jobs(config, run_dir)
    base_summaries = config.sweep(list(pretraining.values()), "pre-train base models", show_progress)
    bases = dict(zip(pretraining, base_summaries, strict=True))
    jobs = algorithm_jobs(config, run_dir, pretraining)
    results = dict(zip(jobs, config.sweep(list(jobs.values()), "runs", show_progress), strict=True))
    rows = table_rows(results, bases)
    write_table(run_dir / "barrier.csv", rows)
    summary = summarize(results, bases, asdict(config))
    write_series_events(run_dir / "tb_barrier", summary["series"], "seq_len", "barrier")
    draw(run_dir / "barrier.png", config, summary["series"], rows)
    experiment_views(run_dir, CHARTS, run_dir / "barrier.png")
    return summary
