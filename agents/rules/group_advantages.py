"""Baselines and advantages of the group policy-gradient estimators, on ``(B, G)`` sequence rewards.

Every estimator here has the form g = 1/(B G) sum_{b,i} A_bi s_bi, with s_bi the score of response i
to context b and A_bi = (r_bi - b_bi) (optionally rescaled). Which of them are unbiased for the policy
gradient grad E[r], with G responses per context:

- ``reinforce`` (b = 0) and ``rloo`` (b_i the mean of the other G - 1 rewards): unbiased.
- ``weighted_leave_one_out`` (OBLR-PO): b_i uses only the other responses j != i, so it is independent
  of y_i and E[b_i s_i] = 0: unbiased.
- ``dr_grpo`` (b the group mean, self included): A_i = (G - 1)/G (r_i - rloo baseline_i), so its
  expectation is exactly (G - 1)/G times the policy gradient (a scaled, not a wrong, direction).
- ``batch_mean`` (b the mean over all B G rewards): expectation (1 - 1/(B G)) times the policy gradient.
- ``grpo`` (group-normalised: (r - mean) / (std + eps)) and ``weighted_self_including``: biased.

Paper: "OBLR-PO: A Theoretical Framework for Stable Reinforcement Learning" (Huang, Sheng and Zheng,
arXiv 2511.23310), whose variance-optimal baseline is the score-norm weighted one; the other estimators
are the standard ones it is compared with.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import torch

if TYPE_CHECKING:
    from agents.policy.network_policy import Policy

ADVANTAGES = ("reinforce", "batch_mean", "rloo", "grpo", "dr_grpo", "weighted_leave_one_out", "weighted_self_including")
# Sums of score-norm weights at or below this share of the group's total count as zero (fall back).
ZERO_WEIGHT = 1e-12


class Advantages(NamedTuple):
    """advantages: ``(B, G)`` A_bi multiplying each response's score. baselines: ``(B, G)`` the b_bi
    subtracted (before any rescaling; zeros for ``reinforce``)."""

    advantages: torch.Tensor
    baselines: torch.Tensor


def leave_one_out_mean(rewards: torch.Tensor) -> torch.Tensor:
    """b_i = mean_{j != i} r_j within each group: ``(B, G)``, needs G >= 2."""
    group_size = rewards.shape[1]
    if group_size < 2:
        raise ValueError(f"a leave-one-out baseline needs group_size >= 2, got {group_size}")
    return (rewards.sum(dim=1, keepdim=True) - rewards) / (group_size - 1)


def weighted_leave_one_out(rewards: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """OBLR-PO's baseline b_i = sum_{j != i} r_j w_j / sum_{j != i} w_j, with w_j = ||s_j||^2.

    The variance-optimal constant baseline of g = (r - b) s is b* = E[r ||s||^2] / E[||s||^2]; this is its
    plug-in estimate from the other G - 1 responses, so that b_i does not depend on y_i and the estimator
    stays unbiased. Where the other responses' weights sum to zero (every score vanishes, a degenerate
    policy) it falls back to the plain leave-one-out mean. Needs G >= 2.
    """
    rewards, weights = rewards.double(), weights.double()
    plain = leave_one_out_mean(rewards)
    weighted_total = (rewards * weights).sum(dim=1, keepdim=True)
    total = weights.sum(dim=1, keepdim=True)
    others = total - weights
    usable = others > ZERO_WEIGHT * total
    weighted = (weighted_total - rewards * weights) / torch.where(usable, others, torch.ones_like(others))
    return torch.where(usable, weighted, plain)


def weighted_self_including(rewards: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """b = sum_j r_j w_j / sum_j w_j over the whole group, response i included (the direct plug-in of b*;
    biased because b depends on y_i). Falls back to the group mean where every weight is zero."""
    rewards, weights = rewards.double(), weights.double()
    total = weights.sum(dim=1, keepdim=True)
    usable = total > 0
    weighted = (rewards * weights).sum(dim=1, keepdim=True) / torch.where(usable, total, torch.ones_like(total))
    baseline = torch.where(usable, weighted, rewards.mean(dim=1, keepdim=True))
    return baseline.expand_as(rewards)


def group_advantages(
    rewards: torch.Tensor,
    estimator: str,
    weights: torch.Tensor | None = None,
    std_epsilon: float = 1e-4,
) -> Advantages:
    """Advantages of one estimator for ``(B, G)`` sequence rewards.

    Args:
        rewards: ``(B, G)`` sequence rewards.
        estimator: one of ``ADVANTAGES``.
        weights: ``(B, G)`` non-negative response weights (the squared score norms, or a proxy) for the
            weighted baselines.
        std_epsilon: GRPO's eps in (r - mean) / (std + eps); std with Bessel's correction, as in common
            GRPO implementations.
    """
    rewards = rewards.double()
    if rewards.ndim != 2:
        raise ValueError(f"rewards must be (num_contexts, group_size), got shape {tuple(rewards.shape)}")
    if estimator == "reinforce":
        baselines = torch.zeros_like(rewards)
    elif estimator == "batch_mean":
        baselines = rewards.mean().expand_as(rewards)
    elif estimator == "rloo":
        baselines = leave_one_out_mean(rewards)
    elif estimator in ("grpo", "dr_grpo"):
        baselines = rewards.mean(dim=1, keepdim=True).expand_as(rewards)
    elif estimator in ("weighted_leave_one_out", "weighted_self_including"):
        if weights is None or tuple(weights.shape) != tuple(rewards.shape):
            raise ValueError(f"estimator {estimator!r} needs weights of shape {tuple(rewards.shape)}")
        if estimator == "weighted_leave_one_out":
            baselines = weighted_leave_one_out(rewards, weights)
        else:
            baselines = weighted_self_including(rewards, weights)
    else:
        raise ValueError(f"estimator must be one of {ADVANTAGES}, got {estimator!r}")
    advantages = rewards - baselines
    if estimator == "grpo":
        if rewards.shape[1] < 2:
            raise ValueError("GRPO's group normalisation needs group_size >= 2")
        std = rewards.std(dim=1, keepdim=True)
        # a group of equal rewards has zero advantages already: divide by 1 there, never 0/0
        advantages = advantages / torch.where(std > 0, std + std_epsilon, torch.ones_like(std))
    return Advantages(advantages, baselines)


def expected_scale(estimator: str, num_contexts: int, group_size: int) -> float | None:
    """E[estimator] / grad E[r] where it is a known constant (1 for the unbiased ones); None where the
    estimator is biased in direction (GRPO, the self-including weighted baseline)."""
    scales = {
        "reinforce": 1.0,
        "rloo": 1.0,
        "weighted_leave_one_out": 1.0,
        "dr_grpo": (group_size - 1) / group_size,
        "batch_mean": 1.0 - 1.0 / (num_contexts * group_size),
    }
    return scales.get(estimator)


BASELINE_WEIGHTS = ("score_norm", "logit_residual")


def baseline_weights(
    policy: Policy,
    contexts: torch.Tensor,
    tokens: torch.Tensor,
    probs: torch.Tensor,
    generated: torch.Tensor,
    kind: str = "score_norm",
) -> torch.Tensor:
    """Per-response weights w_j of OBLR-PO's baseline: ``(B * G,)`` float64, for the ``(B * G, d)`` contexts,
    ``(B * G, N)`` tokens, ``(B * G, N, k)`` next-token probabilities and ``(B * G, N)`` bool mask of
    generated positions of the responses.

    ``score_norm`` (the variance-optimal choice): w_j = ||grad_w log p(y_j | x_j)||^2, exact and in closed
    form for the linear policy (``LinearPolicy.score_sq_norms``), no per-sample backward pass; for a network
    from per-sample gradients (``NetworkPolicy.score_sq_norms``, ``torch.func``).
    ``logit_residual`` (a cheaper proxy that any model with kept next-token probabilities has):
    w_j = sum_i ||e_(y_ji) - p_ji||^2, the squared score with respect to the logits, position by position;
    it drops the feature map (here ||x||^2 and the transition block) and the cross-position terms.
    """
    mask = generated.to(probs.dtype)
    if kind == "score_norm":
        return policy.score_sq_norms(contexts, tokens, probs, mask).double()
    if kind == "logit_residual":
        probs = probs.double()
        chosen = probs.gather(-1, tokens.unsqueeze(-1)).squeeze(-1)
        per_token = 1.0 - 2.0 * chosen + probs.pow(2).sum(dim=-1)  # ||e_y - p||^2
        return (per_token * mask.double()).sum(dim=1)
    raise ValueError(f"baseline weights must be one of {BASELINE_WEIGHTS}, got {kind!r}")
