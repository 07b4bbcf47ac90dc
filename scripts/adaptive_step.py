"""The adaptive step and the transformer: does Algorithm 2's near-linear query cost in N come back for a
transformer when its step is not the theory's?

Algorithm 2 (process repair, process reward) learns from each verified token with the step
c / (4 + 2 ||g||^2), g the token's score; c = 1 is the theory's step. To first order the step raises the
token's log-probability by c ||g||^2 / (4 + 2 ||g||^2), at most c / 2 whatever the score norm, so a policy
with far more parameters does not move its own token less; what differs is how far the update carries to
other contexts. The experiment measures it: for each policy and each c (``--linear-step-scales``,
``--transformer-step-scales``), for each N and seed, a base model pre-trained to the same quality per token
(the barrier experiment's), then Algorithm 2 from it until the target test error; the queries to the target
against N are fitted per variant (growth per token and power of N, each with its 95% interval).

Writes, under the run directory (whose path it prints): ``adaptive_step.png`` (queries against N per
variant, log and linear scales), ``adaptive_step.csv`` (one row per run), ``adaptive_step.json`` (the
summary with the fits and the verdicts), TensorBoard events under ``tb_adaptive_step/`` and every run's
folder under ``runs/``. Running the same command again skips finished runs and resumes interrupted ones.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as ``python scripts/adaptive_step.py``: make ``scripts`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.common.config_checks import ConfigError, check_fields
from agents.experiment.cli import Experiment, run_experiment
from agents.experiment.jobs import run_job
from agents.runs.folder import read_metrics
from agents.experiment.sweep import run_sweep
from agents.analysis.tables import write_series_events, write_table
from agents.runs.tensorboard import experiment_views
from agents.policy.networks import NetworkSizes
from scripts.adaptive_step_analysis import format_summary, mean_or_none, summarize, table_rows
from scripts.adaptive_step_jobs import barrier_settings, pretraining, repair_jobs, variants
from scripts.adaptive_step_plots import draw

CHARTS = {
    "adaptive step: Algorithm 2 per policy and step scale": {
        "median queries to the target against N": ["adaptive_step/median_queries"],
        "runs that reached the target": ["adaptive_step/reached"],
    }
}


@dataclass(frozen=True)
class AdaptiveStepConfig:
    """Settings of the adaptive-step experiment (defaults: the setting of docs/neural.md). The task, the base
    models' quality per token, the target and the rows are the barrier experiment's defaults
    (``scripts.barrier.BarrierConfig``: k = 3, d = 8, margin 0.05, mean token probability 0.5, test
    error 0.1)."""

    seq_lens: tuple[int, ...] = (2, 4, 6, 8, 10, 12, 14)
    """Response lengths N."""
    linear_step_scales: tuple[float, ...] = (1.0, 4.0)
    """Step scales c of the linear policy (1: the theory's step)."""
    transformer_step_scales: tuple[float, ...] = (1.0, 4.0, 16.0)
    """Step scales c of the transformer."""
    hidden: int = 32
    """Transformer model dimension."""
    layers: int = 1
    """Transformer blocks."""
    heads: int = 2
    """Transformer attention heads (must divide --hidden)."""
    seeds: int = 3
    """Seeds per N (pre-training data, contexts and sampling; 0, 1, ...)."""
    rows: int = 4
    """Contexts repaired side by side (env rows)."""
    query_budget: int = 200_000
    """Reward queries at most per run."""
    test_size: int = 256
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


def check_config(config: AdaptiveStepConfig) -> None:
    """Fail early, with what is allowed, on a bad command line."""
    if not config.seq_lens or min(config.seq_lens) < 1:
        raise ConfigError(f"--seq-lens must be integers >= 1, got {config.seq_lens!r}")
    scales = (*config.linear_step_scales, *config.transformer_step_scales)
    if not scales or min(scales) <= 0:
        raise ConfigError(f"--linear-step-scales / --transformer-step-scales must be positive, got {scales!r}")
    try:
        NetworkSizes(config.hidden, config.layers, config.heads)
    except ValueError as error:
        raise ConfigError(f"--hidden / --layers / --heads: {error}", "heads") from None
    try:
        barrier_settings(config, "linear")
    except ValueError as error:  # the barrier experiment's checks (the budget must allow one step)
        raise ConfigError(str(error)) from None


def sweep(config: AdaptiveStepConfig, jobs: list[Any], description: str, show_progress: bool) -> list[dict[str, Any]]:
    return run_sweep(
        run_job,
        jobs,
        backend=config.backend,
        workers=config.workers,
        ray_address=config.ray_address or None,
        description=description,
        show_progress=show_progress,
    )


def mean_step_size(run_dir: str) -> float | None:
    """The mean of a run's logged ``train/step_size`` (the step per verified token), None if none."""
    return mean_or_none([record.get("train/step_size") for record in read_metrics(run_dir)])


def run_adaptive_step(config: AdaptiveStepConfig, run_dir: Path, *, show_progress: bool = True) -> dict[str, Any]:
    """Pre-train the base models, run Algorithm 2 for every variant from them, then write every output."""
    run_dir.mkdir(parents=True, exist_ok=True)
    bases = pretraining(config, run_dir)
    pretrained = sweep(config, list(bases.values()), "pre-train base models", show_progress)
    base_summaries = dict(zip(bases, pretrained, strict=True))
    jobs = repair_jobs(config, run_dir, bases)
    results = dict(zip(jobs, sweep(config, list(jobs.values()), "runs", show_progress), strict=True))
    step_sizes = {key: mean_step_size(job.run_dir) for key, job in jobs.items()}
    rows = table_rows(results, base_summaries, step_sizes)
    write_table(run_dir / "adaptive_step.csv", rows)
    summary = summarize(results, base_summaries, variants(config), asdict(config), step_sizes)
    write_series_events(run_dir / "tb_adaptive_step", summary["series"], "seq_len", "adaptive_step")
    draw(run_dir / "adaptive_step.png", barrier_settings(config, "transformer"), summary["series"], rows)
    experiment_views(run_dir, CHARTS, run_dir / "adaptive_step.png")
    return summary


def main(argv: list[str] | None = None) -> Path:
    return run_experiment(EXPERIMENT, argv)


QUICK = replace(
    AdaptiveStepConfig(),
    seq_lens=(2, 4, 6),
    linear_step_scales=(1.0,),
    transformer_step_scales=(1.0, 4.0),
    seeds=2,
    query_budget=20_000,
    test_size=128,
)


EXPERIMENT = Experiment(
    name="adaptive_step",
    description=__doc__ or "",
    config_class=AdaptiveStepConfig,
    quick=QUICK,
    check=check_config,
    run=run_adaptive_step,
    describe=format_summary,
    outputs=("adaptive_step.png", "adaptive_step.csv"),
    folders=("runs", "tb_adaptive_step"),
)


if __name__ == "__main__":
    main(sys.argv[1:])
