"""Benchmark: token-steps per second of the native vector env against Gymnasium's sync vector env, same run."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

import seqreward_env  # noqa: F401  (registers the ids)
from agents.common.threads import limit_threads
from agents.experiment.cli import Script, parse_command_line
from agents.experiment.settings import check_env_rows
from scripts.common.settings import EnvChoice


def run(envs: gym.vector.VectorEnv, actions: np.ndarray, seed: int) -> tuple[float, float]:
    """Reset with ``seed`` (untimed), then play the pre-drawn ``(steps, num_envs)`` actions; return the
    seconds the steps took and the reward sum.

    The steps include the autoreset steps that follow each episode (Gymnasium's next-step autoreset), so
    both envs do the same work: the same episodes, the same tokens, the same fresh contexts.
    """
    total_reward = 0.0
    envs.reset(seed=seed)  # seeding makes one generator per row: a one-off cost, not a step's, so untimed
    start = time.perf_counter()
    for step_actions in actions:
        _, rewards, _, _, _ = envs.step(step_actions)
        total_reward += float(rewards.sum())
    return time.perf_counter() - start, total_reward


@dataclass(frozen=True)
class BenchEnvSettings(EnvChoice):
    """Settings of the env benchmark."""

    num_envs: int = 1024
    """Contexts stepped in lockstep."""
    episodes: int = 3
    """Episodes per row, timed back to back."""

    def check(self) -> None:
        super().check()  # types, the seed in [0, 2^63), every count >= 1, --env-id
        check_env_rows(self.env_id, self.num_envs, "num_envs")


SCRIPT = Script("bench_env", __doc__ or "", BenchEnvSettings)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_command_line(SCRIPT, argv)[0]
    limit_threads(1)  # both sides single-threaded: BLAS threads only contend on the task's tiny products

    native = gym.make_vec(args.env_id, num_envs=args.num_envs)
    native_views = gym.make_vec(args.env_id, num_envs=args.num_envs, copy=False)
    sync = gym.make_vec(args.env_id, num_envs=args.num_envs, vectorization_mode="sync")
    task = native.unwrapped.task
    # Each episode is N token steps plus the step on which the rows autoreset.
    steps = args.episodes * (task.seq_len + 1) - 1
    rng = np.random.default_rng(args.seed)
    actions = rng.integers(0, task.vocab_size, size=(steps, args.num_envs), dtype=np.int64)
    token_steps = args.episodes * task.seq_len * args.num_envs

    print(
        f"{args.env_id}: N={task.seq_len}, k={task.vocab_size}, d={task.context_dim}, "
        f"{args.num_envs} envs x {args.episodes} episodes = {token_steps:,} token-steps (random actions)"
    )
    native_seconds, native_reward = run(native, actions, args.seed)
    native_rate = token_steps / native_seconds
    print(f"native vector env:              {native_rate:14,.0f} token-steps/s  ({native_seconds:.3f} s)")
    # copy=False hands out the env's own arrays (valid until the next step): no (num_envs, N) copy per step.
    views_seconds, views_reward = run(native_views, actions, args.seed)
    views_rate = token_steps / views_seconds
    print(f"native vector env, copy=False:  {views_rate:14,.0f} token-steps/s  ({views_seconds:.3f} s)")
    sync_seconds, sync_reward = run(sync, actions, args.seed)
    sync_rate = token_steps / sync_seconds
    print(f"sync vector env:                {sync_rate:14,.0f} token-steps/s  ({sync_seconds:.3f} s)")
    if not native_reward == views_reward == sync_reward:
        raise RuntimeError(
            f"the envs disagree: total reward {native_reward} (native), {views_reward} (copy=False), {sync_reward} (sync)"
        )
    ratio, views_ratio = native_rate / sync_rate, views_rate / sync_rate
    print(f"ratio native / sync: {ratio:.1f}x (copy=False: {views_ratio:.1f}x)")
    for envs in (native, native_views, sync):
        envs.close()
    return {
        "native_steps_per_s": native_rate,
        "native_no_copy_steps_per_s": views_rate,
        "sync_steps_per_s": sync_rate,
        "ratio": ratio,
        "ratio_no_copy": views_ratio,
    }


if __name__ == "__main__":
    main()
