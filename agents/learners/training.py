"""Pieces every learner shares: optimisers fed closed-form gradients, the check that a policy fits the task,
and the random state of envs and generators for exact resume (the adaptive step is in
``agents.rules.adaptive``, the thread limit in ``agents.common.threads``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from agents.policy.network_policy import Policy

OPTIMIZERS = ("adagrad", "sgd", "adam")


def make_optimizer(name: str, parameters: Sequence[torch.nn.Parameter], learning_rate: float) -> torch.optim.Optimizer:
    """A torch optimiser over the policy's parameters ("adagrad", the paper's choice; "sgd"; "adam")."""
    if name == "adagrad":
        return torch.optim.Adagrad(parameters, lr=learning_rate)
    if name == "sgd":
        return torch.optim.SGD(parameters, lr=learning_rate)
    if name == "adam":
        return torch.optim.Adam(parameters, lr=learning_rate)
    raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {name!r}")


def task_of(envs: Any) -> Any:
    """The ``SequenceTask`` of a vector env (native or Gymnasium-wrapped), or ``envs`` itself if it is one."""
    from seqreward_env import SequenceTask

    if isinstance(envs, SequenceTask):
        return envs
    task = getattr(getattr(envs, "unwrapped", envs), "task", None)
    if not isinstance(task, SequenceTask):
        raise ValueError(f"expected a seqreward vector env or a SequenceTask, got {type(envs).__name__}")
    return task


def check_policy_fits(policy: Policy, task: Any) -> None:
    """Refuse, at a learner's construction, a policy shaped for another task (its context dimension and
    vocabulary must be the task's), instead of a shape error deep in the first update."""
    if (policy.context_dim, policy.vocab_size) != (task.context_dim, task.vocab_size):
        raise ValueError(
            f"policy has context_dim={policy.context_dim}, vocab_size={policy.vocab_size}; the task needs "
            f"context_dim={task.context_dim}, vocab_size={task.vocab_size}"
        )


def set_gradient(policy: Policy, grads: Sequence[torch.Tensor]) -> None:
    """Write closed-form gradients of the loss (to be minimised) into ``.grad`` for a torch optimiser."""
    for parameter, grad in zip(policy.parameters(), grads, strict=True):
        parameter.grad = grad.to(parameter.dtype).clone()


def env_generators(envs: Any) -> list[np.random.Generator]:
    """The per-row context generators of a vector env (native or Gymnasium sync)."""
    base = envs.unwrapped if hasattr(envs, "unwrapped") else envs
    if hasattr(base, "np_random_generators"):
        return list(base.np_random_generators)
    if hasattr(base, "envs"):
        return [env.unwrapped.np_random for env in base.envs]
    raise ValueError(f"cannot read the random state of {type(envs).__name__}; use the native or a sync vector env")


def env_random_state(envs: Any) -> list[dict[str, Any]]:
    """Snapshot of every row's generator state."""
    return [dict(rng.bit_generator.state) for rng in env_generators(envs)]


def env_query_count(envs: Any) -> int:
    """The reward queries the vector env has answered (its own count, ``total_reward_queries``)."""
    return int(getattr(envs, "unwrapped", envs).total_reward_queries)


def set_env_query_count(envs: Any, count: int) -> None:
    """Restore the env's own count on resume, so it keeps counting the whole run's queries."""
    getattr(envs, "unwrapped", envs).total_reward_queries = int(count)


def set_env_random_state(envs: Any, states: list[dict[str, Any]]) -> None:
    """Restore a snapshot taken by ``env_random_state``."""
    generators = env_generators(envs)
    if len(generators) != len(states):
        raise ValueError(f"saved state has {len(states)} env rows, the env has {len(generators)}")
    for rng, state in zip(generators, states, strict=True):
        rng.bit_generator.state = state
