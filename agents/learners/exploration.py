"""What the theory's algorithms share ("Post-Training with Policy Gradients", arXiv 2603.06957): reward queries through the env, the
behaviour mixture 1/2 q0 + 1/2 uniform and the paper's number of tries m on a sample of contexts (the formulas for m
are in ``agents.rules.tries``, the batched adaptive step in ``agents.rules.adaptive``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from agents.common.config_checks import check_at_least, check_types
from agents.policy.evaluation import policy_token_log_probs
from agents.policy.linear import LinearPolicy
from agents.policy.network_policy import Policy
from agents.policy.protocols import NO_TOKEN
from agents.rules.tries import best_of_m_tries, process_repair_tries
from seqreward_env import SequenceTask, SequenceVectorEnv


def native_vector_env(envs: Any, reward: str | None = None) -> SequenceVectorEnv:
    """The ``SequenceVectorEnv`` behind ``envs`` (per-row contexts and prefixes need the native env)."""
    base = envs.unwrapped if hasattr(envs, "unwrapped") else envs
    if not isinstance(base, SequenceVectorEnv):
        raise ValueError(
            f"envs must be a SequenceVectorEnv (e.g. gym.make_vec(..., vectorization_mode='vector_entry_point')), "
            f"got {type(envs).__name__}"
        )
    if reward is not None and base.task.reward != reward:
        raise ValueError(f"this algorithm needs the {reward} reward, the env's task uses {base.task.reward!r}")
    return base


def query_rewards(
    envs: SequenceVectorEnv, contexts: np.ndarray, prefixes: np.ndarray | list[np.ndarray], tokens: np.ndarray
) -> tuple[np.ndarray, int]:
    """Ask the env for the reward of ``prefix + token`` on every row, one reward query each.

    Row i is reset with ``options={"context": contexts[i], "prefix": prefixes[i]}`` (a prefix costs no
    query) and stepped once with ``tokens[i]``: under the process reward that is the verdict on the
    prefix of length len(prefix) + 1; under the outcome reward, with a prefix of length N - 1, the
    verdict on the whole response.

    Args:
        envs: the native vector env, ``num_envs`` = n.
        contexts: ``(n, d)``; prefixes: ``(n, L)`` or n 1-D token arrays of any lengths < N; tokens: ``(n,)``.

    Returns:
        rewards ``(n,)`` float64 and the number of reward queries the env answered.
    """
    envs.reset(options={"context": contexts, "prefix": prefixes})
    _, rewards, _, _, info = envs.step(np.asarray(tokens, dtype=np.int64))
    return np.asarray(rewards), int(np.sum(info.get("reward_queries", 0)))


def is_high(task: SequenceTask, rewards: np.ndarray) -> np.ndarray:
    """Read env rewards as r in {0, 1}: 1 where the env paid ``high`` (the theory's rewards)."""
    return np.asarray(rewards) == task.reward_high


# ----- sampling ---------------------------------------------------------------------------------------
# Samplers for the linear policy use the Gumbel-max trick, argmax_j(logit_j + G_j) with G_j i.i.d.
# Gumbel(0, 1), which draws j with probability softmax(logits)_j: one index, one add and one argmax per
# position, far fewer small tensor operations than normalising and inverting the CDF.
def gumbel_noise(shape: tuple[int, ...], generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """I.i.d. Gumbel(0, 1) noise of the given shape."""
    uniforms = torch.rand(shape, generator=generator, device=device)
    return -torch.log(-torch.log(uniforms))


def sample_responses(policy: Policy, contexts: torch.Tensor, length: int, generator: torch.Generator) -> torch.Tensor:
    """Whole responses drawn token by token from the policy (no env, no queries): ``(n, length)`` int64."""
    n, device = contexts.shape[0], contexts.device
    tokens = torch.empty(n, length, dtype=torch.int64, device=device)
    noise = gumbel_noise((length, n, policy.vocab_size), generator, device)
    with torch.no_grad():
        if not isinstance(policy, LinearPolicy):  # a network: its incremental logits, position by position
            cache, previous = policy.begin(contexts), None
            for i in range(length):
                tokens[:, i] = (torch.log(policy.next_probs(cache, previous)) + noise[i]).argmax(dim=-1)
                previous = tokens[:, i]
            return tokens
        base = policy.begin(contexts)
        transition = policy.w2.T  # row prev: the logits W2[:, prev] added after token prev
        tokens[:, 0] = (base + noise[0]).argmax(dim=-1)
        for i in range(1, length):
            tokens[:, i] = (base + transition[tokens[:, i - 1]] + noise[i]).argmax(dim=-1)
    return tokens


def sample_sequence_mixture(
    base: Policy, contexts: torch.Tensor, length: int, generator: torch.Generator
) -> torch.Tensor:
    """Algorithm 1's behaviour: each response is, with probability 1/2, a whole response from the base
    model q0 and otherwise a uniform one (a mixture of sequence distributions): ``(n, length)``."""
    n, device = contexts.shape[0], contexts.device
    from_base = torch.rand(n, 1, generator=generator, device=device) < 0.5
    uniform = torch.randint(0, base.vocab_size, (n, length), generator=generator, device=device)
    return torch.where(from_base, sample_responses(base, contexts, length, generator), uniform)


def sample_token_mixture(
    base: Policy,
    contexts: torch.Tensor,
    previous: torch.Tensor,
    generator: torch.Generator,
    *,
    prefixes: torch.Tensor | None = None,
    lengths: torch.Tensor | None = None,
) -> torch.Tensor:
    """Algorithm 2's behaviour 1/2 q0 + 1/2 uniform, mixed token by token: one token per row after the
    ``(n,)`` previous tokens (``NO_TOKEN`` at position 0): ``(n,)`` int64.

    A network base looks at the whole prefix: pass ``prefixes`` ``(n, N)`` and their ``(n,)`` ``lengths``
    (row b's prefix is ``prefixes[b, :lengths[b]]``); the linear policy needs only ``previous``.
    """
    n, device = contexts.shape[0], contexts.device
    with torch.no_grad():
        if isinstance(base, LinearPolicy):
            logits = base.begin(contexts)
            after = previous >= 0
            logits = logits + torch.where(after.unsqueeze(1), base.w2.T[previous.clamp(min=0)], 0.0)
        elif prefixes is None or lengths is None:
            raise ValueError("a network base needs the whole prefixes and their lengths, not only previous tokens")
        else:  # teacher-forced logits at position lengths[b] see exactly the prefix
            at = lengths.clamp(max=prefixes.shape[1] - 1)
            logits = base.token_logits(contexts, prefixes)[torch.arange(n, device=device), at]
        from_base = (logits + gumbel_noise((n, base.vocab_size), generator, device)).argmax(dim=-1)
    uniform = torch.randint(0, base.vocab_size, (n,), generator=generator, device=device)
    return torch.where(torch.rand(n, generator=generator, device=device) < 0.5, from_base, uniform)


def previous_tokens(tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """The last token of each row's prefix ``tokens[b, :lengths[b]]``, ``NO_TOKEN`` for empty ones: ``(n,)``."""
    last = tokens.gather(1, (lengths - 1).clamp(min=0).unsqueeze(1)).squeeze(1)
    return torch.where(lengths > 0, last, torch.full_like(last, NO_TOKEN))


def greedy_responses(policy: Policy, contexts: torch.Tensor, length: int) -> torch.Tensor:
    """The policy's mode token by token (its prediction in online learning): ``(n, length)`` int64."""
    tokens = torch.empty(contexts.shape[0], length, dtype=torch.int64, device=contexts.device)
    with torch.no_grad():
        cache = policy.begin(contexts)
        previous: torch.Tensor | None = None
        for i in range(length):
            tokens[:, i] = policy.next_probs(cache, previous).argmax(dim=-1)
            previous = tokens[:, i]
    return tokens


# ----- the paper's m ----------------------------------------------------------------------------------


def base_model_likelihoods(task: SequenceTask, base: Policy, contexts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """p0(y*|x) and min_i p0(y*_i | x, y*_<i) of the base model on ``(n, d)`` contexts: two ``(n,)`` arrays."""
    token_log_probs = policy_token_log_probs(base, contexts, task.targets(contexts))
    return np.exp(token_log_probs.sum(axis=1)), np.exp(token_log_probs.min(axis=1))


def paper_tries(
    algorithm: str, task: SequenceTask, base: Policy, contexts: np.ndarray, eps: float, delta: float
) -> int:
    """The paper's m for ``algorithm`` ("best_of_m" or "process_repair") from a sample of contexts."""
    likelihoods, token_minima = base_model_likelihoods(task, base, contexts)
    if algorithm == "best_of_m":
        return best_of_m_tries(likelihoods, eps, delta, task.vocab_size, task.seq_len)
    if algorithm == "process_repair":
        return process_repair_tries(token_minima, eps, delta, task.vocab_size, task.seq_len)
    raise ValueError(f"algorithm must be 'best_of_m' or 'process_repair', got {algorithm!r}")


@dataclass(frozen=True)
class ExplorationConfig:
    """Settings of the exploration of Algorithms 1 and 2: m and the paper's choice of it."""

    tries: int | None = None
    """m, the most tries per context (Algorithm 1) or per position (Algorithm 2); None: the paper's choice
    from the base model's likelihood quantile (``best_of_m_tries``, ``process_repair_tries``)."""
    lq_eps: float = 0.1
    """eps of the base model's likelihood quantile behind the paper's m."""
    delta: float = 0.1
    """Failure probability behind the paper's m."""
    lq_contexts: int = 4096
    """Contexts drawn to estimate the base model's likelihood quantile."""

    def __post_init__(self) -> None:
        check_types(self)
        check_at_least(self, 1, "tries", "lq_contexts")
        check_probability("lq_eps", self.lq_eps, open_low=False)
        check_probability("delta", self.delta)


def check_probability(name: str, value: float, *, open_low: bool = True) -> float:
    """``value`` in (0, 1) (or [0, 1) when ``open_low`` is False), else a clear error."""
    low_ok = value > 0 if open_low else value >= 0
    if not (low_ok and value < 1):
        raise ValueError(f"{name} must lie in {'(' if open_low else '['}0, 1), got {value!r}")
    return float(value)
