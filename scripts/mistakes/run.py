"""The mistakes experiment's run: the uniform PG's runs over both sweeps, then the table, the figure and the TensorBoard
views from what the runs wrote (``python -m scripts.mistakes``; settings in
``scripts.mistakes.settings``)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from agents.analysis.tables import write_table
from agents.experiment.cli import run_experiment
from agents.experiment.jobs import run_job
from agents.experiment.sweep import run_sweep
from agents.runs.tensorboard import experiment_views
from scripts.mistakes.analysis import format_summary, group_series, run_row
from scripts.mistakes.jobs import make_jobs, read_cumulative_mistakes
from scripts.mistakes.plots import draw, write_tensorboard
from scripts.mistakes.settings import EXPERIMENT, QUICK, MistakesConfig

CHARTS = {
    "mistakes: outcome against process reward": {
        "mistakes against N": ["mistakes/against_seq_len"],
        "mistakes against 1000 gamma": ["mistakes/against_1000_gamma"],
    }
}

__all__ = ["QUICK", "MistakesConfig", "main", "run_mistakes"]


def main(argv: list[str] | None = None) -> Path:
    """``python -m scripts.mistakes [--quick] ...``: run (or resume) in the run folder and print the summary."""
    return run_experiment(EXPERIMENT, run_mistakes, format_summary, argv)


def run_mistakes(config: MistakesConfig, run_dir: Path, *, show_progress: bool = True) -> dict[str, Any]:
    """Every run of both sweeps, then the table, the fits, the figure and the TensorBoard summary."""
    run_dir.mkdir(parents=True, exist_ok=True)
    jobs = make_jobs(config, run_dir, show_progress and config.workers == 1 and config.backend == "local")
    summaries = run_sweep(
        run_job,
        jobs,
        backend=config.backend,
        workers=config.workers,
        ray_address=config.ray_address or None,
        description="online-learning runs",
        show_progress=show_progress,
    )
    rows = [
        run_row(summary, job.task.build(), job.config.zeta, job.seed, config.test_size)
        for job, summary in zip(jobs, summaries, strict=True)
    ]
    write_table(run_dir / "mistakes.csv", rows)
    series = group_series(rows, list(config.seq_lens), config.margin, list(config.margins), config.margin_seq_len)
    summary = {"config": asdict(config), "runs": len(rows), "series": series}
    write_tensorboard(run_dir, series)
    draw(run_dir / "mistakes.png", config, series, read_cumulative_mistakes(config, jobs))
    experiment_views(run_dir, CHARTS, run_dir / "mistakes.png")
    return summary
