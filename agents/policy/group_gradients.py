"""Per-group sums of weighted scores of the linear policy, in closed form: the gradient of every
group's surrogate at once, without a loop over groups (a policy computation that group PG learners and
``LinearPolicy.group_scores`` share)."""

from __future__ import annotations

import torch


def group_gradients(
    contexts: torch.Tensor,
    tokens: torch.Tensor,
    probs: torch.Tensor,
    weights: torch.Tensor,
    num_groups: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-group sums of weighted scores of the linear policy, in closed form and batched over groups.

    Returns sum_{rows r of group b} sum_i weights[r, i] grad_w log p(y_ri | x_r, y_r,<i) for each group b,
    the same quantity as ``LinearPolicy.score`` restricted to each group's consecutive rows.

    Args:
        contexts: ``(R, d)``; tokens: ``(R, N)`` int64; probs: ``(R, N, k)`` next-token probabilities at
            each position; weights: ``(R, N)`` (zero on positions that should not count);
            num_groups: B, with R = B * G rows, group b the rows ``[b * G, (b + 1) * G)``.

    Returns:
        ``(B, d, k)`` and ``(B, k, k)`` gradient blocks for W1 and W2.
    """
    rows, length, k = probs.shape
    if rows % num_groups:
        raise ValueError(f"{rows} rows do not split into {num_groups} equal groups")
    group_size = rows // num_groups
    weights = weights.to(probs.dtype)
    # The score of token y at a position is phi(y) - E_p[phi]: its logit part is e_y - p.
    residual = -probs * weights.unsqueeze(-1)
    residual.scatter_add_(-1, tokens.unsqueeze(-1), weights.unsqueeze(-1))
    per_row = residual.sum(dim=1)  # (R, k): the W1 block of row r is x_r per_row[r]^T
    grad_w1 = torch.einsum(
        "bgd,bgk->bdk",
        contexts.to(probs.dtype).view(num_groups, group_size, -1),
        per_row.view(num_groups, group_size, k),
    )
    # W2 block: position i >= 2 files its residual under (group, previous token).
    group_of_row = torch.arange(rows, device=tokens.device) // group_size
    slots = (group_of_row.unsqueeze(1) * k + tokens[:, :-1]).reshape(-1)
    by_previous = torch.zeros(num_groups * k, k, dtype=probs.dtype, device=probs.device)
    by_previous.index_add_(0, slots, residual[:, 1:].reshape(-1, k))
    grad_w2 = by_previous.view(num_groups, k, k).transpose(1, 2)  # [b, j, previous], W2's layout
    return grad_w1, grad_w2


def flatten_blocks(blocks: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """``(B, d, k)`` and ``(B, k, k)`` blocks as ``(B, dk + k^2)`` vectors."""
    first, second = blocks
    return torch.cat([first.reshape(len(first), -1), second.reshape(len(second), -1)], dim=1)
