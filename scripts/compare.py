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

import csv
import shutil
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from agents.experiment.cli import Experiment, run_experiment
from agents.experiment.config_checks import ConfigError, check_choices, check_fields
from agents.experiment.runs import Run, final_test_error, read_metrics, train
from agents.experiment.settings import task_keywords
from agents.experiment.statistics import aggregate, mean_interval, probability_of_improvement
from agents.experiment.sweep import run_sweep
from agents.experiment.tensorboard import experiment_views
from agents.learners.group_pg import METHODS, GroupPGConfig, GroupPGJob, run_group_pg
from agents.learners.pretrain import PretrainConfig, Pretrainer
from agents.policy.evaluation import LinearEvaluator
from agents.policy.networks import PolicyChoice, PolicyFields, load_policy
from seqreward_env import SequenceTask

ENV_IDS = {"outcome": "seqreward/Outcome-v0", "process": "seqreward/Process-v0"}
TUNING_SEED_OFFSET = 1000  # tuning seeds 1000, 1001, ...; evaluation seeds 0, 1, ...: never the same
# Named settings of one method beyond its estimator: GRPO as usually run (clipped ratio, several epochs per
# batch, KL to the base model; DeepSeekMath's eps 0.2 and beta 0.04) and OBLR-PO with the debiased SNR.
VARIANTS: dict[str, dict[str, Any]] = {
    **{method: {"method": method} for method in METHODS},
    "grpo_clip": {"method": "grpo", "epochs": 4, "clip_epsilon": 0.2, "kl_coef": 0.04},
    "oblr_po_debiased": {"method": "oblr_po", "snr_estimator": "debiased"},
}
LABELS = {
    "reinforce": "REINFORCE",
    "reinforce_mean": "REINFORCE (batch mean)",
    "rloo": "RLOO",
    "grpo": "GRPO",
    "dr_grpo": "Dr. GRPO",
    "oblr_po": "OBLR-PO",
    "oblr_baseline": "OBLR baseline, fixed rate",
    "grpo_clip": "GRPO (clip, 4 epochs, KL)",
    "oblr_po_debiased": "OBLR-PO (debiased SNR)",
}

# TensorBoard custom-scalars layout: the runs of the experiment's summary events on shared charts.
CHARTS = {
    "compare: every method": {
        "test error against reward queries": ["compare/test_error"],
        "gradient trace variance": ["compare/trace_variance"],
        "SNR": ["compare/snr"],
        "learning rate": ["compare/learning_rate"],
    }
}


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
    pretrain_learning_rate: float = 0.1
    """Adagrad learning rate of pre-training."""
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
    for reward in config.rewards:
        if steps_for(config, reward) < 1:
            raise ConfigError(f"the {reward} query budget buys no step of {queries_per_step(config, reward)} queries")


def queries_per_step(config: CompareConfig, reward: str) -> int:
    """Reward queries of one step: B G responses, each 1 (outcome) or N (process) queries."""
    return config.num_contexts * config.group_size * (config.seq_len if reward == "process" else 1)


def steps_for(config: CompareConfig, reward: str) -> int:
    budget = config.outcome_query_budget if reward == "outcome" else config.process_query_budget
    return budget // queries_per_step(config, reward)


def task_kwargs(config: CompareConfig) -> dict[str, Any]:
    return task_keywords(config)


def pretrain_base_model(config: CompareConfig, path: Path, *, show_progress: bool) -> tuple[Path, float]:
    """The shared base model (Adagrad on (x, y*), w = 0 at the start); returns its file and test error."""
    task = SequenceTask(**task_kwargs(config))
    settings = PretrainConfig(
        steps=config.pretrain_steps, batch_size=config.pretrain_batch_size, learning_rate=config.pretrain_learning_rate
    )
    model_file = path / "base_model.pt"
    evaluator = LinearEvaluator(task, config.test_size)
    choice = PolicyChoice.of(config)
    record = {"task": task_kwargs(config), "pretrain": asdict(settings), "test_size": config.test_size}
    run = Run(path, {**record, **choice.record()})
    if not (run.start_step >= settings.steps and model_file.exists()):
        policy = choice.make(task, device=config.device, seed=config.task_seed)
        trainer = Pretrainer(task, policy, settings, config.task_seed, evaluator)
        train(
            run,
            trainer,
            settings.steps,
            eval_every=settings.steps,
            description="pre-train",
            show_progress=show_progress,
        )
        policy.save(model_file)
    run.close()
    return model_file, float(evaluator(load_policy(model_file))["eval/test_error"])


def make_job(
    config: CompareConfig, run_dir: Path, base_model: Path, phase: str, reward: str, method: str, rate: float, seed: int
) -> GroupPGJob:
    steps = steps_for(config, reward)
    return GroupPGJob(
        run_dir=str(run_dir / "runs" / phase / reward / method / f"lr{rate:g}" / f"seed{seed}"),
        env_id=ENV_IDS[reward],
        env_kwargs=task_kwargs(config),
        base_model=str(base_model),
        steps=steps,
        config=GroupPGConfig(
            **VARIANTS[method],
            learning_rate=rate,
            num_contexts=config.num_contexts,
            group_size=config.group_size,
            optimizer=config.optimizer,
        ),
        seed=seed,
        test_size=config.test_size,
        eval_every=max(1, steps // config.evaluations),
        device=config.device,
    )


def sweep(config: CompareConfig, jobs: list[GroupPGJob], description: str, show_progress: bool) -> None:
    run_sweep(
        run_group_pg,
        jobs,
        backend=config.backend,
        workers=config.workers,
        ray_address=config.ray_address or None,
        description=description,
        show_progress=show_progress,
    )


def choose_rate(errors: dict[float, list[float]]) -> tuple[float, dict[float, float]]:
    """The tuned learning rate: the one with the lowest mean final test error over its tuning seeds.

    Args:
        errors: ``{rate: [final test error of each tuning seed]}``, inf for a diverged run (so a rate with
            one diverged seed scores inf and never beats a finite one).

    Returns:
        The chosen rate (on a tie, the smaller rate; if every rate diverged, the smallest) and the mean of
        each rate.
    """
    if not errors or any(len(values) == 0 for values in errors.values()):
        raise ValueError(f"errors must give at least one final test error per rate, got {errors!r}")
    scores = {float(rate): float(np.mean(values)) for rate, values in errors.items()}
    return min(scores, key=lambda rate: (scores[rate], rate)), scores


def tuning_errors_on_ray(
    config: CompareConfig, tuning: dict[tuple[str, str, float, int], GroupPGJob], storage: Path, show_progress: bool
) -> dict[tuple[str, str], dict[float, list[float]]]:
    """The tuning as Ray Tune searches, one per (reward, method), each a grid search over the rates and the
    tuning seeds under the storage path ``storage``; the final test errors per rate read from each search's
    ``ResultGrid``."""
    from agents.experiment.tune import run_tune_search

    progress = tqdm(total=len(tuning), desc="tuning runs", disable=not show_progress, dynamic_ncols=True)
    errors: dict[tuple[str, str], dict[float, list[float]]] = {}
    for reward, method in dict.fromkeys(key[:2] for key in tuning):
        jobs = {(rate, seed): job for (r, m, rate, seed), job in tuning.items() if (r, m) == (reward, method)}
        grid = run_tune_search(
            run_group_pg,
            jobs,
            ("learning_rate", "seed"),
            final_test_error,
            storage_path=storage,
            name=f"tuning {reward} {method}",
            ray_address=config.ray_address or None,
            on_result=lambda: progress.update(1),
        )
        by_rate: dict[float, list[float]] = {}
        for result in sorted((grid[i] for i in range(len(grid))), key=lambda result: result.metrics["seed"]):
            by_rate.setdefault(float(result.metrics["learning_rate"]), []).append(float(result.metrics["metric"]))
        errors[reward, method] = by_rate
    progress.close()
    return errors


def run_compare(config: CompareConfig, run_dir: Path, *, show_progress: bool = True) -> dict[str, Any]:
    """Pre-train, tune each method's rate, run the evaluation seeds, then write every output."""
    run_dir.mkdir(parents=True, exist_ok=True)
    base_model, base_error = pretrain_base_model(config, run_dir / "pretrain", show_progress=show_progress)
    rewards, methods = list(config.rewards), list(config.methods)
    rates = [float(rate) for rate in list(config.learning_rates)]
    tuning_seeds = [TUNING_SEED_OFFSET + i for i in range(config.tuning_seeds)]
    tuning = {
        (reward, method, rate, seed): make_job(config, run_dir, base_model, "tune", reward, method, rate, seed)
        for reward in rewards
        for method in methods
        for rate in rates
        for seed in tuning_seeds
    }
    if config.backend == "ray":  # a Tune search per (reward, method), the rate picked from its results
        errors = tuning_errors_on_ray(config, tuning, run_dir / "runs" / "tune", show_progress)
    else:
        sweep(config, list(tuning.values()), "tuning runs", show_progress)
        errors = {
            (reward, method): {
                rate: [final_test_error(tuning[reward, method, rate, s].run_dir) for s in tuning_seeds]
                for rate in rates
            }
            for reward in rewards
            for method in methods
        }
    grid: dict[str, dict[str, dict[str, float]]] = {reward: {} for reward in rewards}
    chosen: dict[tuple[str, str], float] = {}
    for reward in rewards:
        for method in methods:
            chosen[reward, method], scores = choose_rate(errors[reward, method])
            grid[reward][method] = {f"{rate:g}": scores[rate] for rate in rates}
    evaluation = {
        (reward, method, seed): make_job(
            config, run_dir, base_model, "eval", reward, method, chosen[reward, method], seed
        )
        for reward in rewards
        for method in methods
        for seed in range(config.seeds)
    }
    sweep(config, list(evaluation.values()), "evaluation runs", show_progress)
    write_run_table(
        run_dir / "compare.csv",
        {
            **{("tune", *key): job for key, job in tuning.items()},
            **{("eval", *key[:2], chosen[key[:2]], key[2]): job for key, job in evaluation.items()},
        },
    )
    results: dict[str, dict[str, Any]] = {}
    curves: dict[str, dict[str, dict[str, np.ndarray]]] = {}
    for reward in rewards:
        results[reward], curves[reward] = {}, {}
        for method in methods:
            runs = [read_metrics(evaluation[reward, method, seed].run_dir) for seed in range(config.seeds)]
            curves[reward][method] = method_curves(runs)
            results[reward][method] = method_summary(
                runs, chosen[reward, method], rates, grid[reward][method], curves[reward][method]
            )
    summary = {
        "config": asdict(config),
        "base_test_error": base_error,
        "seeds": config.seeds,
        "tuning_seeds": tuning_seeds,
        "steps": {reward: steps_for(config, reward) for reward in rewards},
        "queries": {reward: steps_for(config, reward) * queries_per_step(config, reward) for reward in rewards},
        "results": results,
        "paired_trace_variance": {reward: paired_ratios(curves[reward]) for reward in rewards},
        "probability_of_lower_error_than_best": {reward: improvement_over_best(results[reward]) for reward in rewards},
    }
    write_curves(run_dir, curves)
    draw(run_dir / "compare.png", config, summary, curves)
    experiment_views(run_dir, CHARTS, run_dir / "compare.png")
    return summary


# ----- analysis: drawn from what the runs wrote --------------------------------------------------------
DIAGNOSTICS = {
    "trace_variance": "diag/trace_variance",
    "snr": "diag/snr",
    "learning_rate": "train/learning_rate",
    "equal_reward_groups": "diag/equal_reward_groups",
    "entropy": "diag/entropy",
}


def method_curves(runs: list[list[dict[str, Any]]]) -> dict[str, np.ndarray]:
    """Per-seed arrays ``(seeds, points)`` from the runs' records: test error at each evaluation, the
    diagnostics at every step, and the paired trace-variance ratios to RLOO on the same batches."""
    evaluations = [[r for r in records if "eval/test_error" in r] for records in runs]
    steps = [[r for r in records if "diag/snr" in r] for records in runs]
    curves = {
        "eval_queries": np.array([r["train/reward_queries"] for r in evaluations[0]], dtype=float),
        "test_error": np.array([[r["eval/test_error"] for r in run] for run in evaluations], dtype=float),
        "step_queries": np.array([r["train/reward_queries"] for r in steps[0]], dtype=float),
    }
    for name, key in DIAGNOSTICS.items():
        curves[name] = np.array([[r[key] for r in run] for run in steps], dtype=float)
    for estimator in ("weighted_leave_one_out", "reinforce"):
        numerator = np.array([[r[f"paired/trace_variance/{estimator}"] for r in run] for run in steps], dtype=float)
        denominator = np.array([[r["paired/trace_variance/rloo"] for r in run] for run in steps], dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):  # a batch of equal-reward groups: 0 / 0, dropped later
            curves[f"paired_{estimator}_to_rloo"] = numerator / denominator
    return curves


def method_summary(
    runs: list[list[dict[str, Any]]], rate: float, rates: list[float], grid: dict[str, float], curves: dict[str, Any]
) -> dict[str, Any]:
    final = curves["test_error"][:, -1]
    mean, half_width = mean_interval(final)
    snr = curves["snr"][np.isfinite(curves["snr"])]
    return {
        "learning_rate": rate,
        "rate_at_grid_edge": len(rates) > 1 and rate in (min(rates), max(rates)),
        "tuning_final_test_error": grid,
        "final_test_error_mean": float(mean),
        "final_test_error_ci95": float(half_width),
        "final_test_errors": final.tolist(),
        # robust to one odd seed: the interquartile mean with its stratified bootstrap interval (rliable)
        "final_test_error_iqm": aggregate(final, "iqm").as_dict() if np.all(np.isfinite(final)) else None,
        "mean_test_error_over_run": float(curves["test_error"].mean()),
        "snr_mean": float(snr.mean()) if snr.size else float("nan"),
        "snr_median": float(np.median(snr)) if snr.size else float("nan"),
        "trace_variance_mean": float(np.nanmean(curves["trace_variance"])),
        "equal_reward_groups_mean": float(np.nanmean(curves["equal_reward_groups"])),
        "learning_rate_mean": float(np.nanmean(curves["learning_rate"])),
        "final_entropy": float(np.nanmean(curves["entropy"][:, -1])),
        "reward_queries": [float(records[-1]["train/reward_queries"]) for records in runs],
    }


def improvement_over_best(table: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """P(a run of the method ends with a lower test error than a run of the method with the lowest mean),
    for every other method, with its stratified bootstrap interval (rliable)."""
    finite = {method: row for method, row in table.items() if np.all(np.isfinite(row["final_test_errors"]))}
    if not finite:  # every method diverged in some seed: nothing to compare
        return {"best": None}
    best = min(finite, key=lambda method: finite[method]["final_test_error_mean"])
    reference = finite[best]["final_test_errors"]
    return {
        "best": best,
        **{
            method: probability_of_improvement(row["final_test_errors"], reference, lower_is_better=True).as_dict()
            for method, row in finite.items()
            if method != best
        },
    }


def paired_ratios(curves: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Trace variance on the same batches relative to RLOO, pooled over every method's runs and steps."""
    out: dict[str, Any] = {}
    for estimator in ("weighted_leave_one_out", "reinforce"):
        ratios = np.concatenate([c[f"paired_{estimator}_to_rloo"].ravel() for c in curves.values()])
        ratios = ratios[np.isfinite(ratios)]
        if not ratios.size:
            continue
        out[estimator] = {
            "median": float(np.median(ratios)),
            "quartiles": [float(np.quantile(ratios, 0.25)), float(np.quantile(ratios, 0.75))],
            "fraction_below_rloo": float(np.mean(ratios < 1.0)),
            "batches": int(ratios.size),
        }
    return out


def write_run_table(path: Path, jobs: dict[tuple[Any, ...], GroupPGJob]) -> None:
    """compare.csv: one row per run (tuning and evaluation), from its metrics."""
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(
            ["phase", "reward", "method", "learning_rate", "seed", "reward_queries", "final_test_error",
             "mean_test_error", "mean_trace_variance", "median_snr", "mean_learning_rate"]
        )  # fmt: skip
        for (phase, reward, method, rate, seed), job in sorted(jobs.items(), key=lambda item: str(item[0])):
            records = read_metrics(job.run_dir)
            errors = [r["eval/test_error"] for r in records if "eval/test_error" in r]
            steps = [r for r in records if "diag/snr" in r]
            writer.writerow(
                [phase, reward, method, rate, seed, records[-1]["train/reward_queries"], errors[-1],
                 float(np.mean(errors)), float(np.mean([r["diag/trace_variance"] for r in steps])),
                 float(np.median([r["diag/snr"] for r in steps])),
                 float(np.mean([r["train/learning_rate"] for r in steps]))]
            )  # fmt: skip


def smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Moving average along the last axis (edges averaged over what exists)."""
    if window <= 1:
        return values
    kernel = np.ones(window)
    padded = np.nan_to_num(values, nan=0.0, posinf=0.0)
    counts = np.convolve(np.isfinite(values).astype(float), kernel, mode="same")
    return np.convolve(padded, kernel, mode="same") / np.maximum(counts, 1)


def write_curves(run_dir: Path, curves: dict[str, dict[str, dict[str, np.ndarray]]]) -> None:
    """compare_curves.csv (long format) and TensorBoard events, one event folder per reward and method."""
    from torch.utils.tensorboard import SummaryWriter

    shutil.rmtree(run_dir / "tb_compare", ignore_errors=True)  # redrawn from the runs on every call
    with open(run_dir / "compare_curves.csv", "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["reward", "method", "quantity", "reward_queries", "mean", "ci95"])
        for reward, by_method in curves.items():
            for method, curve in by_method.items():
                events = SummaryWriter(str(run_dir / "tb_compare" / reward / method))
                mean, half_width = mean_interval(curve["test_error"])
                for queries, m, h in zip(curve["eval_queries"], mean, half_width, strict=True):
                    writer.writerow([reward, method, "test_error", int(queries), m, h])
                    events.add_scalar("compare/test_error", m, int(queries))
                for name in ("trace_variance", "snr", "learning_rate", "equal_reward_groups", "entropy"):
                    values = np.where(np.isfinite(curve[name]), curve[name], np.nan)
                    mean, half_width = mean_interval(values)
                    for queries, m, h in zip(curve["step_queries"], mean, half_width, strict=True):
                        writer.writerow([reward, method, name, int(queries), m, h])
                        if np.isfinite(m):
                            events.add_scalar(f"compare/{name}", m, int(queries))
                events.close()


def draw(path: Path, config: CompareConfig, summary: dict[str, Any], curves: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    rewards = list(curves)
    figure, axes = plt.subplots(len(rewards), 5, figsize=(25, 4.6 * len(rewards)), squeeze=False)
    palette = plt.get_cmap("tab10")
    colours = {method: palette(index % 10) for index, method in enumerate(VARIANTS)}
    for row, reward in zip(axes, rewards, strict=True):
        methods = list(curves[reward])
        for method in methods:
            curve, colour = curves[reward][method], colours[method]
            label = f"{LABELS.get(method, method)} (lr {summary['results'][reward][method]['learning_rate']:g})"
            mean, half_width = mean_interval(curve["test_error"])
            row[0].plot(curve["eval_queries"], mean, color=colour, label=label)
            row[0].fill_between(curve["eval_queries"], mean - half_width, mean + half_width, color=colour, alpha=0.15)
            window = max(1, len(curve["step_queries"]) // 15)
            for axis, name in ((row[2], "trace_variance"), (row[3], "snr")):
                values = np.where(np.isfinite(curve[name]), curve[name], np.nan)
                axis.plot(curve["step_queries"], smooth(np.nanmean(values, axis=0), window), color=colour, label=label)
        finals = [summary["results"][reward][m] for m in methods]
        row[1].bar(
            range(len(methods)),
            [f["final_test_error_mean"] for f in finals],
            yerr=[f["final_test_error_ci95"] for f in finals],
            color=[colours[m] for m in methods],
            capsize=4,
        )
        row[1].set_xticks(range(len(methods)), [LABELS.get(m, m) for m in methods], rotation=30, ha="right")
        paired = [np.concatenate([c[f"paired_{e}_to_rloo"].ravel() for c in curves[reward].values()])
                  for e in ("weighted_leave_one_out", "reinforce")]  # fmt: skip
        row[4].boxplot([p[np.isfinite(p) & (p > 0)] for p in paired], showfliers=False)
        row[4].set_xticks([1, 2], ["OBLR-PO baseline / RLOO", "no baseline / RLOO"])
        row[4].axhline(1.0, color="grey", linestyle="--")
        row[4].set_yscale("log")
        titles = (
            f"{reward}: test error vs reward queries (95% CI, {config.seeds} seeds)",
            "final test error (95% CI)",
            "trace variance of the gradient estimate",
            "SNR = ||g||^2 / (tr Cov / B)",
            "paired trace variance, same batches",
        )
        for axis, title in zip(row, titles, strict=True):
            axis.set_title(title)
            axis.grid(alpha=0.3)
        for axis in row[[0, 2, 3]]:
            axis.set_xlabel("reward queries")
            axis.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value / 1000:g}k"))  # 614400: 614.4k
        for axis in row[[0, 2, 3]]:
            axis.set_yscale("log")
        row[0].set_ylabel("1 - E p(y*|x)")
        row[0].legend(fontsize=8)
    figure.suptitle(
        f"N={config.seq_len}, k={config.vocab_size}, d={config.context_dim}, B={config.num_contexts} contexts x "
        f"G={config.group_size} responses per step, {config.optimizer.upper()}; base model test error "
        f"{summary['base_test_error']:.3f}; learning rate tuned per method on {{{', '.join(f'{rate:g}' for rate in config.learning_rates)}}}"
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def format_summary(summary: dict[str, Any]) -> str:
    lines = [f"base model test error {summary['base_test_error']:.4f}"]
    for reward, table in summary["results"].items():
        lines.append(f"{reward} reward ({summary['queries'][reward]} queries per run, {summary['seeds']} seeds):")
        for method, row in sorted(table.items(), key=lambda item: item[1]["final_test_error_mean"]):
            edge = " (grid edge)" if row["rate_at_grid_edge"] else ""
            lines.append(
                f"  {LABELS.get(method, method):<28} lr {row['learning_rate']:<5g}{edge:<12} final test error "
                f"{row['final_test_error_mean']:.4f} +- {row['final_test_error_ci95']:.4f}   "
                f"SNR {row['snr_mean']:.3g}   trace var {row['trace_variance_mean']:.3g}"
            )
        improvement = summary["probability_of_lower_error_than_best"][reward]
        chances = [f"{LABELS.get(m, m)} {e['point']:.2f}" for m, e in improvement.items() if m != "best"]
        if chances:
            lines.append(
                f"  P(lower final error than {LABELS.get(improvement['best'], improvement['best'])}): "
                + ", ".join(chances)
            )
    return "\n".join(lines)


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
