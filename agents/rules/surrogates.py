"""Per-token weights of the surrogate objectives that group PG can add: PPO's clipped importance ratio
and a k3 KL penalty to the base model (GRPO's usual settings).

Paper: "OBLR-PO: A Theoretical Framework for Stable Reinforcement Learning" (Huang, Sheng and Zheng,
arXiv 2511.23310), which analyses these group estimators next to OBLR-PO.
Weights multiply grad log p_t per token; all tensors are ``(R, N)`` (R responses, N tokens).
"""

from __future__ import annotations

import torch


def kl_penalty_weights(log_probs: torch.Tensor, reference_log_probs: torch.Tensor, kl_coef: float) -> torch.Tensor:
    """Per-token weights w_t with sum_t w_t grad log p_t = -kl_coef grad sum_t k3_t, k3 = p_ref/p - log(p_ref/p) - 1.

    The gradient of k3 at a sampled token is (1 - p_ref/p) grad log p. Shapes ``(R, N)`` throughout.
    """
    if kl_coef == 0:
        return torch.zeros_like(log_probs)
    return -kl_coef * (1.0 - torch.exp(reference_log_probs - log_probs))


def clipped_ratio_weights(
    log_probs: torch.Tensor, old_log_probs: torch.Tensor, advantages: torch.Tensor, epsilon: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token weights of the gradient of PPO's surrogate sum_t min(rho_t A_t, clip(rho_t, 1 - eps, 1 + eps) A_t),
    rho_t = p_t / p_old,t: A_t rho_t where the unclipped branch is the minimum, 0 where the clipped one is
    (eps = 0: no clipping). Returns the weights and the ``active`` mask, all ``(R, N)``.
    """
    ratio = torch.exp(log_probs - old_log_probs)
    active = torch.ones_like(ratio, dtype=torch.bool)
    if epsilon > 0:
        active = ((advantages >= 0) & (ratio <= 1 + epsilon)) | ((advantages < 0) & (ratio >= 1 - epsilon))
    # where, not a product: an overflowed ratio on a clipped token must give 0, not inf * 0
    return torch.where(active, advantages * ratio, torch.zeros_like(ratio)), active
