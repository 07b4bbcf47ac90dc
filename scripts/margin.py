"""The margin: reward queries that the theory's algorithms need to reach a target test error on tasks built
with ``margin=gamma``, set beside the 1/gamma^2 rate of the theory's bounds.

Each task keeps only contexts whose normalised margin is at least gamma (the teacher and N, k, d fixed).
Each algorithm starts from the uniform model (w = 0, so the base model's likelihood is k^-N for every
gamma and only the margin changes) and runs through the env until the exact test error reaches
``--target-error`` (or the query budget is spent); evaluations on a log-spaced grid give the queries at
which it did to within 5%.

Writes, under the run directory (whose path it prints): ``margin.png`` (queries against gamma on log-log
axes beside 1/gamma^2, per-seed points and medians), ``margin.csv`` (one row per run), ``margin.json`` (the
summary with the fitted exponent of 1/gamma), TensorBoard events under ``tb_margin/`` (step = 1000 gamma)
and every run's folder under ``runs/``. Running the same command again skips finished runs and resumes
interrupted ones.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as ``python scripts/margin.py``: make ``scripts`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.common.config_checks import ConfigError, check_choices, check_fields
from agents.experiment.cli import Experiment, run_experiment
from agents.experiment.jobs import run_job
from agents.experiment.sweep import run_sweep
from agents.analysis.tables import write_series_events, write_table
from agents.runs.tensorboard import experiment_views
from scripts.margin_analysis import LABELS, format_summary, summarize, table_rows
from scripts.margin_jobs import make_jobs, task_keywords_at
from scripts.margin_plots import draw
from seqreward_env import SequenceTask

# TensorBoard custom-scalars layout: the runs of the experiment's summary events on shared charts.
CHARTS = {
    "margin: every algorithm": {
        "median queries to the target against 1000 gamma": ["margin/median_queries"],
        "runs that reached the target": ["margin/reached"],
    }
}


@dataclass(frozen=True)
class MarginConfig:
    """Settings of the margin experiment (defaults: the full setting)."""

    margins: tuple[float, ...] = (0.01, 0.02, 0.04, 0.08, 0.16)
    """Margins gamma."""
    seq_len: int = 3
    """N, the response length."""
    vocab_size: int = 3
    """k, the vocabulary size."""
    context_dim: int = 8
    """d, the context dimension."""
    contexts: str = "rademacher"
    """Context distribution ('rademacher' or 'mixture')."""
    task_seed: int = 0
    """Seed of the teacher and the test sets."""
    target_error: float = 0.1
    """Test error 1 - E p(y*|x) each run must reach."""
    algorithms: tuple[str, ...] = ("best_of_m", "process_repair", "adaptive_pg")
    """Algorithms ('best_of_m', 'process_repair', 'adaptive_pg'; the last with the outcome reward)."""
    seeds: int = 5
    """Seeds per margin (contexts and sampling; 0, 1, ...)."""
    rows: int = 4
    """Contexts handled side by side (env rows)."""
    query_budget: int = 2_000_000
    """Reward queries at most per run."""
    test_size: int = 512
    """Contexts in the test set (exact test error)."""
    workers: int = 2
    """Local worker processes."""
    backend: str = "local"
    """'local' or 'ray'."""
    ray_address: str = ""
    """Ray cluster address ('auto' to find one; empty starts a local Ray)."""
    device: str = "cpu"
    """Torch device."""

    def __post_init__(self) -> None:
        check_fields(self)
        check_config(self)


def main(argv: list[str] | None = None) -> Path:
    return run_experiment(EXPERIMENT, argv)


def check_config(config: MarginConfig) -> None:
    """Fail early, with what is allowed, on a bad command line (unreachable margins included)."""
    gammas = list(config.margins)
    if not gammas or min(gammas) <= 0:
        raise ConfigError(f"--margins must be positive numbers, got {config.margins!r}")
    check_choices(config, "algorithms", LABELS)
    if not 0.0 < config.target_error < 1.0:
        raise ConfigError(f"--target-error must lie in (0, 1), got {config.target_error!r}")
    for gamma in gammas:
        try:
            SequenceTask(**task_keywords_at(config, gamma))
        except ValueError as error:
            raise ConfigError(f"--margins: {error}") from None


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


QUICK = replace(MarginConfig(), margins=(0.02, 0.04, 0.08, 0.16), seeds=3, query_budget=200_000, test_size=256)


EXPERIMENT = Experiment(
    name="margin",
    description=__doc__ or "",
    config_class=MarginConfig,
    quick=QUICK,
    check=check_config,
    run=run_margin,
    describe=format_summary,
    outputs=("margin.png", "margin.csv"),
    folders=("runs", "tb_margin"),
)


if __name__ == "__main__":
    main(sys.argv[1:])
