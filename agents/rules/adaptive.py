"""The theory's adaptive step w <- w + A g / (4 + 2 ||g||^2), per sample, per row and per token.

Paper: "Post-Training with Policy Gradients: Optimality and the Base Model Barrier" (Mousavi-Hosseini and
Erdogdu, arXiv 2603.06957); the step size 1 / (4 + 2 ||g||^2) of its PG and pre-training analyses.
Shapes are given per function.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from agents.policy.linear import LinearPolicy
from agents.policy.network_policy import Policy, add_to_parameters, parameter_dtype


def grad_norm(grads: Sequence[torch.Tensor]) -> float:
    """||g|| = sqrt(sum_blocks sum g^2), the Euclidean norm of the concatenated gradient blocks (one tensor per
    parameter, shaped like it); a float."""
    return float(torch.sqrt(sum((g.double() ** 2).sum() for g in grads)))  # type: ignore[arg-type]


def adaptive_step(policy: Policy, grads: Sequence[torch.Tensor], scale: float) -> float:
    """The theory's update w <- w + scale * g / (4 + 2 ||g||^2); returns the step size 1 / (4 + 2 ||g||^2).

    ``g`` is a per-sample score (of log p(y*|x) for pre-training, of the sampled response for PG) and
    ``scale`` the reward or advantage multiplying it. ``grads``: one tensor per parameter, shaped like it.
    """
    step_size = 1.0 / (4.0 + 2.0 * grad_norm(grads) ** 2)
    with torch.no_grad():
        for parameter, grad in zip(policy.parameters(), grads, strict=True):
            parameter.add_(grad.to(parameter.dtype), alpha=scale * step_size)
    return step_size


def adaptive_update(
    policy: Policy,
    contexts: torch.Tensor,
    tokens: torch.Tensor,
    weights: torch.Tensor,
    scale: torch.Tensor | None = None,
    probs: torch.Tensor | None = None,
) -> torch.Tensor:
    """The theory's step for each row b, summed over rows: w <- w + sum_b s_b g_b / (4 + 2 ||g_b||^2).

    g_b = sum_i weights[b, i] grad log p_w(tokens[b, i] | x_b, tokens[b, <i]) at the current w (for
    weights A_i = r_i in {0, 1}, the score of the rewarded response or verified prefix), and s_b =
    ``scale[b]`` (1 when absent; an importance ratio for off-policy PG). With one row this is exactly
    ``adaptive_step``; with B rows it is B per-sample steps taken from the same iterate.

    Args:
        contexts: ``(B, d)``; tokens: ``(B, N)`` int64; weights: ``(B, N)``; scale: ``(B,)`` or None;
        probs: p_w's teacher-forced next-token probabilities ``(B, N, k)`` if already at hand (a rollout
            of p_w keeps them), else computed here.

    Returns:
        the step sizes 1 / (4 + 2 ||g_b||^2): ``(B,)``.
    """
    weights = weights.to(parameter_dtype(policy))
    with torch.no_grad():
        if probs is None and isinstance(policy, LinearPolicy):
            probs = policy.token_probs(contexts, tokens)
        step_sizes = 1.0 / (4.0 + 2.0 * policy.score_sq_norms(contexts, tokens, probs, weights))  # type: ignore[arg-type]
        factor = step_sizes if scale is None else step_sizes * scale.to(step_sizes.dtype)
        grads = policy.score(contexts, tokens, probs, weights * factor.unsqueeze(1).to(weights.dtype))  # type: ignore[arg-type]
        add_to_parameters(policy, grads)
    return step_sizes


def token_adaptive_update(
    policy: Policy, contexts: torch.Tensor, tokens: torch.Tensor, weights: torch.Tensor, step_scale: float = 1.0
) -> torch.Tensor:
    """The adaptive step taken per token: w <- w + sum_(b,i) c g_bi / (4 + 2 ||g_bi||^2) (c = ``step_scale``,
    the theory's 1 by default), with
    g_bi = weights[b, i] grad log p_w(tokens[b, i] | x_b, tokens[b, <i]) at the current w.

    Under the process reward every position of a verified prefix is a labelled example of its own (the
    token-level view behind the token-level LQ): each gets its own step, so each token's log-probability
    rises by up to about 1/2 per update, where one step on the whole prefix shares that 1/2 among its
    positions. ||g_bi||^2 = w_bi^2 ||e_y - p||^2 (||x||^2 + 1), without the 1 at the first position.

    For a network the norms ||g_bi||^2 come from per-sample scores of the B N (row, position) pairs.

    Args and shapes as in ``adaptive_update``. Returns the step sizes c / (4 + 2 ||g_bi||^2): ``(B, N)``.
    """
    weights = weights.to(parameter_dtype(policy))
    if not isinstance(policy, LinearPolicy):
        rows, length = tokens.shape
        one_position = torch.eye(length, dtype=weights.dtype, device=weights.device)  # (position, N)
        per_token = (weights.unsqueeze(1) * one_position.unsqueeze(0)).reshape(rows * length, length)
        norms = policy.score_sq_norms(
            contexts.repeat_interleave(length, 0), tokens.repeat_interleave(length, 0), None, per_token
        )
        step_sizes = step_scale / (4.0 + 2.0 * norms.view(rows, length))
        add_to_parameters(policy, policy.score(contexts, tokens, None, weights * step_sizes))
        return step_sizes
    with torch.no_grad():
        probs = policy.token_probs(contexts, tokens)
        residual = probs.pow(2).sum(-1) - 2 * probs.gather(-1, tokens.unsqueeze(-1)).squeeze(-1) + 1  # ||e_y - p||^2
        feature = contexts.to(probs.dtype).pow(2).sum(1, keepdim=True) + (torch.arange(tokens.shape[1]) > 0).to(
            probs.dtype
        )
        step_sizes = step_scale / (4.0 + 2.0 * weights.pow(2) * residual * feature)
        add_to_parameters(policy, policy.score(contexts, tokens, probs, weights * step_sizes))
    return step_sizes
