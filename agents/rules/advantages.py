"""Per-token advantages of the policy gradients of "Post-Training with Policy Gradients: Optimality and the
Base Model Barrier" (arXiv 2603.06957): ``(B, N)`` tensors multiplying the score of each generated token,
zero on positions the policy did not write (a given prefix)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from agents.policy.rollout import Rollout
    from seqreward_env import SequenceTask


def paper_advantages(batch: Rollout, reward: str, baseline: bool | None) -> torch.Tensor:
    """Per-token advantages ``(B, N)`` of the paper's PG (zero on positions the policy did not write)."""
    if reward == "outcome":
        returns = batch.returns
        if baseline is None or baseline:
            returns = returns - returns.mean()
        advantages = returns.unsqueeze(1).expand_as(batch.rewards)
    elif reward == "process":
        advantages = batch.rewards
        if baseline:
            advantages = advantages - advantages.mean(dim=0, keepdim=True)
    else:
        raise ValueError(f"reward must be 'outcome' or 'process', got {reward!r}")
    return advantages * batch.generated


def theory_advantages(task: SequenceTask, batch: Rollout) -> torch.Tensor:
    """Per-token advantages ``(B, N)`` with rewards read as {0, 1}: the outcome r on every token of a
    response, or the process reward r_i of each prefix; zero where the policy wrote nothing."""
    if task.reward == "outcome":
        advantages = batch.success.to(batch.rewards.dtype).unsqueeze(1).expand_as(batch.rewards)
    else:
        advantages = (batch.rewards == task.reward_high).to(batch.rewards.dtype)
    return advantages * batch.generated
