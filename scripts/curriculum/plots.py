"""The curriculum experiment's figure: (left) reward queries to the test error target against N per method on a
log scale beside k^N, censored medians as lines, every run as a point (a triangle at the queries it spent where
it did not reach the target: a lower bound); (right) the same for lifting the off-support contexts, which a run
can miss by stopping at the test-error target first; (third) the exact pass@k at the end against k at the longest
N, mean over the runs, beside the base models'."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from scripts.curriculum.settings import METHODS

COLOURS = {
    "orm": "tab:red",
    "orm_dynamic_sampling": "tab:orange",
    "orm_difficulty_filter": "tab:olive",
    "orm_oracle_filter": "tab:brown",
    "orm_hint_curriculum": "tab:purple",
    "orm_adaptive_curriculum": "tab:pink",
    "prm": "tab:blue",
    "prm_curriculum": "tab:cyan",
}


def draw(
    path: Path, config: Any, series: Mapping[str, Mapping[str, list[Any]]], rows: Sequence[Mapping[str, Any]]
) -> None:
    """Write the figure to ``path`` from the curves (``analysis.method_curves``) and the table rows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 3, figsize=(20, 5.5), constrained_layout=True)
    budget = config.query_budget
    for method, curve in series.items():
        colour = COLOURS[method]
        runs = [row for row in rows if row["method"] == method]
        for axis, median_key, query_key, censored_key in (
            (axes[0], "median_queries", "queries_to_target", "censored"),
            (axes[1], "median_queries_to_lift", "queries_to_lift", "lift_censored"),
        ):
            shift = 0.12 * (list(COLOURS).index(method) - len(COLOURS) / 2)  # side by side, not on top
            done = [row for row in runs if row[censored_key] is False]
            missed = [row for row in runs if row[censored_key] is True]
            axis.scatter(
                [r["seq_len"] + shift for r in done], [r[query_key] for r in done], color=colour, s=10, alpha=0.4
            )
            spent = [r["final_reward_queries"] for r in missed]  # a lower bound on the queries the target needs
            axis.scatter([r["seq_len"] + shift for r in missed], spent, color=colour, marker="^", s=24)
            medians = [math.nan if value is None else value for value in curve[median_key]]
            axis.plot(curve["seq_len"], medians, color=colour, marker="o", label=METHODS[method])
    lengths = list(config.seq_lens)
    draw_pass_at_k(axes[2], series, lengths[-1])
    for axis in axes[:2]:
        axis.plot(lengths, [config.vocab_size**n for n in lengths], color="grey", linestyle="--", label="k^N")
        axis.axhline(budget, color="black", linewidth=0.8, linestyle=":", label="query budget")
        axis.set_yscale("log")
        spent = max([budget, *(row["final_reward_queries"] for row in rows)])
        axis.set_ylim(top=3 * spent)  # k^N leaves the chart at long N rather than flatten every run's point
        axis.set_xlabel("response length N")
        axis.set_ylabel("reward queries")
        axis.grid(alpha=0.3)
    axes[0].set_title(f"queries to test error {config.target_error:g}")
    axes[1].set_title(
        f"queries until {config.lifted_share:g} of the off-support contexts (p0 < {config.off_support_below:g}) "
        f"exceed p = {config.lifted_above:g}",
        fontsize=9,
    )
    axes[0].legend(fontsize=7, title="triangles: target not reached, at the queries spent", title_fontsize=7)
    figure.suptitle(
        f"k={config.vocab_size}, d={config.context_dim}, margin {config.margin:g}, base token probability "
        f"{config.token_probability:g}; {len(config.task_seeds)} task draws x {config.seeds} seeds; B={config.num_contexts}, "
        f"G={config.group_size}"
    )
    figure.savefig(path, dpi=110)
    plt.close(figure)


def draw_pass_at_k(axis: Any, series: Mapping[str, Mapping[str, list[Any]]], seq_len: int) -> None:
    """Exact pass@k at the end against k (log scale) at ``seq_len``: each method's mean over its runs and the
    base models' mean (dashed)."""
    first = next(iter(series.values()))
    index = list(first["seq_len"]).index(seq_len)
    columns = [key[len("mean_") :] for key in first if key.startswith("mean_pass@")]
    ks = [int(column.split("@")[1]) for column in columns]
    for method, curve in series.items():
        means = [curve[f"mean_{column}"][index] for column in columns]
        axis.plot(ks, means, color=COLOURS[method], marker="o", label=METHODS[method])
    if all(f"mean_base_{column}" in first for column in columns):
        base = [first[f"mean_base_{column}"][index] for column in columns]
        axis.plot(ks, base, color="black", linestyle="--", label="base model")
    axis.set_xscale("log", base=2)
    axis.set_ylim(-0.02, 1.02)
    axis.set_xlabel("k (samples per context)")
    axis.set_ylabel("exact pass@k on the test set")
    axis.set_title(f"pass@k where each run stopped (target or budget), N = {seq_len}", fontsize=9)
    axis.legend(fontsize=7)
    axis.grid(alpha=0.3)
