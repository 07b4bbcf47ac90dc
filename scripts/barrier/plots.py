"""The barrier experiment's figure: (left) reward queries to the target against N on a log scale beside
k^N and N k, per-seed points and medians of both algorithms; (right) process repair on a linear scale."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from scripts.barrier.settings import ALGORITHMS
from scripts.common.query_plots import plot_missed, plot_reached

COLOURS = {"best_of_m": "tab:red", "process_repair": "tab:blue"}


def draw(
    path: Path, config: Any, series: Mapping[str, Mapping[str, list[Any]]], rows: Sequence[Mapping[str, Any]]
) -> None:
    """Write the figure to ``path`` from the curves (``barrier_analysis.query_series``) and the table rows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8), constrained_layout=True)
    lengths = list(config.seq_lens)
    for algorithm, curve in series.items():
        colour = COLOURS[algorithm]
        runs = [row for row in rows if row["algorithm"] == algorithm]
        for axis in (left, right) if algorithm == "process_repair" else (left,):
            plot_reached(axis, runs, "seq_len", curve, colour, ALGORITHMS[algorithm])
        plot_missed(left, runs, "seq_len", colour)
    left.plot(lengths, [config.vocab_size**n for n in lengths], color="grey", linestyle="--", label="k^N")
    left.plot(lengths, [n * config.vocab_size for n in lengths], color="grey", linestyle=":", label="N k")
    left.set_yscale("log")
    left.set_title(f"reward queries to test error {config.target_error:g} (log scale)")
    right.set_title("process repair on a linear scale")
    for axis in (left, right):
        axis.set_xlabel("response length N")
        axis.set_ylabel("reward queries")
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    right.set_ylim(bottom=0)
    figure.suptitle(
        f"k={config.vocab_size}, d={config.context_dim}, mixture of {config.num_components}, margin {config.margin:g}; "
        f"base models with mean token probability {config.token_probability:g}; {config.seeds} seeds, "
        f"m {'= ' + str(config.tries) if config.tries else 'from the LQ'}"
    )
    figure.savefig(path, dpi=120)
    plt.close(figure)
