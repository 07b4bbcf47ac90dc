"""One contract for every run: a ``Job`` says what learns (a learner's name and its config), on which task,
from which policy, for how long (a budget in the learner's unit), with which seed, evaluated how, and where
it writes; ``run_job(job)`` runs it in its run folder (``agents.experiment.runs``) and returns its summary.

Every learner is built the same way, ``Learner(envs, policy, config, seed, evaluator)`` (SB3's learners bring
their own network: ``SB3Learner(envs, None, config, seed, evaluator)``), and trained by the one loop
``agents.experiment.runs.train``. A run folder holds ``config.json`` (the job's identity), ``metrics.jsonl``,
TensorBoard events under ``tb/``, ``checkpoint.pt``, the final model and, written last, ``done.json`` (the
summary ``run_job`` returns). Running a finished job again returns its summary without training; a folder
holding another job is refused with the differing fields; an interrupted job resumes from its checkpoint.

Jobs are frozen dataclasses of plain values and config dataclasses: they pickle, so sweeps send them to
worker processes or a Ray cluster (``agents.experiment.sweep``).
"""

from __future__ import annotations

import hashlib
import importlib
import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agents.experiment.config_checks import check_types
from agents.experiment.runs import Run, check_count, finished_run, read_metrics, train
from agents.experiment.seeding import check_seed
from agents.experiment.threads import limit_threads
from agents.policy.evaluation import PolicyEvaluator
from agents.policy.networks import PolicyChoice, load_policy
from seqreward_env import ENV_IDS, SequenceTask, SequenceVectorEnv

FINAL_MODEL = "final_model.pt"
UNITS = ("updates", "env_steps")


@dataclass(frozen=True)
class LearnerKind:
    """How ``run_job`` builds and drives one learner: its class and config class (imported when first used,
    so a job of one learner never imports another's dependencies), the unit of its budget, the reward it
    needs (None: the task's own), the env's autoreset mode, the env rows its config implies (None: the
    job's ``rows``) and whether it trains one of the project's policies."""

    module: str
    learner: str
    config: str
    unit: str = "updates"
    reward: str | None = None
    autoreset: str = "next_step"
    rows_from_config: Callable[[Any], int] | None = None
    trains_policy: bool = True

    def learner_class(self) -> Any:
        return getattr(importlib.import_module(self.module), self.learner)

    def config_class(self) -> type:
        config_class: type = getattr(importlib.import_module(self.module), self.config)
        return config_class


def _group_rows(config: Any) -> int:
    return int(config.num_contexts * config.group_size)


LEARNERS: dict[str, LearnerKind] = {
    "paper_pg": LearnerKind("agents.learners.paper_pg", "PaperPG", "PaperPGConfig"),
    "group_pg": LearnerKind("agents.learners.group_pg", "GroupPG", "GroupPGConfig", rows_from_config=_group_rows),
    "best_of_m": LearnerKind(
        "agents.learners.best_of_m", "BestOfM", "BestOfMConfig", reward="outcome", autoreset="disabled"
    ),
    "process_repair": LearnerKind(
        "agents.learners.process_repair", "ProcessRepair", "ProcessRepairConfig", reward="process", autoreset="disabled"
    ),
    "adaptive_pg": LearnerKind("agents.learners.adaptive_pg", "AdaptivePG", "AdaptivePGConfig", autoreset="disabled"),
    "uniform_pg": LearnerKind("agents.learners.uniform_pg", "UniformPG", "UniformPGConfig", autoreset="disabled"),
    "pretrain": LearnerKind("agents.learners.pretrain", "Pretrainer", "PretrainConfig", autoreset="disabled"),
}
"""Every learner a job can name."""


@dataclass(frozen=True)
class TaskSpec:
    """The task of a job: ``SequenceTask`` keyword arguments over the defaults of ``env_id`` (a registered
    id, or None for ``SequenceTask``'s own), with the teacher and test set of ``task_file`` (an ``.npz``
    written by ``agents.experiment.paper_task.save_task_arrays``) when given."""

    keywords: Mapping[str, Any] = field(default_factory=dict)
    env_id: str | None = None
    task_file: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.keywords, Mapping):
            raise ValueError(f"task keywords must be a mapping of SequenceTask arguments, got {self.keywords!r}")
        if self.env_id is not None and self.env_id not in ENV_IDS:
            raise ValueError(f"env_id must be one of {sorted(ENV_IDS)} or None, got {self.env_id!r}")
        if self.task_file is not None and not isinstance(self.task_file, str):
            raise ValueError(f"task_file must be a path string or None, got {self.task_file!r}")

    def build(self, reward: str | None = None) -> SequenceTask:
        """The task (with ``reward`` instead of its own when given)."""
        kwargs = {**(ENV_IDS[self.env_id] if self.env_id is not None else {}), **self.keywords}
        if reward is not None:
            kwargs["reward"] = reward
        if self.task_file is not None:
            from agents.experiment.paper_task import load_task_arrays

            arrays = load_task_arrays(self.task_file)
            kwargs.update(teacher=(arrays.teacher_w1, arrays.teacher_w2), test_set=arrays.test_contexts)
        return SequenceTask(**kwargs)

    def record(self) -> dict[str, Any]:
        return {"keywords": dict(self.keywords), "env_id": self.env_id, "task_file": self.task_file}


@dataclass(frozen=True)
class StopRule:
    """End a run at the first evaluation whose ``metric`` is at most ``at_most`` (or at least ``at_least``)."""

    metric: str
    at_most: float | None = None
    at_least: float | None = None

    def __post_init__(self) -> None:
        if (self.at_most is None) == (self.at_least is None):
            raise ValueError(f"a stop rule on {self.metric!r} needs exactly one of at_most and at_least")
        bound = self.at_most if self.at_most is not None else self.at_least
        if isinstance(bound, bool) or not isinstance(bound, (int, float)) or not math.isfinite(bound):
            raise ValueError(f"the bound of a stop rule must be a finite number, got {bound!r}")

    def __call__(self, metrics: Mapping[str, Any]) -> bool:
        value = float(metrics[self.metric])
        return value <= self.at_most if self.at_most is not None else value >= float(self.at_least)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Evaluation:
    """When and how a job is evaluated, in the unit of the learner's budget: at the start, every ``every``,
    at the steps of a grid growing by ``1 + growth`` (0: none) and at the end; training metrics are logged
    every ``log_every`` updates. ``test_size`` test contexts from the task's test set; ``tracked`` contexts
    ``(T, d)`` whose likelihoods are logged one by one, ``off_support`` the indices into them whose mean is
    logged too; ``stop`` ends the run early."""

    every: int = 100
    growth: float = 0.0
    log_every: int = 1
    test_size: int = 1024
    tracked: Any = None
    off_support: tuple[int, ...] | None = None
    stop: StopRule | None = None

    def __post_init__(self) -> None:
        check_count("evaluation.every", self.every, minimum=1)
        check_count("evaluation.log_every", self.log_every, minimum=1)
        check_count("evaluation.test_size", self.test_size, minimum=1)
        if isinstance(self.growth, bool) or not isinstance(self.growth, (int, float)) or not 0 <= self.growth < 1e6:
            raise ValueError(f"evaluation.growth must be a number >= 0, got {self.growth!r}")
        if self.off_support is not None and self.tracked is None:
            raise ValueError("evaluation.off_support indexes evaluation.tracked, which is None")

    def record(self) -> dict[str, Any]:
        """JSON-ready; the tracked contexts by their SHA-256 (they follow from the task and base model)."""
        record = asdict(self)
        if self.tracked is not None:
            tracked = np.ascontiguousarray(self.tracked, dtype=np.float32)
            record["tracked"] = hashlib.sha256(tracked.tobytes()).hexdigest()[:16]
        if self.off_support is not None:
            record["off_support"] = [int(index) for index in self.off_support]
        return record


@dataclass(frozen=True)
class Job:
    """One run: ``learner`` (a name in ``LEARNERS``) with its ``config`` on ``task`` for ``budget`` (updates,
    or environment steps for SB3's learners), from the policy in the file ``base_model`` (None: a fresh
    ``policy``, its weights drawn from ``policy_seed``, default ``seed``), writing to ``run_dir``.

    ``rows`` is the vector env's ``num_envs`` (the batch of the paper's PG, the parallel searches of the
    theory's algorithms; a group learner takes it from its config). ``threads``, ``show_progress``,
    ``progress_position`` and ``description`` change how a run is shown, not what it computes: they are not
    part of its identity.
    """

    learner: str
    config: Any
    task: TaskSpec
    budget: int
    seed: int
    run_dir: str
    rows: int | None = None
    base_model: str | None = None
    policy: PolicyChoice = PolicyChoice()
    policy_seed: int | None = None
    evaluation: Evaluation = Evaluation()
    device: str = "cpu"
    threads: int = 1
    show_progress: bool = False
    progress_position: int = 0
    description: str = ""

    def __post_init__(self) -> None:
        if self.learner not in LEARNERS:
            raise ValueError(f"learner must be one of {sorted(LEARNERS)}, got {self.learner!r}")
        kind = LEARNERS[self.learner]
        expected = kind.config_class()
        if type(self.config) is not expected:
            raise ValueError(f"config of learner {self.learner!r} must be a {expected.__name__}, got {self.config!r}")
        check_types(self)
        check_count("budget", self.budget, minimum=0)
        check_seed("seed", self.seed)
        if self.policy_seed is not None:
            check_seed("policy_seed", self.policy_seed)
        if not self.run_dir:
            raise ValueError("run_dir must name a folder, got ''")
        if kind.rows_from_config is not None:
            if self.rows is not None and self.rows != kind.rows_from_config(self.config):
                raise ValueError(
                    f"rows={self.rows} contradicts the config of {self.learner!r}, which implies "
                    f"{kind.rows_from_config(self.config)}; leave rows as None"
                )
        elif self.rows is not None:
            check_count("rows", self.rows, minimum=1)
        check_count("threads", self.threads, minimum=1)
        if self.base_model is not None and not kind.trains_policy:
            raise ValueError(f"learner {self.learner!r} trains its own network and takes no base_model")

    @property
    def kind(self) -> LearnerKind:
        return LEARNERS[self.learner]

    def env_rows(self) -> int:
        """The vector env's ``num_envs``."""
        if self.kind.rows_from_config is not None:
            return self.kind.rows_from_config(self.config)
        return 1 if self.rows is None else self.rows

    def identity(self) -> dict[str, Any]:
        """What makes two jobs the same run (written to the run folder's ``config.json``)."""
        return {
            "learner": self.learner,
            "config": asdict(self.config) if is_dataclass(self.config) else self.config,
            "task": self.task.record(),
            "budget": self.budget,
            "unit": self.kind.unit,
            "seed": self.seed,
            "rows": self.env_rows(),
            "base_model": self.base_model,
            "policy": asdict(self.policy),
            "policy_seed": self.policy_seed,
            "evaluation": self.evaluation.record(),
            "device": self.device,
        }


def run_job(job: Job) -> dict[str, Any]:
    """Run ``job`` in its folder and return its summary (``summarize_run``, plus the learner's name, the
    reward queries the learner counted and those the env answered). A finished run of the same job is not
    run again; an interrupted one resumes; a folder holding another job is refused naming the differences."""
    folder = Path(job.run_dir)
    record = job.identity()
    done = finished_run(folder, record)
    if done is not None:
        return done
    limit_threads(job.threads)
    kind = job.kind
    task = job.task.build(kind.reward)
    envs = SequenceVectorEnv(num_envs=job.env_rows(), task=task, copy=False, autoreset_mode=kind.autoreset)
    policy = None
    if kind.trains_policy:
        if job.base_model is not None:
            policy = load_policy(job.base_model, device=job.device)
        else:
            seed = job.seed if job.policy_seed is None else job.policy_seed
            policy = job.policy.make(task, job.device, seed=seed)
    evaluation = job.evaluation
    tracked = None if evaluation.tracked is None else np.asarray(evaluation.tracked, dtype=np.float32)
    evaluator = PolicyEvaluator(task, evaluation.test_size, tracked=tracked, off_support=evaluation.off_support)
    agent = kind.learner_class()(envs, policy, job.config, job.seed, evaluator)
    per_update = int(getattr(agent, "env_steps_per_update", 1)) if kind.unit == "env_steps" else 1
    total = math.ceil(job.budget / per_update)
    every = max(1, round(evaluation.every / per_update))
    run = Run(folder, record)
    try:
        train(
            run,
            agent,
            total,
            eval_every=every,
            log_every=evaluation.log_every,
            eval_steps=log_spaced_steps(total, evaluation.growth) if evaluation.growth > 0 else (),
            description=job.description or f"{job.learner} {task.reward}",
            show_progress=job.show_progress,
            progress_position=job.progress_position,
            stop_when=evaluation.stop,
        )
        if policy is not None:
            policy.save(folder / FINAL_MODEL)
        if hasattr(agent, "save_final"):
            agent.save_final(folder)
        summary = {
            "learner": job.learner,
            **summarize_run(folder, evaluation.stop),
            "reward_queries": int(agent.reward_queries),
            "env_reward_queries": int(envs.total_reward_queries),
            **(agent.summary() if hasattr(agent, "summary") else {}),
        }
        run.finish(summary)
    finally:
        run.close()
        envs.close()
    return summary


def log_spaced_steps(total: int, growth: float) -> list[int]:
    """Steps 1, 2, ... growing by a factor of at least 1 + ``growth`` each, up to ``total``."""
    steps, step = [], 1
    while step <= total:
        steps.append(step)
        step = max(step + 1, math.ceil(step * (1.0 + growth)))
    return steps


def summarize_run(path: str | Path, stop: StopRule | None = None) -> dict[str, Any]:
    """From a run's ``metrics.jsonl``: every scalar of the last evaluation as ``final_<name>``
    (``eval/test_error`` -> ``final_test_error``), ``final_step``, the starting policy's test error
    (``base_test_error``) and, under a stop rule, whether and at which step and reward-query count the run
    first met it."""
    evaluations = [record for record in read_metrics(path) if "eval/test_error" in record]
    if not evaluations:
        raise ValueError(f"{path} holds no evaluation")
    last = evaluations[-1]
    summary: dict[str, Any] = {
        "final_step": last["step"],
        "base_test_error": evaluations[0]["eval/test_error"],
        "reached": None if stop is None else False,
        "steps_to_target": None,
        "queries_to_target": None,
    }
    for key, value in last.items():
        if key != "step" and isinstance(value, (int, float)) and not isinstance(value, bool):
            summary["final_" + key.split("/", 1)[-1]] = value
    if stop is not None:
        for record in evaluations:
            if stop(record):
                summary.update(
                    reached=True, steps_to_target=record["step"], queries_to_target=record.get("train/reward_queries")
                )
                break
    return summary
