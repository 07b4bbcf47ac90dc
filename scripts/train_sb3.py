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
    job.json                  the settings; the same command again finds the run finished and prints it

Example:
    python scripts/train_sb3.py --algo ppo --env-id seqreward/Process-v0 --total-timesteps 300000
"""

from __future__ import annotations

import argparse
import json
from dataclasses import fields
from pathlib import Path
from typing import Any

import seqreward_env
from agents.experiment.run_files import RunFolderError, clear_run_folder
from agents.learners.sb3.training import ALGORITHMS, JOB_FILE, SB3_WRITES, VEC_ENVS, SB3Job, run_sb3

__all__ = ["ALGORITHMS", "job_from_args", "main", "parse_args"]


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
    parser.add_argument("--vec", choices=VEC_ENVS, default="native", help="adapter or DummyVecEnv")
    parser.add_argument("--device", default="cpu", help="torch device of the policy")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 is fastest for these small MLPs)")
    parser.add_argument("--verbose", type=int, default=0, help="1 prints SB3's tables and each evaluation")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--fresh", action="store_true", help="delete the run folder's previous run first")
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


def job_from_args(args: argparse.Namespace) -> SB3Job:
    """The job of a parsed command line (every flag named like a field of ``SB3Job`` sets it)."""
    settings = {field.name: getattr(args, field.name) for field in fields(SB3Job) if hasattr(args, field.name)}
    return SB3Job(**{**settings, "run_dir": str(args.run_dir), "show_progress": not args.no_progress})


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Train (or find finished) the run the command line describes; returns its final metrics."""
    args = parse_args(argv)
    if args.fresh:  # only an SB3 run folder (it holds job.json), and only what the run wrote
        try:
            clear_run_folder(args.run_dir, JOB_FILE, SB3_WRITES)
        except RunFolderError as error:
            raise SystemExit(str(error)) from None
    print(f"SB3 run folder: {args.run_dir}", flush=True)
    final = run_sb3(job_from_args(args))
    print(
        f"{args.algo} on {args.env_id} ({args.vec}, {args.num_envs} envs): {final['step']} steps in "
        f"{final['train_wall_time_s']:.1f} s, test error {final['test_error']:.4f}, greedy exact match "
        f"{final['greedy_exact_match']:.3f}, reward queries {final['reward_queries']}; "
        f"TensorBoard: tensorboard --logdir {args.run_dir}"
    )
    return final


if __name__ == "__main__":
    main()
