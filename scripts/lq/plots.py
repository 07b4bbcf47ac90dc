"""The LQ experiment's figure: per level (rows: sequence, token) the CDF of the log10 likelihoods at every
checkpoint, LQ(eps) on a fine eps grid at every checkpoint, and LQ at the chosen eps along pre-training."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from scripts.lq.analysis import LEVELS, Likelihoods, log10_quantile


def draw(path: Path, config: Any, likelihoods: Likelihoods, grid: np.ndarray, summary: dict[str, Any]) -> None:
    """Write the figure to ``path`` from the saved likelihoods, the eps ``grid`` and the summary
    (``lq_analysis.summarize``); ``config`` is the experiment's ``LQConfig``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import cm, colors

    steps = list(likelihoods)
    norm = colors.Normalize(vmin=0, vmax=max(steps))
    colour_map = matplotlib.colormaps["viridis"]
    figure, axes = plt.subplots(2, 3, figsize=(18, 9), constrained_layout=True)
    names = {"sequence": "sequence level p(y*|x)", "token": "token level min_i p(y*_i | x, y*_<i)"}
    for row, level in zip(axes, LEVELS, strict=True):
        for step in steps:
            values = np.sort(likelihoods[step][level])
            colour = colour_map(norm(step))
            row[0].step(values, np.arange(1, len(values) + 1) / len(values), where="post", color=colour)
            lq = [log10_quantile(values, float(eps)) for eps in grid]
            row[1].plot(grid, lq, color=colour)
        for index, eps in enumerate(summary["log10_lq"][level]):
            row[2].plot(steps, summary["log10_lq"][level][eps], marker="o", label=f"eps = {eps}", color=f"C{index}")
        row[0].set_title(f"CDF of the {names[level]}")
        row[0].set_xlabel("log10 likelihood a")
        row[0].set_ylabel("P(p <= a)")
        row[1].set_title(f"likelihood quantile LQ(eps), {level} level")
        row[1].set_xlabel("eps")
        row[1].set_xscale("log")
        row[1].set_ylabel("log10 LQ(eps)")
        row[2].set_title(f"LQ(eps) along pre-training, {level} level")
        row[2].set_xlabel("pre-training step")
        row[2].set_ylabel("log10 LQ(eps)")
        row[2].legend()
        for axis in row:
            axis.grid(alpha=0.3)
        figure.colorbar(cm.ScalarMappable(norm=norm, cmap=colour_map), ax=row[1], label="pre-training step")
    figure.suptitle(
        f"base models along pre-training: N={config.seq_len}, k={config.vocab_size}, d={config.context_dim}, "
        f"{config.contexts} contexts, Adagrad lr {config.learning_rate:g}, batch {config.batch_size}, "
        f"{config.num_contexts} contexts"
    )
    figure.savefig(path, dpi=110)
    plt.close(figure)
