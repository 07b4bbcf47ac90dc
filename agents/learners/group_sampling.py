"""Group sampling for group policy-gradient methods: B contexts per step, G responses per context, all
through the vector env (each context asked G times), with the per-context gradients in closed form.

Row ``b * G + g`` of a group batch is response g to context b. The sequence reward of a response is
the sum of the env's per-step rewards (``Rollout.returns``): under the outcome reward that is the
outcome reward itself; under the process reward it is the sum of the per-prefix verdicts, i.e. with
reward values (0, 1) the length of the longest correct prefix. Group methods compare these sequence
rewards within a group; the process reward's per-token structure is not used beyond this sum (a
documented choice: it keeps every method's estimator the same function of one scalar per response).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import torch

from agents.policy.protocols import AutoregressivePolicy
from agents.policy.rollout import Rollout, rollout


class GroupBatch(NamedTuple):
    """G responses to each of B contexts.

    rollout: the env batch of ``B * G`` rows (row ``b * G + g`` answers context b).
    num_contexts: B. group_size: G.
    """

    rollout: Rollout
    num_contexts: int
    group_size: int

    @property
    def sequence_rewards(self) -> torch.Tensor:
        """``(B, G)`` float64: the sum of each response's per-step rewards (see the module docstring)."""
        return self.rollout.returns.double().view(self.num_contexts, self.group_size)

    @property
    def contexts(self) -> torch.Tensor:
        """``(B, d)``: the B distinct contexts."""
        return self.rollout.contexts.view(self.num_contexts, self.group_size, -1)[:, 0]

    @property
    def equal_reward_fraction(self) -> float:
        """Fraction of groups whose G rewards are all equal (leave-one-out and group-normalised
        advantages are then all zero: the group teaches nothing)."""
        rewards = self.sequence_rewards
        return float((rewards == rewards[:, :1]).all(dim=1).double().mean())


def sample_groups(
    envs: Any,
    policy: AutoregressivePolicy,
    generator: torch.Generator,
    context_rng: np.random.Generator,
    num_contexts: int,
    group_size: int,
) -> GroupBatch:
    """Draw B contexts from the task with ``context_rng`` and ask each G times through ``envs``.

    Args:
        envs: the native ``SequenceVectorEnv`` (per-row contexts) with ``num_envs == B * G``.
        policy: samples every response; its next-token probabilities are kept.
        generator: torch generator for token sampling.
        context_rng: numpy generator of the contexts (``task.sample_contexts``, honouring any margin).
        num_contexts: B >= 1. group_size: G >= 1.
    """
    if num_contexts < 1 or group_size < 1:
        raise ValueError(f"num_contexts and group_size must be >= 1, got {num_contexts} and {group_size}")
    num_envs = int(envs.num_envs)
    if num_envs != num_contexts * group_size:
        raise ValueError(
            f"the vector env has num_envs={num_envs}; group sampling needs num_contexts * group_size = "
            f"{num_contexts} * {group_size} = {num_contexts * group_size}"
        )
    task = envs.unwrapped.task
    contexts = task.sample_contexts(context_rng, num_contexts)
    batch = rollout(envs, policy, generator, contexts=np.repeat(contexts, group_size, axis=0))
    return GroupBatch(batch, num_contexts, group_size)


def token_entropy(batch: Rollout) -> float:
    """Mean entropy (nats) of the policy's next-token distributions over the generated positions."""
    probs = batch.probs.double()
    entropy = -(probs * torch.log(probs.clamp_min(1e-300))).sum(dim=-1)
    mask = batch.generated.double()
    return float((entropy * mask).sum() / mask.sum().clamp_min(1.0))
