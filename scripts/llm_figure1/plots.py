"""The LLM Figure 1's figure: test error and off-support likelihood against reward queries for every method and
seed, and the share of off-support contexts each method lifted."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from scripts.llm_figure1.analysis import Record, curve  # noqa: E402

COLOURS = ("tab:red", "tab:green", "tab:blue", "tab:olive", "tab:brown", "tab:orange", "tab:cyan", "tab:purple")


def draw(
    path: Path, runs: Mapping[str, Sequence[Sequence[Record]]], rows: Sequence[Mapping[str, Any]], title: str
) -> None:
    """Write the three-panel figure to ``path``."""
    figure, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for colour, (name, seeds) in zip(COLOURS, runs.items(), strict=False):
        for index, run in enumerate(seeds):
            label = name if index == 0 else None
            axes[0].plot(*curve(run, "eval/test_error"), color=colour, alpha=0.8, label=label)
            if "eval/off_support_likelihood" in run[-1]:
                axes[1].plot(*curve(run, "eval/off_support_likelihood"), color=colour, alpha=0.8, label=label)
    for ax, ylabel in zip(axes[:2], ("test error 1 - E p(y*|x)", "mean off-support p(y*|x)"), strict=True):
        ax.set_xscale("symlog", linthresh=1000)
        ax.set_xlabel("reward queries")
        ax.set_ylabel(ylabel)
    axes[0].legend(fontsize=8)
    names = [row["method"] for row in rows]
    means = [row["lifted"]["mean"] for row in rows]
    errors = [
        [row["lifted"]["mean"] - row["lifted"]["min"] for row in rows],
        [row["lifted"]["max"] - row["lifted"]["mean"] for row in rows],
    ]
    axes[2].bar(range(len(rows)), means, yerr=errors, color=COLOURS[: len(rows)], capsize=3)
    axes[2].set_xticks(range(len(rows)), names, rotation=25, ha="right", fontsize=8)
    axes[2].set_ylabel("off-support contexts lifted (p > 1/2)")
    axes[2].set_ylim(0, 1)
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
