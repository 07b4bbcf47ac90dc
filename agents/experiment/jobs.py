"""One contract for every run: a ``Job`` says what learns (a learner's name and its config), on which task,
from which policy, for how long (a budget in the learner's unit), with which seed, evaluated how, and where
it writes; ``run_job(job)`` runs it in its run folder (``agents.runs.folder``) and returns its summary.

Every learner is built the same way, ``Learner(envs, policy, config, seed, evaluator)`` (SB3's learners bring
their own network: ``SB3Learner(envs, None, config, seed, evaluator)``), and trained by the one loop
``agents.experiment.loop.train``. A run folder holds ``config.json`` (the job's identity), ``metrics.jsonl``,
TensorBoard events under ``tb/``, ``checkpoint.pt``, the final model and, written last, ``done.json`` (the
summary ``run_job`` returns). Running a finished job again returns its summary without training; a folder
holding another job is refused with the differing fields; an interrupted job resumes from its checkpoint.

Jobs are frozen dataclasses of plain values and config dataclasses: they pickle, so sweeps send them to
worker processes or a Ray cluster (``agents.experiment.sweep``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agents.analysis.collapse import guard_run
from agents.common.config_checks import check_count, check_types
from agents.common.seeding import check_seed
from agents.common.threads import limit_threads
from agents.experiment.job_specs import Evaluation, StopRule, TaskSpec, input_digest, model_file, tracked_contexts
from agents.experiment.loop import train
from agents.learners.contract import Trainable
from agents.learners.registry import LEARNERS, LearnerKind
from agents.policy.choice import PolicyChoice, load_policy
from agents.policy.evaluation import PolicyEvaluator
from agents.runs.files import portable_config
from agents.runs.folder import CONFIG, SOURCES, Run, check_same_config, finished_run, read_metrics
from agents.runs.inputs import read_policy_file
from agents.runs.problems import RunFolderError, file_problem
from seqreward_env import SequenceVectorEnv

FINAL_MODEL = "final_model.pt"
__all__ = [
    "FINAL_MODEL",
    "LEARNERS",
    "Evaluation",
    "Job",
    "LearnerKind",
    "StopRule",
    "TaskSpec",
    "log_spaced_steps",
    "model_file",
    "run_job",
    "summarize_run",
]


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
        if self.evaluation.tracked is not None:
            width = tracked_contexts(self.evaluation.tracked).shape[1]
            if width != self.task.context_dim:
                raise ValueError(
                    f"evaluation.tracked must hold contexts of the task's context_dim={self.task.context_dim} "
                    f"columns, got {width} columns"
                )
        if not kind.trains_policy:
            given = {
                "base_model": self.base_model is not None,
                "policy": self.policy != PolicyChoice(),
                "evaluation.tracked": self.evaluation.tracked is not None,
                "evaluation.keep_models": self.evaluation.keep_models,
            }
            for name, is_given in given.items():
                if is_given:
                    raise ValueError(f"learner {self.learner!r} trains its own network and takes no {name}")

    @property
    def kind(self) -> LearnerKind:
        return LEARNERS[self.learner]

    def env_rows(self) -> int:
        """The vector env's ``num_envs``."""
        if self.kind.rows_from_config is not None:
            return self.kind.rows_from_config(self.config)
        return 1 if self.rows is None else self.rows

    def identity(self) -> dict[str, Any]:
        """What makes two jobs the same run (written to the run folder's ``config.json``). The files it reads
        (``base_model``, the task file) count by their content, ``{"sha256": ...}``; where they lay is kept
        under ``sources``, shown but not compared, so that a run folder still matches after it moved."""
        sources = {"base_model": self.base_model, "task.task_file": self.task.task_file}
        return {
            "learner": self.learner,
            "config": config_identity(self.config),
            "task": self.task.record(),
            "budget": self.budget,
            "unit": self.kind.unit,
            "seed": self.seed,
            "rows": self.env_rows(),
            "base_model": input_digest("base_model", self.base_model),
            "policy": asdict(self.policy),
            "policy_seed": self.policy_seed,
            "evaluation": self.evaluation.record(),
            "device": self.device,
            SOURCES: {name: path for name, path in sources.items() if path is not None},
        }


def config_identity(config: Any) -> dict[str, Any]:
    """A learner config as a run's identity holds it: ``asdict``, without a ``difficulty`` that is off (no
    dynamic sampling, filter or curriculum), which changes nothing the run does; so a run folder written
    before learners had that field still matches its job, and is reused rather than run again."""
    record = asdict(config)
    difficulty = getattr(config, "difficulty", None)
    if difficulty is not None and not difficulty.active:
        del record["difficulty"]
    return record


def identity_in_folder(folder: Path, job: Job) -> dict[str, Any]:
    """``job.identity()``, or the same identity with the learner config's inactive ``difficulty`` spelled out
    where the folder's ``config.json`` holds it in that form (written while the field was part of every
    identity); both describe the same run, so such a folder is reused or resumed, not refused."""
    record = job.identity()
    difficulty = getattr(job.config, "difficulty", None)
    if difficulty is None or difficulty.active or not (folder / CONFIG).is_file():
        return record
    spelled = {**record, "config": asdict(job.config)}
    try:
        check_same_config(folder, portable_config(spelled, folder))
    except RunFolderError:
        return record
    return spelled


def run_job(job: Job) -> dict[str, Any]:
    """Run ``job`` in its folder and return its summary (``summarize_run``, plus the learner's name, the
    reward queries the learner counted and those the env answered). A finished run of the same job is not
    run again; an interrupted one resumes; a folder holding another job is refused naming the differences."""
    folder = Path(job.run_dir)
    record = identity_in_folder(folder, job)
    done = finished_run(folder, record)
    if done is not None:
        return done
    limit_threads(job.threads)
    kind = job.kind
    task = job.task.build(kind.reward)
    envs = SequenceVectorEnv(num_envs=job.env_rows(), task=task, copy=kind.copy, autoreset_mode=kind.autoreset)
    policy = None
    if kind.trains_policy:
        if job.base_model is not None:
            policy = load_base_model(job.base_model, record["base_model"]["sha256"], task, job.device)
        else:
            seed = job.seed if job.policy_seed is None else job.policy_seed
            policy = job.policy.make(task, job.device, seed=seed)
    evaluation = job.evaluation
    tracked = None if evaluation.tracked is None else np.asarray(evaluation.tracked, dtype=np.float32)
    classes = kind.classes()
    if classes.evaluator is None:
        off_support = None if evaluation.off_support is None else np.asarray(evaluation.off_support, dtype=np.int64)
        evaluator: Any = PolicyEvaluator(
            task,
            evaluation.test_size,
            tracked=tracked,
            off_support=off_support,
            pass_at_k=evaluation.pass_at_k,
            cover_taus=evaluation.cover_taus,
        )
    else:
        evaluator = classes.evaluator(
            task, evaluation.test_size, pass_at_k=evaluation.pass_at_k, cover_taus=evaluation.cover_taus
        )
    options = {} if kind.log_dir is None else {"log_dir": folder / kind.log_dir}
    build: Callable[..., Trainable] = classes.learner
    agent = build(envs, policy, job.config, job.seed, evaluator, **options)
    per_update = agent.env_steps_per_update if kind.unit == "env_steps" else 1
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
            on_eval=keep_model(policy, folder) if evaluation.keep_models and policy is not None else None,
        )
        if policy is not None:
            policy.save(folder / FINAL_MODEL)
        agent.save_final(folder)
        summary = {
            "learner": job.learner,
            **summarize_run(folder, evaluation.stop),
            "reward_queries": int(agent.reward_queries),
            "env_reward_queries": int(envs.total_reward_queries),
            **agent.summary(),
        }
        summary.update(guard_run(folder, read_metrics(folder), job.description))  # the collapse guard
        run.finish(summary)
    finally:
        run.close()
        envs.close()
    return summary


def load_base_model(path: str, sha256: str, task: Any, device: str) -> Any:
    """The policy in ``path`` for ``task``, checked before it is built (``read_policy_file``: keys, finite
    weights, the task's shapes) and after (still the content ``sha256`` the job's identity recorded)."""
    remedy = "give --base-model a policy file saved for this task (final_model.pt of a pre-training run)"
    read_policy_file(path, remedy, context_dim=task.context_dim, vocab_size=task.vocab_size)
    policy = load_policy(path, device=device)
    if input_digest("base_model", path) != {"sha256": sha256}:
        raise file_problem(path, "changed while the job read it", "run the job again once it is written")
    return policy


def keep_model(policy: Any, folder: Path) -> Callable[[int, dict[str, Any]], None]:
    """An ``on_eval`` hook saving ``policy`` at every evaluation (``job_specs.model_file``); a file cut short by
    an interruption is written again, since the evaluation before a checkpoint is repeated on resume."""

    def save(step: int, metrics: dict[str, Any]) -> None:
        path = model_file(folder, step)
        path.parent.mkdir(parents=True, exist_ok=True)
        policy.save(path)

    return save


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
