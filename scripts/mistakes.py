"""Online learning with a uniform behaviour: the mistakes of uniform-behaviour PG against k^N / gamma^2.

Each run starts from w = 0 on a task with margin gamma and plays rounds of online learning, one fresh
context per round: the learner answers with the mode of p_w (a wrong answer is a mistake), a uniform
response is queried through the env, and the learner takes the adaptive step on it (``agents.learners.uniform_pg``;
zeta > 1 adds the clipped importance ratio). A run ends when the learner's answer is right on every test
context (checked every ``eval_every`` rounds; it has then converged: later mistakes are rare) or after
``max_rounds`` rounds. Two sweeps: the length N at a fixed gamma, and gamma at a fixed N, each over seeds,
rewards and zetas; the mistakes are set beside the bound's rate k^N / gamma^2 on log scales.

Writes, under the run directory (whose path it prints): ``mistakes.png`` (mistakes against N and against
gamma with the rate beside them, and the cumulative mistakes over rounds), ``mistakes.csv`` (one row per
run), ``mistakes.json`` (the summary, with the fitted growth per token and the exponent in gamma),
TensorBoard events under ``tb_mistakes/`` and every run's folder (config, metrics, events, checkpoint)
under ``runs/``. Running the same command again skips finished runs and resumes interrupted ones.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as ``python scripts/mistakes.py``: make ``scripts`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.common.config_checks import ConfigError, check_choices, check_fields
from agents.experiment.cli import Experiment, run_experiment
from agents.experiment.jobs import run_job
from agents.experiment.sweep import run_sweep
from agents.analysis.tables import write_table
from agents.runs.tensorboard import experiment_views
from scripts.mistakes_analysis import format_summary, group_series, run_row
from scripts.mistakes_jobs import make_jobs, read_cumulative_mistakes, sweep_settings, task_kwargs
from scripts.mistakes_plots import draw, write_tensorboard
from seqreward_env import SequenceTask

REWARDS = ("outcome", "process")

# TensorBoard custom-scalars layout: the runs of the experiment's summary events on shared charts.
CHARTS = {
    "mistakes: outcome against process reward": {
        "mistakes against N": ["mistakes/against_seq_len"],
        "mistakes against 1000 gamma": ["mistakes/against_1000_gamma"],
    }
}


@dataclass(frozen=True)
class MistakesConfig:
    """Settings of the mistake-bound experiment (defaults: the full setting)."""

    vocab_size: int = 2
    """k, the vocabulary size."""
    context_dim: int = 8
    """d, the context dimension."""
    contexts: str = "rademacher"
    """Context distribution ('rademacher' or 'mixture')."""
    task_seed: int = 0
    """Seed of the teacher and the test set."""
    seq_lens: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7, 8)
    """Lengths N of the sweep in N (at gamma = --margin)."""
    margin: float = 0.1
    """gamma of the sweep in N."""
    margins: tuple[float, ...] = (0.05, 0.1, 0.15, 0.2, 0.3)
    """Margins gamma of the sweep in gamma (at N = --margin-seq-len)."""
    margin_seq_len: int = 5
    """N of the sweep in gamma."""
    rewards: tuple[str, ...] = ("outcome", "process")
    """Rewards ('outcome', 'process')."""
    zetas: tuple[float, ...] = (1.0,)
    """Clips zeta of the importance ratio (1: plain uniform-behaviour PG)."""
    seeds: int = 10
    """Seeds per setting (0, 1, ...)."""
    max_rounds: int = 200_000
    """Rounds (contexts) at most per run."""
    eval_every: int = 25
    """Rounds between convergence checks (greedy answers on the test set) and checkpoints."""
    log_every: int = 10
    """Rounds between logged records (the cumulative-mistake curves)."""
    test_size: int = 512
    """Test contexts of the convergence check."""
    workers: int = 2
    """Local worker processes."""
    backend: str = "local"
    """'local' or 'ray'."""
    ray_address: str = ""
    """Ray cluster address ('auto' to find one; empty starts a local Ray)."""

    def __post_init__(self) -> None:
        check_fields(self)
        check_config(self)


def main(argv: list[str] | None = None) -> Path:
    return run_experiment(EXPERIMENT, argv)


def check_config(config: MistakesConfig) -> None:
    """Fail early, with what is allowed, on a bad command line."""
    for flag, values, low in (
        ("--seq-lens", config.seq_lens, 1),
        ("--margins", config.margins, 0.0),
        ("--zetas", config.zetas, 1.0),
    ):
        if not values or min(values) < low or (flag == "--margins" and min(values) <= 0):
            raise ConfigError(f"{flag} must be numbers {'>' if low == 0 else '>='} {low}, got {values!r}")
    check_choices(config, "rewards", REWARDS)
    try:
        for seq_len, gamma in sweep_settings(config):
            SequenceTask(**task_kwargs(config, seq_len, gamma))
    except ValueError as error:
        raise ConfigError(f"--margin/--margins: {error}") from None


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


QUICK = replace(
    MistakesConfig(),
    seq_lens=(1, 2, 3, 4, 5, 6),
    margins=(0.05, 0.1, 0.2, 0.3),
    margin_seq_len=4,
    rewards=("outcome",),
    seeds=3,
    max_rounds=20_000,
)


EXPERIMENT = Experiment(
    name="mistakes",
    description=__doc__ or "",
    config_class=MistakesConfig,
    quick=QUICK,
    check=check_config,
    run=run_mistakes,
    describe=format_summary,
    outputs=("mistakes.png", "mistakes.csv"),
    folders=("runs", "tb_mistakes"),
)


if __name__ == "__main__":
    main(sys.argv[1:])
