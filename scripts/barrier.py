"""The base model barrier in N: reward queries that Algorithm 1 (best-of-m, outcome reward) and Algorithm 2
(process repair, process reward) need to reach a target test error, as the response length N grows.

For each N and seed a base model is pre-trained (Adagrad on (x, y*)) until its mean next-token probability
of y* on the test set reaches ``--token-probability``: the same per-token quality for every N, so its
likelihood of whole answers falls geometrically in N. From it, each algorithm runs through the env, with
the paper's m (or ``--tries``), until the exact test error reaches ``--target-error`` (or the query budget
is spent); evaluations on a log-spaced grid give the queries at which it did to within 5%. The theory:
the outcome reward needs queries growing like 1/LQ, geometric in N (up to k^N); the process reward like the
token-level LQ, at most linear in N (about N k).

Writes, under the run directory (whose path it prints): ``barrier.png`` (queries against N on a log scale
beside k^N and N k, per-seed points and medians; process queries on a linear scale), ``barrier.csv`` (one
row per run), ``barrier.json`` (the summary with fitted growth), TensorBoard events under ``tb_barrier/``
and every run's folder (config, metrics, events, checkpoints) under ``runs/``. Running the same command
again skips finished runs and resumes interrupted ones.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from agents.experiment.cli import Experiment, run_experiment
from agents.experiment.config_checks import ConfigError, check_choices, check_fields
from agents.experiment.settings import task_keywords
from agents.experiment.statistics import (
    growth_per_token,
    interval_or_none,
    interval_text,
    point_or_none,
    power_law_exponent,
)
from agents.experiment.sweep import run_sweep
from agents.experiment.tensorboard import experiment_views
from agents.experiment.theory_jobs import (
    RESULT,
    PretrainJob,
    TheoryJob,
    pretrain_base_model,
    query_statistics,
    run_theory_job,
    write_series_events,
    write_table,
)
from agents.learners.pretrain import PretrainConfig
from agents.policy.networks import PolicyChoice, PolicyFields

ALGORITHMS = {"best_of_m": "Algorithm 1: best-of-m, outcome reward", "process_repair": "Algorithm 2: process repair"}
COLOURS = {"best_of_m": "tab:red", "process_repair": "tab:blue"}

# TensorBoard custom-scalars layout: the runs of the experiment's summary events on shared charts.
CHARTS = {
    "barrier: Algorithm 1 (ORM) against Algorithm 2 (PRM)": {
        "median queries to the target against N": ["barrier/median_queries"],
        "runs that reached the target": ["barrier/reached"],
    }
}


@dataclass(frozen=True)
class BarrierConfig(PolicyFields):
    """Settings of the barrier experiment (defaults: the full setting)."""

    seq_lens: tuple[int, ...] = (2, 4, 6, 8, 10, 12)
    """Response lengths N."""
    vocab_size: int = 3
    """k, the vocabulary size."""
    context_dim: int = 8
    """d, the context dimension."""
    num_components: int = 8
    """M, the mixture's components."""
    sigma: float = 0.05
    """Noise scale of the mixture."""
    margin: float = 0.05
    """gamma: every context has margin >= gamma (the theory's margin condition)."""
    task_seed: int = 0
    """Seed of the teacher and the test set (the teacher does not depend on N)."""
    token_probability: float = 0.5
    """Base model quality: pre-training stops once the mean p(y*_i | x, y*_<i) on the test set reaches it."""
    pretrain_learning_rate: float = 0.02
    """Adagrad learning rate of pre-training (small, so that the quality is hit closely)."""
    pretrain_batch_size: int = 64
    """(x, y*) pairs per pre-training step."""
    pretrain_max_steps: int = 2000
    """Pre-training steps at most."""
    target_error: float = 0.1
    """Test error 1 - E p(y*|x) each run must reach."""
    algorithms: tuple[str, ...] = ("best_of_m", "process_repair")
    """Algorithms ('best_of_m', 'process_repair')."""
    tries: int | None = None
    """m for both algorithms; unset: the paper's choice from the base model's LQ and token-level LQ."""
    step_per_token: bool = True
    """Algorithm 2 takes the adaptive step per verified token (--no-step-per-token: one step on the verified
    prefix, whose gain of at most 1/2 in log-likelihood per update is shared by N tokens)."""
    lq_eps: float = 0.1
    """eps of the likelihood quantiles behind the paper's m."""
    delta: float = 0.1
    """Failure probability behind the paper's m."""
    seeds: int = 3
    """Seeds per N (pre-training data, contexts and sampling; 0, 1, ...)."""
    rows: int = 4
    """Contexts searched side by side (env rows); 1 is the paper's sequential algorithm."""
    query_budget: int = 4_000_000
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


def check_config(config: BarrierConfig) -> None:
    """Fail early, with what is allowed, on a bad command line."""
    PolicyChoice.of(config)
    if not config.seq_lens or min(config.seq_lens) < 1:
        raise ConfigError(f"--seq-lens must be integers >= 1, got {config.seq_lens!r}")
    check_choices(config, "algorithms", ALGORITHMS)
    if not 1.0 / config.vocab_size < config.token_probability < 1.0:
        raise ConfigError(f"--token-probability must lie in (1/k, 1) = ({1 / config.vocab_size:.3g}, 1)")
    if not 0.0 < config.target_error < 1.0:
        raise ConfigError(f"--target-error must lie in (0, 1), got {config.target_error!r}")
    if config.query_budget < config.rows:
        raise ConfigError("--query-budget must allow one step of --rows queries")


def task_kwargs(config: BarrierConfig, seq_len: int) -> dict[str, Any]:
    return task_keywords(config, seq_len=seq_len, margin=config.margin)


def pretrain_jobs(config: BarrierConfig, run_dir: Path, show_progress: bool) -> dict[tuple[int, int], PretrainJob]:
    settings = PretrainConfig(
        steps=config.pretrain_max_steps,
        batch_size=config.pretrain_batch_size,
        learning_rate=config.pretrain_learning_rate,
    )
    return {
        (seq_len, seed): PretrainJob(
            run_dir=str(run_dir / "runs" / "pretrain" / f"N{seq_len}" / f"seed{seed}"),
            task=task_kwargs(config, seq_len),
            config=settings,
            seed=seed,
            token_probability=config.token_probability,
            test_size=config.test_size,
            show_progress=False,
            policy=PolicyChoice.of(config),
        )
        for seq_len in list(config.seq_lens)
        for seed in range(config.seeds)
    }


def theory_jobs(
    config: BarrierConfig, run_dir: Path, base_models: dict[tuple[int, int], str], show_progress: bool
) -> dict[tuple[str, int, int], TheoryJob]:
    agent_config = {"tries": config.tries, "lq_eps": config.lq_eps, "delta": config.delta}
    jobs = {
        (algorithm, seq_len, seed): TheoryJob(
            run_dir=str(run_dir / "runs" / algorithm / f"N{seq_len}" / f"seed{seed}"),
            algorithm=algorithm,
            task=task_kwargs(config, seq_len),
            seed=seed,
            max_steps=config.query_budget // config.rows,
            rows=config.rows,
            agent_config=agent_config
            if algorithm == "best_of_m"
            else {**agent_config, "step_per_token": config.step_per_token},
            base_model=base_models[seq_len, seed],
            target_error=config.target_error,
            eval_every=max(1000, config.query_budget // config.rows // 100),
            log_every=100,
            test_size=config.test_size,
            device=config.device,
            show_progress=False,
        )
        for algorithm in list(config.algorithms)
        for seq_len in list(config.seq_lens)
        for seed in range(config.seeds)
    }
    return dict(sorted(jobs.items(), key=lambda item: -item[0][1]))  # longest first: the slowest start first


def sweep(config: BarrierConfig, function: Any, jobs: list[Any], description: str, show_progress: bool) -> list[Any]:
    return run_sweep(
        function,
        jobs,
        backend=config.backend,
        workers=config.workers,
        ray_address=config.ray_address or None,
        description=description,
        show_progress=show_progress,
    )


def run_barrier(config: BarrierConfig, run_dir: Path, *, show_progress: bool = True) -> dict[str, Any]:
    """Pre-train the base models, run every algorithm from them, then write every output from the runs."""
    run_dir.mkdir(parents=True, exist_ok=True)
    pretraining = pretrain_jobs(config, run_dir, show_progress)
    models = sweep(config, pretrain_base_model, list(pretraining.values()), "pre-train base models", show_progress)
    base_models = dict(zip(pretraining, models, strict=True))
    jobs = theory_jobs(config, run_dir, base_models, show_progress)
    results = dict(zip(jobs, sweep(config, run_theory_job, list(jobs.values()), "runs", show_progress), strict=True))
    bases = {key: json.loads((Path(job.run_dir) / RESULT).read_text()) for key, job in pretraining.items()}
    rows = [
        {
            "algorithm": algorithm,
            "seq_len": seq_len,
            "seed": seed,
            "base_token_probability": bases[seq_len, seed]["eval/mean_token_probability"],
            "base_test_error": bases[seq_len, seed]["eval/test_error"],
            "base_likelihood_quantile": bases[seq_len, seed]["eval/likelihood_quantile"],
            "base_token_likelihood_quantile": bases[seq_len, seed]["eval/token_likelihood_quantile"],
            "pretrain_steps": bases[seq_len, seed]["step"],
            "tries": result["tries"],
            "reached": result["reached"],
            "queries_to_target": result["queries_to_target"],
            "final_test_error": result["final_test_error"],
            "final_reward_queries": result["final_reward_queries"],
            "final_updates": result["final_updates"],
            "agent_reward_queries": result["agent_reward_queries"],
            "env_reward_queries": result["env_reward_queries"],
        }
        for (algorithm, seq_len, seed), result in sorted(results.items())
    ]
    write_table(run_dir / "barrier.csv", rows)
    lengths = list(config.seq_lens)
    series: dict[str, dict[str, list[Any]]] = {}
    for algorithm in list(config.algorithms):
        points = [query_statistics([results[algorithm, n, seed] for seed in range(config.seeds)]) for n in lengths]
        series[algorithm] = {
            "seq_len": lengths,
            "median_queries": [p["median"] for p in points],
            "geometric_mean_queries": [p["geometric_mean"] for p in points],
            "reached": [p["reached"] for p in points],
            "max_spent": [p["max_spent"] for p in points],
            "tries": [results[algorithm, n, 0]["tries"] for n in lengths],
            "k_to_the_n": [float(config.vocab_size) ** n for n in lengths],
            "n_times_k": [float(n * config.vocab_size) for n in lengths],
        }
    growth = {algorithm: growth_fits(lengths, curve["median_queries"]) for algorithm, curve in series.items()}
    write_series_events(run_dir / "tb_barrier", series, "seq_len", "barrier")
    summary = {
        "config": asdict(config),
        "series": series,
        "growth": growth,
        "base_models": {
            str(n): {
                key: float(sum(bases[n, s][key] for s in range(config.seeds)) / config.seeds)
                for key in ("eval/mean_token_probability", "eval/test_error", "eval/likelihood_quantile")
            }
            for n in lengths
        },
        "queries_match_env": all(r["agent_reward_queries"] == r["env_reward_queries"] for r in results.values()),
    }
    draw(run_dir / "barrier.png", config, series, rows)
    experiment_views(run_dir, CHARTS, run_dir / "barrier.png")
    return summary


def growth_fits(lengths: list[int], medians: list[float | None]) -> dict[str, Any]:
    """queries ~ C r^N: r per extra token; queries ~ C N^p: the power p; each with its 95% interval."""
    rate, power = growth_per_token(lengths, medians), power_law_exponent(lengths, medians)
    return {
        "rate_per_token": point_or_none(rate),
        "rate_per_token_ci95": interval_or_none(rate),
        "power_of_n": point_or_none(power),
        "power_of_n_ci95": interval_or_none(power),
    }


def draw(
    path: Path, config: BarrierConfig, series: dict[str, dict[str, list[Any]]], rows: list[dict[str, Any]]
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8), constrained_layout=True)
    lengths = list(config.seq_lens)
    for algorithm, curve in series.items():
        colour = COLOURS[algorithm]
        reached = [r for r in rows if r["algorithm"] == algorithm and r["reached"]]
        missed = [r for r in rows if r["algorithm"] == algorithm and not r["reached"]]
        for axis in (left, right) if algorithm == "process_repair" else (left,):
            axis.scatter([r["seq_len"] for r in reached], [r["queries_to_target"] for r in reached],
                         color=colour, alpha=0.4, s=18)  # fmt: skip
            axis.plot(lengths, [q if q is not None else math.nan for q in curve["median_queries"]],
                      color=colour, marker="o", label=f"{ALGORITHMS[algorithm]} (median)")  # fmt: skip
        if missed:
            left.scatter([r["seq_len"] for r in missed], [r["final_reward_queries"] for r in missed], color=colour,
                         marker="^", s=40, label="budget spent, target not reached")  # fmt: skip
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


def format_summary(summary: dict[str, Any]) -> str:
    lines = []
    for algorithm, curve in summary["series"].items():
        lines.append(f"{ALGORITHMS[algorithm]}: median queries to the target (runs that reached it / runs)")
        for index, n in enumerate(curve["seq_len"]):
            median = curve["median_queries"][index]
            lines.append(
                f"  N={n:<3} {'-' if median is None else f'{median:.0f}':>10}  ({curve['reached'][index]} reached)  "
                f"m={curve['tries'][index]}  k^N={curve['k_to_the_n'][index]:.0f}  Nk={curve['n_times_k'][index]:.0f}"
            )
        growth = summary["growth"][algorithm]
        rate, power = growth["rate_per_token"], growth["power_of_n"]
        lines.append(
            f"  fitted: x{rate:.3g}{interval_text(growth['rate_per_token_ci95'], '.3g')} per token, "
            f"N^{power:.2f}{interval_text(growth['power_of_n_ci95'])}"
            if rate is not None and power is not None
            else "  no fit"
        )
    lines.append(f"agent query counts equal the env's: {summary['queries_match_env']}")
    return "\n".join(lines)


QUICK = replace(BarrierConfig(), seq_lens=(2, 4, 6, 8, 10), seeds=2, query_budget=400_000, test_size=256)


EXPERIMENT = Experiment(
    name="barrier",
    description=__doc__ or "",
    config_class=BarrierConfig,
    quick=QUICK,
    check=check_config,
    run=run_barrier,
    describe=format_summary,
    outputs=("barrier.png", "barrier.csv"),
    folders=("runs", "tb_barrier"),
)


if __name__ == "__main__":
    main(sys.argv[1:])
