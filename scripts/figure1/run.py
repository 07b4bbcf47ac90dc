"""Figure 1's run: pre-train (or load) the base model, PG with both rewards over the seeds, then the figure,
its numbers and the table from what the runs wrote (``python -m scripts.figure1``; settings in
``scripts.figure1.settings``)."""

from __future__ import annotations

import csv
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from agents.analysis.paper_task import load_task_arrays
from agents.experiment.cli import run_experiment
from agents.policy.choice import load_policy
from agents.policy.evaluation import LinearEvaluator
from agents.runs.files import record_written
from agents.runs.inputs import read_policy_file
from agents.runs.tensorboard import ORM_PRM_CHARTS, experiment_views
from scripts.figure1 import analysis
from scripts.figure1.jobs import (
    build_task,
    final_pass_at_k,
    keep_task_file,
    learning_rates,
    off_support_contexts,
    pg_jobs,
    pretrain_base_model,
    read_curves,
    task_arrays,
)
from scripts.figure1.plots import draw
from scripts.figure1.settings import BASE_MODEL_REMEDY, EXPERIMENT, QUICK, Figure1Config

__all__ = ["QUICK", "Figure1Config", "describe", "main", "run_figure1", "write_figure"]


def main(argv: list[str] | None = None) -> Path:
    """``python -m scripts.figure1 [--quick] ...``: run (or resume) in the run folder and print the summary."""
    return run_experiment(EXPERIMENT, run_figure1, describe, argv)


def describe(result: dict[str, Any]) -> str:
    """The lines printed at the end: the learning rates, the base model's test error, the summary."""
    summary = result["summary"]
    rates = summary["learning_rates"]
    optimizer = result["config"]["optimizer"]
    lines = [
        f"learning rates: pre-training (Adagrad) {rates['pretrain']:g}, PG ({optimizer}) {rates['pg']:g}",
        f"pre-trained base model: test error {result['base_test_error']:.4f}",
        *analysis.summary_lines(summary),
    ]
    return "\n".join(lines)


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
    config.sweep(jobs, show_progress=False)
    passes = final_pass_at_k(run_dir, config, evaluator, base)
    return write_figure(run_dir, config, support, evaluator(base)["eval/test_error"], passes)


def write_figure(
    run_dir: Path,
    config: Figure1Config,
    support: dict[str, Any],
    base_test_error: float,
    passes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Read every PG run's metrics and write figure1.png, figure1.json and figure1.csv; ``passes``: the exact
    pass@k curves of the base and final models (``scripts.figure1.jobs.final_pass_at_k``), summarised and drawn."""
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
    if passes is not None:
        summary["pass_at_k"] = analysis.summarise_pass_at_k(passes)
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
