"""Benchmark: one PG step of the Figure-1 setting (batch 1024, N = 128, d = k = 32), the agents' ``PaperPG``
(with the env in its loop) against the step as the official code takes it (no env), timed interleaved in
one run on one thread.

The reference recomputes the logits and the softmax at every token, samples with ``torch.multinomial``,
scores against the task's targets directly and gets the gradient by autograd through the full
teacher-forced logits; ours asks every reward of the vector env, builds one transition table per episode,
samples all tokens from it and uses the closed-form score.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch

import seqreward_env  # noqa: F401  (registers the ids)
from agents.common.threads import limit_threads
from agents.experiment.cli import Script, parse_command_line
from agents.experiment.settings import check_env_rows
from agents.learners.paper_pg import PaperPG, PaperPGConfig
from agents.policy.evaluation import LinearEvaluator
from agents.policy.linear import LinearPolicy
from scripts.common.settings import EnvChoice
from seqreward_env import SequenceTask


class ReferencePG:
    """The PG step as the official code takes it: contexts and targets from the task's sampler with no env;
    per token, logits from the last token, softmax and ``torch.multinomial``; rewards by comparing with the
    targets; autograd through the full teacher-forced logits; Adagrad."""

    def __init__(self, task: SequenceTask, batch_size: int, seed: int, learning_rate: float = 0.1) -> None:
        self.task, self.batch_size = task, batch_size
        self.w1 = torch.zeros(task.context_dim, task.vocab_size, requires_grad=True)
        self.w2 = torch.zeros(task.vocab_size, task.vocab_size, requires_grad=True)
        self.optimizer = torch.optim.Adagrad([self.w1, self.w2], lr=learning_rate)
        self.generator = torch.Generator().manual_seed(seed)
        self.rng = np.random.default_rng(seed)

    def step(self) -> None:
        contexts = self.task.sample_contexts(self.rng, self.batch_size)
        targets = torch.as_tensor(self.task.targets(contexts))
        x = torch.as_tensor(contexts)
        batch, length = targets.shape
        tokens = torch.zeros(batch, length, dtype=torch.long)
        with torch.no_grad():
            for i in range(length):
                logits = x @ self.w1
                if i > 0:
                    logits = logits + self.w2[:, tokens[:, i - 1]].T
                probs = torch.softmax(logits, dim=-1)
                tokens[:, i] = torch.multinomial(probs, 1, generator=self.generator).squeeze(1)
        right = tokens == targets
        low, high = self.task.reward_low, self.task.reward_high
        if self.task.reward == "outcome":
            returns = torch.where(right.all(dim=1), high, low)
            advantages = (returns - returns.mean()).unsqueeze(1).expand(batch, length)
        else:
            advantages = torch.where(right.cumprod(dim=1).bool(), high, low)
        logits = (x @ self.w1).unsqueeze(1).repeat(1, length, 1)
        logits = logits + torch.cat(
            [torch.zeros(batch, 1, self.task.vocab_size), self.w2[:, tokens[:, :-1]].permute(1, 2, 0)], 1
        )
        log_probs = torch.log_softmax(logits, dim=-1).gather(-1, tokens.unsqueeze(-1)).squeeze(-1)
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


@dataclass(frozen=True)
class BenchPGSettings(EnvChoice):
    """Settings of the PG step benchmark."""

    batch_size: int = 1024
    """Contexts per PG step."""
    repeats: int = 15
    """Timed steps per implementation (alternating)."""
    threads: int = 1
    """Torch and BLAS threads."""

    def check(self) -> None:
        super().check()  # types, the seed in [0, 2^63), every count >= 1, --env-id
        check_env_rows(self.env_id, self.batch_size, "batch_size")


SCRIPT = Script("bench_pg", __doc__ or "", BenchPGSettings)


def main(argv: list[str] | None = None) -> None:
    args = parse_command_line(SCRIPT, argv)[0]
    limit_threads(args.threads)

    envs = gym.make_vec(args.env_id, num_envs=args.batch_size, copy=False)
    task = envs.unwrapped.task
    reference = ReferencePG(task, args.batch_size, args.seed)
    policy = LinearPolicy.for_task(task)
    agent = PaperPG(envs, policy, PaperPGConfig(), args.seed, LinearEvaluator(task, test_size=8))
    steps = iter(range(10**9))

    ours, theirs = time_interleaved(lambda: agent.train_step(next(steps)), reference.step, args.repeats)
    ours_median, theirs_median = statistics.median(ours), statistics.median(theirs)
    print(
        f"task {args.env_id}: batch {args.batch_size}, N={task.seq_len}, k={task.vocab_size}, d={task.context_dim}, "
        f"{args.threads} torch thread(s), median of {args.repeats} steps"
    )
    print(f"official-code reference step: {theirs_median * 1e3:8.1f} ms")
    print(f"PaperPG step, env in loop:    {ours_median * 1e3:8.1f} ms")
    print(f"speed-up: {theirs_median / ours_median:.1f}x")
    np.set_printoptions(precision=3)


if __name__ == "__main__":
    main()
