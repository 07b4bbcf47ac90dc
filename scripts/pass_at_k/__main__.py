"""Does RL shrink what the model can reach? Exact pass@k (k = 1 to 2^30), Cover@tau and greedy exact match
of base models and of the models every learner trains from them, over task draws and seeds.

Yue et al. (arXiv 2504.13837) report from sampled pass@k that RL-trained LLMs beat their base models at small
k and lose to them at large k; ProRL (arXiv 2505.24864) reports that long RL training expands what the model
reaches. Here pass@k = mean over test contexts of 1 - (1 - p(y*|x))^k is exact, for any k, from each model's
likelihoods, and a uniform guess succeeds with probability k^-N, so no crossover is luck.

Writes, under the run directory: ``pass_at_k.json`` (every setting's curves per draw and seed and their
statistics), ``pass_at_k.png``, ``pass_at_k.csv`` (one row per setting) and every run's folder under
``runs/``. Running the same command again reuses finished runs and resumes interrupted ones.

Run it as ``python -m scripts.pass_at_k [--quick]``.
"""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from agents.experiment.cli import Experiment, run_experiment
from agents.experiment.jobs import run_job
from agents.experiment.runs import finished_run
from agents.experiment.sweep import run_sweep
from agents.experiment.tables import write_table
from scripts.pass_at_k import analysis
from scripts.pass_at_k.jobs import base_keys, pretrain_job, run_job_of, run_keys, setting_runs
from scripts.pass_at_k.plots import draw
from scripts.pass_at_k.settings import QUICK, PassAtKConfig, check_config, settings


def sweep(config: PassAtKConfig, jobs: list[Any], description: str, show_progress: bool) -> None:
    """Run the jobs not yet finished (a rerun of a finished grid starts no worker) on the configured backend."""
    pending = [job for job in jobs if finished_run(Path(job.run_dir), job.identity()) is None]
    run_sweep(
        run_job,
        pending,
        backend=config.backend,
        workers=config.workers,
        ray_address=config.ray_address or None,
        description=description,
        show_progress=show_progress,
    )


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


EXPERIMENT = Experiment(
    name="pass_at_k",
    description=__doc__ or "",
    config_class=PassAtKConfig,
    quick=QUICK,
    check=check_config,
    run=run_pass_at_k,
    describe=analysis.format_summary,
    outputs=("pass_at_k.png", "pass_at_k.csv"),
    quick_help="a small setting that runs in under a minute",
    folders=("runs",),
)


def main(argv: list[str] | None = None) -> Path:
    return run_experiment(EXPERIMENT, argv)


if __name__ == "__main__":
    main(sys.argv[1:])
