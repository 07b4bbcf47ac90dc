"""Train an SB3 or sb3-contrib agent (PPO, A2C, MaskablePPO, RecurrentPPO) on a registered seqreward env.

The env is the native vector env behind the ``SB3VecEnv`` adapter (``--vec native``, the default) or
SB3's ``DummyVecEnv`` over single envs (``--vec dummy``, the reference), wrapped in SB3's ``VecMonitor``.
SB3 logs its own scalars to TensorBoard; ``ExactMetricsCallback`` adds the task's exact metrics
(``seqreward/test_error``, ``seqreward/likelihood_mean``, ...) and the reward queries spent.

Writes to ``--run-dir`` (default ``runs/sb3/<algo>-<env>-<seed>``):
    model.zip                 the trained model (``<Algo>.load``)
    metrics.csv, metrics.json the exact metrics at every evaluation (and, in the JSON, the config and
                              the final numbers)
    tensorboard/              TensorBoard events (SB3's scalars and ours) and SB3's progress.csv

Example:
    python scripts/train_sb3.py --algo ppo --env-id seqreward/Process-v0 --total-timesteps 300000
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch as th
from sb3_contrib import MaskablePPO, RecurrentPPO
from sb3_contrib.common.wrappers import ActionMasker
from stable_baselines3 import A2C, PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.logger import configure
from stable_baselines3.common.vec_env import VecEnv, VecMonitor

import seqreward_env
from agents.sb3 import ExactMetricsCallback, make_dummy_vec_env, make_sb3_vec_env
from agents.sb3.extractors import sequence_policy_kwargs

ALGORITHMS: dict[str, tuple[type[BaseAlgorithm], str]] = {
    "ppo": (PPO, "MultiInputPolicy"),
    "a2c": (A2C, "MultiInputPolicy"),
    "maskable_ppo": (MaskablePPO, "MultiInputPolicy"),
    "recurrent_ppo": (RecurrentPPO, "MultiInputLstmPolicy"),
}
# Defaults sized for the small tasks (N = 6): a rollout of a few episodes per row, and minibatches that
# split it in a few parts. Anything here can be overridden with --algo-kwargs.
DEFAULT_KWARGS: dict[str, dict[str, Any]] = {
    "ppo": {"n_steps": 32, "batch_size": 512, "n_epochs": 4, "learning_rate": 1e-3, "ent_coef": 0.0},
    "a2c": {"n_steps": 8, "learning_rate": 1e-3},
    "maskable_ppo": {"n_steps": 32, "batch_size": 512, "n_epochs": 4, "learning_rate": 1e-3},
    "recurrent_ppo": {"n_steps": 32, "batch_size": 512, "n_epochs": 4, "learning_rate": 1e-3},
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--algo", choices=sorted(ALGORITHMS), default="ppo")
    parser.add_argument("--env-id", default="seqreward/Process-v0", choices=sorted(seqreward_env.ENV_IDS))
    parser.add_argument(
        "--env-kwargs", type=json.loads, default={}, help="JSON task keyword arguments, e.g. '{\"seq_len\": 4}'"
    )
    parser.add_argument(
        "--algo-kwargs", type=json.loads, default={}, help="JSON keyword arguments of the SB3 algorithm"
    )
    parser.add_argument("--num-envs", type=int, default=64, help="rows of the vector env")
    parser.add_argument("--total-timesteps", type=int, default=200_000, help="environment steps (summed over rows)")
    parser.add_argument("--seed", type=int, default=0, help="seeds SB3 (torch, action space) and the env rows seed+i")
    parser.add_argument("--eval-every", type=int, default=20_000, help="environment steps between exact evaluations")
    parser.add_argument("--num-test-contexts", type=int, default=1024, help="size of the task's fixed test set")
    parser.add_argument("--run-dir", type=Path, default=None, help="default runs/sb3/<algo>-<env>-<seed>")
    parser.add_argument("--vec", choices=("native", "dummy"), default="native", help="adapter or DummyVecEnv")
    parser.add_argument("--device", default="cpu", help="torch device of the policy")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 is fastest for these small MLPs)")
    parser.add_argument("--verbose", type=int, default=0, help="1 prints SB3's tables and each evaluation")
    args = parser.parse_args(argv)
    for name in ("num_envs", "total_timesteps", "eval_every", "num_test_contexts", "threads"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be a positive integer, got {getattr(args, name)}")
    for name in ("env_kwargs", "algo_kwargs"):
        if not isinstance(getattr(args, name), dict):
            parser.error(f"--{name.replace('_', '-')} must be a JSON object, got {getattr(args, name)!r}")
    if args.run_dir is None:
        args.run_dir = Path("runs") / "sb3" / f"{args.algo}-{args.env_id.split('/')[-1]}-{args.seed}"
    return args


def make_env(args: argparse.Namespace) -> VecEnv:
    """The training env: the adapter over the native vector env, or DummyVecEnv, under VecMonitor."""
    if args.vec == "native":
        env: VecEnv = make_sb3_vec_env(args.env_id, args.num_envs, **args.env_kwargs)
    else:
        # Single envs have no action_masks(); MaskablePPO needs one (every token is always allowed).
        wrapper = (lambda env: ActionMasker(env, all_tokens_allowed)) if args.algo == "maskable_ppo" else None
        env = make_dummy_vec_env(args.env_id, args.num_envs, wrapper=wrapper, **args.env_kwargs)
    return VecMonitor(env, info_keywords=("is_success",))


def all_tokens_allowed(env: Any) -> np.ndarray:
    """The action mask of a single env: every token in [0, k) is valid."""
    return np.ones(env.unwrapped.task.vocab_size, dtype=bool)


def train(args: argparse.Namespace) -> dict[str, Any]:
    """Train, evaluate and write the run's files; returns the final metrics."""
    th.set_num_threads(args.threads)
    args.run_dir.mkdir(parents=True, exist_ok=True)
    env = make_env(args)
    algo_class, policy = ALGORITHMS[args.algo]
    algo_kwargs = {**DEFAULT_KWARGS[args.algo], **args.algo_kwargs}
    # An int features_dim lets RecurrentPPO's LSTM build (see agents/sb3/extractors.py); same features for all.
    algo_kwargs["policy_kwargs"] = sequence_policy_kwargs(**algo_kwargs.get("policy_kwargs", {}))
    model = algo_class(policy, env, seed=args.seed, device=args.device, verbose=args.verbose, **algo_kwargs)
    formats = ["tensorboard", "csv"] + (["stdout"] if args.verbose else [])
    model.set_logger(configure(str(args.run_dir / "tensorboard"), formats))
    task = env.get_attr("task", indices=[0])[0]
    callback = ExactMetricsCallback(task, args.eval_every, task.test_contexts(args.num_test_contexts), args.verbose)

    start = time.perf_counter()
    model.learn(total_timesteps=args.total_timesteps, callback=callback, log_interval=1)
    wall_time = time.perf_counter() - start
    model.save(args.run_dir / "model.zip")
    env.close()

    final = {**callback.history[-1], "train_wall_time_s": wall_time}
    write_metrics(args, callback.history, final, algo_kwargs)
    print(
        f"{args.algo} on {args.env_id} ({args.vec}, {args.num_envs} envs): {final['step']} steps in {wall_time:.1f} s, "
        f"test error {final['test_error']:.4f}, greedy exact match {final['greedy_exact_match']:.3f}, "
        f"reward queries {final['reward_queries']}"
    )
    return final


def write_metrics(
    args: argparse.Namespace, history: list[dict[str, Any]], final: dict[str, Any], algo_kwargs: dict[str, Any]
) -> None:
    """metrics.csv (one row per evaluation) and metrics.json (config, history, final numbers)."""
    with open(args.run_dir / "metrics.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(history[0]))
        writer.writeheader()
        writer.writerows(history)
    config = {key: str(value) if isinstance(value, Path) else value for key, value in vars(args).items()}
    payload = {"config": {**config, "algo_kwargs": algo_kwargs}, "history": history, "final": final}
    (args.run_dir / "metrics.json").write_text(json.dumps(payload, indent=2, default=str))


def main(argv: list[str] | None = None) -> dict[str, Any]:
    return train(parse_args(argv))


if __name__ == "__main__":
    main()
