"""The lq experiment's run: pre-train with checkpoints, then the likelihood quantiles of each checkpoint, the table,
the figure and the summary (``python -m scripts.lq``; settings in
``scripts.lq.settings``)."""

from __future__ import annotations

import csv
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from agents.common.threads import limit_threads
from agents.experiment.cli import run_experiment
from scripts.lq.analysis import eps_grid, format_summary, quantile_rows, summarize
from scripts.lq.jobs import checkpoint_steps, pretrain_with_checkpoints, read_likelihoods, read_test_errors
from scripts.lq.plots import draw
from scripts.lq.settings import EXPERIMENT, QUICK, LQConfig

__all__ = ["QUICK", "LQConfig", "main", "run_lq"]


def main(argv: list[str] | None = None) -> Path:
    """``python -m scripts.lq [--quick] ...``: run (or resume) in the run folder and print the summary."""
    return run_experiment(EXPERIMENT, run_lq, format_summary, argv)


# What the experiment writes in its run folder (what --fresh removes).


def eps_values(config: LQConfig) -> list[float]:
    return [float(eps) for eps in config.eps]


def run_lq(config: LQConfig, run_dir: Path, *, show_progress: bool = True) -> dict[str, Any]:
    """Pre-train with a checkpoint every ``checkpoint_every`` steps (resuming), then write every output."""
    limit_threads(config.threads)
    run_dir.mkdir(parents=True, exist_ok=True)
    pretrain_with_checkpoints(config, run_dir, show_progress=show_progress)
    return write_outputs(config, run_dir, checkpoint_steps(config))


def write_outputs(config: LQConfig, run_dir: Path, steps: list[int]) -> dict[str, Any]:
    """lq.csv, lq.json and lq.png from the saved likelihoods and the run's metrics."""
    likelihoods = read_likelihoods(run_dir, steps)
    grid = eps_grid(config.num_contexts)
    with open(run_dir / "lq.csv", "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["step", "level", "eps", "log10_lq"])
        writer.writerows(quantile_rows(likelihoods, grid))
    summary = summarize(likelihoods, read_test_errors(run_dir), eps_values(config), asdict(config))
    (run_dir / "lq.json").write_text(json.dumps(summary, indent=1))
    draw(run_dir / "lq.png", config, likelihoods, grid, summary)
    return summary
