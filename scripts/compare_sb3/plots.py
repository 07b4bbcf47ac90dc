"""The SB3-against-PG comparison's figure (test error against environment steps and against reward queries,
and the test errors at the two equal budgets) and its TensorBoard curves, drawn from the stacked curves."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from agents.analysis.statistics import mean_interval
from scripts.compare_sb3.analysis import LABELS, Curve
from scripts.compare_sb3.settings import METHODS, CompareSB3Config

# TensorBoard custom-scalars layout: the runs of the experiment's summary events on shared charts.
CHARTS = {
    "compare_sb3: every method": {
        "test error against env steps": ["compare/test_error_vs_env_steps"],
        "test error against reward queries": ["compare/test_error_vs_reward_queries"],
    }
}


def write_curve_events(path: Path, curves: dict[str, dict[str, Curve]]) -> None:
    """TensorBoard events under ``path``, one folder per reward and method: the mean test error over the seeds
    against environment steps and against reward queries (redrawn from the runs on every call)."""
    from torch.utils.tensorboard import SummaryWriter

    shutil.rmtree(path, ignore_errors=True)
    for reward, by_method in curves.items():
        for method, curve in by_method.items():
            events = SummaryWriter(str(path / reward / method))
            mean, _ = mean_interval(curve["test_error"])
            for steps, queries, m in zip(curve["env_steps"], curve["reward_queries"], mean, strict=True):
                events.add_scalar("compare/test_error_vs_env_steps", m, int(steps))
                events.add_scalar("compare/test_error_vs_reward_queries", m, int(queries))
            events.close()


def draw(path: Path, config: CompareSB3Config, summary: dict[str, Any], curves: dict[str, dict[str, Curve]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (by_steps, by_queries, bars) = plt.subplots(1, 3, figsize=(19, 5))
    colours = {method: plt.get_cmap("tab10")(index) for index, method in enumerate(METHODS)}
    styles = {"outcome": "--", "process": "-"}
    for reward, by_method in curves.items():
        for method, curve in by_method.items():
            mean, half_width = mean_interval(curve["test_error"])
            rate = summary["results"][reward][method]["learning_rate"]
            label = f"{LABELS[method]}, {reward} (lr {rate:g})"
            for axis, x in ((by_steps, curve["env_steps"]), (by_queries, curve["reward_queries"])):
                axis.plot(x, mean, styles[reward], color=colours[method], label=label)
                axis.fill_between(x, mean - half_width, mean + half_width, color=colours[method], alpha=0.15)
    by_steps.axvline(summary["equal_env_steps"], color="grey", linestyle=":")
    by_queries.axvline(summary["query_budget"], color="grey", linestyle=":")
    clusters = [(budget, reward) for budget in ("equal_env_steps", "equal_reward_queries") for reward in curves]
    width = 0.8 / max(1, len(METHODS))
    for index, (budget, reward) in enumerate(clusters):
        for offset, (method, row) in enumerate(summary["results"][reward].items()):
            bars.bar(
                index + (offset - (len(summary["results"][reward]) - 1) / 2) * width,
                row[budget]["test_error_mean"],
                width,
                yerr=row[budget]["test_error_ci95"],
                color=colours[method],
                hatch="//" if reward == "outcome" else "",
                capsize=3,
                label=LABELS[method] if index == 0 else None,
            )
    names = {"equal_env_steps": f"{summary['equal_env_steps']} env steps", "equal_reward_queries": "all queries"}
    bars.set_xticks(range(len(clusters)), [f"{reward}\nat {names[budget]}" for budget, reward in clusters], fontsize=8)
    bars.set_ylabel("1 - E p(y*|x)")
    bars.legend(fontsize=7)
    bars.set_title(f"test error at {summary['equal_env_steps']} env steps and at {summary['query_budget']} queries")
    by_steps.set_xlabel("environment steps")
    by_queries.set_xlabel("reward queries")
    for axis, title in ((by_steps, "test error vs environment steps"), (by_queries, "test error vs reward queries")):
        axis.set_title(f"{title} (mean, 95% t-interval, {config.seeds} seeds)")
        axis.set_ylabel("1 - E p(y*|x)")
        axis.set_yscale("log")
        axis.legend(fontsize=7)
    for axis in (by_steps, by_queries, bars):
        axis.grid(alpha=0.3)
    figure.suptitle(
        f"N={config.seq_len}, k={config.vocab_size}, d={config.context_dim}, mixture of {config.num_components}, "
        f"rewards -1/+1; every method from the (nearly) uniform policy; learning rates tuned per method"
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
