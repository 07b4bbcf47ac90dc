"""The paper's Figure 1 on the paper's own task: pre-train a base model, then PG with the outcome reward (ORM)
and with the process reward (PRM) from it, over several PG seeds.

"Post-Training with Policy Gradients: Optimality and the Base Model Barrier" (arXiv 2603.06957), section 6:
d = k = 32, N = 128, a mixture of 32 (sigma 0.05); Adagrad lr 0.1; pre-training with batch 256 for 1000
steps; PG with batch 1024 for 4000 steps; test set of 1024 contexts. The task is the teacher and test set
that the official code draws for ``--task-seed`` (``torch.manual_seed``), or a given one.

A single run cannot tell the outcomes apart (under ORM an off-support context's samples essentially
always fail, so its fate follows the noise of the first steps), so the job runs ``--seeds`` PG seeds
and says, per reward, in how many of them each off-support context (a centre or test context whose base
likelihood is below the threshold) ended above 1/2. ``--seeds 1`` gives the paper's single run.

Writes ``figure1.png``, ``figure1.json`` (curves and summary), ``figure1_summary.json`` (the summary
alone) and ``figure1.csv`` in the run folder, with
each stage's run folder (config, metrics, TensorBoard events, checkpoints); the same command resumes.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as ``python scripts/figure1.py``: make ``scripts`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.common.config_checks import ConfigError, check_choice, check_fields, check_interval, check_positive
from agents.common.threads import limit_threads
from agents.experiment.cli import command_line, experiment_folder
from agents.runs.inputs import read_policy_file
from agents.experiment.jobs import run_job
from agents.analysis.paper_task import load_task_arrays
from agents.runs.files import record_written
from agents.runs.problems import RunFolderError
from agents.experiment.sweep import run_sweep
from agents.runs.tensorboard import ORM_PRM_CHARTS, experiment_views
from agents.learners.training import OPTIMIZERS
from agents.policy.choice import PolicyChoice, PolicyFields, load_policy
from agents.policy.evaluation import LinearEvaluator
from scripts import figure1_analysis as analysis
from scripts.figure1_jobs import (
    build_task,
    keep_task_file,
    learning_rates,
    off_support_contexts,
    pg_jobs,
    pretrain_base_model,
    read_curves,
    task_arrays,
)
from scripts.figure1_plots import draw

TEACHERS = ("paper", "numpy")
BASE_MODEL_REMEDY = "give a policy file saved for this task (pretrain/final_model.pt of a Figure-1 run)"


@dataclass(frozen=True)
class Figure1Config(PolicyFields):
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
    teacher: str = "paper"
    """'paper': the teacher and test set the official code draws for task_seed (torch.manual_seed);
    'numpy': the task's own numpy draw from task_seed."""
    task_seed: int = 0
    """Which draw of the task (teacher and test set)."""
    task_file: str | None = None
    """An .npz with teacher_w1 (k, d), teacher_w2 (k, k) and test_contexts (n, d) to use instead."""
    base_model: str | None = None
    """A LinearPolicy file (.pt) to start PG from instead of pre-training one."""
    pretrain_steps: int = 1000
    """Supervised pre-training steps (Adagrad)."""
    pretrain_batch_size: int = 256
    """(x, y*) pairs per pre-training step."""
    pg_steps: int = 4000
    """PG steps for each reward."""
    batch_size: int = 1024
    """Fresh contexts per PG step."""
    learning_rate: float | None = None
    """Learning rate of pre-training (Adagrad) and of PG; unset: the policy's defaults (pre-training 0.1;
    PG under Adagrad / SGD / Adam: linear 0.1 / 1 / 0.1, mlp 0.1 / 1 / 0.01, transformer 0.01 / 0.1 /
    0.001)."""
    optimizer: str = "adagrad"
    """PG's optimiser: 'adagrad' (the paper's), 'sgd' or 'adam'."""
    test_size: int = 1024
    """Contexts in the test set."""
    eval_every: int = 50
    """PG steps between evaluations (test error, tracked likelihoods) and checkpoints."""
    off_support_threshold: float = 1e-12
    """A centre or test context is off-support when its base likelihood is below this."""
    lift_level: float = 0.5
    """An off-support context counts as lifted when its final likelihood exceeds this."""
    seed: int = 0
    """Root seed: pre-training data and every PG seed's contexts and sampling derive from it."""
    seeds: int = 3
    """PG seeds per reward (ORM and PRM of one seed share their contexts: common random numbers)."""
    workers: int = 2
    """Processes for the PG runs."""
    device: str = "cpu"
    """Torch device ('cpu' or 'cuda')."""

    def __post_init__(self) -> None:
        check_fields(self)
        PolicyChoice.of(self)  # types, seeds in [0, 2^63), every other count >= 1, vocab_size >= 2, rates > 0
        check_positive(self, "sigma", "off_support_threshold")
        check_interval(self, "lift_level", 0.0, 1.0, low_open=True, high_open=True)
        check_choice(self, "teacher", TEACHERS)
        check_choice(self, "optimizer", OPTIMIZERS)
        for name in ("task_file", "base_model"):
            path = getattr(self, name)
            if path is not None and not Path(path).is_file():
                raise ConfigError(f"{name} (--{name.replace('_', '-')}) must be an existing file, got {path!r}", name)
        if self.task_file is not None:
            self._check_task_file(self.task_file)
        if self.base_model is not None:
            try:
                read_policy_file(
                    self.base_model, BASE_MODEL_REMEDY, context_dim=self.context_dim, vocab_size=self.vocab_size
                )
            except RunFolderError as error:
                raise ConfigError(f"base_model (--base-model) {error}", "base_model") from None

    def _check_task_file(self, path: str) -> None:
        """The task file's arrays must load and fit the task's shapes and test size."""
        try:
            arrays = load_task_arrays(path)
        except ValueError as error:
            raise ConfigError(f"task_file (--task-file): {error}", "task_file") from None
        k, d = self.vocab_size, self.context_dim
        if arrays.teacher_w1.shape != (k, d) or len(arrays.test_contexts) < self.test_size:
            raise ConfigError(
                f"task_file (--task-file) {path!r} holds a teacher of shape {arrays.teacher_w1.shape} and "
                f"{len(arrays.test_contexts)} test contexts; vocab_size={k}, context_dim={d} and "
                f"test_size={self.test_size} need ({k}, {d}) and at least {self.test_size}",
                "task_file",
            )


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


FIGURE1_WRITES = ("figure1.png", "figure1.json", "figure1_summary.json", "figure1.csv", "task.npz", "pretrain", "pg")


def main(argv: list[str] | None = None) -> Path:
    argv = list(sys.argv[1:] if argv is None else argv)
    quick = "--quick" in argv
    config, args = command_line(
        Figure1Config,
        QUICK if quick else Figure1Config(),
        argv,
        description=__doc__ or "",
        prog="figure1.py",
        quick_help="a small setting that runs in well under a minute",
        run_dir_help="run folder (default runs/figure1/<setting>-task<task seed>-seed<seed>)",
    )
    limit_threads(1)  # the task's products are tiny: more BLAS threads only contend with the workers
    setting = "quick" if args.quick else "paper"
    run_dir = args.run_dir or Path("runs") / "figure1" / f"{setting}-task{config.task_seed}-seed{config.seed}"
    started = time.perf_counter()
    with experiment_folder(run_dir, "figure1", FIGURE1_WRITES, fresh=args.fresh):
        print(f"Figure 1 run folder: {run_dir}", flush=True)
        summary = run_figure1(config, run_dir, show_progress=not args.no_progress)
    rates = summary["summary"]["learning_rates"]
    print(f"learning rates: pre-training (Adagrad) {rates['pretrain']:g}, PG ({config.optimizer}) {rates['pg']:g}")
    print(f"pre-trained base model: test error {summary['base_test_error']:.4f}")
    for line in analysis.summary_lines(summary["summary"]):
        print(line)
    print(
        f"wrote {run_dir / 'figure1.png'}, {run_dir / 'figure1.json'}, {run_dir / 'figure1.csv'} "
        f"in {time.perf_counter() - started:.0f} s; TensorBoard: tensorboard --logdir {run_dir}"
    )
    return run_dir


def run_figure1(config: Figure1Config, run_dir: Path, *, show_progress: bool = True) -> dict[str, Any]:
    """Pre-train (or load the given base model), run PG with both rewards over the seeds, then draw the
    figure from what the runs wrote."""
    run_dir.mkdir(parents=True, exist_ok=True)
    task_file = keep_task_file(run_dir / "task.npz", task_arrays(config))
    record_written(run_dir, [task_file], "figure1")
    task = build_task(config, load_task_arrays(task_file))
    if config.base_model is not None:
        base_model = Path(config.base_model)
    else:
        base_model = pretrain_base_model(config, task_file, run_dir / "pretrain", show_progress=show_progress)
    read_policy_file(base_model, BASE_MODEL_REMEDY, context_dim=config.context_dim, vocab_size=config.vocab_size)
    base = load_policy(base_model, device=config.device)
    evaluator = LinearEvaluator(task, config.test_size)
    support = off_support_contexts(config, task, evaluator, base)
    jobs = pg_jobs(config, run_dir, task_file, base_model, support, show_progress)
    run_sweep(run_job, jobs, workers=config.workers, show_progress=False)
    return write_figure(run_dir, config, support, evaluator(base)["eval/test_error"])


def write_figure(
    run_dir: Path, config: Figure1Config, support: dict[str, Any], base_test_error: float
) -> dict[str, Any]:
    """Read every PG run's metrics and write figure1.png, figure1.json and figure1.csv."""
    curves = read_curves(run_dir, config)
    indices = support["indices"]
    finals = {
        name: {
            "test_error": [seed["test_error"][-1] for seed in runs],
            "off_support_likelihood": [[seed["tracked_likelihood"][-1][j] for j in indices] for seed in runs],
            "collapse": [{key: seed[key] for key in ("collapsed", "collapse_reasons")} for seed in runs],
        }
        for name, runs in curves.items()
    }
    summary = analysis.summarise_seeds(finals, support["base_likelihoods"], support["labels"], config.lift_level)
    summary["fallback"] = support["fallback"]
    summary["learning_rates"] = learning_rates(config)
    result: dict[str, Any] = {
        "config": asdict(config),
        "base_test_error": base_test_error,
        "base_centre_likelihood": support["centre_likelihoods"].tolist(),
        "off_support_threshold": support["threshold"],
        "off_support_labels": support["labels"],
        "off_support_tracked_indices": indices,
        "summary": summary,
        "curves": curves,
    }
    (run_dir / "figure1.json").write_text(json.dumps(result, indent=1))
    brief = {key: value for key, value in result.items() if key != "curves"}
    (run_dir / "figure1_summary.json").write_text(json.dumps(brief, indent=1))
    with open(run_dir / "figure1.csv", "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(
            ["reward", "pg_seed", "step", "test_error", *[f"likelihood {label}" for label in support["labels"]]]
        )
        for name, runs in curves.items():
            for index, seed in enumerate(runs):
                for step, error, tracked in zip(
                    seed["step"], seed["test_error"], seed["tracked_likelihood"], strict=True
                ):
                    writer.writerow([name, index, step, error, *[tracked[j] for j in indices]])
    draw(run_dir / "figure1.png", curves, support, summary, config)
    experiment_views(run_dir, ORM_PRM_CHARTS, run_dir / "figure1.png")  # ORM and PRM on shared charts
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
