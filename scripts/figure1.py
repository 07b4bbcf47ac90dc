"""The paper's Figure 1: pre-train a base model, then PG with the outcome and with the process reward from it.

Panels: (left) mean likelihood of the off-support centres (base likelihood < 1e-12) against PG step,
ORM vs PRM; (centre) test error against PG step; (right) each tracked centre's likelihood under ORM,
coloured by its base likelihood. Writes ``figure1.png``, ``figure1.json`` and ``figure1.csv`` (the
numbers behind the panels), and each stage's run folder (config, metrics, TensorBoard events,
checkpoints) under the run directory, whose path it prints. Running the same command again resumes.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.cli import add_config_arguments, config_from_args
from agents.evaluation import LinearEvaluator
from agents.paper_pg import PaperPGConfig, PaperPGJob, run_paper_pg
from agents.policy import LinearPolicy
from agents.pretrain import PretrainConfig, Pretrainer
from agents.runs import Run, read_metrics, train
from agents.sweep import run_sweep
from agents.training import limit_threads
from seqreward_env import SequenceTask

REWARDS = {"orm": ("seqreward/PaperOutcome-v0", "outcome"), "prm": ("seqreward/PaperProcess-v0", "process")}


@dataclass(frozen=True)
class Figure1Config:
    """Settings of the Figure-1 experiment (defaults: the paper's)."""

    seq_len: int = 128
    """N, the response length."""
    vocab_size: int = 32
    """k, the vocabulary size."""
    context_dim: int = 32
    """d, the context dimension."""
    num_components: int = 32
    """M, the mixture's components (its centres are tracked)."""
    sigma: float = 0.05
    """Noise scale of the mixture."""
    task_seed: int = 0
    """Seed of the teacher and the test set."""
    pretrain_steps: int = 1000
    """Supervised pre-training steps (Adagrad)."""
    pretrain_batch_size: int = 256
    """(x, y*) pairs per pre-training step."""
    pg_steps: int = 4000
    """PG steps for each reward."""
    batch_size: int = 1024
    """Fresh contexts per PG step."""
    learning_rate: float = 0.1
    """Adagrad learning rate of pre-training and PG."""
    test_size: int = 1024
    """Contexts in the test set."""
    eval_every: int = 50
    """PG steps between evaluations (test error, centres' likelihoods) and checkpoints."""
    off_support_threshold: float = 1e-12
    """A centre is off-support when its base likelihood is below this."""
    seed: int = 0
    """Seed of pre-training data, PG contexts and sampling."""
    workers: int = 2
    """Processes for the two PG runs (2 runs them side by side)."""
    device: str = "cpu"
    """Torch device ('cpu' or 'cuda')."""


QUICK = Figure1Config(
    seq_len=12,
    vocab_size=8,
    context_dim=8,
    num_components=8,
    pretrain_steps=60,
    pretrain_batch_size=64,
    pg_steps=150,
    batch_size=128,
    test_size=256,
    eval_every=10,
)


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a small setting that runs in well under a minute")
    parser.add_argument(
        "--run-dir", type=Path, default=None, help="run folder (default runs/figure1/<setting>-seed<seed>)"
    )
    parser.add_argument("--fresh", action="store_true", help="start over instead of resuming the run folder")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_config_arguments(parser, Figure1Config)
    args = parser.parse_args(argv)
    config = config_from_args(Figure1Config, args, QUICK if args.quick else Figure1Config())
    limit_threads(1)  # the task's products are tiny: more BLAS threads only contend with the workers
    run_dir = args.run_dir or Path("runs") / "figure1" / f"{'quick' if args.quick else 'paper'}-seed{config.seed}"
    started = time.perf_counter()
    print(f"Figure 1 run folder: {run_dir}", flush=True)
    summary = run_figure1(config, run_dir, fresh=args.fresh, show_progress=not args.no_progress)
    print(f"pre-trained base model: test error {summary['base_test_error']:.4f}")
    for name in REWARDS:
        print(
            f"PG with {name.upper()}: test error {summary[name]['final_test_error']:.4f} after {config.pg_steps} steps; "
            f"off-support likelihood {summary[name]['final_off_support_likelihood']:.4f}"
        )
    print(
        f"wrote {run_dir / 'figure1.png'}, {run_dir / 'figure1.json'}, {run_dir / 'figure1.csv'} "
        f"in {time.perf_counter() - started:.0f} s; TensorBoard: tensorboard --logdir {run_dir}"
    )
    return run_dir


def task_kwargs(config: Figure1Config) -> dict[str, Any]:
    return {
        "seq_len": config.seq_len,
        "vocab_size": config.vocab_size,
        "context_dim": config.context_dim,
        "num_components": config.num_components,
        "sigma": config.sigma,
        "task_seed": config.task_seed,
    }


def run_figure1(
    config: Figure1Config, run_dir: Path, *, fresh: bool = False, show_progress: bool = True
) -> dict[str, Any]:
    """Pre-train, run both PG variants, then draw the figure from what the runs wrote."""
    run_dir.mkdir(parents=True, exist_ok=True)
    task = SequenceTask(**task_kwargs(config), reward_values=(-1.0, 1.0))
    base_model = pretrain_base_model(config, task, run_dir / "pretrain", fresh=fresh, show_progress=show_progress)
    base = LinearPolicy.load(base_model)
    centres = task.centres
    evaluator = LinearEvaluator(task, config.test_size, tracked=centres)
    base_likelihoods = evaluator.tracked_likelihoods(base)
    off_support, threshold = off_support_centres(base_likelihoods, config.off_support_threshold)
    jobs = [
        PaperPGJob(
            run_dir=str(run_dir / name),
            env_id=env_id,
            env_kwargs=task_kwargs(config),
            base_model=str(base_model),
            steps=config.pg_steps,
            batch_size=config.batch_size,
            config=PaperPGConfig(learning_rate=config.learning_rate),
            seed=config.seed + 1 + index,
            test_size=config.test_size,
            eval_every=config.eval_every,
            tracked=centres,
            off_support=off_support.tolist(),
            device=config.device,
            threads=max(1, torch.get_num_threads() // max(1, config.workers)),
            show_progress=show_progress,
            progress_position=index,
        )
        for index, (name, (env_id, _)) in enumerate(REWARDS.items())
    ]
    if fresh:
        for job in jobs:
            shutil.rmtree(job.run_dir, ignore_errors=True)
    run_sweep(run_paper_pg, jobs, workers=config.workers, show_progress=False)
    return write_figure(run_dir, config, base_likelihoods, off_support, threshold, evaluator(base)["eval/test_error"])


def pretrain_base_model(
    config: Figure1Config, task: SequenceTask, path: Path, *, fresh: bool, show_progress: bool
) -> Path:
    """Supervised pre-training (Adagrad, token-level cross-entropy, w = 0 at the start); returns the model file."""
    settings = PretrainConfig(
        steps=config.pretrain_steps, batch_size=config.pretrain_batch_size, learning_rate=config.learning_rate
    )
    model_file = path / "base_model.pt"
    run = Run(path, {"task": task_kwargs(config), "pretrain": asdict(settings), "seed": config.seed}, resume=not fresh)
    if run.start_step >= settings.steps and model_file.exists():
        run.close()
        return model_file
    policy = LinearPolicy.for_task(task, device=config.device)
    evaluator = LinearEvaluator(task, config.test_size)
    trainer = Pretrainer(task, policy, settings, config.seed, evaluator)
    train(
        run,
        trainer,
        settings.steps,
        eval_every=max(1, settings.steps // 10),
        description="pre-train",
        show_progress=show_progress,
    )
    policy.save(model_file)
    run.close()
    return model_file


def off_support_centres(base_likelihoods: np.ndarray, threshold: float) -> tuple[np.ndarray, float]:
    """Centres whose base likelihood is below ``threshold``; if none is, the lowest quarter (at least one),
    with the threshold that selects them."""
    below = np.flatnonzero(base_likelihoods < threshold)
    if below.size:
        return below, threshold
    count = max(1, len(base_likelihoods) // 4)
    lowest = np.argsort(base_likelihoods)[:count]
    return np.sort(lowest), float(np.nextafter(base_likelihoods[lowest].max(), np.inf))


def write_figure(
    run_dir: Path,
    config: Figure1Config,
    base_likelihoods: np.ndarray,
    off_support: np.ndarray,
    threshold: float,
    base_test_error: float,
) -> dict[str, Any]:
    """Read both PG runs' metrics and write figure1.png, figure1.json and figure1.csv."""
    curves: dict[str, dict[str, Any]] = {}
    for name in REWARDS:
        records = [r for r in read_metrics(run_dir / name) if "eval/test_error" in r]
        curves[name] = {
            "step": [r["step"] for r in records],
            "test_error": [r["eval/test_error"] for r in records],
            "off_support_likelihood": [r.get("eval/off_support_likelihood", float("nan")) for r in records],
            "centre_likelihood": [r["eval/tracked_likelihood"] for r in records],
        }
    summary: dict[str, Any] = {
        "config": asdict(config),
        "base_test_error": base_test_error,
        "base_centre_likelihood": base_likelihoods.tolist(),
        "off_support_centres": off_support.tolist(),
        "off_support_threshold": threshold,
    }
    for name, curve in curves.items():
        summary[name] = {
            **curve,
            "final_test_error": curve["test_error"][-1],
            "final_off_support_likelihood": curve["off_support_likelihood"][-1],
        }
    (run_dir / "figure1.json").write_text(json.dumps(summary, indent=1))
    with open(run_dir / "figure1.csv", "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["reward", "step", "test_error", "off_support_likelihood"])
        for name, curve in curves.items():
            for row in zip(curve["step"], curve["test_error"], curve["off_support_likelihood"], strict=True):
                writer.writerow([name, *row])
    draw(run_dir / "figure1.png", curves, base_likelihoods, off_support, threshold, config)
    return summary


def draw(
    path: Path,
    curves: dict[str, dict[str, Any]],
    base_likelihoods: np.ndarray,
    off_support: np.ndarray,
    threshold: float,
    config: Figure1Config,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import cm, colors

    figure, (left, centre, right) = plt.subplots(1, 3, figsize=(16, 4.6), constrained_layout=True)
    styles = {"orm": ("ORM (outcome reward)", "tab:red"), "prm": ("PRM (process reward)", "tab:blue")}
    for name, curve in curves.items():
        label, colour = styles[name]
        left.plot(curve["step"], curve["off_support_likelihood"], label=label + ", mean", color=colour, lw=2)
        if len(off_support) > 1:  # a mean of a few centres can hide that each one went to 0 or to 1
            each = np.asarray(curve["centre_likelihood"])[:, off_support]
            left.plot(curve["step"], each, color=colour, lw=0.8, ls="--", alpha=0.6)
        centre.plot(curve["step"], curve["test_error"], label=label, color=colour)
    left.set_title(f"off-support centres ({len(off_support)} with base likelihood < {threshold:.2g})")
    left.set_xlabel("PG step")
    left.set_ylabel("likelihood p(y*|x) (dashed: each centre)")
    left.set_ylim(-0.02, 1.02)
    centre.set_title("test error")
    centre.set_xlabel("PG step")
    centre.set_ylabel("1 - E p(y*|x)")
    for axis in (left, centre):
        axis.legend()
        axis.grid(alpha=0.3)
    log_base = np.log10(np.maximum(base_likelihoods, 1e-300))
    norm = colors.Normalize(vmin=float(log_base.min()), vmax=float(max(log_base.max(), log_base.min() + 1e-9)))
    colour_map = matplotlib.colormaps["viridis"]
    per_centre = np.asarray(curves["orm"]["centre_likelihood"])
    for j in range(per_centre.shape[1]):
        right.plot(curves["orm"]["step"], per_centre[:, j], color=colour_map(norm(log_base[j])), alpha=0.8, linewidth=1)
    right.set_title(f"each centre under ORM ({per_centre.shape[1]} centres)")
    right.set_xlabel("PG step")
    right.set_ylabel("likelihood p(y*|x)")
    right.set_ylim(-0.02, 1.02)
    figure.colorbar(cm.ScalarMappable(norm=norm, cmap=colour_map), ax=right, label="log10 base likelihood")
    figure.suptitle(
        f"N={config.seq_len}, k={config.vocab_size}, d={config.context_dim}, mixture of {config.num_components}, "
        f"batch {config.batch_size}, Adagrad lr {config.learning_rate}"
    )
    figure.savefig(path, dpi=120)
    plt.close(figure)


if __name__ == "__main__":
    main(sys.argv[1:])
