"""Picklable jobs for the theory experiments: pre-train a base model to a fixed quality, then run one of
the theory's agents in its own run folder until a target test error (or a budget), and summarise what
the run wrote. Sweeps send these jobs to worker processes or a Ray cluster (``agents.experiment.sweep``)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from agents.experiment.runs import DONE, Run, finished_run, read_metrics, train
from agents.experiment.threads import limit_threads
from agents.learners.adaptive_pg import AdaptivePG, AdaptivePGConfig
from agents.learners.best_of_m import BestOfM, BestOfMConfig
from agents.learners.pretrain import PretrainConfig, Pretrainer
from agents.learners.process_repair import ProcessRepair, ProcessRepairConfig
from agents.learners.uniform_pg import UniformPG, UniformPGConfig
from agents.policy.evaluation import LinearEvaluator
from agents.policy.networks import PolicyChoice, load_policy
from agents.policy.policy import LinearPolicy
from agents.policy.policy_grad import Policy
from seqreward_env import SequenceTask, SequenceVectorEnv

RESULT = DONE  # a run's finished marker, holding its summary
BASE_MODEL = "base_model.pt"
# The reward each algorithm needs (None: the task's own).
ALGORITHMS: dict[str, str | None] = {
    "best_of_m": "outcome",
    "process_repair": "process",
    "adaptive_pg": None,
    "uniform_pg": None,
}


class QualityEvaluator(LinearEvaluator):
    """``LinearEvaluator`` plus ``eval/mean_token_probability``: the mean over test contexts and positions
    of p(y*_i | x, y*_<i), the base model's quality per token (independent of N for a fixed model)."""

    def __call__(self, policy: Policy) -> dict[str, Any]:
        return {
            **super().__call__(policy),
            "eval/mean_token_probability": float(np.exp(self.token_log_probs(policy)).mean()),
        }


@dataclass(frozen=True)
class PretrainJob:
    """Supervised pre-training of a base model until its mean next-token probability of y* reaches
    ``token_probability`` (or for ``config.steps`` steps when that is None)."""

    run_dir: str
    task: dict[str, Any]
    config: PretrainConfig
    seed: int
    token_probability: float | None = None
    test_size: int = 1024
    threads: int = 1
    show_progress: bool = True
    policy: PolicyChoice = PolicyChoice()
    """The policy pre-trained (the linear one unless chosen otherwise)."""


def pretrain_base_model(job: PretrainJob) -> str:
    """Pre-train in ``job.run_dir`` (resuming; skipped when the model exists) and return the model's path."""
    limit_threads(job.threads)
    path = Path(job.run_dir)
    model_file = path / BASE_MODEL
    record = {**asdict(job), "config": asdict(job.config), "show_progress": None}
    del record["policy"]  # recorded only for a network, so linear run folders made before it still resume
    record.update(job.policy.record())
    if finished_run(path, record) is not None and model_file.exists():
        return str(model_file)
    task = SequenceTask(**job.task)
    policy = job.policy.make(task, seed=job.seed)
    evaluator = QualityEvaluator(task, job.test_size)
    trainer = Pretrainer(task, policy, job.config, job.seed, evaluator)
    run = Run(path, record)
    target = job.token_probability
    train(
        run,
        trainer,
        job.config.steps,
        eval_every=1 if target is not None else max(1, job.config.steps // 10),
        description="pre-train",
        show_progress=job.show_progress,
        stop_when=None if target is None else (lambda metrics: metrics["eval/mean_token_probability"] >= target),
    )
    policy.save(model_file)
    final = [record for record in read_metrics(path) if "eval/test_error" in record][-1]
    run.finish({**final, "reached": target is None or _reached_quality(final, target)})
    run.close()
    return str(model_file)


def _reached_quality(record: dict[str, Any], target: float) -> bool:
    return float(record["eval/mean_token_probability"]) >= target


@dataclass(frozen=True)
class TheoryJob:
    """One run of a theory agent from a base model, until ``target_error`` or ``max_steps``.

    ``task`` holds ``SequenceTask`` keyword arguments (the reward is set by the algorithm where it needs
    one); ``agent_config`` the fields of the algorithm's config dataclass; ``rows`` the env's
    ``num_envs``. Evaluations run every ``eval_every`` steps and on a grid growing by ``eval_growth``
    per step, so the queries at which the target was reached are known to that relative precision.
    """

    run_dir: str
    algorithm: str
    task: dict[str, Any]
    seed: int
    max_steps: int
    rows: int = 1
    agent_config: dict[str, Any] = field(default_factory=dict)
    base_model: str | None = None
    target_error: float | None = None
    eval_every: int = 1000
    eval_growth: float = 0.05
    log_every: int = 10
    test_size: int = 1024
    threads: int = 1
    device: str = "cpu"
    show_progress: bool = True
    progress_position: int = 0


def make_agent(job: TheoryJob, envs: SequenceVectorEnv, policy: Policy, base: Policy, evaluator: Any) -> Any:
    """The agent ``job.algorithm`` names, built from ``job.agent_config``."""
    settings = job.agent_config
    if job.algorithm == "best_of_m":
        return BestOfM(envs, policy, base, BestOfMConfig(**settings), job.seed, evaluator)
    if job.algorithm == "process_repair":
        return ProcessRepair(envs, policy, base, ProcessRepairConfig(**settings), job.seed, evaluator)
    if job.algorithm == "adaptive_pg":
        return AdaptivePG(envs, policy, AdaptivePGConfig(**settings), job.seed, evaluator)
    if job.algorithm == "uniform_pg":
        return UniformPG(envs, policy, UniformPGConfig(**settings), job.seed, evaluator)
    raise ValueError(f"algorithm must be one of {sorted(ALGORITHMS)}, got {job.algorithm!r}")


def job_task(job: TheoryJob) -> SequenceTask:
    """The job's task, with the reward its algorithm needs."""
    if job.algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {sorted(ALGORITHMS)}, got {job.algorithm!r}")
    reward = ALGORITHMS[job.algorithm]
    return SequenceTask(**(job.task if reward is None else {**job.task, "reward": reward}))


def log_spaced_steps(total: int, growth: float) -> list[int]:
    """Steps 1, 2, ... growing by a factor of at least 1 + ``growth`` each, up to ``total``."""
    steps, step = [], 1
    while step <= total:
        steps.append(step)
        step = max(step + 1, math.ceil(step * (1.0 + growth)))
    return steps


def run_theory_job(job: TheoryJob) -> dict[str, Any]:
    """Run ``job`` in its folder (resuming; a finished run of the same job is not run again, one of another
    job is refused naming the differences) and return its summary."""
    path = Path(job.run_dir)
    record = {**asdict(job), "show_progress": None, "progress_position": None}
    done = finished_run(path, record)
    if done is not None:
        return done
    limit_threads(job.threads)
    task = job_task(job)
    envs = SequenceVectorEnv(num_envs=job.rows, task=task, copy=False, autoreset_mode="disabled")
    base = (
        LinearPolicy.for_task(task, job.device) if job.base_model is None else load_policy(job.base_model, job.device)
    )
    policy = base.copy()
    agent = make_agent(job, envs, policy, base, LinearEvaluator(task, job.test_size))
    run = Run(path, record)
    target = job.target_error
    train(
        run,
        agent,
        job.max_steps,
        eval_every=job.eval_every,
        log_every=job.log_every,
        eval_steps=log_spaced_steps(job.max_steps, job.eval_growth) if job.eval_growth > 0 else (),
        description=f"{job.algorithm} N={task.seq_len}",
        show_progress=job.show_progress,
        progress_position=job.progress_position,
        stop_when=None if target is None else (lambda metrics: metrics["eval/test_error"] <= target),
    )
    policy.save(path / "final_model.pt")
    summary = summarize_run(path, target)
    summary.update(
        {
            "algorithm": job.algorithm,
            "tries": getattr(agent, "tries", None),
            "env_reward_queries": envs.total_reward_queries,
            "agent_reward_queries": agent.reward_queries,
        }
    )
    run.finish(summary)
    run.close()
    return summary


def summarize_run(path: str | Path, target_error: float | None) -> dict[str, Any]:
    """From a run's ``metrics.jsonl``: the first evaluation at or below ``target_error`` (the queries it
    took) and the last evaluation."""
    evaluations = [record for record in read_metrics(path) if "eval/test_error" in record]
    if not evaluations:
        raise ValueError(f"{path} holds no evaluation")
    last = evaluations[-1]
    summary: dict[str, Any] = {
        "target_error": target_error,
        "reached": False,
        "queries_to_target": None,
        "steps_to_target": None,
        "final_step": last["step"],
        "final_test_error": last["eval/test_error"],
        "final_reward_queries": last["train/reward_queries"],
        "final_updates": last["train/updates"],
        "base_test_error": evaluations[0]["eval/test_error"],
    }
    for key in ("train/mistakes", "train/expected_mistakes", "train/contexts", "eval/uniform_iterate_test_error"):
        if key in last:
            summary["final_" + key.split("/", 1)[1]] = last[key]
    if target_error is not None:
        for record in evaluations:
            if record["eval/test_error"] <= target_error:
                summary.update(
                    reached=True, queries_to_target=record["train/reward_queries"], steps_to_target=record["step"]
                )
                break
    return summary


# ----- analysis shared by the barrier and margin experiments -------------------------------------------
def query_statistics(summaries: list[dict[str, Any]]) -> dict[str, Any]:
    """Queries to the target over the runs of one setting: the median and geometric mean of the runs that
    reached it, how many did, and the most queries any run spent (a lower bound where one did not)."""
    reached = [float(s["queries_to_target"]) for s in summaries if s["reached"]]
    return {
        "runs": len(summaries),
        "reached": len(reached),
        "median": float(np.median(reached)) if reached else None,
        "geometric_mean": float(np.exp(np.mean(np.log(reached)))) if reached else None,
        "min": min(reached) if reached else None,
        "max": max(reached) if reached else None,
        "max_spent": max(float(s["final_reward_queries"]) for s in summaries) if summaries else None,
    }


def write_table(path: Path, rows: list[dict[str, Any]]) -> None:
    """A CSV with one row per dict (columns: the keys of the first row)."""
    import csv

    with open(path, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]) if rows else [])
        writer.writeheader()
        writer.writerows(rows)


def write_series_events(path: Path, series: dict[str, dict[str, list[Any]]], x_key: str, tag: str) -> None:
    """TensorBoard events, one folder per curve under ``path``: each curve's median queries (and its
    reference rates) with ``x_key`` as the step (scaled to an integer where it is a real number)."""
    import shutil

    from torch.utils.tensorboard import SummaryWriter

    shutil.rmtree(path, ignore_errors=True)  # redrawn from the runs on every call
    for name, curve in series.items():
        events = SummaryWriter(str(path / name))
        for index, x in enumerate(curve[x_key]):
            step = int(x) if float(x).is_integer() else int(round(1000 * float(x)))
            for key, values in curve.items():
                if key != x_key and isinstance(values, list) and values[index] is not None:
                    events.add_scalar(f"{tag}/{key}", float(values[index]), step)
        events.close()
