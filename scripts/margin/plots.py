"""The margin experiment's figure: reward queries to the target against gamma on log-log axes beside
1/gamma^2, per-seed points and the median of every algorithm."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from scripts.common.query_plots import plot_missed, plot_reached
from scripts.margin.analysis import LABELS


def draw(
    path: Path, config: Any, series: Mapping[str, Mapping[str, list[Any]]], rows: Sequence[Mapping[str, Any]]
) -> None:
    """Write the figure to ``path`` from the curves (``margin_analysis.query_series``) and the table rows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7.5, 5), constrained_layout=True)
    palette = plt.get_cmap("tab10")
    gammas = sorted(list(config.margins))
    for index, (algorithm, curve) in enumerate(series.items()):
        colour = palette(index)
        runs = [row for row in rows if row["algorithm"] == algorithm]
        plot_reached(axis, runs, "margin", curve, colour, LABELS[algorithm])
        plot_missed(axis, runs, "margin", colour)
    axis.plot(gammas, [g**-2 for g in gammas], color="grey", linestyle="--", label="1/gamma^2")
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.set_xlabel("margin gamma")
    axis.set_ylabel(f"reward queries to test error {config.target_error:g}")
    axis.grid(alpha=0.3, which="both")
    axis.legend(fontsize=8)
    axis.set_title(
        f"N={config.seq_len}, k={config.vocab_size}, d={config.context_dim}, {config.contexts} contexts; "
        f"from w = 0; {config.seeds} seeds",
        fontsize=10,
    )
    figure.savefig(path, dpi=120)
    plt.close(figure)
