"""Dynamic sampling, difficulty filters and curricula against the base model barrier: the reward queries each
method needs to reach a target test error (and, separately, to lift the contexts off the base model's support)
as the response length N grows, from base models of the same quality per token.

Methods: plain ORM (RLOO, G responses per context), ORM with DAPO's dynamic sampling, ORM with a difficulty
filter (pass rate in a band, estimated from the group; the exact-likelihood filter is an oracle, run only when
named), ORM with a reverse hint curriculum on a fixed schedule, ORM with an adaptive hint curriculum, the
paper's PRM PG and PRM with an adaptive hint curriculum. Every query spent counts, those on dropped or
filtered groups included; runs that reach no target within the query budget are reported as censored.

Writes, under the run directory (whose path it prints): ``curriculum.png``, ``curriculum.csv`` (one row per
run), ``curriculum.json`` (the summary, with the fitted growth laws), TensorBoard events under
``tb_curriculum/`` and every run's folder under ``runs/``. Running the same command again skips finished runs
and resumes interrupted ones.
"""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from agents.experiment.cli import Experiment, run_experiment
from agents.experiment.jobs import run_job
from agents.runs.folder import read_metrics
from agents.experiment.sweep import run_sweep
from agents.analysis.tables import write_series_events, write_table
from agents.runs.tensorboard import experiment_views
from scripts.curriculum.analysis import format_summary, run_row, summarize
from scripts.curriculum.jobs import method_jobs, pretrain_jobs
from scripts.curriculum.plots import draw
from scripts.curriculum.settings import QUICK, CurriculumConfig, check_config

CHARTS = {
    "curriculum: tricks against the barrier": {
        "median queries to the target against N": ["curriculum/median_queries"],
        "runs that reached the target": ["curriculum/reached"],
    }
}


def sweep(config: CurriculumConfig, jobs: list[Any], description: str, show_progress: bool) -> list[dict[str, Any]]:
    """Run ``jobs`` with ``run_job`` on the configured backend; their summaries in order."""
    return run_sweep(
        run_job,
        jobs,
        backend=config.backend,
        workers=config.workers,
        ray_address=config.ray_address or None,
        description=description,
        show_progress=show_progress,
    )


def run_curriculum(config: CurriculumConfig, run_dir: Path, *, show_progress: bool = True) -> dict[str, Any]:
    """Pre-train the base models, run every method from them, then write every output from the runs."""
    run_dir.mkdir(parents=True, exist_ok=True)
    bases = pretrain_jobs(config, run_dir)
    sweep(config, list(bases.values()), "pre-train base models", show_progress)
    jobs = method_jobs(config, run_dir, bases)
    results = dict(zip(jobs, sweep(config, list(jobs.values()), "runs", show_progress), strict=True))
    settings = asdict(config)
    rows = [run_row(key, result, read_metrics(jobs[key].run_dir), settings) for key, result in sorted(results.items())]
    write_table(run_dir / "curriculum.csv", rows)
    summary = summarize(rows, settings)
    write_series_events(run_dir / "tb_curriculum", summary["series"], "seq_len", "curriculum")
    draw(run_dir / "curriculum.png", config, summary["series"], rows)
    experiment_views(run_dir, CHARTS, run_dir / "curriculum.png")
    return summary


EXPERIMENT = Experiment(
    name="curriculum",
    description=__doc__ or "",
    config_class=CurriculumConfig,
    quick=QUICK,
    check=check_config,
    run=run_curriculum,
    describe=format_summary,
    outputs=("curriculum.png", "curriculum.csv"),
    folders=("runs", "tb_curriculum"),
    quick_help="three lengths, one task draw, one seed, a small budget (about 25 s of CPU)",
)


def main(argv: list[str] | None = None) -> Path:
    return run_experiment(EXPERIMENT, argv)


if __name__ == "__main__":
    main(sys.argv[1:])
