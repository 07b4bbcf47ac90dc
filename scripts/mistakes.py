"""Online learning with a uniform behaviour: the mistakes of uniform-behaviour PG against k^N / gamma^2.

Each run starts from w = 0 on a task with margin gamma and plays rounds of online learning, one fresh
context per round: the learner answers with the mode of p_w (a wrong answer is a mistake), a uniform
response is queried through the env, and the learner takes the adaptive step on it (``agents.learners.uniform_pg``;
zeta > 1 adds the clipped importance ratio). A run ends when the learner's answer is right on every test
context (checked every ``eval_every`` rounds; it has then converged: later mistakes are rare) or after
``max_rounds`` rounds. Two sweeps: the length N at a fixed gamma, and gamma at a fixed N, each over seeds,
rewards and zetas; the mistakes are set beside the bound's rate k^N / gamma^2 on log scales.

Writes, under the run directory (whose path it prints): ``mistakes.png`` (mistakes against N and against
gamma with the rate beside them, and the cumulative mistakes over rounds), ``mistakes.csv`` (one row per
run), ``mistakes.json`` (the summary, with the fitted growth per token and the exponent in gamma),
TensorBoard events under ``tb_mistakes/`` and every run's folder (config, metrics, events, checkpoint)
under ``runs/``. Running the same command again skips finished runs and resumes interrupted ones.
"""

from __future__ import annotations

import csv
import shutil
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from agents.experiment.cli import Experiment, run_experiment
from agents.experiment.config_checks import ConfigError, check_choices, check_fields
from agents.experiment.runs import Run, finished_run, read_metrics, train
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
from agents.experiment.threads import limit_threads
from agents.learners.uniform_pg import UniformPG, UniformPGConfig
from agents.policy.evaluation import LinearEvaluator
from agents.policy.policy import LinearPolicy
from seqreward_env import SequenceTask, SequenceVectorEnv

REWARDS = ("outcome", "process")

# TensorBoard custom-scalars layout: the runs of the experiment's summary events on shared charts.
CHARTS = {
    "mistakes: outcome against process reward": {
        "mistakes against N": ["mistakes/against_seq_len"],
        "mistakes against 1000 gamma": ["mistakes/against_1000_gamma"],
    }
}


@dataclass(frozen=True)
class MistakesConfig:
    """Settings of the mistake-bound experiment (defaults: the full setting)."""

    vocab_size: int = 2
    """k, the vocabulary size."""
    context_dim: int = 8
    """d, the context dimension."""
    contexts: str = "rademacher"
    """Context distribution ('rademacher' or 'mixture')."""
    task_seed: int = 0
    """Seed of the teacher and the test set."""
    seq_lens: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7, 8)
    """Lengths N of the sweep in N (at gamma = --margin)."""
    margin: float = 0.1
    """gamma of the sweep in N."""
    margins: tuple[float, ...] = (0.05, 0.1, 0.15, 0.2, 0.3)
    """Margins gamma of the sweep in gamma (at N = --margin-seq-len)."""
    margin_seq_len: int = 5
    """N of the sweep in gamma."""
    rewards: tuple[str, ...] = ("outcome", "process")
    """Rewards ('outcome', 'process')."""
    zetas: tuple[float, ...] = (1.0,)
    """Clips zeta of the importance ratio (1: plain uniform-behaviour PG)."""
    seeds: int = 10
    """Seeds per setting (0, 1, ...)."""
    max_rounds: int = 200_000
    """Rounds (contexts) at most per run."""
    eval_every: int = 25
    """Rounds between convergence checks (greedy answers on the test set) and checkpoints."""
    log_every: int = 10
    """Rounds between logged records (the cumulative-mistake curves)."""
    test_size: int = 512
    """Test contexts of the convergence check."""
    workers: int = 2
    """Local worker processes."""
    backend: str = "local"
    """'local' or 'ray'."""
    ray_address: str = ""
    """Ray cluster address ('auto' to find one; empty starts a local Ray)."""

    def __post_init__(self) -> None:
        check_fields(self)
        check_config(self)


@dataclass(frozen=True)
class MistakeJob:
    """One online-learning run of uniform-behaviour PG from w = 0."""

    run_dir: str
    task: dict[str, Any]
    zeta: float
    seed: int
    max_rounds: int
    eval_every: int
    log_every: int
    test_size: int
    show_progress: bool = False


def main(argv: list[str] | None = None) -> Path:
    return run_experiment(EXPERIMENT, argv)


def check_config(config: MistakesConfig) -> None:
    """Fail early, with what is allowed, on a bad command line."""
    for flag, values, low in (
        ("--seq-lens", config.seq_lens, 1),
        ("--margins", config.margins, 0.0),
        ("--zetas", config.zetas, 1.0),
    ):
        if not values or min(values) < low or (flag == "--margins" and min(values) <= 0):
            raise ConfigError(f"{flag} must be numbers {'>' if low == 0 else '>='} {low}, got {values!r}")
    check_choices(config, "rewards", REWARDS)
    try:
        for seq_len, gamma in settings(config):
            SequenceTask(**task_kwargs(config, seq_len, gamma))
    except ValueError as error:
        raise ConfigError(f"--margin/--margins: {error}") from None


def settings(config: MistakesConfig) -> list[tuple[int, float]]:
    """The (N, gamma) pairs of both sweeps, each once."""
    pairs = [(n, config.margin) for n in list(config.seq_lens)]
    pairs += [(config.margin_seq_len, gamma) for gamma in list(config.margins)]
    return sorted(set(pairs))


def task_kwargs(config: MistakesConfig, seq_len: int, gamma: float, reward: str = "outcome") -> dict[str, Any]:
    return task_keywords(config, seq_len=seq_len, margin=gamma, reward=reward)


def run_mistake_job(job: MistakeJob) -> dict[str, Any]:
    """Run ``job`` in its folder (resuming; a finished run is not run again) and return its summary."""
    path = Path(job.run_dir)
    record = {**asdict(job), "show_progress": None}
    done = finished_run(path, record)
    if done is not None:
        return done
    limit_threads(1)
    task = SequenceTask(**job.task)
    envs = SequenceVectorEnv(num_envs=1, task=task, copy=False, autoreset_mode="disabled")
    evaluator = LinearEvaluator(task, job.test_size)
    agent = UniformPG(envs, LinearPolicy.for_task(task), UniformPGConfig(zeta=job.zeta), job.seed, evaluator)
    run = Run(path, record)
    train(
        run,
        agent,
        job.max_rounds,
        eval_every=job.eval_every,
        log_every=job.log_every,
        description=f"N={task.seq_len} gamma={task.margin_condition:g}",
        show_progress=job.show_progress,
        stop_when=lambda metrics: metrics["eval/greedy_test_error"] == 0.0,
    )
    last = [entry for entry in read_metrics(path) if "eval/greedy_test_error" in entry][-1]
    gamma = float(task.margin_condition or 0.0)
    result = {
        "seq_len": task.seq_len,
        "vocab_size": task.vocab_size,
        "gamma": gamma,
        "smallest_test_margin": float(evaluator.task.margins(evaluator.test_contexts).min()),
        "reward": task.reward,
        "zeta": job.zeta,
        "seed": job.seed,
        "rounds": last["step"],
        "converged": last["eval/greedy_test_error"] == 0.0,
        "mistakes": last["train/mistakes"],
        "expected_mistakes": last["train/expected_mistakes"],
        "updates": last["train/updates"],
        "reward_queries": last["train/reward_queries"],
        "env_reward_queries": envs.total_reward_queries,
        "test_error": last["eval/test_error"],
        "rate": task.vocab_size**task.seq_len / gamma**2,
    }
    run.finish(result)
    run.close()
    return result


def make_jobs(config: MistakesConfig, run_dir: Path, show_progress: bool) -> list[MistakeJob]:
    return [
        MistakeJob(
            run_dir=str(run_dir / "runs" / reward / f"zeta{zeta:g}" / f"N{seq_len}-gamma{gamma:g}" / f"seed{seed}"),
            task=task_kwargs(config, seq_len, gamma, reward),
            zeta=zeta,
            seed=seed,
            max_rounds=config.max_rounds,
            eval_every=config.eval_every,
            log_every=config.log_every,
            test_size=config.test_size,
            show_progress=show_progress,
        )
        for reward in config.rewards
        for zeta in list(config.zetas)
        for seq_len, gamma in settings(config)
        for seed in range(config.seeds)
    ]


def run_mistakes(config: MistakesConfig, run_dir: Path, *, show_progress: bool = True) -> dict[str, Any]:
    """Every run of both sweeps, then the table, the fits, the figure and the TensorBoard summary."""
    run_dir.mkdir(parents=True, exist_ok=True)
    jobs = make_jobs(config, run_dir, show_progress and config.workers == 1 and config.backend == "local")
    results = run_sweep(
        run_mistake_job,
        jobs,
        backend=config.backend,
        workers=config.workers,
        ray_address=config.ray_address or None,
        description="online-learning runs",
        show_progress=show_progress,
    )
    with open(run_dir / "mistakes.csv", "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(results[0]))
        writer.writeheader()
        writer.writerows(results)
    series = group_series(config, results)
    summary = {"config": asdict(config), "runs": len(results), "series": series}
    write_tensorboard(run_dir, series)
    draw(run_dir / "mistakes.png", config, series, jobs)
    experiment_views(run_dir, CHARTS, run_dir / "mistakes.png")
    return summary


# ----- analysis: drawn from what the runs wrote --------------------------------------------------------
def group_series(config: MistakesConfig, results: list[dict[str, Any]]) -> dict[str, Any]:
    """Per (reward, zeta): the mean mistakes over seeds along each sweep, and least-squares fits of
    log mistakes on N (growth per token, to be set beside k) and on log gamma (the exponent, beside -2)."""
    series: dict[str, Any] = {}
    for reward in sorted({r["reward"] for r in results}):
        for zeta in sorted({r["zeta"] for r in results}):
            name = f"{reward}, zeta={zeta:g}"
            runs = [r for r in results if r["reward"] == reward and r["zeta"] == zeta]
            by_n = [point(config, [r for r in runs if r["seq_len"] == n and r["gamma"] == config.margin], "seq_len", n)
                    for n in list(config.seq_lens)]  # fmt: skip
            by_gamma = [
                point(
                    config, [r for r in runs if r["seq_len"] == config.margin_seq_len and r["gamma"] == g], "gamma", g
                )
                for g in list(config.margins)
            ]
            growth = growth_per_token([p["seq_len"] for p in by_n], [p["mistakes_mean"] for p in by_n])
            exponent = power_law_exponent([p["gamma"] for p in by_gamma], [p["mistakes_mean"] for p in by_gamma])
            series[name] = {
                "reward": reward,
                "zeta": zeta,
                "by_seq_len": by_n,
                "by_gamma": by_gamma,
                "growth_per_token": point_or_none(growth),
                "growth_per_token_ci95": interval_or_none(growth),
                "gamma_exponent": point_or_none(exponent),
                "gamma_exponent_ci95": interval_or_none(exponent),
                "all_converged": all(r["converged"] for r in runs),
            }
    return series


def point(config: MistakesConfig, runs: list[dict[str, Any]], key: str, value: float) -> dict[str, Any]:
    mistakes = np.array([r["mistakes"] for r in runs], dtype=float)
    return {
        key: value,
        "seq_len": runs[0]["seq_len"],
        "gamma": runs[0]["gamma"],
        "mistakes_mean": float(mistakes.mean()),
        "mistakes_min": float(mistakes.min()),
        "mistakes_max": float(mistakes.max()),
        "expected_mistakes_mean": float(np.mean([r["expected_mistakes"] for r in runs])),
        "rounds_mean": float(np.mean([r["rounds"] for r in runs])),
        "converged": int(sum(r["converged"] for r in runs)),
        "seeds": len(runs),
        "rate": runs[0]["rate"],
        "mistakes_over_rate": float(mistakes.mean() / runs[0]["rate"]),
    }


def write_tensorboard(run_dir: Path, series: dict[str, Any]) -> None:
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


def draw(path: Path, config: MistakesConfig, series: dict[str, Any], jobs: list[MistakeJob]) -> None:
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
    for axis, points, key in (
        (by_n, next(iter(series.values()))["by_seq_len"], "seq_len"),
        (by_gamma, next(iter(series.values()))["by_gamma"], "gamma"),
    ):
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
    first = jobs[0]
    for job in jobs:  # the first series' sweep in N, every seed
        n = job.task["seq_len"]
        same_series = (job.task["reward"], job.zeta) == (first.task["reward"], first.zeta)
        if not same_series or job.task["margin"] != config.margin or n not in lengths:
            continue
        records = [r for r in read_metrics(job.run_dir) if "train/mistakes" in r and r["step"] > 0]
        shade = colour_map(lengths.index(n) / max(1, len(lengths) - 1))
        over_rounds.plot(
            [r["step"] for r in records],
            [r["train/mistakes"] for r in records],
            color=shade,
            alpha=0.7,
            label=f"N={n}" if job.seed == 0 else None,
        )
    over_rounds.set_xscale("log")
    over_rounds.set_yscale("log")
    over_rounds.set_xlabel("round (contexts seen)")
    over_rounds.set_ylabel("cumulative mistakes")
    over_rounds.set_title(f"cumulative mistakes, {first.task['reward']} reward, zeta={first.zeta:g}, every seed")
    over_rounds.grid(alpha=0.3, which="both")
    over_rounds.legend(fontsize=8)
    figure.suptitle(
        f"online learning from w = 0 with a uniform behaviour: d={config.context_dim}, {config.contexts} contexts, "
        f"{config.seeds} seeds; a run stops when every test answer is right (at most {config.max_rounds} rounds)"
    )
    figure.savefig(path, dpi=110)
    plt.close(figure)


def format_summary(summary: dict[str, Any]) -> str:
    lines = []
    for name, curve in summary["series"].items():
        growth, exponent = curve["growth_per_token"], curve["gamma_exponent"]
        lines.append(
            f"{name}: mistakes grow x{growth:.2f}{interval_text(curve['growth_per_token_ci95'])} per token "
            f"(k = {summary['config']['vocab_size']}), exponent in gamma "
            f"{exponent:.2f}{interval_text(curve['gamma_exponent_ci95'])} (rate: -2); "
            f"every run converged: {curve['all_converged']}"
            if growth is not None and exponent is not None
            else f"{name}:"
        )
        for p in curve["by_seq_len"] + curve["by_gamma"]:
            lines.append(
                f"  N={p['seq_len']:<3} gamma={p['gamma']:<5g} mistakes {p['mistakes_mean']:>9.1f} "
                f"[{p['mistakes_min']:.0f}, {p['mistakes_max']:.0f}]  k^N/gamma^2 {p['rate']:>9.0f}  "
                f"ratio {p['mistakes_over_rate']:.3f}  rounds {p['rounds_mean']:.0f}  converged {p['converged']}/{p['seeds']}"
            )
    return "\n".join(lines)


QUICK = replace(
    MistakesConfig(),
    seq_lens=(1, 2, 3, 4, 5, 6),
    margins=(0.05, 0.1, 0.2, 0.3),
    margin_seq_len=4,
    rewards=("outcome",),
    seeds=3,
    max_rounds=20_000,
)


EXPERIMENT = Experiment(
    name="mistakes",
    description=__doc__ or "",
    config_class=MistakesConfig,
    quick=QUICK,
    check=check_config,
    run=run_mistakes,
    describe=format_summary,
    outputs=("mistakes.png", "mistakes.csv"),
    folders=("runs", "tb_mistakes"),
)


if __name__ == "__main__":
    main(sys.argv[1:])
