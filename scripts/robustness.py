"""Figure 1 over many draws of the task: does the paper's picture hold beyond one teacher?

For each draw (the official code's teacher and test set for task seed 0, 1, ..., each with its own
pre-training seed) the Figure-1 job runs PG with ORM and PRM from the draw's base model over a few PG
seeds, with Adagrad (the paper's optimiser) and with plain SGD (whose first step, unlike Adagrad's, does
not move every coordinate by the full learning rate whatever the gradient's size). Every off-support
context of every draw is pooled: per optimiser and reward, the fraction of (context, PG seed) pairs
lifted above 1/2 with a 95% bootstrap interval over draws, and the final test error with one.

Writes ``robustness.json``, ``robustness.csv`` (one row per draw, optimiser and reward),
``robustness.png`` and TensorBoard scalars in the run folder; each draw's Figure-1 folders lie beneath
it, so the same command resumes.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as ``python scripts/robustness.py``: make ``scripts`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.common.config_checks import check_fields
from agents.common.seeding import derive_seed
from agents.common.threads import limit_threads
from agents.experiment.cli import command_line, experiment_folder
from scripts import figure1, figure1_jobs
from scripts import figure1_analysis as analysis


@dataclass(frozen=True)
class RobustnessConfig:
    """Settings of the robustness experiment (the Figure-1 settings apply to every draw)."""

    draws: int = 8
    """Task draws (official-code teacher and test set for task seeds 0 .. draws - 1)."""
    seeds: int = 2
    """PG seeds per draw, reward and optimiser."""
    pg_steps: int = 4000
    """PG steps per run."""
    adagrad_learning_rate: float = 0.1
    """Adagrad's learning rate (the paper's)."""
    sgd_learning_rate: float = 10.0
    """Plain SGD's learning rate (the loss is a mean over batch and tokens, so its gradient is small)."""
    seed: int = 0
    """Root seed: each draw's pre-training and PG seeds derive from (seed, draw)."""
    workers: int = 2
    """Processes for each draw's PG runs."""

    def __post_init__(self) -> None:
        check_fields(self)  # types, the seed in [0, 2^63), every count >= 1, rates > 0


QUICK = RobustnessConfig(draws=3, seeds=2, pg_steps=150)


def main(argv: list[str] | None = None) -> Path:
    argv = list(sys.argv[1:] if argv is None else argv)
    quick = "--quick" in argv
    config, args = command_line(
        RobustnessConfig,
        QUICK if quick else RobustnessConfig(),
        argv,
        description=__doc__ or "",
        prog="robustness.py",
        quick_help="Figure 1's quick setting over 3 draws",
        run_dir_help="run folder (default runs/robustness/<setting>)",
    )
    limit_threads(1)
    base = figure1.QUICK if args.quick else figure1.Figure1Config()
    run_dir = args.run_dir or Path("runs") / "robustness" / ("quick" if args.quick else "paper")
    written = ("robustness.png", "robustness.json", "robustness.csv", "tb", *(f"draw{d}" for d in range(config.draws)))
    started = time.perf_counter()
    with experiment_folder(run_dir, "robustness", written, fresh=args.fresh):
        print(f"robustness run folder: {run_dir}", flush=True)
        result = run_robustness(config, base, run_dir, show_progress=not args.no_progress)
    for line in result_lines(result):
        print(line)
    print(f"wrote {run_dir / 'robustness.png'}, .json and .csv in {time.perf_counter() - started:.0f} s")
    return run_dir


OPTIMIZERS = ("adagrad", "sgd")


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


def draw_pooled(path: Path, pooled: dict[str, Any], config: RobustnessConfig) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (lifted, errors) = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    colours = {"orm": "tab:red", "prm": "tab:blue"}
    width = 0.35
    for offset, name in zip((-width / 2, width / 2), analysis.REWARD_NAMES, strict=True):
        for position, optimizer in enumerate(OPTIMIZERS):
            entry = pooled[optimizer][name]
            for axis, value, interval in (
                (lifted, entry["lifted_fraction"], entry["lifted_interval"]),
                (errors, entry["test_error"], entry["test_error_interval"]),
            ):
                axis.bar(
                    position + offset,
                    value,
                    width,
                    color=colours[name],
                    label=name.upper() if position == 0 else None,
                    yerr=[[value - interval[0]], [interval[1] - value]],
                    capsize=4,
                )
    for axis, title in (
        (lifted, "off-support contexts lifted above 1/2\n(fraction of (context, seed) pairs, 95% CI over draws)"),
        (errors, "final test error\n(mean over draws, 95% CI)"),
    ):
        axis.set_xticks(range(len(OPTIMIZERS)), OPTIMIZERS)
        axis.set_title(title, fontsize=10)
        axis.legend()
        axis.grid(alpha=0.3, axis="y")
    lifted.set_ylim(0, 1.05)
    figure.suptitle(f"Figure 1 over {config.draws} draws of the task, {config.seeds} PG seeds each")
    figure.savefig(path, dpi=110)
    plt.close(figure)


def log_pooled(run_dir: Path, pooled: dict[str, Any]) -> None:
    """The pooled statistics as TensorBoard scalars (one tag per optimiser, reward and statistic)."""
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(run_dir / "tb"))
    for optimizer, entries in pooled.items():
        for name in analysis.REWARD_NAMES:
            entry = entries[name]
            writer.add_scalar(f"robustness/{optimizer}/{name}/lifted_fraction", entry["lifted_fraction"], 0)
            writer.add_scalar(f"robustness/{optimizer}/{name}/final_test_error", entry["test_error"], 0)
    writer.close()


if __name__ == "__main__":
    main(sys.argv[1:])
