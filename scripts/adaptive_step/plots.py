"""The adaptive-step experiment's figure: Algorithm 2's reward queries to the target against N per (policy,
step scale), per-seed points and medians, beside N k; (left) log scale, (right) linear scale."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from scripts.adaptive_step.analysis import variant_label
from scripts.common.query_plots import plot_missed, plot_reached


def draw(path: Path, config: Any, series: Mapping[str, Mapping[str, Any]], rows: Sequence[Mapping[str, Any]]) -> None:
    """Write the figure to ``path`` from the curves (``adaptive_step_analysis.variant_series``) and the rows;
    ``config``: the barrier experiment's settings of the transformer (``adaptive_step_jobs.barrier_settings``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8), constrained_layout=True)
    palette = plt.get_cmap("tab10")
    lengths = list(config.seq_lens)
    for index, curve in enumerate(series.values()):
        colour = palette(index)
        runs = [r for r in rows if (r["policy"], r["step_scale"]) == (curve["policy"], curve["step_scale"])]
        for axis in (left, right):
            plot_reached(axis, runs, "seq_len", curve, colour, variant_label(curve["policy"], curve["step_scale"]))
            plot_missed(axis, runs, "seq_len", colour)
    for axis in (left, right):
        axis.plot(lengths, [n * config.vocab_size for n in lengths], color="grey", linestyle=":", label="N k")
        axis.set_xlabel("response length N")
        axis.set_ylabel(f"reward queries to test error {config.target_error:g}")
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    left.set_yscale("log")
    left.set_title("log scale")
    right.set_title("linear scale")
    right.set_ylim(bottom=0)
    figure.suptitle(
        f"Algorithm 2 with the step c / (4 + 2 ||g||^2) per verified token\nk={config.vocab_size}, "
        f"d={config.context_dim}, margin {config.margin:g}; base models with mean token probability "
        f"{config.token_probability:g}; transformer {config.hidden} wide, {config.layers} block(s); "
        f"{config.seeds} seeds"
    )
    figure.savefig(path, dpi=120)
    plt.close(figure)
