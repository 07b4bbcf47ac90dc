"""Pieces every learning rule shares: optimisers fed closed-form gradients, the theory's adaptive step,
gradient norms, and the random state of envs and generators for exact resume."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from agents.policy.policy_grad import Policy

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


def grad_norm(grads: Sequence[torch.Tensor]) -> float:
    """Euclidean norm of the concatenated gradient blocks."""
    return float(torch.sqrt(sum((g.double() ** 2).sum() for g in grads)))  # type: ignore[arg-type]


def adaptive_step(policy: Policy, grads: Sequence[torch.Tensor], scale: float) -> float:
    """The theory's update w <- w + scale * g / (4 + 2 ||g||^2); returns the step size 1 / (4 + 2 ||g||^2).

    ``g`` is a per-sample score (of log p(y*|x) for pre-training, of the sampled response for PG) and
    ``scale`` the reward or advantage multiplying it.
    """
    step_size = 1.0 / (4.0 + 2.0 * grad_norm(grads) ** 2)
    with torch.no_grad():
        for parameter, grad in zip(policy.parameters(), grads, strict=True):
            parameter.add_(grad.to(parameter.dtype), alpha=scale * step_size)
    return step_size


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


def set_env_random_state(envs: Any, states: list[dict[str, Any]]) -> None:
    """Restore a snapshot taken by ``env_random_state``."""
    generators = env_generators(envs)
    if len(generators) != len(states):
        raise ValueError(f"saved state has {len(states)} env rows, the env has {len(generators)}")
    for rng, state in zip(generators, states, strict=True):
        rng.bit_generator.state = state


def limit_threads(threads: int) -> None:
    """Use ``threads`` threads in torch and in numpy's BLAS for the rest of this process.

    The task's matrix products are tiny; a multi-threaded BLAS only adds synchronisation, and in
    several worker processes on a few cores its spinning threads can slow a 1024 x 32 x 32 product
    a hundredfold.
    """
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads!r}")
    torch.set_num_threads(threads)
    threadpool_limits(threads)
