"""The mistakes experiment's figure and TensorBoard summary: mistakes against N and against gamma with the
bound's rate k^N / gamma^2 beside them, and the cumulative mistakes over rounds of one series' sweep in N."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np


def write_tensorboard(run_dir: Path, series: Mapping[str, Any]) -> None:
    """tb_mistakes/<reward>_zeta<z>: mean mistakes and the rate against N (step N) and against gamma (step
    1000 gamma), redrawn from the runs on every call."""
    from torch.utils.tensorboard import SummaryWriter

    shutil.rmtree(run_dir / "tb_mistakes", ignore_errors=True)
    for curve in series.values():
        events = SummaryWriter(str(run_dir / "tb_mistakes" / f"{curve['reward']}_zeta{curve['zeta']:g}"))
        for p in curve["by_seq_len"]:
            events.add_scalar("mistakes/against_seq_len", p["mistakes_mean"], p["seq_len"])
            events.add_scalar("rate/against_seq_len", p["rate"], p["seq_len"])
        for p in curve["by_gamma"]:
            events.add_scalar("mistakes/against_1000_gamma", p["mistakes_mean"], round(1000 * p["gamma"]))
            events.add_scalar("rate/against_1000_gamma", p["rate"], round(1000 * p["gamma"]))
        events.close()


def draw(path: Path, config: Any, series: Mapping[str, Any], cumulative: Mapping[str, Any]) -> None:
    """Write the figure to ``path`` from the series (``mistakes_analysis.group_series``) and the cumulative
    mistakes of the first series' sweep in N (``mistakes_jobs.read_cumulative_mistakes``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (by_n, by_gamma, over_rounds) = plt.subplots(1, 3, figsize=(19, 5.2), constrained_layout=True)
    for index, (name, curve) in enumerate(series.items()):
        colour = f"C{index}"
        for axis, points, key in ((by_n, curve["by_seq_len"], "seq_len"), (by_gamma, curve["by_gamma"], "gamma")):
            x = [p[key] for p in points]
            mean = np.array([p["mistakes_mean"] for p in points])
            spread = [mean - [p["mistakes_min"] for p in points], [p["mistakes_max"] for p in points] - mean]
            axis.errorbar(x, mean, yerr=spread, marker="o", capsize=3, color=colour, label=f"{name} (min-max)")
    first = next(iter(series.values()))
    for axis, points, key in ((by_n, first["by_seq_len"], "seq_len"), (by_gamma, first["by_gamma"], "gamma")):
        axis.plot([p[key] for p in points], [p["rate"] for p in points], "k--", label="k^N / gamma^2")
        axis.set_yscale("log")
        axis.set_ylabel("mistakes until converged")
        axis.grid(alpha=0.3, which="both")
        axis.legend(fontsize=8)
    by_n.set_xlabel("N")
    by_n.set_xticks(list(config.seq_lens))
    by_n.set_title(f"mistakes against N (k={config.vocab_size}, gamma={config.margin:g})")
    by_gamma.set_xscale("log")
    by_gamma.set_xlabel("gamma")
    by_gamma.set_title(f"mistakes against gamma (k={config.vocab_size}, N={config.margin_seq_len})")
    lengths = list(config.seq_lens)
    colour_map = matplotlib.colormaps["viridis"]
    for run in cumulative["runs"]:
        shade = colour_map(lengths.index(run["seq_len"]) / max(1, len(lengths) - 1))
        over_rounds.plot(run["step"], run["mistakes"], color=shade, alpha=0.7,
                         label=f"N={run['seq_len']}" if run["seed"] == 0 else None)  # fmt: skip
    over_rounds.set_xscale("log")
    over_rounds.set_yscale("log")
    over_rounds.set_xlabel("round (contexts seen)")
    over_rounds.set_ylabel("cumulative mistakes")
    over_rounds.set_title(
        f"cumulative mistakes, {cumulative['reward']} reward, zeta={cumulative['zeta']:g}, every seed"
    )
    over_rounds.grid(alpha=0.3, which="both")
    over_rounds.legend(fontsize=8)
    figure.suptitle(
        f"online learning from w = 0 with a uniform behaviour: d={config.context_dim}, {config.contexts} contexts, "
        f"{config.seeds} seeds; a run stops when every test answer is right (at most {config.max_rounds} rounds)"
    )
    figure.savefig(path, dpi=110)
    plt.close(figure)
