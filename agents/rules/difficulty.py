"""Which groups and contexts teach something, and where a curriculum moves: small pure tensor rules.

- Dynamic sampling (DAPO, arXiv 2503.14476, eq. 11: keep a group only if 0 < #correct < G): a group whose
  G rewards are all equal has all-zero group-relative advantages and gives no gradient.
- Difficulty filter (PRIME, arXiv 2502.01456: keep prompts whose pass rate lies in [0.2, 0.8]; balanced
  online difficulty filtering, arXiv 2504.03380): keep a context whose estimated pass rate lies in a band.
- Adaptive curriculum (zone of proximal development, e.g. AdaRFT arXiv 2504.05520): harder when the running
  success rate reaches a target, easier when it falls below a floor.
"""

from __future__ import annotations

import torch


def informative_groups(rewards: torch.Tensor) -> torch.Tensor:
    """Groups whose rewards are not all equal (DAPO's constraint). rewards ``(B, G)`` -> ``(B,)`` bool."""
    return (rewards != rewards[:, :1]).any(dim=1)


def in_band(pass_rates: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """Contexts whose pass rate p satisfies low <= p <= high. pass_rates ``(B,)`` -> ``(B,)`` bool."""
    return (pass_rates >= low) & (pass_rates <= high)


def group_pass_rates(success: torch.Tensor) -> torch.Tensor:
    """The group's own estimate of each context's pass rate: the share of its G responses that are right.
    success ``(B, G)`` bool -> ``(B,)`` float64."""
    return success.double().mean(dim=1)


def suffix_pass_rates(token_log_probs: torch.Tensor, start: int) -> torch.Tensor:
    """The exact pass rate p(y*_{start+1..N} | x, y*_{1..start}) from the teacher-forced log p(y*_i | x, y*_<i)
    ``(B, N)``: the product over the positions a policy still writes after a hint of ``start`` tokens. -> ``(B,)``."""
    return torch.exp(token_log_probs[:, start:].sum(dim=1))


def curriculum_move(running_success: float, target: float, retreat: float) -> int:
    """+1 (one level harder) when the running success rate is at least ``target``, -1 (easier) when it is
    below ``retreat``, else 0."""
    if running_success >= target:
        return 1
    if running_success < retreat:
        return -1
    return 0
