"""Benchmark: one PG step of the Figure-1 setting (batch 1024, N = 128, d = k = 32) with the env in the loop,
the agents' implementation against a straightforward reference timed in the same run.

The reference recomputes x W1 and the softmax at every token, samples with ``torch.multinomial``, and
gets the gradient by autograd through the full teacher-forced logits; ours computes x W1 once per
episode, keeps the rollout's probabilities and uses the closed-form score.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import gymnasium as gym
import numpy as np
import torch

import seqreward_env  # noqa: F401  (registers the ids)
from agents.evaluation import LinearEvaluator
from agents.paper_pg import PaperPG, PaperPGConfig
from agents.policy import LinearPolicy
from agents.training import limit_threads


class ReferencePG:
    """The straightforward PG step: per-token recomputation, multinomial sampling, autograd."""

    def __init__(self, envs: gym.vector.VectorEnv, seed: int, learning_rate: float = 0.1) -> None:
        task = envs.unwrapped.task
        self.envs, self.task = envs, task
        self.w1 = torch.zeros(task.context_dim, task.vocab_size, requires_grad=True)
        self.w2 = torch.zeros(task.vocab_size, task.vocab_size, requires_grad=True)
        self.optimizer = torch.optim.Adagrad([self.w1, self.w2], lr=learning_rate)
        self.generator = torch.Generator().manual_seed(seed)
        self.seed: int | None = seed

    def step(self) -> None:
        observations, _ = self.envs.reset(seed=self.seed)
        self.seed = None
        x = torch.as_tensor(observations["context"])
        batch, length = observations["tokens"].shape
        tokens = torch.zeros(batch, length, dtype=torch.long)
        rewards = torch.zeros(batch, length)
        with torch.no_grad():
            for i in range(length):
                logits = x @ self.w1
                if i > 0:
                    logits = logits + self.w2[:, tokens[:, i - 1]].T
                probs = torch.softmax(logits, dim=-1)
                tokens[:, i] = torch.multinomial(probs, 1, generator=self.generator).squeeze(1)
                _, reward, _, _, _ = self.envs.step(tokens[:, i].numpy())
                rewards[:, i] = torch.as_tensor(reward)
        logits = (x @ self.w1).unsqueeze(1).repeat(1, length, 1)
        logits = logits + torch.cat(
            [torch.zeros(batch, 1, self.task.vocab_size), self.w2[:, tokens[:, :-1]].permute(1, 2, 0)], 1
        )
        log_probs = torch.log_softmax(logits, dim=-1).gather(-1, tokens.unsqueeze(-1)).squeeze(-1)
        if self.task.reward == "outcome":
            returns = rewards.sum(1)
            advantages = (returns - returns.mean()).unsqueeze(1).expand_as(rewards)
        else:
            advantages = rewards
        loss = -(advantages * log_probs).mean()
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()


def time_interleaved(
    first: Callable[[], object], second: Callable[[], object], repeats: int
) -> tuple[list[float], list[float]]:
    """Seconds per call of each, alternating calls so that a drift in the machine's speed hits both alike."""
    first()  # warm-up
    second()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        for function, record in ((first, times[0]), (second, times[1])):
            start = time.perf_counter()
            function()
            record.append(time.perf_counter() - start)
    return times


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env-id", default="seqreward/PaperOutcome-v0", help="registered id (its task is used)")
    parser.add_argument("--batch-size", type=int, default=1024, help="contexts per PG step")
    parser.add_argument("--repeats", type=int, default=15, help="timed steps per implementation (alternating)")
    parser.add_argument("--threads", type=int, default=1, help="torch and BLAS threads")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    limit_threads(args.threads)

    reference_envs = gym.make_vec(args.env_id, num_envs=args.batch_size)
    reference = ReferencePG(reference_envs, args.seed)
    envs = gym.make_vec(args.env_id, num_envs=args.batch_size, copy=False)
    task = envs.unwrapped.task
    policy = LinearPolicy.for_task(task)
    agent = PaperPG(envs, policy, PaperPGConfig(), args.seed, LinearEvaluator(task, test_size=8))
    steps = iter(range(10**9))

    ours, theirs = time_interleaved(lambda: agent.train_step(next(steps)), reference.step, args.repeats)
    ours_median, theirs_median = statistics.median(ours), statistics.median(theirs)
    print(
        f"task {args.env_id}: batch {args.batch_size}, N={task.seq_len}, k={task.vocab_size}, d={task.context_dim}, "
        f"{args.threads} torch thread(s), median of {args.repeats} steps"
    )
    print(f"reference PG step: {theirs_median * 1e3:8.1f} ms")
    print(f"agents PG step:    {ours_median * 1e3:8.1f} ms")
    print(f"speed-up: {theirs_median / ours_median:.1f}x")
    np.set_printoptions(precision=3)


if __name__ == "__main__":
    main()
