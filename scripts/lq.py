"""The likelihood CDF and the likelihood quantile of base models along pre-training, at sequence and token level.

The paper's synthetic setting (the full one): d = 32, k = 10, N = 100, rademacher contexts; supervised
pre-training with Adagrad (lr 1.0, batch 256, token-level cross-entropy, w = 0 at the start), a checkpoint
every 500 steps up to 5000. At each checkpoint the exact likelihood p(y*|x) and the token-level minimum
min_i p(y*_i | x, y*_<i) are computed on 16384 contexts (the task's fixed test set), giving their CDFs
P(p <= a) and the likelihood quantiles LQ(eps) = sup{a : P(p <= a) <= eps}.

Writes, under the run directory (whose path it prints): ``lq.png`` (the CDFs, the LQ(eps) curves and
LQ at the chosen eps against the pre-training step, both levels), ``lq.csv`` (log10 LQ(eps) on a fine eps
grid for every checkpoint and level), ``lq.json`` (the summary), the pre-training job's run folder
``pretrain/`` (config, metrics, TensorBoard events, checkpoints, ``models/step<n>.pt``: each base model),
``likelihoods/step<n>.npz`` (the log10 likelihoods behind the plots, computed from those models) and
``tb_lq/`` (TensorBoard: the LQs as scalars and the log-likelihoods as histograms, per checkpoint).
Running the same command again resumes; a finished run is only redrawn.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as ``python scripts/lq.py``: make ``scripts`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.common.config_checks import ConfigError, check_fields
from agents.common.threads import limit_threads
from agents.experiment.cli import command_line, experiment_folder
from agents.policy.choice import PolicyChoice, PolicyFields
from scripts.lq_analysis import eps_grid, format_summary, quantile_rows, summarize
from scripts.lq_jobs import checkpoint_steps, pretrain_with_checkpoints, read_likelihoods, read_test_errors
from scripts.lq_plots import draw

# What the experiment writes in its run folder (what --fresh removes).
LQ_WRITES = ("lq.png", "lq.csv", "lq.json", "pretrain", "likelihoods", "tb_lq")


@dataclass(frozen=True)
class LQConfig(PolicyFields):
    """Settings of the LQ experiment (defaults: the paper's synthetic setting)."""

    seq_len: int = 100
    """N, the response length."""
    vocab_size: int = 10
    """k, the vocabulary size."""
    context_dim: int = 32
    """d, the context dimension."""
    contexts: str = "rademacher"
    """Context distribution ('rademacher' or 'mixture')."""
    task_seed: int = 0
    """Seed of the teacher and of the evaluation contexts."""
    steps: int = 5000
    """Pre-training steps (Adagrad)."""
    checkpoint_every: int = 500
    """Pre-training steps between checkpoints (each is evaluated; step 0, the uniform model, too)."""
    batch_size: int = 256
    """(x, y*) pairs per pre-training step."""
    learning_rate: float = 1.0
    """Adagrad learning rate."""
    num_contexts: int = 16384
    """Contexts on which the likelihoods are computed exactly."""
    eps: tuple[float, ...] = (0.001, 0.01, 0.1, 0.5)
    """Eps of the reported quantiles LQ(eps) (tables, TensorBoard, the right-hand panels)."""
    seed: int = 0
    """Seed of the pre-training data."""
    threads: int = 1
    """Torch threads."""
    device: str = "cpu"
    """Torch device ('cpu' or 'cuda')."""

    def __post_init__(self) -> None:
        check_fields(self)
        check_config(self)


def main(argv: list[str] | None = None) -> Path:
    argv = list(sys.argv[1:] if argv is None else argv)
    quick = "--quick" in argv
    config, args = command_line(
        LQConfig,
        QUICK if quick else LQConfig(),
        argv,
        description=__doc__ or "",
        prog="lq.py",
        quick_help="a small setting that runs in well under a minute",
        run_dir_help="run folder (default runs/lq/<setting>-seed<seed>)",
    )
    run_dir = args.run_dir or Path("runs") / "lq" / f"{'quick' if args.quick else 'paper'}-seed{config.seed}"
    started = time.perf_counter()
    with experiment_folder(run_dir, "lq", LQ_WRITES, fresh=args.fresh):
        print(f"LQ run folder: {run_dir}", flush=True)
        summary = run_lq(config, run_dir, show_progress=not args.no_progress)
    print(format_summary(summary))
    print(
        f"wrote {run_dir / 'lq.png'}, lq.csv, lq.json in {time.perf_counter() - started:.0f} s; "
        f"TensorBoard: tensorboard --logdir {run_dir}"
    )
    return run_dir


def eps_values(config: LQConfig) -> list[float]:
    return [float(eps) for eps in config.eps]


def check_config(config: LQConfig) -> None:
    """Fail early, with what is allowed, on a bad command line."""
    PolicyChoice.of(config)
    if not config.eps or not all(0.0 <= eps < 1.0 for eps in config.eps):
        raise ConfigError(f"--eps must be numbers in [0, 1), got {config.eps!r}")
    if config.num_contexts < 2:
        raise ConfigError(f"--num-contexts must be >= 2, got {config.num_contexts}")
    if config.contexts not in ("rademacher", "mixture"):
        raise ConfigError(f"--contexts must be 'rademacher' or 'mixture', got {config.contexts!r}")


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


QUICK = replace(
    LQConfig(), seq_len=30, vocab_size=6, context_dim=16, steps=1000, checkpoint_every=100, num_contexts=4096
)


if __name__ == "__main__":
    main(sys.argv[1:])
