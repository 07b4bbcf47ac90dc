"""OBLR-PO's two ingredients beyond the estimator: the baseline weights ||s||^2 and the SNR learning rate
(the rate's functions are in ``agents.rules.snr``; its derivation is below).

The paper (arXiv 2511.23310) was read from its abstract only; each choice below is the natural reading
of it and says so where it is made (the issue behind them: "OBLR-PO and the standard policy-gradient
baselines, compared honestly").

Learning rate. For an L-smooth objective J and an update w + eta g with E g = grad J,
E J(w + eta g) >= J + eta ||grad J||^2 - (L eta^2 / 2) (||grad J||^2 + tr Var g), maximised at
eta = (1/L) SNR / (1 + SNR) with SNR = ||grad J||^2 / tr Var g. OBLR-PO uses eta_max * SNR / (1 + SNR),
eta_max standing for 1/L (tuned), with the SNR estimated from the spread of the B per-context gradient
estimates g_b (their mean is the update):
    SNR = ||mean_b g_b||^2 / (tr Cov(g_b) / B)        ("plain", the issue's definition);
since E ||mean g_b||^2 = ||grad J||^2 + tr Var, the plain estimate is about SNR + 1 and keeps the rate
above eta_max / 2; the "debiased" option subtracts tr Cov / B from the numerator (clipped at 0).
The SNR is smoothed by an exponential average (bias-corrected like Adam's moments, so the first steps
are not pulled to zero) and the rate clipped to [eta_min, eta_max].
"""

from __future__ import annotations

import torch

from agents.policy.policy_grad import Policy
from agents.policy.rollout import Rollout

BASELINE_WEIGHTS = ("score_norm", "logit_residual")


def baseline_weights(policy: Policy, batch: Rollout, kind: str = "score_norm") -> torch.Tensor:
    """Per-response weights w_j of OBLR-PO's baseline: ``(B * G,)`` float64.

    ``score_norm`` (the variance-optimal choice): w_j = ||grad_w log p(y_j | x_j)||^2, exact and in closed
    form for the linear policy (``LinearPolicy.score_sq_norms``), no per-sample backward pass; for a network
    from per-sample gradients (``NetworkPolicy.score_sq_norms``, ``torch.func``).
    ``logit_residual`` (a cheaper proxy that any model with kept next-token probabilities has):
    w_j = sum_i ||e_(y_ji) - p_ji||^2, the squared score with respect to the logits, position by position;
    it drops the feature map (here ||x||^2 and the transition block) and the cross-position terms.
    """
    mask = batch.generated.to(batch.probs.dtype)
    if kind == "score_norm":
        return policy.score_sq_norms(batch.contexts, batch.tokens, batch.probs, mask).double()
    if kind == "logit_residual":
        probs = batch.probs.double()
        chosen = probs.gather(-1, batch.tokens.unsqueeze(-1)).squeeze(-1)
        per_token = 1.0 - 2.0 * chosen + probs.pow(2).sum(dim=-1)  # ||e_y - p||^2
        return (per_token * mask.double()).sum(dim=1)
    raise ValueError(f"baseline weights must be one of {BASELINE_WEIGHTS}, got {kind!r}")
