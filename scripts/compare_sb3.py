"""SB3 PPO and A2C against the paper's PG on small tasks, with the outcome and the process reward, at equal
environment steps and at equal reward queries.

Every method starts from (nearly) the uniform policy: the paper's PG from w = 0 (its linear policy), SB3
from its own initialisation (an MLP whose last layer is scaled by 0.01, so its first distribution is close
to uniform); none sees a base model, since SB3's policies cannot load the linear one. All of them train
through the same registered envs with rewards -1/+1, and the envs count the reward queries.

Budgets. Every episode runs all N tokens, so within one reward the environment steps fix the queries:
an outcome episode costs one query for its N steps, a process episode N queries. Every run gets the same
query budget Q: a process run takes Q environment steps, an outcome run N Q. The outcome runs therefore
pass Q environment steps on the way, which gives the comparison at equal environment steps (all runs at
Q steps: outcome runs have spent Q/N queries there) and at equal reward queries (all runs at Q queries:
the end of every run). Evaluations fall on the same grid of environment steps for every method (exact
test error 1 - mean p(y*|x) on the task's fixed test set; SB3 policies through their action distribution).

Each method's learning rate is chosen from its grid by the final test error on separate tuning seeds
(1000, 1001, ...); the chosen rate then runs on the evaluation seeds (0, 1, ...), the only ones reported.
Each (phase, reward, method, rate, seed) is its own run (``agents.experiment.jobs.Job``: ``paper_pg`` or
``sb3``) in its own folder: a rerun reuses finished runs and resumes interrupted ones from their checkpoint.

Writes, under the run directory: ``compare_sb3.png`` (test error against environment steps and against
reward queries, and the test errors at the two equal budgets), ``compare_sb3.csv`` (one row per run),
``compare_sb3_curves.csv`` (the curves behind the figure), ``compare_sb3.json`` (the summary) and
TensorBoard events under ``tb_compare/`` (one run per reward and method), all drawn from what the runs
wrote (their ``metrics.jsonl``); each run's own TensorBoard events sit in its folder (an SB3 run's own scalars
under ``sb3/``).
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as ``python scripts/compare_sb3.py``: make ``scripts`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from agents.common.config_checks import ConfigError, check_choices, check_fields
from agents.experiment.cli import Experiment, parse_experiment_args, run_experiment
from agents.experiment.jobs import Job, run_job
from agents.experiment.sweep import run_sweep
from agents.analysis.tables import write_table
from agents.runs.tensorboard import experiment_views
from scripts import compare_sb3_analysis as analysis
from scripts.compare_sb3_jobs import (
    ENV_IDS,
    METHODS,
    env_steps,
    eval_every,
    evaluation_jobs,
    final_greedy_exact_match,
    learning_rates,
    run_curve,
    task_kwargs,
    tuning_jobs,
    tuning_seeds,
)
from scripts.compare_sb3_plots import CHARTS, draw, write_curve_events
from seqreward_env import SequenceTask


@dataclass(frozen=True)
class CompareSB3Config:
    """Settings of the comparison (defaults: the full setting)."""

    seq_len: int = 6
    """N, the response length."""
    vocab_size: int = 4
    """k, the vocabulary size."""
    context_dim: int = 8
    """d, the context dimension."""
    num_components: int = 8
    """M, the mixture's components."""
    sigma: float = 0.05
    """Noise scale of the mixture."""
    task_seed: int = 0
    """Seed of the teacher and the test set."""
    rewards: tuple[str, ...] = ("outcome", "process")
    """Rewards to compare on."""
    methods: tuple[str, ...] = ("paper_pg", "ppo", "a2c")
    """Methods: paper_pg, ppo, a2c."""
    query_budget: int = 61_440
    """Q, reward queries of every run (process runs: Q environment steps; outcome runs: N Q); rounded up so
    that every method evaluates on the same grid."""
    evaluations: int = 10
    """Evaluations per Q environment steps (outcome runs evaluate N times as many, on the same grid)."""
    pg_batch_size: int = 256
    """Contexts per step of the paper's PG."""
    pg_learning_rates: tuple[float, ...] = (0.1, 0.3, 1.0, 3.0)
    """Adagrad learning-rate grid of the paper's PG (the paper's is 0.1)."""
    num_envs: int = 64
    """Rows of the SB3 vector env (the adapter)."""
    ppo_n_steps: int = 32
    """PPO rollout length per row."""
    ppo_batch_size: int = 512
    """PPO minibatch size."""
    ppo_learning_rates: tuple[float, ...] = (0.001, 0.003, 0.01)
    """Adam learning-rate grid of PPO."""
    a2c_n_steps: int = 8
    """A2C rollout length per row."""
    a2c_learning_rates: tuple[float, ...] = (0.001, 0.003, 0.01)
    """RMSprop learning-rate grid of A2C."""
    tuning_seeds: int = 1
    """Seeds per grid point for tuning (1000, 1001, ...); no tuning runs for a grid of one rate."""
    seeds: int = 3
    """Evaluation seeds (0, 1, ...) at each method's chosen rate; only these are reported."""
    test_size: int = 1024
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


def check_config(config: CompareSB3Config) -> None:
    """Fail early, with what is allowed, on a bad command line."""
    check_choices(config, "rewards", ENV_IDS)
    check_choices(config, "methods", METHODS)
    for method in config.methods:
        rates = learning_rates(config, method)
        if not rates or min(rates) <= 0:
            raise ConfigError(f"the {method} learning-rate grid must be positive numbers, got {rates or 'none'}")


def parse_args(argv: list[str] | None = None) -> tuple[CompareSB3Config, Any]:
    """The checked settings of a command line and its other flags (``run_dir`` filled in)."""
    config, flags = parse_experiment_args(EXPERIMENT, argv)
    return config, flags


def main(argv: list[str] | None = None) -> Path:
    return run_experiment(EXPERIMENT, argv)


def sweep(config: CompareSB3Config, jobs: list[Job], description: str, show_progress: bool) -> None:
    run_sweep(
        run_job,
        jobs,
        backend=config.backend,
        workers=config.workers,
        ray_address=config.ray_address or None,
        description=description,
        show_progress=show_progress,
    )


def run_compare(config: CompareSB3Config, run_dir: Path, *, show_progress: bool = True) -> dict[str, Any]:
    """Tune each method's rate, run the evaluation seeds, then write every output from what the runs logged."""
    run_dir.mkdir(parents=True, exist_ok=True)
    per_run_progress = show_progress and config.workers == 1 and config.backend == "local"
    seeds = tuning_seeds(config)
    tuning = tuning_jobs(config, run_dir, per_run_progress)
    sweep(config, list(tuning.values()), "tuning runs", show_progress)
    grid: dict[tuple[str, str], dict[str, float]] = {}
    chosen: dict[tuple[str, str], float] = {}
    for reward in config.rewards:
        for method in config.methods:
            scores = {
                rate: float(np.mean([run_curve(tuning[reward, method, rate, s])["test_error"][-1] for s in seeds]))
                for rate in learning_rates(config, method)
                if (reward, method, rate, seeds[0]) in tuning
            }
            chosen[reward, method], grid[reward, method] = analysis.choose_rate(scores, learning_rates(config, method))
    evaluation = evaluation_jobs(config, run_dir, chosen, per_run_progress)
    sweep(config, list(evaluation.values()), "evaluation runs", show_progress)

    task = SequenceTask(**task_kwargs(config))
    jobs: dict[tuple[Any, ...], Job] = {**tuning, **evaluation}
    curves = {key: run_curve(job) for key, job in jobs.items()}
    exact_match = {key: final_greedy_exact_match(job, task) for key, job in evaluation.items()}
    equal_steps = env_steps(config, "process")
    rows = [analysis.run_row("tune", *key, curves[key], float("nan"), equal_steps) for key in tuning]
    rows += [
        analysis.run_row("eval", reward, method, chosen[reward, method], seed, curves[reward, method, seed],
                         exact_match[reward, method, seed], equal_steps)
        for reward, method, seed in evaluation
    ]  # fmt: skip
    write_table(run_dir / "compare_sb3.csv", rows)
    results: dict[str, dict[str, Any]] = {reward: {} for reward in config.rewards}
    mean_curves: dict[str, dict[str, analysis.Curve]] = {reward: {} for reward in config.rewards}
    for reward in config.rewards:
        for method in config.methods:
            mean_curves[reward][method] = analysis.stack_curves(
                [curves[reward, method, seed] for seed in range(config.seeds)]
            )
            results[reward][method] = analysis.method_summary(
                mean_curves[reward][method],
                equal_steps,
                [exact_match[reward, method, seed] for seed in range(config.seeds)],
                chosen[reward, method],
                grid[reward, method],
            )
    summary = {
        "config": asdict(config),
        "eval_every_env_steps": eval_every(config),
        "query_budget": eval_every(config) * config.evaluations,
        "equal_env_steps": equal_steps,
        "env_steps": {reward: env_steps(config, reward) for reward in config.rewards},
        "seeds": config.seeds,
        "tuning_seeds": seeds if tuning else [],
        "results": results,
    }
    write_table(run_dir / "compare_sb3_curves.csv", analysis.curve_rows(mean_curves))
    write_curve_events(run_dir / "tb_compare", mean_curves)
    draw(run_dir / "compare_sb3.png", config, summary, mean_curves)
    experiment_views(run_dir, CHARTS, run_dir / "compare_sb3.png")
    return summary


QUICK = replace(
    CompareSB3Config(),
    seq_len=4,
    query_budget=20_000,
    evaluations=5,
    pg_batch_size=128,
    pg_learning_rates=(0.3, 1.0),
    num_envs=32,
    ppo_n_steps=16,
    ppo_batch_size=256,
    ppo_learning_rates=(0.003,),
    a2c_learning_rates=(0.003,),
    seeds=2,
)


EXPERIMENT = Experiment(
    name="compare_sb3",
    description=__doc__ or "",
    config_class=CompareSB3Config,
    quick=QUICK,
    check=check_config,
    run=run_compare,
    describe=analysis.format_summary,
    outputs=("compare_sb3.png", "compare_sb3.csv", "compare_sb3_curves.csv"),
    folders=("runs", "tb_compare"),
)


if __name__ == "__main__":
    main(sys.argv[1:])
