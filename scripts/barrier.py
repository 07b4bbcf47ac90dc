"""The base model barrier in N: reward queries that Algorithm 1 (best-of-m, outcome reward) and Algorithm 2
(process repair, process reward) need to reach a target test error, as the response length N grows.

For each N and seed a base model is pre-trained (Adagrad on (x, y*)) until its mean next-token probability
of y* on the test set reaches ``--token-probability``: the same per-token quality for every N, so its
likelihood of whole answers falls geometrically in N. From it, each algorithm runs through the env, with
the paper's m (or ``--tries``), until the exact test error reaches ``--target-error`` (or the query budget
is spent); evaluations on a log-spaced grid give the queries at which it did to within 5%. The theory:
the outcome reward needs queries growing like 1/LQ, geometric in N (up to k^N); the process reward like the
token-level LQ, at most linear in N (about N k).

Writes, under the run directory (whose path it prints): ``barrier.png`` (queries against N on a log scale
beside k^N and N k, per-seed points and medians; process queries on a linear scale), ``barrier.csv`` (one
row per run), ``barrier.json`` (the summary with fitted growth), TensorBoard events under ``tb_barrier/``
and every run's folder (config, metrics, events, checkpoints) under ``runs/``. Running the same command
again skips finished runs and resumes interrupted ones.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as ``python scripts/barrier.py``: make ``scripts`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.common.config_checks import ConfigError, check_choices, check_fields, check_interval, check_positive
from agents.experiment.cli import Experiment, run_experiment
from agents.experiment.jobs import run_job
from agents.experiment.sweep import run_sweep
from agents.analysis.tables import write_series_events, write_table
from agents.runs.tensorboard import experiment_views
from agents.policy.choice import PolicyChoice, PolicyFields
from scripts.barrier_analysis import ALGORITHMS, format_summary, summarize, table_rows
from scripts.barrier_jobs import algorithm_jobs, pretrain_jobs
from scripts.barrier_plots import draw

# TensorBoard custom-scalars layout: the runs of the experiment's summary events on shared charts.
CHARTS = {
    "barrier: Algorithm 1 (ORM) against Algorithm 2 (PRM)": {
        "median queries to the target against N": ["barrier/median_queries"],
        "runs that reached the target": ["barrier/reached"],
    }
}


@dataclass(frozen=True)
class BarrierConfig(PolicyFields):
    """Settings of the barrier experiment (defaults: the full setting)."""

    seq_lens: tuple[int, ...] = (2, 4, 6, 8, 10, 12)
    """Response lengths N."""
    vocab_size: int = 3
    """k, the vocabulary size."""
    context_dim: int = 8
    """d, the context dimension."""
    num_components: int = 8
    """M, the mixture's components."""
    sigma: float = 0.05
    """Noise scale of the mixture."""
    margin: float = 0.05
    """gamma: every context has margin >= gamma (the theory's margin condition)."""
    task_seed: int = 0
    """Seed of the teacher and the test set (the teacher does not depend on N)."""
    token_probability: float = 0.5
    """Base model quality: pre-training stops once the mean p(y*_i | x, y*_<i) on the test set reaches it."""
    pretrain_learning_rate: float = 0.02
    """Adagrad learning rate of pre-training (small, so that the quality is hit closely)."""
    pretrain_batch_size: int = 64
    """(x, y*) pairs per pre-training step."""
    pretrain_max_steps: int = 2000
    """Pre-training steps at most."""
    target_error: float = 0.1
    """Test error 1 - E p(y*|x) each run must reach."""
    algorithms: tuple[str, ...] = ("best_of_m", "process_repair")
    """Algorithms ('best_of_m', 'process_repair')."""
    tries: int | None = None
    """m for both algorithms; unset: the paper's choice from the base model's LQ and token-level LQ."""
    step_per_token: bool = True
    """Algorithm 2 takes the adaptive step per verified token (--no-step-per-token: one step on the verified
    prefix, whose gain of at most 1/2 in log-likelihood per update is shared by N tokens)."""
    lq_eps: float = 0.1
    """eps of the likelihood quantiles behind the paper's m."""
    delta: float = 0.1
    """Failure probability behind the paper's m."""
    seeds: int = 3
    """Seeds per N (pre-training data, contexts and sampling; 0, 1, ...)."""
    rows: int = 4
    """Contexts searched side by side (env rows); 1 is the paper's sequential algorithm."""
    query_budget: int = 4_000_000
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


def check_config(config: BarrierConfig) -> None:
    """Fail early, with what is allowed, on a bad command line."""
    PolicyChoice.of(config)
    if not config.seq_lens or min(config.seq_lens) < 1:
        raise ConfigError(f"--seq-lens must be integers >= 1, got {config.seq_lens!r}")
    check_choices(config, "algorithms", ALGORITHMS)
    if not 1.0 / config.vocab_size < config.token_probability < 1.0:
        raise ConfigError(f"--token-probability must lie in (1/k, 1) = ({1 / config.vocab_size:.3g}, 1)")
    if not 0.0 < config.target_error < 1.0:
        raise ConfigError(f"--target-error must lie in (0, 1), got {config.target_error!r}")
    if config.query_budget < config.rows:
        raise ConfigError("--query-budget must allow one step of --rows queries")
    check_positive(config, "margin")
    check_interval(config, "delta", 0.0, 1.0, low_open=True, high_open=True)
    check_interval(config, "lq_eps", 0.0, 1.0, low_open=True, high_open=True)


def sweep(config: BarrierConfig, jobs: list[Any], description: str, show_progress: bool) -> list[dict[str, Any]]:
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


def run_barrier(config: BarrierConfig, run_dir: Path, *, show_progress: bool = True) -> dict[str, Any]:
    """Pre-train the base models, run every algorithm from them, then write every output from the runs."""
    run_dir.mkdir(parents=True, exist_ok=True)
    pretraining = pretrain_jobs(config, run_dir)
    base_summaries = sweep(config, list(pretraining.values()), "pre-train base models", show_progress)
    bases = dict(zip(pretraining, base_summaries, strict=True))
    jobs = algorithm_jobs(config, run_dir, pretraining)
    results = dict(zip(jobs, sweep(config, list(jobs.values()), "runs", show_progress), strict=True))
    rows = table_rows(results, bases)
    write_table(run_dir / "barrier.csv", rows)
    summary = summarize(results, bases, asdict(config))
    write_series_events(run_dir / "tb_barrier", summary["series"], "seq_len", "barrier")
    draw(run_dir / "barrier.png", config, summary["series"], rows)
    experiment_views(run_dir, CHARTS, run_dir / "barrier.png")
    return summary


QUICK = replace(BarrierConfig(), seq_lens=(2, 4, 6, 8, 10), seeds=2, query_budget=400_000, test_size=256)


EXPERIMENT = Experiment(
    name="barrier",
    description=__doc__ or "",
    config_class=BarrierConfig,
    quick=QUICK,
    check=check_config,
    run=run_barrier,
    describe=format_summary,
    outputs=("barrier.png", "barrier.csv"),
    folders=("runs", "tb_barrier"),
)


if __name__ == "__main__":
    main(sys.argv[1:])
