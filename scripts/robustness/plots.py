"""The robustness experiment's figure and TensorBoard scalars, from the pooled numbers: per optimiser and
reward, the fraction of off-support (context, seed) pairs lifted and the final test error, each with its 95%
interval over draws."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scripts.figure1 import analysis
from scripts.robustness.settings import RobustnessConfig

OPTIMIZERS = ("adagrad", "sgd")


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
