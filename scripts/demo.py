"""Demo: the paper's Figure-1 task, the uniform policy rolled out through the native vector env, and its exact metrics."""

from __future__ import annotations

import time
from dataclasses import dataclass

import gymnasium as gym
import numpy as np

import seqreward_env
from agents.experiment.cli import Script, parse_command_line
from agents.experiment.settings import check_env_rows
from scripts.common.settings import Settings
from seqreward_env import likelihood_quantile

ENV_ID = "seqreward/PaperOutcome-v1"


@dataclass(frozen=True)
class DemoSettings(Settings):
    """Settings of the demo."""

    num_envs: int = 1024
    """Contexts rolled out in lockstep."""
    seed: int = 0
    """Seed of the rollout."""

    def check(self) -> None:
        super().check()  # types, the seed in [0, 2^63), num_envs >= 1
        check_env_rows(ENV_ID, self.num_envs, "num_envs")


SCRIPT = Script("demo", __doc__ or "", DemoSettings)


def main(argv: list[str] | None = None) -> None:
    args = parse_command_line(SCRIPT, argv)[0]

    envs = gym.make_vec(ENV_ID, num_envs=args.num_envs)
    task = envs.unwrapped.task
    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()
    envs.reset(seed=args.seed)
    rewards = np.zeros(args.num_envs)
    for _ in range(task.seq_len):
        _, reward, _, _, info = envs.step(rng.integers(0, task.vocab_size, size=args.num_envs))
        rewards += reward
    elapsed = time.perf_counter() - start

    test = task.test_contexts(1024)
    zeros_w1 = np.zeros((task.context_dim, task.vocab_size))
    zeros_w2 = np.zeros((task.vocab_size, task.vocab_size))
    likelihoods = task.likelihood(zeros_w1, zeros_w2, test)
    token_min = task.token_min_probability(zeros_w1, zeros_w2, test)
    print(
        f"task: N={task.seq_len}, k={task.vocab_size}, d={task.context_dim}, mixture of {seqreward_env.PAPER_TASK['num_components']}"
    )
    print(
        f"rolled out the uniform policy on {args.num_envs} contexts in {elapsed:.3f} s: "
        f"mean outcome reward {rewards.mean():+.3f}, reward queries {envs.unwrapped.total_reward_queries}"
    )
    print(f"exact test error (1024 test contexts): {task.test_error(likelihoods):.6f}")
    print(
        f"LQ(0.1): {likelihood_quantile(likelihoods, 0.1):.3e}   (k^-N = {float(task.vocab_size) ** -task.seq_len:.3e})"
    )
    print(f"token-level LQ(0.1): {likelihood_quantile(token_min, 0.1):.4f}   (1/k = {1 / task.vocab_size:.4f})")


if __name__ == "__main__":
    main()
