"""OBLR-PO against REINFORCE, RLOO, GRPO and Dr. GRPO at equal reward-query budgets, on the outcome and the
process reward, from one briefly pre-trained base model.

Protocol: every method gets the same B contexts x G responses per step and the same query budget (counted
by the env: one query per response under the outcome reward, N under the process reward). Each method's
learning rate (OBLR-PO's eta_max) is tuned on a small grid by the mean final test error over separate
tuning seeds; the chosen rate is then run on fresh evaluation seeds, and only those runs are reported
(the tuning seeds never enter the reported numbers). Each (phase, reward, method, rate, seed) is its own
run folder, so a rerun skips finished runs and resumes interrupted ones.

Writes, under the run directory: ``compare.png`` (test error against queries with 95% confidence bands,
final test error with 95% confidence intervals, the gradient's trace variance and SNR against queries,
and the paired trace variance of the unbiased estimators on the same batches), ``compare.csv`` (one row
per run), ``compare_curves.csv`` (the curves behind the figure), ``compare.json`` (the summary) and
TensorBoard events under ``tb_compare/`` (one run per method), all drawn from the runs' metrics.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as ``python scripts/compare.py``: make ``scripts`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from agents.common.config_checks import ConfigError, check_at_least, check_choices, check_fields
from agents.experiment.cli import Experiment, run_experiment
from agents.runs.folder import read_metrics
from agents.analysis.tables import write_table
from agents.runs.tensorboard import experiment_views
from agents.policy.choice import PolicyChoice, PolicyFields
from scripts import compare_analysis as analysis
from scripts.compare_jobs import (
    ENV_IDS,
    VARIANTS,
    evaluation_jobs,
    pretrain_base_model,
    queries_per_step,
    steps_for,
    sweep,
    tuning_errors,
    tuning_jobs,
    tuning_seeds,
)
from scripts.compare_plots import CHARTS, draw, write_curve_events


@dataclass(frozen=True)
class CompareConfig(PolicyFields):
    """Settings of the comparison (defaults: the full setting)."""

    seq_len: int = 8
    """N, the response length."""
    vocab_size: int = 8
    """k, the vocabulary size."""
    context_dim: int = 16
    """d, the context dimension."""
    num_components: int = 32
    """M, the mixture's components."""
    sigma: float = 0.05
    """Noise scale of the mixture."""
    task_seed: int = 0
    """Seed of the teacher and the test set."""
    pretrain_steps: int = 20
    """Supervised pre-training steps of the base model (Adagrad): brief, so that rewards stay informative."""
    pretrain_batch_size: int = 64
    """(x, y*) pairs per pre-training step."""
    pretrain_learning_rate: float | None = None
    """Adagrad learning rate of pre-training; unset: the policy's pre-training default (0.1 for every policy)."""
    rewards: tuple[str, ...] = ("outcome", "process")
    """Rewards to compare on."""
    methods: tuple[str, ...] = (
        "reinforce",
        "reinforce_mean",
        "rloo",
        "grpo",
        "grpo_clip",
        "dr_grpo",
        "oblr_po",
        "oblr_po_debiased",
        "oblr_baseline",
    )
    """Methods (agents.learners.group_pg.METHODS, or the named VARIANTS of this script)."""
    learning_rates: tuple[float, ...] = (0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
    """Learning-rate grid, the same for every method (OBLR-PO: eta_max)."""
    tuning_seeds: int = 3
    """Seeds per grid point for tuning (1000, 1001, ...)."""
    seeds: int = 10
    """Evaluation seeds (0, 1, ...) run at each method's tuned rate; only these are reported."""
    num_contexts: int = 32
    """B, contexts per step."""
    group_size: int = 8
    """G, responses per context."""
    outcome_query_budget: int = 76800
    """Reward queries per run under the outcome reward (one per response)."""
    process_query_budget: int = 614400
    """Reward queries per run under the process reward (N per response)."""
    optimizer: str = "sgd"
    """Optimiser of every method ('sgd', OBLR-PO's; 'adagrad'; 'adam')."""
    test_size: int = 1024
    """Contexts in the test set (exact test error)."""
    evaluations: int = 15
    """Evaluations per run (the points of the learning curves)."""
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


def check_config(config: CompareConfig) -> None:
    """Fail early, with what is allowed, on a bad command line."""
    PolicyChoice.of(config)
    check_choices(config, "rewards", ENV_IDS)
    check_choices(config, "methods", VARIANTS)
    rates = list(config.learning_rates)
    if not rates or min(rates) <= 0:
        raise ConfigError(f"--learning-rates must be positive numbers, got {config.learning_rates!r}")
    if config.seeds < 2 or config.tuning_seeds < 1:
        raise ConfigError("need --seeds >= 2 (confidence intervals) and --tuning-seeds >= 1")
    check_at_least(config, 2, "group_size")  # a group's baseline needs another response
    for reward in config.rewards:
        if steps_for(config, reward) < 1:
            raise ConfigError(f"the {reward} query budget buys no step of {queries_per_step(config, reward)} queries")


def run_compare(config: CompareConfig, run_dir: Path, *, show_progress: bool = True) -> dict[str, Any]:
    """Pre-train, tune each method's rate, run the evaluation seeds, then write every output from what the
    runs wrote."""
    run_dir.mkdir(parents=True, exist_ok=True)
    base_model, base_error = pretrain_base_model(config, run_dir / "pretrain", show_progress=show_progress)
    rates = [float(rate) for rate in config.learning_rates]
    tuning = tuning_jobs(config, run_dir, base_model)
    errors = tuning_errors(config, tuning, run_dir / "runs" / "tune", show_progress)
    grid: dict[str, dict[str, dict[str, float]]] = {reward: {} for reward in config.rewards}
    chosen: dict[tuple[str, str], float] = {}
    for reward in config.rewards:
        for method in config.methods:
            chosen[reward, method], scores = analysis.choose_rate(errors[reward, method])
            grid[reward][method] = {f"{rate:g}": scores[rate] for rate in rates}
    evaluation = evaluation_jobs(config, run_dir, base_model, chosen)
    sweep(config, evaluation.values(), "evaluation runs", show_progress)
    records = {
        (phase, *key): read_metrics(job.run_dir)
        for phase, jobs in (("tune", tuning), ("eval", evaluation))
        for key, job in jobs.items()
    }
    write_table(run_dir / "compare.csv", analysis.run_rows(records))
    results: dict[str, dict[str, Any]] = {reward: {} for reward in config.rewards}
    curves: dict[str, dict[str, dict[str, np.ndarray]]] = {reward: {} for reward in config.rewards}
    for reward in config.rewards:
        for method in config.methods:
            runs = [records["eval", reward, method, chosen[reward, method], seed] for seed in range(config.seeds)]
            curves[reward][method] = analysis.method_curves(runs)
            results[reward][method] = analysis.method_summary(
                runs, chosen[reward, method], rates, grid[reward][method], curves[reward][method]
            )
    summary = {
        "config": asdict(config),
        "base_test_error": base_error,
        "seeds": config.seeds,
        "tuning_seeds": tuning_seeds(config),
        "steps": {reward: steps_for(config, reward) for reward in config.rewards},
        "queries": {reward: steps_for(config, reward) * queries_per_step(config, reward) for reward in config.rewards},
        "results": results,
        "paired_trace_variance": {reward: analysis.paired_ratios(curves[reward]) for reward in config.rewards},
        "probability_of_lower_error_than_best": {
            reward: analysis.improvement_over_best(results[reward]) for reward in config.rewards
        },
    }
    rows = analysis.curve_rows(curves)
    write_table(run_dir / "compare_curves.csv", rows)
    write_curve_events(run_dir / "tb_compare", rows)
    draw(run_dir / "compare.png", config, summary, curves)
    experiment_views(run_dir, CHARTS, run_dir / "compare.png")
    return summary


def format_summary(summary: dict[str, Any]) -> str:
    return "\n".join(analysis.summary_lines(summary))


QUICK = replace(
    CompareConfig(),
    seq_len=6,
    vocab_size=6,
    context_dim=8,
    num_components=16,
    pretrain_steps=30,
    learning_rates=(0.1, 0.3, 1.0, 3.0, 10.0, 30.0),
    tuning_seeds=2,
    seeds=5,
    num_contexts=16,
    group_size=8,
    outcome_query_budget=10240,
    process_query_budget=61440,
    test_size=512,
    evaluations=10,
)


EXPERIMENT = Experiment(
    name="compare",
    description=__doc__ or "",
    config_class=CompareConfig,
    quick=QUICK,
    check=check_config,
    run=run_compare,
    describe=format_summary,
    outputs=("compare.png", "compare.csv", "compare_curves.csv"),
    folders=("runs", "pretrain", "tb_compare"),
)


if __name__ == "__main__":
    main(sys.argv[1:])
