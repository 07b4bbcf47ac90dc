"""The likelihood CDF and the likelihood quantile of base models along pre-training, at sequence and token level.

The paper's synthetic setting (the full one): d = 32, k = 10, N = 100, rademacher contexts; supervised
pre-training with Adagrad (lr 1.0, batch 256, token-level cross-entropy, w = 0 at the start), a checkpoint
every 500 steps up to 5000. At each checkpoint the exact likelihood p(y*|x) and the token-level minimum
min_i p(y*_i | x, y*_<i) are computed on 16384 contexts (the task's fixed test set), giving their CDFs
P(p <= a) and the likelihood quantiles LQ(eps) = sup{a : P(p <= a) <= eps}.

Writes, under the run directory (whose path it prints): ``lq.png`` (the CDFs, the LQ(eps) curves and
LQ at the chosen eps against the pre-training step, both levels), ``lq.csv`` (log10 LQ(eps) on a fine eps
grid for every checkpoint and level), ``lq.json`` (the summary), the pre-training run folder ``pretrain/``
(config, metrics, TensorBoard events with the LQs as scalars and the log-likelihoods as histograms,
checkpoints), ``models/step<n>.pt`` (each base model) and ``likelihoods/step<n>.npz`` (the log10
likelihoods behind the plots). Running the same command again resumes; a finished run is only redrawn.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from agents.experiment.cli import command_line, mark_experiment_folder, start_fresh
from agents.experiment.config_checks import ConfigError, check_fields
from agents.experiment.runs import Run, read_metrics, train
from agents.experiment.settings import task_keywords
from agents.experiment.threads import limit_threads
from agents.learners.pretrain import PretrainConfig, Pretrainer
from agents.policy.evaluation import LinearEvaluator
from agents.policy.networks import PolicyChoice, PolicyFields
from agents.policy.policy_grad import Policy
from seqreward_env import SequenceTask, likelihood_quantile

LEVELS = ("sequence", "token")
# What the experiment writes in its run folder (what --fresh removes).
LQ_WRITES = ("lq.png", "lq.csv", "lq.json", "pretrain", "models", "likelihoods")
LOG10 = float(np.log(10.0))


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
    if args.fresh:
        start_fresh(run_dir, "lq", LQ_WRITES)
    mark_experiment_folder(run_dir, "lq")
    print(f"LQ run folder: {run_dir}", flush=True)
    started = time.perf_counter()
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


def make_task(config: LQConfig) -> SequenceTask:
    return SequenceTask(**task_keywords(config))


class LikelihoodRecorder(LinearEvaluator):
    """Exact metrics on ``num_contexts`` contexts: test error and log10 LQ(eps) at both levels; keeps the
    last evaluation's log10 likelihoods ``(n,)`` per level in ``latest`` for the caller to save."""

    def __init__(self, task: SequenceTask, num_contexts: int, eps: list[float]) -> None:
        super().__init__(task, num_contexts)
        self.eps = eps
        self.latest: dict[str, np.ndarray] = {}

    def __call__(self, policy: Policy) -> dict[str, Any]:
        token_log_probs = self.token_log_probs(policy)  # (n, N), natural log, never underflows
        self.latest = {"sequence": token_log_probs.sum(axis=1) / LOG10, "token": token_log_probs.min(axis=1) / LOG10}
        metrics: dict[str, Any] = {"eval/test_error": float(1.0 - np.exp(token_log_probs.sum(axis=1)).mean())}
        for level, values in self.latest.items():
            for eps in self.eps:
                metrics[f"lq/log10_{level}_lq@eps={eps:g}"] = log10_quantile(values, eps)
        return metrics


def log10_quantile(log10_values: np.ndarray, eps: float) -> float:
    """log10 LQ(eps) from log10 likelihoods (a quantile commutes with the increasing map log10)."""
    return likelihood_quantile(log10_values, eps)


def likelihood_file(run_dir: Path, step: int) -> Path:
    return run_dir / "likelihoods" / f"step{step:06d}.npz"


def checkpoint_steps(config: LQConfig) -> list[int]:
    steps = list(range(0, config.steps + 1, config.checkpoint_every))
    return steps if steps[-1] == config.steps else [*steps, config.steps]


def run_lq(config: LQConfig, run_dir: Path, *, show_progress: bool = True) -> dict[str, Any]:
    """Pre-train with a checkpoint every ``checkpoint_every`` steps (resuming), then write every output."""
    limit_threads(config.threads)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "likelihoods").mkdir(exist_ok=True)
    (run_dir / "models").mkdir(exist_ok=True)
    task = make_task(config)
    settings = PretrainConfig(steps=config.steps, batch_size=config.batch_size, learning_rate=config.learning_rate)
    record = {key: value for key, value in asdict(config).items() if key not in ("policy", "hidden", "layers", "heads")}
    run = Run(run_dir / "pretrain", {**record, "threads": None, "device": None, **PolicyChoice.of(config).record()})
    steps = checkpoint_steps(config)
    if not all(likelihood_file(run_dir, step).exists() for step in steps):
        policy = PolicyChoice.of(config).make(task, device=config.device, seed=config.seed)
        recorder = LikelihoodRecorder(task, config.num_contexts, eps_values(config))
        trainer = Pretrainer(task, policy, settings, config.seed, recorder)

        def save_checkpoint(step: int, metrics: dict[str, Any]) -> None:
            np.savez_compressed(
                likelihood_file(run_dir, step), sequence=recorder.latest["sequence"], token=recorder.latest["token"]
            )
            policy.save(run_dir / "models" / f"step{step:06d}.pt")
            for level, values in recorder.latest.items():
                run.writer.add_histogram(f"likelihood/log10_{level}", values, step)

        train(
            run,
            trainer,
            settings.steps,
            eval_every=config.checkpoint_every,
            description="pre-train",
            show_progress=show_progress,
            on_eval=save_checkpoint,
        )
    run.close()
    return write_outputs(config, run_dir, steps)


# ----- analysis: drawn from what the run wrote --------------------------------------------------------
def eps_grid(num_contexts: int) -> np.ndarray:
    """eps from 1/n to 0.99, log-spaced: where the empirical quantile changes."""
    return np.unique(np.concatenate([np.geomspace(1.0 / num_contexts, 0.99, 80), [0.0]]))


def write_outputs(config: LQConfig, run_dir: Path, steps: list[int]) -> dict[str, Any]:
    """lq.csv, lq.json and lq.png from the saved likelihoods and the run's metrics."""
    likelihoods = {step: dict(np.load(likelihood_file(run_dir, step))) for step in steps}
    errors = {r["step"]: r["eval/test_error"] for r in read_metrics(run_dir / "pretrain") if "eval/test_error" in r}
    grid = eps_grid(config.num_contexts)
    with open(run_dir / "lq.csv", "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["step", "level", "eps", "log10_lq"])
        for step, values in likelihoods.items():
            for level in LEVELS:
                for eps in grid:
                    writer.writerow([step, level, f"{eps:.6g}", log10_quantile(values[level], float(eps))])
    chosen = eps_values(config)
    summary: dict[str, Any] = {
        "config": asdict(config),
        "steps": steps,
        "test_error": [errors[step] for step in steps],
        "log10_lq": {
            level: {f"{eps:g}": [log10_quantile(likelihoods[s][level], eps) for s in steps] for eps in chosen}
            for level in LEVELS
        },
        "median_log10_likelihood": {
            level: [float(np.median(likelihoods[s][level])) for s in steps] for level in LEVELS
        },
        "fraction_below_1e-12": {
            level: [float(np.mean(likelihoods[s][level] < -12)) for s in steps] for level in LEVELS
        },
    }
    (run_dir / "lq.json").write_text(json.dumps(summary, indent=1))
    draw(run_dir / "lq.png", config, likelihoods, grid, summary)
    return summary


def draw(
    path: Path, config: LQConfig, likelihoods: dict[int, dict[str, np.ndarray]], grid: np.ndarray, summary: dict
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import cm, colors

    steps = list(likelihoods)
    norm = colors.Normalize(vmin=0, vmax=max(steps))
    colour_map = matplotlib.colormaps["viridis"]
    figure, axes = plt.subplots(2, 3, figsize=(18, 9), constrained_layout=True)
    names = {"sequence": "sequence level p(y*|x)", "token": "token level min_i p(y*_i | x, y*_<i)"}
    for row, level in zip(axes, LEVELS, strict=True):
        for step in steps:
            values = np.sort(likelihoods[step][level])
            colour = colour_map(norm(step))
            row[0].step(values, np.arange(1, len(values) + 1) / len(values), where="post", color=colour)
            lq = [log10_quantile(values, float(eps)) for eps in grid]
            row[1].plot(grid, lq, color=colour)
        for index, eps in enumerate(summary["log10_lq"][level]):
            row[2].plot(steps, summary["log10_lq"][level][eps], marker="o", label=f"eps = {eps}", color=f"C{index}")
        row[0].set_title(f"CDF of the {names[level]}")
        row[0].set_xlabel("log10 likelihood a")
        row[0].set_ylabel("P(p <= a)")
        row[1].set_title(f"likelihood quantile LQ(eps), {level} level")
        row[1].set_xlabel("eps")
        row[1].set_xscale("log")
        row[1].set_ylabel("log10 LQ(eps)")
        row[2].set_title(f"LQ(eps) along pre-training, {level} level")
        row[2].set_xlabel("pre-training step")
        row[2].set_ylabel("log10 LQ(eps)")
        row[2].legend()
        for axis in row:
            axis.grid(alpha=0.3)
        figure.colorbar(cm.ScalarMappable(norm=norm, cmap=colour_map), ax=row[1], label="pre-training step")
    figure.suptitle(
        f"base models along pre-training: N={config.seq_len}, k={config.vocab_size}, d={config.context_dim}, "
        f"{config.contexts} contexts, Adagrad lr {config.learning_rate:g}, batch {config.batch_size}, "
        f"{config.num_contexts} contexts"
    )
    figure.savefig(path, dpi=110)
    plt.close(figure)


def format_summary(summary: dict[str, Any]) -> str:
    chosen = list(summary["log10_lq"]["sequence"])
    header = "step   test error  " + "  ".join(f"seq LQ({eps})" for eps in chosen)
    header += "  " + "  ".join(f"tok LQ({eps})" for eps in chosen)
    lines = ["log10 likelihood quantiles along pre-training:", header]
    for index, step in enumerate(summary["steps"]):
        cells = [f"{summary['log10_lq'][level][eps][index]:>12.3g}" for level in LEVELS for eps in chosen]
        lines.append(f"{step:<6} {summary['test_error'][index]:>10.4f}  " + "  ".join(cells))
    return "\n".join(lines)


QUICK = replace(
    LQConfig(), seq_len=30, vocab_size=6, context_dim=16, steps=1000, checkpoint_every=100, num_contexts=4096
)


if __name__ == "__main__":
    main(sys.argv[1:])
