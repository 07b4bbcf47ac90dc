"""The margin: reward queries that the theory's algorithms need to reach a target test error on tasks built
with ``margin=gamma``, set beside the 1/gamma^2 rate of the theory's bounds.

Each task keeps only contexts whose normalised margin is at least gamma (the teacher and N, k, d fixed).
Each algorithm starts from the uniform model (w = 0, so the base model's likelihood is k^-N for every
gamma and only the margin changes) and runs through the env until the exact test error reaches
``--target-error`` (or the query budget is spent); evaluations on a log-spaced grid give the queries at
which it did to within 5%.

Writes, under the run directory (whose path it prints): ``margin.png`` (queries against gamma on log-log
axes beside 1/gamma^2, per-seed points and medians), ``margin.csv`` (one row per run), ``margin.json`` (the
summary with the fitted exponent of 1/gamma), TensorBoard events under ``tb_margin/`` (step = 1000 gamma)
and every run's folder under ``runs/``. Running the same command again skips finished runs and resumes
interrupted ones.
"""

from __future__ import annotations

import math
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from agents.experiment.cli import Experiment, run_experiment
from agents.experiment.config_checks import ConfigError, check_choices, check_fields
from agents.experiment.settings import task_keywords
from agents.experiment.statistics import interval_or_none, interval_text, point_or_none, power_law_exponent
from agents.experiment.sweep import run_sweep
from agents.experiment.tensorboard import experiment_views
from agents.experiment.theory_jobs import (
    ALGORITHMS,
    TheoryJob,
    query_statistics,
    run_theory_job,
    write_series_events,
    write_table,
)
from seqreward_env import SequenceTask

LABELS = {
    "best_of_m": "Algorithm 1 (best-of-m, outcome)",
    "process_repair": "Algorithm 2 (process repair)",
    "adaptive_pg": "adaptive PG (outcome)",
    "uniform_pg": "uniform-behaviour PG (outcome)",
}

# TensorBoard custom-scalars layout: the runs of the experiment's summary events on shared charts.
CHARTS = {
    "margin: every algorithm": {
        "median queries to the target against 1000 gamma": ["margin/median_queries"],
        "runs that reached the target": ["margin/reached"],
    }
}


@dataclass(frozen=True)
class MarginConfig:
    """Settings of the margin experiment (defaults: the full setting)."""

    margins: tuple[float, ...] = (0.01, 0.02, 0.04, 0.08, 0.16)
    """Margins gamma."""
    seq_len: int = 3
    """N, the response length."""
    vocab_size: int = 3
    """k, the vocabulary size."""
    context_dim: int = 8
    """d, the context dimension."""
    contexts: str = "rademacher"
    """Context distribution ('rademacher' or 'mixture')."""
    task_seed: int = 0
    """Seed of the teacher and the test sets."""
    target_error: float = 0.1
    """Test error 1 - E p(y*|x) each run must reach."""
    algorithms: tuple[str, ...] = ("best_of_m", "process_repair", "adaptive_pg")
    """Algorithms ('best_of_m', 'process_repair', 'adaptive_pg'; the last with the outcome reward)."""
    seeds: int = 5
    """Seeds per margin (contexts and sampling; 0, 1, ...)."""
    rows: int = 4
    """Contexts handled side by side (env rows)."""
    query_budget: int = 2_000_000
    """Reward queries at most per run."""
    test_size: int = 512
    """Contexts in the test set (exact test error)."""
    workers: int = 2
    """Local worker processes."""
    backend: str = "local"
    """'local' or 'ray'."""
    ray_address: str = ""
    """Ray cluster address ('auto' to find one; empty starts a local Ray)."""
    device: str = "cpu"
    """Torch device."""

    def __post_init__(self) -> None:
        check_fields(self)
        check_config(self)


def main(argv: list[str] | None = None) -> Path:
    return run_experiment(EXPERIMENT, argv)


def check_config(config: MarginConfig) -> None:
    """Fail early, with what is allowed, on a bad command line (unreachable margins included)."""
    gammas = list(config.margins)
    if not gammas or min(gammas) <= 0:
        raise ConfigError(f"--margins must be positive numbers, got {config.margins!r}")
    check_choices(config, "algorithms", ALGORITHMS)
    if not 0.0 < config.target_error < 1.0:
        raise ConfigError(f"--target-error must lie in (0, 1), got {config.target_error!r}")
    for gamma in gammas:
        try:
            SequenceTask(**task_kwargs(config, gamma))
        except ValueError as error:
            raise ConfigError(f"--margins: {error}") from None


def task_kwargs(config: MarginConfig, gamma: float) -> dict[str, Any]:
    return task_keywords(config, margin=gamma)


def make_jobs(config: MarginConfig, run_dir: Path) -> dict[tuple[str, float, int], TheoryJob]:
    jobs = {
        (algorithm, gamma, seed): TheoryJob(
            run_dir=str(run_dir / "runs" / algorithm / f"gamma{gamma:g}" / f"seed{seed}"),
            algorithm=algorithm,
            task={**task_kwargs(config, gamma), "reward": "outcome"},  # Algorithm 2 switches to the process reward
            seed=seed,
            max_steps=config.query_budget // config.rows,
            rows=config.rows,
            target_error=config.target_error,
            eval_every=max(1000, config.query_budget // config.rows // 100),
            log_every=100,
            test_size=config.test_size,
            device=config.device,
            show_progress=False,
        )
        for algorithm in list(config.algorithms)
        for gamma in list(config.margins)
        for seed in range(config.seeds)
    }
    return dict(sorted(jobs.items(), key=lambda item: item[0][1]))  # smallest margin first: the slowest start first


def run_margin(config: MarginConfig, run_dir: Path, *, show_progress: bool = True) -> dict[str, Any]:
    """Run every (algorithm, gamma, seed), then write every output from the runs."""
    run_dir.mkdir(parents=True, exist_ok=True)
    jobs = make_jobs(config, run_dir)
    summaries = run_sweep(
        run_theory_job,
        list(jobs.values()),
        backend=config.backend,
        workers=config.workers,
        ray_address=config.ray_address or None,
        description="runs",
        show_progress=show_progress,
    )
    results = dict(zip(jobs, summaries, strict=True))
    rows = [
        {
            "algorithm": algorithm,
            "margin": gamma,
            "seed": seed,
            "inverse_margin_squared": gamma**-2,
            "base_test_error": result["base_test_error"],
            "tries": result["tries"],
            "reached": result["reached"],
            "queries_to_target": result["queries_to_target"],
            "final_test_error": result["final_test_error"],
            "final_reward_queries": result["final_reward_queries"],
            "final_updates": result["final_updates"],
            "agent_reward_queries": result["agent_reward_queries"],
            "env_reward_queries": result["env_reward_queries"],
        }
        for (algorithm, gamma, seed), result in sorted(results.items())
    ]
    write_table(run_dir / "margin.csv", rows)
    gammas = sorted(list(config.margins))
    series: dict[str, dict[str, list[Any]]] = {}
    for algorithm in list(config.algorithms):
        points = [query_statistics([results[algorithm, g, s] for s in range(config.seeds)]) for g in gammas]
        series[algorithm] = {
            "margin": gammas,
            "median_queries": [p["median"] for p in points],
            "geometric_mean_queries": [p["geometric_mean"] for p in points],
            "reached": [p["reached"] for p in points],
            "max_spent": [p["max_spent"] for p in points],
            "inverse_margin_squared": [g**-2 for g in gammas],
        }
    write_series_events(run_dir / "tb_margin", series, "margin", "margin")
    inverse = [1.0 / g for g in gammas]
    exponents = {algorithm: power_law_exponent(inverse, c["median_queries"]) for algorithm, c in series.items()}
    summary = {
        "config": asdict(config),
        "series": series,
        # queries ~ C (1/gamma)^p: the fitted p (the theory's bounds have p = 2)
        "exponent_of_inverse_margin": {a: point_or_none(e) for a, e in exponents.items()},
        "exponent_of_inverse_margin_ci95": {a: interval_or_none(e) for a, e in exponents.items()},
        "queries_match_env": all(r["agent_reward_queries"] == r["env_reward_queries"] for r in results.values()),
    }
    draw(run_dir / "margin.png", config, series, rows)
    experiment_views(run_dir, CHARTS, run_dir / "margin.png")
    return summary


def draw(path: Path, config: MarginConfig, series: dict[str, dict[str, list[Any]]], rows: list[dict[str, Any]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7.5, 5), constrained_layout=True)
    palette = plt.get_cmap("tab10")
    gammas = sorted(list(config.margins))
    for index, (algorithm, curve) in enumerate(series.items()):
        colour = palette(index)
        reached = [r for r in rows if r["algorithm"] == algorithm and r["reached"]]
        missed = [r for r in rows if r["algorithm"] == algorithm and not r["reached"]]
        axis.scatter(
            [r["margin"] for r in reached], [r["queries_to_target"] for r in reached], color=colour, alpha=0.4, s=18
        )
        axis.plot(gammas, [q if q is not None else math.nan for q in curve["median_queries"]], color=colour,
                  marker="o", label=f"{LABELS[algorithm]} (median)")  # fmt: skip
        if missed:
            axis.scatter([r["margin"] for r in missed], [r["final_reward_queries"] for r in missed], color=colour,
                         marker="^", s=40, label="budget spent, target not reached")  # fmt: skip
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


def format_summary(summary: dict[str, Any]) -> str:
    lines = []
    for algorithm, curve in summary["series"].items():
        exponent = summary["exponent_of_inverse_margin"][algorithm]
        interval = interval_text(summary["exponent_of_inverse_margin_ci95"][algorithm])
        fitted = "no fit" if exponent is None else f"queries ~ (1/gamma)^{exponent:.2f}{interval}"
        lines.append(f"{LABELS[algorithm]}: {fitted}")
        for gamma, median, reached in zip(curve["margin"], curve["median_queries"], curve["reached"], strict=True):
            shown = "-" if median is None else f"{median:.0f}"
            lines.append(
                f"  gamma={gamma:<6g} median queries {shown:>9} ({reached} reached)  1/gamma^2={gamma**-2:.0f}"
            )
    lines.append(f"agent query counts equal the env's: {summary['queries_match_env']}")
    return "\n".join(lines)


QUICK = replace(MarginConfig(), margins=(0.02, 0.04, 0.08, 0.16), seeds=3, query_budget=200_000, test_size=256)


EXPERIMENT = Experiment(
    name="margin",
    description=__doc__ or "",
    config_class=MarginConfig,
    quick=QUICK,
    check=check_config,
    run=run_margin,
    describe=format_summary,
    outputs=("margin.png", "margin.csv"),
    folders=("runs", "tb_margin"),
)


if __name__ == "__main__":
    main(sys.argv[1:])
