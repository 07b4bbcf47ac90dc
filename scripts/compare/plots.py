"""The comparison's figure and TensorBoard views, drawn from the curves and summary of the analysis: per
reward, the test error against reward queries with 95% bands, the final test error with 95% intervals, the
gradient's trace variance and SNR against queries, and the paired trace variance on the same batches."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from agents.analysis.statistics import mean_interval
from scripts.compare.analysis import PAIRED, label, pooled_ratios
from scripts.compare.jobs import VARIANTS

# TensorBoard custom-scalars layout: the runs of the experiment's summary events on shared charts.
CHARTS = {
    "compare: every method": {
        "test error against reward queries": ["compare/test_error"],
        "gradient trace variance": ["compare/trace_variance"],
        "SNR": ["compare/snr"],
        "learning rate": ["compare/learning_rate"],
    }
}


def smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Moving average along the last axis (edges averaged over what exists; non-finite values skipped)."""
    if window <= 1:
        return values
    kernel = np.ones(window)
    padded = np.nan_to_num(values, nan=0.0, posinf=0.0)
    counts = np.convolve(np.isfinite(values).astype(float), kernel, mode="same")
    return np.convolve(padded, kernel, mode="same") / np.maximum(counts, 1)


def write_curve_events(folder: Path, rows: list[dict[str, Any]]) -> None:
    """TensorBoard events under ``folder``, one run per reward and method: each quantity's mean over seeds
    against reward queries (``compare/<quantity>``), from the rows of ``compare_analysis.curve_rows``; a
    diagnostic with no finite mean at a point is left out there."""
    from torch.utils.tensorboard import SummaryWriter

    shutil.rmtree(folder, ignore_errors=True)  # redrawn from the runs on every call
    writers: dict[tuple[str, str], Any] = {}
    for row in rows:
        key = (row["reward"], row["method"])
        if key not in writers:
            writers[key] = SummaryWriter(str(folder / row["reward"] / row["method"]))
        if row["quantity"] == "test_error" or np.isfinite(row["mean"]):
            writers[key].add_scalar(f"compare/{row['quantity']}", row["mean"], row["reward_queries"])
    for writer in writers.values():
        writer.close()


def draw(path: Path, config: Any, summary: dict[str, Any], curves: Mapping[str, Mapping[str, Any]]) -> None:
    """compare.png: one row of five panels per reward (see the module's docstring)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    rewards = list(curves)
    figure, axes = plt.subplots(len(rewards), 5, figsize=(25, 4.6 * len(rewards)), squeeze=False)
    palette = plt.get_cmap("tab10")
    colours = {method: palette(index % 10) for index, method in enumerate(VARIANTS)}
    for row, reward in zip(axes, rewards, strict=True):
        methods = list(curves[reward])
        for method in methods:
            curve, colour = curves[reward][method], colours[method]
            name = f"{label(method)} (lr {summary['results'][reward][method]['learning_rate']:g})"
            mean, half_width = mean_interval(curve["test_error"])
            row[0].plot(curve["eval_queries"], mean, color=colour, label=name)
            row[0].fill_between(curve["eval_queries"], mean - half_width, mean + half_width, color=colour, alpha=0.15)
            window = max(1, len(curve["step_queries"]) // 15)
            for axis, quantity in ((row[2], "trace_variance"), (row[3], "snr")):
                values = np.where(np.isfinite(curve[quantity]), curve[quantity], np.nan)
                axis.plot(curve["step_queries"], smooth(np.nanmean(values, axis=0), window), color=colour, label=name)
        finals = [summary["results"][reward][m] for m in methods]
        row[1].bar(
            range(len(methods)),
            [f["final_test_error_mean"] for f in finals],
            yerr=[f["final_test_error_ci95"] for f in finals],
            color=[colours[m] for m in methods],
            capsize=4,
        )
        row[1].set_xticks(range(len(methods)), [label(m) for m in methods], rotation=30, ha="right")
        paired = [pooled_ratios(curves[reward], estimator) for estimator in PAIRED]
        row[4].boxplot([p[np.isfinite(p) & (p > 0)] for p in paired], showfliers=False)
        row[4].set_xticks([1, 2], ["OBLR-PO baseline / RLOO", "no baseline / RLOO"])
        row[4].axhline(1.0, color="grey", linestyle="--")
        row[4].set_yscale("log")
        titles = (
            f"{reward}: test error vs reward queries (95% CI, {config.seeds} seeds)",
            "final test error (95% CI)",
            "trace variance of the gradient estimate",
            "SNR = ||g||^2 / (tr Cov / B)",
            "paired trace variance, same batches",
        )
        for axis, title in zip(row, titles, strict=True):
            axis.set_title(title)
            axis.grid(alpha=0.3)
        for axis in row[[0, 2, 3]]:
            axis.set_xlabel("reward queries")
            axis.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value / 1000:g}k"))  # 614400: 614.4k
            axis.set_yscale("log")
        row[0].set_ylabel("1 - E p(y*|x)")
        row[0].legend(fontsize=8)
    grid = ", ".join(f"{rate:g}" for rate in config.learning_rates)
    figure.suptitle(
        f"N={config.seq_len}, k={config.vocab_size}, d={config.context_dim}, B={config.num_contexts} contexts x "
        f"G={config.group_size} responses per step, {config.optimizer.upper()}; base model test error "
        f"{summary['base_test_error']:.3f}; learning rate tuned per method on {{{grid}}}"
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
