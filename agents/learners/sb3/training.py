"""One SB3 or sb3-contrib training run on a registered seqreward env, as a picklable job with a run folder.

``SB3Job`` says everything a run needs; ``run_sb3(job)`` trains on the adapter (or on ``DummyVecEnv``),
evaluates exactly along the way and writes the run folder:

    job.json                  the job (a second call with a different job in the same folder is refused)
    model.zip                 the trained model (``<Algo>.load``)
    metrics.csv, metrics.json the exact metrics at every evaluation (and, in the JSON, the config and
                              the final numbers); metrics.json is written last and marks the run finished
    tensorboard/              TensorBoard events (SB3's scalars and ours) and SB3's progress.csv

A finished run is not trained again: ``run_sb3`` returns its final numbers. An interrupted one starts
over (SB3 keeps no checkpoint of its rollout state; these runs take seconds to minutes).
"""

from __future__ import annotations

import csv
import json
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sb3_contrib import MaskablePPO, RecurrentPPO
from sb3_contrib.common.wrappers import ActionMasker
from stable_baselines3 import A2C, PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.logger import configure
from stable_baselines3.common.vec_env import VecEnv, VecMonitor

import seqreward_env
from agents.experiment.seeding import derive_seed
from agents.experiment.threads import limit_threads
from agents.learners.sb3.callbacks import ExactMetricsCallback, TqdmProgressCallback
from agents.learners.sb3.extractors import sequence_policy_kwargs
from agents.learners.sb3.vec_env import make_dummy_vec_env, make_sb3_vec_env

ALGORITHMS: dict[str, tuple[type[BaseAlgorithm], str]] = {
    "ppo": (PPO, "MultiInputPolicy"),
    "a2c": (A2C, "MultiInputPolicy"),
    "maskable_ppo": (MaskablePPO, "MultiInputPolicy"),
    "recurrent_ppo": (RecurrentPPO, "MultiInputLstmPolicy"),
}
# Defaults sized for the small tasks (N = 6): a rollout of a few episodes per row, and minibatches that
# split it in a few parts. Anything here can be overridden with the job's algo_kwargs.
DEFAULT_KWARGS: dict[str, dict[str, Any]] = {
    "ppo": {"n_steps": 32, "batch_size": 512, "n_epochs": 4, "learning_rate": 1e-3, "ent_coef": 0.0},
    "a2c": {"n_steps": 8, "learning_rate": 1e-3},
    "maskable_ppo": {"n_steps": 32, "batch_size": 512, "n_epochs": 4, "learning_rate": 1e-3},
    "recurrent_ppo": {"n_steps": 32, "batch_size": 512, "n_epochs": 4, "learning_rate": 1e-3},
}
VEC_ENVS = ("native", "dummy")
JOB_FILE, METRICS_FILE = "job.json", "metrics.json"
# What a run writes in its folder besides JOB_FILE (what a fresh start removes).
SB3_WRITES = ("model.zip", "metrics.csv", METRICS_FILE, "tensorboard")


@dataclass(frozen=True)
class SB3Job:
    """One SB3 training run."""

    run_dir: str
    """Folder of the run's files."""
    algo: str = "ppo"
    """One of ``ALGORITHMS``: ppo, a2c, maskable_ppo, recurrent_ppo."""
    env_id: str = "seqreward/Process-v0"
    """A registered seqreward id."""
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    """Task keyword arguments overriding the id's defaults."""
    algo_kwargs: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments of the SB3 algorithm, over ``DEFAULT_KWARGS[algo]``."""
    num_envs: int = 64
    """Rows of the vector env."""
    total_timesteps: int = 200_000
    """Environment steps, summed over rows."""
    seed: int = 0
    """The run's seed: SB3 (torch, action space) and the env rows (base + i, SB3's convention) are seeded
    from a base derived from it with ``agents.experiment.seeding``, so runs with seeds s and s + 1 share no rows."""
    eval_every: int = 20_000
    """Environment steps between exact evaluations."""
    num_test_contexts: int = 1024
    """Size of the task's fixed test set."""
    vec: str = "native"
    """'native' (the adapter over the native vector env) or 'dummy' (SB3's DummyVecEnv, the reference)."""
    device: str = "cpu"
    """Torch device of the policy."""
    threads: int = 1
    """Torch CPU threads (1 is fastest for these small MLPs)."""
    verbose: int = 0
    """1 prints SB3's tables and each evaluation."""
    show_progress: bool = False
    """A progress bar over environment steps."""

    def __post_init__(self) -> None:
        if self.algo not in ALGORITHMS:
            raise ValueError(f"algo must be one of {sorted(ALGORITHMS)}, got {self.algo!r}")
        if self.env_id not in seqreward_env.ENV_IDS:
            raise ValueError(f"env_id must be one of {sorted(seqreward_env.ENV_IDS)}, got {self.env_id!r}")
        if self.vec not in VEC_ENVS:
            raise ValueError(f"vec must be one of {VEC_ENVS}, got {self.vec!r}")
        for name in ("num_envs", "total_timesteps", "eval_every", "num_test_contexts", "threads"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        for name in ("env_kwargs", "algo_kwargs"):
            if not isinstance(getattr(self, name), dict):
                raise ValueError(f"{name} must be a dict, got {getattr(self, name)!r}")

    def identity(self) -> dict[str, Any]:
        """What makes two jobs the same run (everything but how the run is displayed)."""
        return json.loads(json.dumps({**asdict(self), "verbose": None, "show_progress": None}, default=str))


def make_env(job: SB3Job) -> VecEnv:
    """The training env: the adapter over the native vector env, or DummyVecEnv, under VecMonitor."""
    if job.vec == "native":
        env: VecEnv = make_sb3_vec_env(job.env_id, job.num_envs, **job.env_kwargs)
    else:
        # Single envs have no action_masks(); MaskablePPO needs one (every token is always allowed).
        wrapper = (lambda env: ActionMasker(env, all_tokens_allowed)) if job.algo == "maskable_ppo" else None
        env = make_dummy_vec_env(job.env_id, job.num_envs, wrapper=wrapper, **job.env_kwargs)
    return VecMonitor(env, info_keywords=("is_success",))


def all_tokens_allowed(env: Any) -> np.ndarray:
    """The action mask of a single env: every token in [0, k) is valid."""
    return np.ones(env.unwrapped.task.vocab_size, dtype=bool)


def finished_run(job: SB3Job) -> dict[str, Any] | None:
    """The final numbers of the job's run if its folder holds it finished, else None.

    Raises ValueError if the folder holds a different job.
    """
    run_dir = Path(job.run_dir)
    saved_job = run_dir / JOB_FILE
    if saved_job.exists() and json.loads(saved_job.read_text()) != job.identity():
        raise ValueError(f"run folder {run_dir} holds a different SB3 job; use another folder or the same settings")
    metrics = run_dir / METRICS_FILE
    return json.loads(metrics.read_text())["final"] if saved_job.exists() and metrics.exists() else None


def run_sb3(job: SB3Job) -> dict[str, Any]:
    """Train, evaluate and write the run folder; returns the final metrics (a finished run is not redone)."""
    final = finished_run(job)
    if final is not None:
        return final
    run_dir = Path(job.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(run_dir / "tensorboard", ignore_errors=True)  # an interrupted run starts over
    (run_dir / JOB_FILE).write_text(json.dumps(job.identity(), indent=2))
    limit_threads(job.threads)
    env = make_env(job)
    algo_class, policy = ALGORITHMS[job.algo]
    algo_kwargs = {**DEFAULT_KWARGS[job.algo], **job.algo_kwargs}
    # An int features_dim lets RecurrentPPO's LSTM build (see agents/learners/sb3/extractors.py); same features for all.
    algo_kwargs["policy_kwargs"] = sequence_policy_kwargs(**algo_kwargs.get("policy_kwargs", {}))
    # SB3 seeds numpy's legacy global generator, which takes seeds below 2**32.
    sb3_seed = derive_seed(job.seed, "sb3") % 2**32
    model = algo_class(policy, env, seed=sb3_seed, device=job.device, verbose=job.verbose, **algo_kwargs)
    formats = ["tensorboard", "csv"] + (["stdout"] if job.verbose else [])
    model.set_logger(configure(str(run_dir / "tensorboard"), formats))
    task = env.get_attr("task", indices=[0])[0]
    metrics = ExactMetricsCallback(task, job.eval_every, task.test_contexts(job.num_test_contexts), job.verbose)
    callbacks: list[BaseCallback] = [metrics]
    if job.show_progress:
        callbacks.append(TqdmProgressCallback(f"{job.algo} {task.reward}"))

    start = time.perf_counter()
    model.learn(total_timesteps=job.total_timesteps, callback=CallbackList(callbacks), log_interval=1)
    wall_time = time.perf_counter() - start
    model.save(run_dir / "model.zip")
    model.logger.close()  # flushes and closes progress.csv and the event file
    env.close()

    final = {**metrics.history[-1], "train_wall_time_s": wall_time}
    write_metrics(run_dir, metrics.history, final, {**job.identity(), "algo_kwargs": algo_kwargs})
    return final


def write_metrics(run_dir: Path, history: list[dict[str, Any]], final: dict[str, Any], config: dict[str, Any]) -> None:
    """metrics.csv (one row per evaluation), then metrics.json (config, history, final numbers)."""
    with open(run_dir / "metrics.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(history[0]))
        writer.writeheader()
        writer.writerows(history)
    payload = {"config": config, "history": history, "final": final}
    (run_dir / METRICS_FILE).write_text(json.dumps(payload, indent=2, default=str))


def read_history(run_dir: str | Path) -> list[dict[str, Any]]:
    """The evaluations a finished run wrote (step = environment steps, reward_queries, exact metrics)."""
    return list(json.loads((Path(run_dir) / METRICS_FILE).read_text())["history"])
