"""Benchmark: SB3 PPO rollout collection, steps per second on the native adapter vs on DummyVecEnv, in one run.

Both sides run the same PPO (MultiInputPolicy, same seed, same number of envs, one torch thread), taking
turns rollout by rollout, and time only ``collect_rollouts``: the policy's forward pass, the env step, SB3's per-step bookkeeping and the
rollout buffer. ``--monitor`` wraps both sides in SB3's ``VecMonitor`` as ``scripts/train_sb3.py`` does;
its per-row Python loop costs the same on both sides and so narrows the ratio.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import VecEnv, VecMonitor

from agents.common.config_checks import ConfigError, check_json_object
from agents.common.threads import limit_threads
from agents.experiment.cli import Script, parse_command_line
from agents.experiment.settings import check_env_rows
from agents.learners.sb3 import make_dummy_vec_env, make_sb3_vec_env, sequence_policy_kwargs
from scripts.common.settings import DeviceSettings, EnvChoice


def rollout_timer(env: VecEnv, *, n_steps: int, rollouts: int, seed: int, device: str) -> Callable[[], float]:
    """A function that collects one PPO rollout on ``env`` and returns the seconds it took."""
    model = PPO(
        "MultiInputPolicy",
        env,
        n_steps=n_steps,
        batch_size=n_steps * env.num_envs,
        seed=seed,
        device=device,
        policy_kwargs=sequence_policy_kwargs(),
    )
    _, callback = model._setup_learn(total_timesteps=n_steps * env.num_envs * rollouts)
    callback.on_training_start(locals(), globals())

    training_env: VecEnv = env if model.env is None else model.env

    def collect() -> float:
        start = time.perf_counter()
        model.collect_rollouts(training_env, callback, model.rollout_buffer, n_rollout_steps=n_steps)
        return time.perf_counter() - start

    return collect


def compare(envs: dict[str, VecEnv], *, n_steps: int, rollouts: int, seed: int, device: str) -> dict[str, Any]:
    """Steps per second of each side: the median over ``rollouts`` timed rollouts, the sides taking turns
    rollout by rollout so that a machine whose speed drifts slows both alike (one untimed warm-up each)."""
    timers = {
        name: rollout_timer(env, n_steps=n_steps, rollouts=rollouts + 1, seed=seed, device=device)
        for name, env in envs.items()
    }
    seconds: dict[str, list[float]] = {name: [] for name in envs}
    for rollout in range(rollouts + 1):
        for name, collect in timers.items():
            elapsed = collect()
            if rollout > 0:
                seconds[name].append(elapsed)
    result: dict[str, Any] = {}
    for name, env in envs.items():
        steps = n_steps * env.num_envs
        median = float(np.median(seconds[name]))
        result[name] = {"steps_per_rollout": steps, "median_rollout_s": median, "steps_per_s": steps / median}
        env.close()
    return result


@dataclass(frozen=True)
class BenchSB3Settings(DeviceSettings, EnvChoice):
    """Settings of the SB3 rollout benchmark."""

    env_id: str = "seqreward/Process-v0"
    env_kwargs: str = "{}"
    """JSON keyword arguments of the env, e.g. '{"seq_len": 4}'."""
    num_envs: tuple[int, ...] = (1024,)
    """Rows (adapter) = single envs (DummyVecEnv); several values run one after the other."""
    n_steps: int = 12
    """PPO steps per env per rollout."""
    rollouts: int = 9
    """Timed rollouts per side (the median counts)."""
    threads: int = 1
    """Torch CPU threads, both sides (1 is fastest for these MLPs)."""
    monitor: bool = False
    """Wrap both sides in VecMonitor (as in training)."""
    output: str | None = None
    """Write the numbers to this JSON file."""

    def check(self) -> None:
        super().check()  # types, the seed in [0, 2^63), every count >= 1, --env-id, --device
        check_json_object(self, "env_kwargs")
        if not self.num_envs or min(self.num_envs) < 1:
            raise ConfigError(f"num_envs (--num-envs) must be one or more counts >= 1, got {self.num_envs}", "num_envs")
        if self.output is not None and (not self.output.strip() or Path(self.output).is_dir()):
            raise ConfigError(f"output (--output) must name a file, got {self.output!r}", "output")
        for rows in self.num_envs:
            check_env_rows(self.env_id, rows, "num_envs", **self.env_object())

    def env_object(self) -> dict[str, Any]:
        """``env_kwargs`` parsed."""
        return check_json_object(self, "env_kwargs")


SCRIPT = Script("bench_sb3", __doc__ or "", BenchSB3Settings)


def parse_args(argv: list[str] | None = None) -> BenchSB3Settings:
    """The checked settings of a command line."""
    settings: BenchSB3Settings = parse_command_line(SCRIPT, argv)[0]
    return settings


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    args = parse_args(argv)
    limit_threads(args.threads)

    results = []
    for num_envs in args.num_envs:
        result: dict[str, Any] = {
            "env_id": args.env_id,
            "num_envs": num_envs,
            "n_steps": args.n_steps,
            "rollouts": args.rollouts,
            "torch_threads": args.threads,
            "device": args.device,
            "monitor": args.monitor,
        }

        def wrap(env: VecEnv) -> VecEnv:
            return VecMonitor(env) if args.monitor else env

        sides = {
            "adapter": wrap(make_sb3_vec_env(args.env_id, num_envs, **args.env_object())),
            "dummy": wrap(make_dummy_vec_env(args.env_id, num_envs, **args.env_object())),
        }
        result.update(compare(sides, n_steps=args.n_steps, rollouts=args.rollouts, seed=args.seed, device=args.device))
        result["ratio"] = result["adapter"]["steps_per_s"] / result["dummy"]["steps_per_s"]
        print(
            f"{args.env_id}, {num_envs:5d} envs{' (VecMonitor)' if args.monitor else ''}: adapter {result['adapter']['steps_per_s']:>9,.0f} steps/s, "
            f"DummyVecEnv {result['dummy']['steps_per_s']:>8,.0f} steps/s, ratio {result['ratio']:.1f}x"
        )
        results.append(result)
    if args.output is not None:
        output = Path(args.output)
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
