"""Benchmark of the policy plug-in: the general autograd path against the linear policy's closed forms (same
numbers asserted, the cost ratio printed), and the tokens per second of a rollout plus an update for each
policy at batch 1024 on one thread.

Part 1 runs both paths on one random linear policy and one batch: the summed weighted score (``score``),
the per-sequence squared score norms (``score_sq_norms``, OBLR-PO's weights and the adaptive step), and
the per-context gradient estimates (``group_scores``, behind the SNR). Part 2 times whole train steps of
the paper's PG and of OBLR-PO (whose exact per-sample score norms are the network's costliest quantity)
through the env, and counts the tokens they wrote.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import torch

import seqreward_env  # noqa: F401  (registers the ids)
from agents.common.config_checks import ConfigError
from agents.common.threads import limit_threads
from agents.experiment.cli import Script, parse_command_line
from agents.experiment.settings import check_env_rows
from agents.learners.group_pg import GroupPG, GroupPGConfig
from agents.learners.paper_pg import PaperPG, PaperPGConfig
from agents.policy.choice import POLICIES, make_policy
from agents.policy.evaluation import PolicyEvaluator
from agents.policy.linear import LinearPolicy
from agents.policy.network_policy import NetworkPolicy
from agents.policy.networks import NetworkSizes
from scripts.common.settings import EnvChoice


def best_time(function: Callable[[], Any], repeats: int) -> float:
    """The fastest of ``repeats`` timed calls, after one warm-up call (seconds)."""
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def closed_form_against_autograd(
    batch: int, length: int, dim: int, vocab: int, groups: int, repeats: int
) -> list[tuple[str, float, float, float]]:
    """(quantity, closed-form seconds, autograd seconds, largest relative difference) for each quantity."""
    generator = torch.Generator().manual_seed(0)
    linear = LinearPolicy(dim, vocab)
    linear.w1.data = torch.randn(dim, vocab, generator=generator) / dim**0.5
    linear.w2.data = torch.randn(vocab, vocab, generator=generator)
    general = NetworkPolicy.from_linear(linear)
    contexts = torch.randn(batch, dim, generator=generator)
    tokens = torch.randint(0, vocab, (batch, length), generator=generator)
    weights = torch.randn(batch, length, generator=generator)
    probs = linear.token_probs(contexts, tokens)
    pairs: dict[str, tuple[Callable[[], Any], Callable[[], Any]]] = {
        "score": (
            lambda: torch.cat([g.flatten() for g in linear.score(contexts, tokens, probs, weights)]),
            lambda: torch.cat([g.flatten() for g in general.score(contexts, tokens, None, weights)]),
        ),
        "score_sq_norms": (
            lambda: linear.score_sq_norms(contexts, tokens, probs, weights),
            lambda: general.score_sq_norms(contexts, tokens, None, weights),
        ),
        "group_scores": (
            lambda: linear.group_scores(contexts, tokens, probs, weights, groups),
            lambda: general.group_scores(contexts, tokens, None, weights, groups),
        ),
    }
    rows = []
    for name, (closed, auto) in pairs.items():
        expected, got = closed(), auto()
        difference = float((got - expected).abs().max() / expected.abs().max())
        assert difference < 1e-4, f"{name}: the autograd path differs from the closed form by {difference:.2e}"
        rows.append((name, best_time(closed, repeats), best_time(auto, repeats), difference))
    return rows


def train_step_throughput(
    env_id: str, policy_name: str, learner: str, batch: int, sizes: NetworkSizes, repeats: int
) -> float:
    """Tokens written per second by ``learner``'s train step (rollout through the env plus the update)."""
    group_size = 8
    envs = gym.make_vec(env_id, num_envs=batch, copy=False)
    task = envs.unwrapped.task  # type: ignore[attr-defined]
    policy = make_policy(policy_name, task, sizes)
    evaluator = PolicyEvaluator(task, 8)
    if learner == "paper_pg":
        agent: Any = PaperPG(envs, policy, PaperPGConfig(), 0, evaluator)
    else:
        config = GroupPGConfig(method="oblr_po", num_contexts=batch // group_size, group_size=group_size)
        agent = GroupPG(envs, policy, config, 0, evaluator)
    steps = iter(range(10**9))
    seconds = best_time(lambda: agent.train_step(next(steps)), repeats)
    return batch * task.seq_len / seconds


@dataclass(frozen=True)
class BenchPolicySettings(EnvChoice):
    """Settings of the policy benchmark (``--env-id``: the task of part 2)."""

    env_id: str = "seqreward/Process-v0"
    batch: int = 1024
    """Episodes per train step (part 2): a multiple of 8, at least 16."""
    repeats: int = 5
    """Timed repeats (the best counts)."""
    threads: int = 1
    """Torch and BLAS threads."""
    policies: str = "linear,mlp,transformer"
    """Comma-separated policy names (linear, mlp, transformer)."""
    hidden: int = 32
    """Network width."""
    layers: int = 1
    """Network depth."""
    heads: int = 2
    """Transformer attention heads (must divide --hidden)."""

    def check(self) -> None:
        super().check()  # types, every count >= 1, --env-id
        check_env_rows(self.env_id, self.batch, "batch")
        if self.batch < 16 or self.batch % 8:
            raise ConfigError(f"batch (--batch) must be a multiple of 8, at least 16, got {self.batch}", "batch")
        for name in self.policies.split(","):
            if name not in POLICIES:
                raise ConfigError(f"policies (--policies): {name!r} is not one of {POLICIES}", "policies")
        try:
            NetworkSizes(self.hidden, self.layers, self.heads)
        except ValueError as error:
            raise ConfigError(f"--hidden / --layers / --heads: {error}", "heads") from None


SCRIPT = Script("bench_policy", __doc__ or "", BenchPolicySettings)


def main(argv: list[str] | None = None) -> None:
    args = parse_command_line(SCRIPT, argv)[0]
    policies = args.policies.split(",")
    sizes = NetworkSizes(args.hidden, args.layers, args.heads)
    limit_threads(args.threads)
    print(
        f"closed form vs autograd on the linear policy (batch 1024, N 128, d = k = 32, 128 groups), {args.threads} thread(s)"
    )
    print(f"{'quantity':<16}{'closed ms':>11}{'autograd ms':>13}{'ratio':>8}{'max rel diff':>14}")
    for name, closed, auto, difference in closed_form_against_autograd(1024, 128, 32, 32, 128, args.repeats):
        print(f"{name:<16}{closed * 1e3:>11.2f}{auto * 1e3:>13.2f}{auto / closed:>8.1f}{difference:>14.1e}")
    print(f"\ntrain steps on {args.env_id}, batch {args.batch}, sizes {sizes}: tokens per second")
    print(f"{'policy':<13}{'paper PG':>12}{'OBLR-PO':>12}")
    for name in policies:
        paper = train_step_throughput(args.env_id, name, "paper_pg", args.batch, sizes, args.repeats)
        oblr = train_step_throughput(args.env_id, name, "oblr_po", args.batch, sizes, args.repeats)
        print(f"{name:<13}{paper:>12,.0f}{oblr:>12,.0f}")


if __name__ == "__main__":
    main()
