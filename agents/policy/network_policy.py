"""The network policy: any ``torch.nn.Module`` mapping (context, prefix) to next-token logits, with the
quantities the learners need through autograd, per-sample ones through ``torch.func`` (``vmap`` over ``grad``).

``NetworkPolicy`` offers the same methods as ``LinearPolicy`` (which keeps its closed forms as the fast path):
rollout (``begin``, ``next_probs`` and, for Markov modules, ``transition_table``), teacher-forced
probabilities, and the gradients

- ``score``: sum_{b,i} w_bi grad log p(y_bi | x_b, y_b,<i), one tensor per parameter;
- ``per_sample_scores``: the same sum per sequence, ``(B, *shape)`` per parameter;
- ``score_sq_norms``: ||per-sequence score||^2, ``(B,)`` (OBLR-PO's weights, the adaptive step);
- ``group_scores``: the sum over each group of consecutive rows, flattened, ``(groups, D)`` (per-context
  gradient estimates behind the SNR).

The ``probs`` argument the closed forms need is accepted and ignored: autograd recomputes the logits.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.func import functional_call, grad, vmap

from agents.policy.linear import LinearPolicy
from agents.policy.networks import LinearLogits
from agents.policy.protocols import TeacherForced


class NetworkPolicy(TeacherForced):
    """A policy given by ``module`` (see ``agents.policy.networks`` for the methods it must have).

    Args:
        module: ``forward(contexts (B, d), tokens (B, N)) -> (B, N, k)`` teacher-forced logits, ``start`` and
            ``step`` for incremental logits, optionally ``transition_logits`` (then the policy is Markov).
        context_dim: the task's d.
        vocab_size: the task's k.
        architecture: how to rebuild the module on load (name and sizes, see ``agents.policy.choice.load_policy``).
    """

    def __init__(
        self, module: torch.nn.Module, context_dim: int, vocab_size: int, architecture: dict[str, Any] | None = None
    ) -> None:
        self.module, self.context_dim, self.vocab_size = module, context_dim, vocab_size
        self.architecture = dict(architecture or {})
        for parameter in module.parameters():
            parameter.requires_grad_(False)  # gradients come from ``score`` & co., never from a stray backward

    @classmethod
    def from_linear(cls, policy: LinearPolicy) -> NetworkPolicy:
        """The linear ``policy`` on the general autograd path (a ``LinearLogits`` module holding copies of W1
        and W2): what any network gets, to be checked against the linear policy's closed forms."""
        return cls(LinearLogits(policy.w1, policy.w2), policy.context_dim, policy.vocab_size, {"name": "linear"})

    @property
    def device(self) -> torch.device:
        return next(self.module.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.module.parameters()).dtype

    @property
    def is_markov(self) -> bool:
        """True when the module's next token depends on the prefix only through the last token."""
        return hasattr(self.module, "transition_logits")

    def parameters(self) -> list[torch.nn.Parameter]:
        return list(self.module.parameters())

    def copy(self) -> NetworkPolicy:
        return NetworkPolicy(copy.deepcopy(self.module), self.context_dim, self.vocab_size, self.architecture)

    # ----- rollout --------------------------------------------------------------------------------
    def begin(self, contexts: torch.Tensor, prefix: torch.Tensor | None = None) -> Any:
        """Per-episode state: the module's ``start`` (a ``(B, L)`` prefix is consumed up to its last token,
        which the first ``next_probs`` call passes as ``previous``)."""
        contexts = contexts.to(self.dtype)
        if prefix is not None and prefix.shape[1] > 0:
            if self.is_markov:
                return self.module.start(contexts)  # type: ignore[operator]
            return self.module.start(contexts, prefix)  # type: ignore[operator]
        return self.module.start(contexts)  # type: ignore[operator]

    def next_probs(self, cache: Any, previous: torch.Tensor | None) -> torch.Tensor:
        """``(B, k)`` next-token probabilities (``NO_TOKEN`` previous entries, rows at position 0 among
        others, only for Markov modules; a rollout refuses mixed positions for the others)."""
        return torch.softmax(self.module.step(cache, previous), dim=-1)  # type: ignore[operator]

    def transition_table(self, cache: torch.Tensor) -> torch.Tensor:
        """``(B, k + 1, k)`` next-token probabilities after every previous token (Markov modules only)."""
        if not self.is_markov:
            raise ValueError(f"{type(self.module).__name__} is not Markov: it has no transition table")
        return torch.softmax(self.module.transition_logits(cache), dim=-1)  # type: ignore[operator]

    # ----- teacher-forced probabilities -----------------------------------------------------------
    def token_logits(self, contexts: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """Teacher-forced logits ``(B, N, k)``."""
        return self.module(contexts.to(self.dtype), tokens)  # type: ignore[no-any-return]

    def observation_probs(self, observations: dict[str, np.ndarray]) -> np.ndarray:
        """Next-token probabilities ``(B, k)`` numpy from env observations (rows at any positions)."""
        contexts = torch.as_tensor(observations["context"], device=self.device)
        tokens = torch.as_tensor(observations["tokens"], device=self.device).clamp(min=0)
        position = torch.as_tensor(observations["position"], device=self.device).long()
        with torch.no_grad():
            logits = self.token_logits(contexts, tokens)
            at = position.clamp(max=tokens.shape[1] - 1)
            chosen = logits[torch.arange(len(at), device=self.device), at]
            return torch.softmax(chosen, dim=-1).cpu().double().numpy()

    # ----- gradients ------------------------------------------------------------------------------
    def score(
        self, contexts: torch.Tensor, tokens: torch.Tensor, probs: torch.Tensor | None, weights: torch.Tensor
    ) -> tuple[torch.Tensor, ...]:
        """sum_{b,i} weights[b, i] grad log p(y_bi | x_b, y_b,<i): one tensor per parameter (``probs`` unused)."""
        parameters = self.parameters()
        with torch.enable_grad():
            for parameter in parameters:
                parameter.requires_grad_(True)
            try:
                objective = (weights.to(self.dtype) * self.token_log_probs(contexts, tokens)).sum()
                grads = torch.autograd.grad(objective, parameters, allow_unused=True)
            finally:
                for parameter in parameters:
                    parameter.requires_grad_(False)
        return tuple(torch.zeros_like(p) if g is None else g for p, g in zip(parameters, grads, strict=True))

    def score_from_table(
        self,
        contexts: torch.Tensor,
        tokens: torch.Tensor,
        table: torch.Tensor,
        weights: torch.Tensor,
        generated: torch.Tensor,
    ) -> tuple[torch.Tensor, ...]:
        """``score`` (the table is not needed by autograd)."""
        return self.score(contexts, tokens, None, weights)

    def _sequence_objective(self) -> Any:
        """f(params, x (d,), y (N,), w (N,)) = sum_i w_i log p_params(y_i | x, y_<i), for ``torch.func``."""
        module = self.module

        def objective(params: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor, w: torch.Tensor) -> Any:
            logits = functional_call(module, params, (x.unsqueeze(0), y.unsqueeze(0))).squeeze(0)
            log_probs = torch.log_softmax(logits, dim=-1).gather(-1, y.unsqueeze(-1)).squeeze(-1)
            return (w * log_probs).sum()

        return objective

    def _params(self) -> dict[str, torch.Tensor]:
        return {name: parameter.detach() for name, parameter in self.module.named_parameters()}

    def per_sample_scores(
        self, contexts: torch.Tensor, tokens: torch.Tensor, probs: torch.Tensor | None, weights: torch.Tensor
    ) -> tuple[torch.Tensor, ...]:
        """The weighted score of each sequence: one ``(B, *shape)`` tensor per parameter."""
        per_sample = vmap(grad(self._sequence_objective()), in_dims=(None, 0, 0, 0))
        grads = per_sample(self._params(), contexts.to(self.dtype), tokens, weights.to(self.dtype))
        return tuple(grads[name] for name, _ in self.module.named_parameters())

    def score_sq_norms(
        self, contexts: torch.Tensor, tokens: torch.Tensor, probs: torch.Tensor | None, weights: torch.Tensor
    ) -> torch.Tensor:
        """||weighted score of each sequence||^2: ``(B,)``."""
        grads = self.per_sample_scores(contexts, tokens, probs, weights)
        return sum(g.flatten(1).pow(2).sum(1) for g in grads)  # type: ignore[return-value]

    def group_scores(
        self,
        contexts: torch.Tensor,
        tokens: torch.Tensor,
        probs: torch.Tensor | None,
        weights: torch.Tensor,
        num_groups: int,
    ) -> torch.Tensor:
        """Per-group sums of weighted scores, group b the rows ``[b G, (b + 1) G)``: ``(num_groups, D)``."""
        rows = tokens.shape[0]
        if rows % num_groups:
            raise ValueError(f"{rows} rows do not split into {num_groups} equal groups")
        single = self._sequence_objective()

        def group_objective(params: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor, w: torch.Tensor) -> Any:
            return vmap(single, in_dims=(None, 0, 0, 0))(params, x, y, w).sum()

        size = rows // num_groups
        per_group = vmap(grad(group_objective), in_dims=(None, 0, 0, 0))
        grads = per_group(
            self._params(),
            contexts.to(self.dtype).view(num_groups, size, -1),
            tokens.view(num_groups, size, -1),
            weights.to(self.dtype).view(num_groups, size, -1),
        )
        return torch.cat([grads[name].flatten(1) for name, _ in self.module.named_parameters()], dim=1)

    # ----- persistence ----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, torch.Tensor]:
        return {name: value.detach().cpu().clone() for name, value in self.module.state_dict().items()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        own = self.module.state_dict()
        for name, value in state.items():
            if name in own and tuple(value.shape) != tuple(own[name].shape):
                raise ValueError(
                    f"{name} in the saved state has shape {tuple(value.shape)}, expected {tuple(own[name].shape)}"
                )
        self.module.load_state_dict(state)

    def save(self, path: str | Path) -> None:
        torch.save(
            {
                "architecture": self.architecture,
                "context_dim": self.context_dim,
                "vocab_size": self.vocab_size,
                "state": self.state_dict(),
            },
            path,
        )


def unflatten(policy: Any, vector: torch.Tensor) -> list[torch.Tensor]:
    """A flat ``(D,)`` vector as blocks shaped like ``policy.parameters()`` (the layout of ``group_scores``)."""
    blocks, offset = [], 0
    for parameter in policy.parameters():
        blocks.append(vector[offset : offset + parameter.numel()].view_as(parameter))
        offset += parameter.numel()
    if offset != vector.numel():
        raise ValueError(f"vector has {vector.numel()} entries, the policy's parameters {offset}")
    return blocks


def add_to_parameters(policy: Any, grads: Sequence[torch.Tensor], scale: float = 1.0) -> None:
    """w <- w + scale * g, block by block (the theory's ascent steps)."""
    with torch.no_grad():
        for parameter, block in zip(policy.parameters(), grads, strict=True):
            parameter.add_(block.to(parameter.dtype), alpha=scale)


def parameter_dtype(policy: Any) -> torch.dtype:
    """The dtype of the policy's parameters."""
    return policy.parameters()[0].dtype  # type: ignore[no-any-return]


Policy = LinearPolicy | NetworkPolicy
"""Every policy the learners train: the linear one (closed forms) or a network (autograd)."""
