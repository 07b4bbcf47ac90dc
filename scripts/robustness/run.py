"""The robustness experiment's run: each draw's Figure-1 runs (pre-training shared by both optimisers), pooled
over draws into the table, the summary, the figure and TensorBoard scalars (``python -m scripts.robustness``;
settings in ``scripts.robustness.settings``)."""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from agents.common.seeding import derive_seed
from agents.experiment.cli import run_experiment
from scripts.figure1 import analysis
from scripts.figure1 import jobs as figure1_jobs
from scripts.figure1 import run as figure1
from scripts.robustness.plots import OPTIMIZERS, draw_pooled, log_pooled
from scripts.robustness.settings import EXPERIMENT, QUICK, RobustnessConfig

__all__ = ["OPTIMIZERS", "QUICK", "RobustnessConfig", "main", "run_robustness"]


def draw_config(
    config: RobustnessConfig, base: figure1.Figure1Config, draw: int, optimizer: str
) -> figure1.Figure1Config:
    learning_rate = config.adagrad_learning_rate if optimizer == "adagrad" else config.sgd_learning_rate
    return replace(
        base,
        teacher="paper",
        task_seed=draw,
        seed=derive_seed(config.seed, "draw", draw),
        seeds=config.seeds,
        pg_steps=config.pg_steps,
        optimizer=optimizer,
        learning_rate=learning_rate,
        workers=config.workers,
    )


def run_robustness(
    config: RobustnessConfig, base: figure1.Figure1Config, run_dir: Path, *, show_progress: bool = True
) -> dict[str, Any]:
    """Run every draw (pre-training once per draw, shared by both optimisers) and pool the summaries."""
    run_dir.mkdir(parents=True, exist_ok=True)
    per_draw: dict[str, list[dict[str, Any]]] = {optimizer: [] for optimizer in OPTIMIZERS}
    rows = []
    for draw in range(config.draws):
        draw_dir = run_dir / f"draw{draw}"
        pretrain_config = replace(draw_config(config, base, draw, "adagrad"), learning_rate=base.learning_rate)
        draw_dir.mkdir(parents=True, exist_ok=True)
        task_file = figure1_jobs.keep_task_file(draw_dir / "task.npz", figure1_jobs.task_arrays(pretrain_config))
        base_model = figure1_jobs.pretrain_base_model(
            pretrain_config, task_file, draw_dir / "pretrain", show_progress=show_progress
        )
        for optimizer in OPTIMIZERS:
            settings = replace(draw_config(config, base, draw, optimizer), base_model=str(base_model))
            result = figure1.run_figure1(settings, draw_dir / optimizer, show_progress=show_progress)
            summary = result["summary"]
            per_draw[optimizer].append(summary)
            for name in analysis.REWARD_NAMES:
                rows.append(
                    {
                        "draw": draw,
                        "optimizer": optimizer,
                        "reward": name,
                        "base_test_error": result["base_test_error"],
                        "off_support_contexts": len(summary["off_support"]),
                        "fallback": summary["fallback"],
                        "lifted_pairs": sum(summary[name]["lifted_seeds"]),
                        "pairs": len(summary[name]["lifted_seeds"]) * summary[name]["seeds"],
                        "final_test_error": summary[name]["test_error"]["mean"],
                    }
                )
    pooled = {optimizer: analysis.pool_draws(summaries) for optimizer, summaries in per_draw.items()}
    result = {"config": asdict(config), "figure1": asdict(base), "pooled": pooled, "draws": rows}
    (run_dir / "robustness.json").write_text(json.dumps(result, indent=1))
    with open(run_dir / "robustness.csv", "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    draw_pooled(run_dir / "robustness.png", pooled, config)
    log_pooled(run_dir, pooled)
    return result


def result_lines(result: dict[str, Any]) -> list[str]:
    lines = []
    for optimizer, pooled in result["pooled"].items():
        lines.append(f"{optimizer}: {pooled['off_support_contexts']} off-support contexts over {pooled['draws']} draws")
        for name in analysis.REWARD_NAMES:
            entry = pooled[name]
            low, high = entry["lifted_interval"]
            error_low, error_high = entry["test_error_interval"]
            lines.append(
                f"  {name.upper()}: lifted {entry['lifted_fraction']:.0%} of (context, seed) pairs "
                f"[95% CI {low:.0%} to {high:.0%}]; final test error {entry['test_error']:.4f} "
                f"[{error_low:.4f}, {error_high:.4f}]"
            )
    return lines


def run_setting(config: RobustnessConfig, run_dir: Path, *, show_progress: bool = True) -> dict[str, Any]:
    """``run_robustness`` from the Figure-1 setting ``config.figure1_setting``."""
    return run_robustness(config, config.figure1(), run_dir, show_progress=show_progress)


def describe(result: dict[str, Any]) -> str:
    """The pooled numbers printed at the end."""
    return "\n".join(result_lines(result))


def main(argv: list[str] | None = None) -> Path:
    """``python -m scripts.robustness [--quick] ...``: run (or resume) every draw and print the pooled numbers."""
    return run_experiment(EXPERIMENT, run_setting, describe, argv)
