"""OBLR-PO's learning rate, governed by the gradient's signal-to-noise ratio (SNR).

Paper: "OBLR-PO: A Theoretical Framework for Stable Reinforcement Learning" (Huang, Sheng and Zheng,
arXiv 2511.23310), read from its abstract; each choice below is the natural reading of it.
Per-context gradients are ``(B, D)``.

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

from dataclasses import dataclass
from typing import Any, NamedTuple

import torch

SNR_ESTIMATORS = ("plain", "debiased")


class GradientStatistics(NamedTuple):
    """Spread of B per-context gradient estimates g_b (the update is their mean g).

    sq_norm: ||g||^2. trace_variance: tr Cov(g_b) / B, the estimated trace variance of g.
    snr: sq_norm / trace_variance (inf when the spread is zero). debiased_snr: max(sq_norm - trace_variance,
    0) / trace_variance.
    """

    sq_norm: float
    trace_variance: float
    snr: float
    debiased_snr: float


def gradient_statistics(per_context: torch.Tensor) -> GradientStatistics:
    """Statistics of ``(B, D)`` per-context gradient estimates (B >= 2; sample covariance with B - 1):
    g = mean_b g_b, trace_variance = sum_b ||g_b - g||^2 / ((B - 1) B), snr = ||g||^2 / trace_variance."""
    count = per_context.shape[0]
    if count < 2:
        raise ValueError(f"the gradient's spread needs at least 2 contexts per step, got {count}")
    values = per_context.double()
    mean = values.mean(dim=0)
    sq_norm = float(mean.pow(2).sum())
    trace_variance = float((values - mean).pow(2).sum() / (count - 1)) / count
    if trace_variance > 0:
        snr = sq_norm / trace_variance
        debiased = max(sq_norm - trace_variance, 0.0) / trace_variance
    else:
        snr = debiased = float("inf") if sq_norm > 0 else 0.0
    return GradientStatistics(sq_norm, trace_variance, snr, debiased)


@dataclass
class SNRLearningRate:
    """eta_t = clip(eta_max * S_t / (1 + S_t), eta_min, eta_max), S_t the smoothed SNR.

    Args:
        eta_max: the largest rate (1/L in the bound above; tuned like any learning rate).
        eta_min: the smallest rate, so that a noisy stretch never freezes training.
        smoothing: beta of the exponential average S_t = beta S_(t-1) + (1 - beta) SNR_t, bias-corrected by
            1 - beta^t (0 uses each step's SNR as it is).
        estimator: "plain" or "debiased" (module docstring).
    """

    eta_max: float
    eta_min: float
    smoothing: float = 0.9
    estimator: str = "plain"
    average: float = 0.0
    updates: int = 0

    def __post_init__(self) -> None:
        if not 0 < self.eta_min <= self.eta_max:
            raise ValueError(f"need 0 < eta_min <= eta_max, got eta_min={self.eta_min!r}, eta_max={self.eta_max!r}")
        if not 0 <= self.smoothing < 1:
            raise ValueError(f"smoothing must lie in [0, 1), got {self.smoothing!r}")
        if self.estimator not in SNR_ESTIMATORS:
            raise ValueError(f"SNR estimator must be one of {SNR_ESTIMATORS}, got {self.estimator!r}")

    @property
    def smoothed_snr(self) -> float:
        """S_t (0 before the first update)."""
        if self.updates == 0:
            return 0.0
        return self.average / (1.0 - self.smoothing**self.updates)

    def __call__(self, statistics: GradientStatistics) -> float:
        """Fold in this step's SNR and return the learning rate for this step's update."""
        snr = statistics.snr if self.estimator == "plain" else statistics.debiased_snr
        # A vanishing spread (every group with equal rewards) gives an infinite or undefined SNR: cap it
        # so the average stays finite; the rate is then eta_max up to 1e-6.
        snr = min(snr, 1e6) if snr == snr else 0.0
        self.average = self.smoothing * self.average + (1.0 - self.smoothing) * snr
        self.updates += 1
        smoothed = self.smoothed_snr
        return min(max(self.eta_max * smoothed / (1.0 + smoothed), self.eta_min), self.eta_max)

    def state_dict(self) -> dict[str, Any]:
        return {"average": self.average, "updates": self.updates}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.average, self.updates = float(state["average"]), int(state["updates"])
