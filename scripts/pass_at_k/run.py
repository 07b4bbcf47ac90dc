"""The pass@k experiment's run: pre-train the base models, run every learner from them, then measure every kept
model and write the table, the figure and the summary (``python -m scripts.pass_at_k``; settings in
``scripts.pass_at_k.settings``)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from agents.analysis.tables import write_table
from agents.experiment.cli import run_experiment
from agents.runs.folder import finished_run
from scripts.pass_at_k import analysis
from scripts.pass_at_k.jobs import base_keys, pretrain_job, run_job_of, run_keys, setting_runs
from scripts.pass_at_k.plots import draw
from scripts.pass_at_k.settings import EXPERIMENT, QUICK, PassAtKConfig, settings

__all__ = ["QUICK", "PassAtKConfig", "main", "run_pass_at_k"]


def sweep(config: PassAtKConfig, jobs: list[Any], description: str, show_progress: bool) -> None:
    """Run the jobs not yet finished (a rerun of a finished grid starts no worker) on the configured backend."""
    pending = [job for job in jobs if finished_run(Path(job.run_dir), job.identity()) is None]
    config.sweep(pending, description, show_progress)


def run_pass_at_k(config: PassAtKConfig, run_dir: Path, *, show_progress: bool = True) -> dict[str, Any]:
    """Pre-train the base models, run every learner from them, then measure every kept model and summarise."""
    run_dir.mkdir(parents=True, exist_ok=True)
    grid = settings(config)
    bases = {key: pretrain_job(config, run_dir, key) for key in base_keys(config, grid)}
    sweep(config, list(bases.values()), "pre-train base models", show_progress)
    jobs = {
        key: run_job_of(
            config, run_dir, key, "" if key[0] == "ppo" else str(Path(bases[key[1:5]].run_dir) / "final_model.pt")
        )
        for key in run_keys(config, grid)
    }
    # draw by draw (an interrupted grid leaves whole draws, which a run with fewer --draws reads), and within a
    # draw the longest first, so that the short runs fill the other worker at its end
    order = sorted(jobs, key=lambda key: (key[1], -jobs[key].budget * jobs[key].env_rows()))
    sweep(config, [jobs[key] for key in order], "runs", show_progress)
    entries = []
    for setting in grid:
        runs = setting_runs(config, setting, jobs, bases)
        entries.append(
            {
                "label": setting.label,
                "group": setting.group,
                "setting": setting._asdict(),
                "runs": runs,
                "summary": analysis.summarise_setting(runs, config.ks, config.taus, config.bootstrap_reps),
            }
        )
    result = {"config": asdict(config), "k": list(config.ks), "taus": list(config.taus), "settings": entries}
    write_table(run_dir / "pass_at_k.csv", analysis.table_rows(result))
    draw(run_dir / "pass_at_k.png", result)
    return result


def main(argv: list[str] | None = None) -> Path:
    """``python -m scripts.pass_at_k [--quick] ...``: run (or resume) in the run folder and print the summary."""
    return run_experiment(EXPERIMENT, run_pass_at_k, analysis.format_summary, argv)
