"""Per-token advantages of the policy gradients of "Post-Training with Policy Gradients: Optimality and the
Base Model Barrier" (arXiv 2603.06957): ``(B, N)`` tensors multiplying the score of each generated token,
zero on positions the policy did not write (a given prefix)."""

from __future__ import annotations

import torch

REWARDS = ("outcome", "process")


def paper_advantages(
    rewards: torch.Tensor, generated: torch.Tensor, reward: str, baseline: bool | None
) -> torch.Tensor:
    """Per-token advantages ``(B, N)`` of the paper's PG, zero on positions the policy did not write.

    Args:
        rewards: ``(B, N)`` the reward of the step that wrote each token (under the outcome reward, the
            sequence reward R on the last step and 0 elsewhere, so that a row's sum is R).
        generated: ``(B, N)`` bool, the positions the policy wrote.
        reward: ``"outcome"``: A_bi = R_b (minus the batch mean of R unless ``baseline`` is False);
            ``"process"``: A_bi = r_bi (minus the batch mean at position i if ``baseline``).
        baseline: None takes each reward's default (the outcome PG subtracts the mean, the process PG not).
    """
    if reward == "outcome":
        returns = rewards.sum(dim=1)
        if baseline is None or baseline:
            returns = returns - returns.mean()
        advantages = returns.unsqueeze(1).expand_as(rewards)
    elif reward == "process":
        advantages = rewards
        if baseline:
            advantages = advantages - advantages.mean(dim=0, keepdim=True)
    else:
        raise ValueError(f"reward must be one of {REWARDS}, got {reward!r}")
    return advantages * generated


def theory_advantages(
    rewards: torch.Tensor, success: torch.Tensor, generated: torch.Tensor, reward: str, reward_high: float
) -> torch.Tensor:
    """Per-token advantages ``(B, N)`` with rewards read as {0, 1}: under ``"outcome"`` the ``(B,)`` bool
    ``success`` on every token of a response, under ``"process"`` whether each prefix's reward r_i in the
    ``(B, N)`` ``rewards`` is ``reward_high``; zero where the policy wrote nothing (``generated`` ``(B, N)``)."""
    if reward == "outcome":
        advantages = success.to(rewards.dtype).unsqueeze(1).expand_as(rewards)
    elif reward == "process":
        advantages = (rewards == reward_high).to(rewards.dtype)
    else:
        raise ValueError(f"reward must be one of {REWARDS}, got {reward!r}")
    return advantages * generated
