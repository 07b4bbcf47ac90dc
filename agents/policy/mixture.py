"""Mixtures of policies, token by token: the behaviour policies of the theory's Algorithms 1 and 2."""

from __future__ import annotations

from typing import Any

import torch

from agents.policy.protocols import AutoregressivePolicy


class MixturePolicy:
    """sum_m c_m q_m token by token, e.g. Algorithm 2's 1/2 q0 + 1/2 uniform behaviour."""

    def __init__(self, policies: list[AutoregressivePolicy], weights: list[float]) -> None:
        if len(policies) != len(weights) or not policies or abs(sum(weights) - 1.0) > 1e-9 or min(weights) < 0:
            raise ValueError(f"weights must be non-negative, one per policy and sum to 1, got {weights}")
        self.policies, self.weights = policies, weights
        self.vocab_size = policies[0].vocab_size

    def begin(self, contexts: torch.Tensor) -> list[Any]:
        return [policy.begin(contexts) for policy in self.policies]

    def transition_table(self, cache: list[Any]) -> torch.Tensor:
        """The weighted sum of the components' tables (only when every component is a ``MarkovPolicy``)."""
        return sum(  # type: ignore[return-value]
            weight * policy.transition_table(cache[m])  # type: ignore[attr-defined]
            for m, (policy, weight) in enumerate(zip(self.policies, self.weights, strict=True))
        )

    @property
    def is_markov(self) -> bool:
        return all(
            hasattr(policy, "transition_table") and bool(getattr(policy, "is_markov", True)) for policy in self.policies
        )

    def next_probs(self, cache: list[Any], previous: torch.Tensor | None) -> torch.Tensor:
        return sum(  # type: ignore[return-value]
            weight * policy.next_probs(cache[m], previous)
            for m, (policy, weight) in enumerate(zip(self.policies, self.weights, strict=True))
        )
