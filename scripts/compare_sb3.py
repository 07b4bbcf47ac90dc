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
Each (phase, reward, method, rate, seed) is its own run folder: a rerun skips finished runs (PG runs
resume from their checkpoint; an interrupted SB3 run starts over).

Writes, under the run directory: ``compare_sb3.png`` (test error against environment steps and against
reward queries, and the test errors at the two equal budgets), ``compare_sb3.csv`` (one row per run),
``compare_sb3_curves.csv`` (the curves behind the figure), ``compare_sb3.json`` (the summary) and
TensorBoard events under ``tb_compare/`` (one run per reward and method), all drawn from what the runs
wrote; each run's own TensorBoard events sit in its folder.
"""

from __future__ import annotations

import argparse
import csv
import math
import shutil
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from agents.experiment.cli import Experiment, parse_experiment_args, run_experiment
from agents.experiment.config_checks import ConfigError, check_choices, check_fields
from agents.experiment.runs import read_metrics
from agents.experiment.settings import task_keywords
from agents.experiment.statistics import aggregate, mean_interval
from agents.experiment.sweep import run_sweep
from agents.experiment.tensorboard import experiment_views
from agents.learners.paper_pg import PaperPGConfig, PaperPGJob, run_paper_pg
from agents.learners.sb3.evaluation import greedy_decode
from agents.learners.sb3.training import SB3Job, read_history, run_sb3
from agents.policy.policy import LinearPolicy
from seqreward_env import SequenceTask

ENV_IDS = {"outcome": "seqreward/Outcome-v0", "process": "seqreward/Process-v0"}
METHODS = ("paper_pg", "ppo", "a2c")
LABELS = {"paper_pg": "paper's PG (Adagrad)", "ppo": "SB3 PPO", "a2c": "SB3 A2C"}
REWARD_VALUES = (-1.0, 1.0)  # the paper's
TUNING_SEED_OFFSET = 1000

# TensorBoard custom-scalars layout: the runs of the experiment's summary events on shared charts.
CHARTS = {
    "compare_sb3: every method": {
        "test error against env steps": ["compare/test_error_vs_env_steps"],
        "test error against reward queries": ["compare/test_error_vs_reward_queries"],
    }
}


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


def parse_args(argv: list[str] | None = None) -> tuple[CompareSB3Config, argparse.Namespace]:
    """The settings of a command line (checked) and its other flags; ``run_dir`` filled in."""
    return parse_experiment_args(EXPERIMENT, argv)  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> Path:
    return run_experiment(EXPERIMENT, argv)


# ----- settings -----------------------------------------------------------------------------------------


def learning_rates(config: CompareSB3Config, method: str) -> list[float]:
    return [float(rate) for rate in getattr(config, f"{method.removeprefix('paper_')}_learning_rates")]


def check_config(config: CompareSB3Config) -> None:
    """Fail early, with what is allowed, on a bad command line."""
    check_choices(config, "rewards", ENV_IDS)
    check_choices(config, "methods", METHODS)
    for method in config.methods:
        rates = learning_rates(config, method)
        if not rates or min(rates) <= 0:
            raise ConfigError(f"the {method} learning-rate grid must be positive numbers, got {rates or 'none'}")


def task_kwargs(config: CompareSB3Config) -> dict[str, Any]:
    return task_keywords(config, reward_values=REWARD_VALUES)


def eval_every(config: CompareSB3Config) -> int:
    """Environment steps between evaluations: a multiple of every method's update size (a PG step, a PPO and
    an A2C rollout), so that all methods evaluate at the same steps."""
    unit = math.lcm(
        config.pg_batch_size * config.seq_len,
        config.num_envs * config.ppo_n_steps,
        config.num_envs * config.a2c_n_steps,
    )
    return unit * max(1, math.ceil(config.query_budget / config.evaluations / unit))


def env_steps(config: CompareSB3Config, reward: str) -> int:
    """Environment steps of a run: the (rounded) query budget, times N under the outcome reward."""
    budget = eval_every(config) * config.evaluations
    return budget * (config.seq_len if reward == "outcome" else 1)


# ----- runs -----------------------------------------------------------------------------------------------
Job = PaperPGJob | SB3Job


def run_job(job: Job) -> str:
    """Run (or find finished) one job; returns its run folder."""
    if isinstance(job, PaperPGJob):
        return run_paper_pg(job)
    run_sb3(job)
    return job.run_dir


def make_job(
    config: CompareSB3Config,
    run_dir: Path,
    phase: str,
    reward: str,
    method: str,
    rate: float,
    seed: int,
    show_progress: bool,
) -> Job:
    folder = str(run_dir / "runs" / phase / reward / method / f"lr{rate:g}" / f"seed{seed}")
    steps, every = env_steps(config, reward), eval_every(config)
    if method == "paper_pg":
        per_step = config.pg_batch_size * config.seq_len
        return PaperPGJob(
            run_dir=folder,
            env_id=ENV_IDS[reward],
            env_kwargs=task_kwargs(config),
            base_model=str(run_dir / "uniform_policy.pt"),
            steps=steps // per_step,
            batch_size=config.pg_batch_size,
            config=PaperPGConfig(learning_rate=rate),
            seed=seed,
            test_size=config.test_size,
            eval_every=every // per_step,
            device=config.device,
            show_progress=show_progress,
        )
    n_steps = config.ppo_n_steps if method == "ppo" else config.a2c_n_steps
    batch = {"batch_size": config.ppo_batch_size} if method == "ppo" else {}
    return SB3Job(
        run_dir=folder,
        algo=method,
        env_id=ENV_IDS[reward],
        env_kwargs=task_kwargs(config),
        algo_kwargs={"n_steps": n_steps, "learning_rate": rate, **batch},
        num_envs=config.num_envs,
        total_timesteps=steps,
        seed=seed,
        eval_every=every,
        num_test_contexts=config.test_size,
        device=config.device,
        show_progress=show_progress,
    )


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
    """Tune each method's rate, run the evaluation seeds, then write every output."""
    run_dir.mkdir(parents=True, exist_ok=True)
    task = SequenceTask(**task_kwargs(config))
    LinearPolicy.for_task(task).save(run_dir / "uniform_policy.pt")  # the paper's PG starts from w = 0
    rewards, methods = list(config.rewards), list(config.methods)
    per_run_progress = show_progress and config.workers == 1 and config.backend == "local"
    tuning_seeds = [TUNING_SEED_OFFSET + i for i in range(config.tuning_seeds)]
    tuning = {
        (reward, method, rate, seed): make_job(config, run_dir, "tune", reward, method, rate, seed, per_run_progress)
        for reward in rewards
        for method in methods
        if len(learning_rates(config, method)) > 1
        for rate in learning_rates(config, method)
        for seed in tuning_seeds
    }
    sweep(config, list(tuning.values()), "tuning runs", show_progress)
    grid: dict[tuple[str, str], dict[str, float]] = {}
    chosen: dict[tuple[str, str], float] = {}
    for reward in rewards:
        for method in methods:
            rates = learning_rates(config, method)
            scores = {
                rate: float(
                    np.mean([run_curve(tuning[reward, method, rate, s])["test_error"][-1] for s in tuning_seeds])
                )
                for rate in rates
                if (reward, method, rate, tuning_seeds[0]) in tuning
            }
            grid[reward, method] = {f"{rate:g}": score for rate, score in scores.items()}
            chosen[reward, method] = min(scores, key=lambda rate: (scores[rate], rate)) if scores else rates[0]
    evaluation = {
        (reward, method, seed): make_job(
            config, run_dir, "eval", reward, method, chosen[reward, method], seed, per_run_progress
        )
        for reward in rewards
        for method in methods
        for seed in range(config.seeds)
    }
    sweep(config, list(evaluation.values()), "evaluation runs", show_progress)

    jobs: dict[tuple[Any, ...], Job] = {**tuning, **evaluation}
    curves = {key: run_curve(job) for key, job in jobs.items()}
    exact_match = {key: final_greedy_exact_match(job, task) for key, job in evaluation.items()}
    equal_steps = env_steps(config, "process")
    write_run_table(run_dir / "compare_sb3.csv", tuning, evaluation, chosen, curves, exact_match, equal_steps)
    results: dict[str, dict[str, Any]] = {reward: {} for reward in rewards}
    mean_curves: dict[str, dict[str, dict[str, np.ndarray]]] = {reward: {} for reward in rewards}
    for reward in rewards:
        for method in methods:
            runs = [curves[reward, method, seed] for seed in range(config.seeds)]
            mean_curves[reward][method] = stack_curves(runs)
            results[reward][method] = method_summary(
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
        "env_steps": {reward: env_steps(config, reward) for reward in rewards},
        "seeds": config.seeds,
        "tuning_seeds": tuning_seeds if tuning else [],
        "results": results,
    }
    write_curves(run_dir, mean_curves)
    draw(run_dir / "compare_sb3.png", config, summary, mean_curves)
    experiment_views(run_dir, CHARTS, run_dir / "compare_sb3.png")
    return summary


# ----- analysis: drawn from what the runs wrote -------------------------------------------------------------
def run_curve(job: Job) -> dict[str, np.ndarray]:
    """A run's evaluations: ``env_steps``, ``reward_queries`` and ``test_error``, each ``(points,)``."""
    if isinstance(job, PaperPGJob):
        records = [r for r in read_metrics(job.run_dir) if "eval/test_error" in r]
        per_step = job.batch_size * int(job.env_kwargs["seq_len"])
        steps = [r["step"] * per_step for r in records]
        queries = [r["train/reward_queries"] for r in records]
        errors = [r["eval/test_error"] for r in records]
    else:
        history = read_history(job.run_dir)
        steps = [r["step"] for r in history]
        queries = [r["reward_queries"] for r in history]
        errors = [r["test_error"] for r in history]
    return {
        "env_steps": np.array(steps, dtype=np.int64),
        "reward_queries": np.array(queries, dtype=np.int64),
        "test_error": np.array(errors, dtype=float),
    }


def final_greedy_exact_match(job: Job, task: SequenceTask) -> float:
    """Fraction of the test contexts on which the final policy's greedy decoding writes y* exactly."""
    if isinstance(job, SB3Job):
        return float(read_history(job.run_dir)[-1]["greedy_exact_match"])
    policy = LinearPolicy.load(Path(job.run_dir) / "final_model.pt")
    contexts = task.test_contexts(job.test_size)
    greedy = greedy_decode(policy.observation_probs, task, contexts)
    return float(np.mean(np.all(greedy == task.targets(contexts), axis=1)))


def stack_curves(runs: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """One method's seeds side by side: the shared axes and ``test_error`` ``(seeds, points)``."""
    for run in runs[1:]:
        for axis in ("env_steps", "reward_queries"):
            if not np.array_equal(run[axis], runs[0][axis]):
                raise ValueError(f"runs of one method evaluated at different {axis}: {runs[0][axis]} vs {run[axis]}")
    return {**{axis: runs[0][axis] for axis in ("env_steps", "reward_queries")},
            "test_error": np.stack([run["test_error"] for run in runs])}  # fmt: skip


def at_env_steps(curve: dict[str, np.ndarray], steps: int) -> np.ndarray:
    """Per-seed test error at exactly ``steps`` environment steps (an evaluation point of every run)."""
    (index,) = np.flatnonzero(curve["env_steps"] == steps)
    return np.asarray(curve["test_error"][:, index])


def method_summary(
    curve: dict[str, np.ndarray], equal_steps: int, exact_match: list[float], rate: float, grid: dict[str, float]
) -> dict[str, Any]:
    at_steps, at_queries = at_env_steps(curve, equal_steps), curve["test_error"][:, -1]
    return {
        "learning_rate": rate,
        "tuning_final_test_error": grid,
        "rate_at_grid_edge": len(grid) > 1 and f"{rate:g}" in (min(grid, key=float), max(grid, key=float)),
        "equal_env_steps": {
            "env_steps": equal_steps,
            "reward_queries": int(curve["reward_queries"][curve["env_steps"] == equal_steps][0]),
            "test_error_mean": float(at_steps.mean()),
            "test_error_ci95": float(mean_interval(at_steps)[1]),
            "test_errors": at_steps.tolist(),
        },
        "equal_reward_queries": {
            "env_steps": int(curve["env_steps"][-1]),
            "reward_queries": int(curve["reward_queries"][-1]),
            "test_error_mean": float(at_queries.mean()),
            "test_error_ci95": float(mean_interval(at_queries)[1]),
            "test_error_iqm": aggregate(at_queries, "iqm").as_dict() if np.all(np.isfinite(at_queries)) else None,
            "test_errors": at_queries.tolist(),
            "greedy_exact_match_mean": float(np.mean(exact_match)),
            "greedy_exact_matches": exact_match,
        },
    }


def write_run_table(
    path: Path,
    tuning: dict[tuple[str, str, float, int], Job],
    evaluation: dict[tuple[str, str, int], Job],
    chosen: dict[tuple[str, str], float],
    curves: dict[Any, dict[str, np.ndarray]],
    exact_match: dict[tuple[str, str, int], float],
    equal_steps: int,
) -> None:
    """compare_sb3.csv: one row per run (tuning and evaluation), from its metrics."""
    rows = [("tune", *key, curves[key], float("nan")) for key in tuning]
    rows += [("eval", reward, method, chosen[reward, method], seed, curves[reward, method, seed],
              exact_match[reward, method, seed]) for reward, method, seed in evaluation]  # fmt: skip
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(
            ["phase", "reward", "method", "learning_rate", "seed", "env_steps", "reward_queries",
             "test_error_at_equal_env_steps", "final_test_error", "final_greedy_exact_match"]
        )  # fmt: skip
        for phase, reward, method, rate, seed, curve, match in rows:
            at_steps = curve["test_error"][curve["env_steps"] == equal_steps]
            writer.writerow(
                [phase, reward, method, rate, seed, curve["env_steps"][-1], curve["reward_queries"][-1],
                 at_steps[0], curve["test_error"][-1], match]
            )  # fmt: skip


def write_curves(run_dir: Path, curves: dict[str, dict[str, dict[str, np.ndarray]]]) -> None:
    """compare_sb3_curves.csv and TensorBoard events (one folder per reward and method), from the curves."""
    from torch.utils.tensorboard import SummaryWriter

    shutil.rmtree(run_dir / "tb_compare", ignore_errors=True)  # redrawn from the runs on every call
    with open(run_dir / "compare_sb3_curves.csv", "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["reward", "method", "env_steps", "reward_queries", "test_error_mean", "test_error_ci95"])
        for reward, by_method in curves.items():
            for method, curve in by_method.items():
                events = SummaryWriter(str(run_dir / "tb_compare" / reward / method))
                mean, half_width = mean_interval(curve["test_error"])
                for steps, queries, m, h in zip(
                    curve["env_steps"], curve["reward_queries"], mean, half_width, strict=True
                ):
                    writer.writerow([reward, method, int(steps), int(queries), m, h])
                    events.add_scalar("compare/test_error_vs_env_steps", m, int(steps))
                    events.add_scalar("compare/test_error_vs_reward_queries", m, int(queries))
                events.close()


def draw(path: Path, config: CompareSB3Config, summary: dict[str, Any], curves: dict[str, Any]) -> None:
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
        axis.set_title(f"{title} (mean +- s.e., {config.seeds} seeds)")
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


def format_summary(summary: dict[str, Any]) -> str:
    lines = [
        f"test error (mean +- 95% t-interval over {summary['seeds']} seeds) at {summary['equal_env_steps']} environment steps "
        f"and at {summary['query_budget']} reward queries"
    ]
    for reward, table in summary["results"].items():
        lines.append(f"{reward} reward:")
        for method, row in table.items():
            steps, queries = row["equal_env_steps"], row["equal_reward_queries"]
            edge = " (grid edge)" if row["rate_at_grid_edge"] else ""
            lines.append(
                f"  {LABELS[method]:<22} lr {row['learning_rate']:<7g}{edge:<12} "
                f"at {steps['env_steps']} steps ({steps['reward_queries']} queries): "
                f"{steps['test_error_mean']:.4f} +- {steps['test_error_ci95']:.4f}   "
                f"at {queries['reward_queries']} queries ({queries['env_steps']} steps): "
                f"{queries['test_error_mean']:.4f} +- {queries['test_error_ci95']:.4f}, "
                f"greedy exact match {queries['greedy_exact_match_mean']:.3f}"
            )
    return "\n".join(lines)


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
    describe=format_summary,
    outputs=("compare_sb3.png", "compare_sb3.csv", "compare_sb3_curves.csv"),
    folders=("runs", "tb_compare", "uniform_policy.pt"),
)


if __name__ == "__main__":
    main(sys.argv[1:])
