"""The linear autoregressive softmax policy p_w(y_i = j | x, y_<i) = softmax_j((x^T W1)_j + W2[j, y_(i-1)]),
with its score (gradient of log-likelihoods) in closed form, and the behaviour policies built from it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.policy.group_gradients import flatten_blocks, group_gradients
from agents.policy.protocols import NO_TOKEN, TeacherForced

# A row of the transition table whose unnormalised sum falls below this is recomputed with the plain
# softmax, so that every probability above ~1e-18 comes from normal (full-precision) float32 numbers.
SAFE_TOTAL = 1e-20


class LinearPolicy(TeacherForced):
    """The student policy of arXiv 2603.06957 (linear autoregressive softmax), w = (W1 ``(d, k)``, W2 ``(k, k)``); w = 0 is uniform.

    ``w1`` and ``w2`` are ``torch.nn.Parameter`` leaves so torch optimisers can step them; gradients are
    computed in closed form (``score``) and written to ``.grad``, never by autograd.
    """

    def __init__(self, context_dim: int, vocab_size: int, device: str | torch.device = "cpu") -> None:
        if context_dim < 1 or vocab_size < 2:
            raise ValueError(f"need context_dim >= 1 and vocab_size >= 2, got {context_dim} and {vocab_size}")
        self.context_dim, self.vocab_size = context_dim, vocab_size
        self.device = torch.device(device)
        self.w1 = torch.nn.Parameter(torch.zeros(context_dim, vocab_size, device=self.device), requires_grad=False)
        self.w2 = torch.nn.Parameter(torch.zeros(vocab_size, vocab_size, device=self.device), requires_grad=False)

    @classmethod
    def for_task(cls, task: object, device: str | torch.device = "cpu") -> LinearPolicy:
        """A uniform (w = 0) policy shaped for a ``SequenceTask``."""
        return cls(task.context_dim, task.vocab_size, device)  # type: ignore[attr-defined]

    @classmethod
    def from_weights(cls, w1: Any, w2: Any, device: str | torch.device = "cpu") -> LinearPolicy:
        """A policy starting from given weights: W1 ``(d, k)`` and W2 ``(k, k)`` (arrays or tensors)."""
        w1_t, w2_t = (
            torch.as_tensor(np.asarray(w1, dtype=np.float32)),
            torch.as_tensor(np.asarray(w2, dtype=np.float32)),
        )
        if (
            w1_t.ndim != 2
            or w2_t.shape != (w1_t.shape[1], w1_t.shape[1])
            or not (w1_t.isfinite().all() and w2_t.isfinite().all())
        ):
            raise ValueError(
                f"w1 and w2 must be finite arrays of shapes (d, k) and (k, k), got shapes {tuple(w1_t.shape)} and {tuple(w2_t.shape)}"
            )
        policy = cls(w1_t.shape[0], w1_t.shape[1], device)
        policy.w1.data.copy_(w1_t)
        policy.w2.data.copy_(w2_t)
        return policy

    def parameters(self) -> list[torch.nn.Parameter]:
        return [self.w1, self.w2]

    def as_numpy(self) -> tuple[np.ndarray, np.ndarray]:
        """(W1, W2) as float64 numpy arrays, for the task's exact evaluation."""
        return self.w1.detach().cpu().double().numpy(), self.w2.detach().cpu().double().numpy()

    def copy(self) -> LinearPolicy:
        other = LinearPolicy(self.context_dim, self.vocab_size, self.device)
        other.w1.data.copy_(self.w1.data)
        other.w2.data.copy_(self.w2.data)
        return other

    # ----- probabilities --------------------------------------------------------------------------
    def begin(self, contexts: torch.Tensor) -> torch.Tensor:
        """x^T W1 for ``(B, d)`` contexts: ``(B, k)``, computed once per episode."""
        return contexts.to(self.w1.dtype) @ self.w1

    def next_probs(self, cache: torch.Tensor, previous: torch.Tensor | None) -> torch.Tensor:
        return torch.softmax(self._next_logits(cache, previous), dim=-1)

    def transition_table(self, cache: torch.Tensor) -> torch.Tensor:
        """Next-token probabilities of every row after every possible previous token: ``(B, k + 1, k)``
        (row k: position 0). See ``MarkovPolicy``.

        softmax(a + b) = e^(a - max a) e^(b - max b) / sum(...): two small exponentials and a product
        instead of exponentiating the whole table; where that product would underflow (both factors
        tiny everywhere in a row) the table is recomputed with the plain softmax.
        """
        transitions = torch.cat([self.w2.T, torch.zeros(1, self.vocab_size, dtype=self.w2.dtype, device=self.device)])
        context_part = (cache - cache.amax(dim=-1, keepdim=True)).exp()
        token_part = (transitions - transitions.amax(dim=-1, keepdim=True)).exp()
        table = context_part.unsqueeze(1) * token_part.unsqueeze(0)
        total = table.sum(dim=-1, keepdim=True)
        if bool((total < SAFE_TOTAL).any()):
            return torch.softmax(cache.unsqueeze(1) + transitions.unsqueeze(0), dim=-1)
        return table.div_(total)

    def _next_logits(self, cache: torch.Tensor, previous: torch.Tensor | None) -> torch.Tensor:
        if previous is None:  # position 0 for every row
            return cache
        transition = self.w2.T.contiguous().index_select(0, previous.clamp(min=0))
        logits = cache + transition
        if bool((previous < 0).any()):  # rows at position 0 among others (prefixes of mixed lengths)
            logits = torch.where((previous >= 0).unsqueeze(-1), logits, cache)
        return logits

    def token_logits(self, contexts: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """Teacher-forced logits at every position of ``(B, N)`` tokens: ``(B, N, k)``."""
        base = self.begin(contexts)
        logits = base.unsqueeze(1).repeat(1, tokens.shape[1], 1)
        logits[:, 1:] += self.w2.T[tokens[:, :-1]]
        return logits

    def observation_probs(self, observations: dict[str, np.ndarray]) -> np.ndarray:
        """Next-token probabilities from a batch of env observations: ``(B, k)`` numpy (for evaluation)."""
        contexts = torch.as_tensor(observations["context"], device=self.device)
        position = torch.as_tensor(observations["position"], device=self.device)
        tokens = torch.as_tensor(observations["tokens"], device=self.device)
        previous = tokens.gather(1, (position - 1).clamp(min=0).unsqueeze(1)).squeeze(1)
        previous = torch.where(position > 0, previous, torch.full_like(previous, NO_TOKEN))
        with torch.no_grad():
            return self.next_probs(self.begin(contexts), previous).cpu().double().numpy()

    # ----- scores in closed form ------------------------------------------------------------------
    def score(
        self, contexts: torch.Tensor, tokens: torch.Tensor, probs: torch.Tensor, weights: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """sum_{b,i} weights[b, i] * grad_w log p(y_bi | x_b, y_b,<i), in closed form.

        The gradient of log softmax at token y is phi(y) - E_p[phi]: for W1 the column block
        x (e_y - p)^T, for W2 the block (e_y - p) e_prev^T (absent at i = 1).

        Args:
            contexts: ``(B, d)``; tokens: ``(B, N)`` int64; probs: ``(B, N, k)`` the policy's next-token
                probabilities at each position (kept from the rollout); weights: ``(B, N)`` (zero where a
                position should not count, e.g. a given prefix).

        Returns:
            ``(d, k)`` and ``(k, k)`` gradients for W1 and W2.
        """
        weights = weights.to(probs.dtype)
        batch, length, k = probs.shape
        # W1 block: x (sum_i w_i e_(y_i) - sum_i w_i p_i)^T, without forming (B, N, k) residuals.
        chosen = torch.zeros(batch, k, dtype=probs.dtype, device=probs.device).scatter_add_(1, tokens, weights)
        expected = torch.bmm(weights.unsqueeze(1), probs).squeeze(1)
        grad_w1 = contexts.to(probs.dtype).T @ (chosen - expected)
        # W2 block: pairs (y_i, y_(i-1)) counted with weight w_i, minus w_i p_i filed under y_(i-1).
        previous = tokens[:, :-1].reshape(-1)
        pairs = torch.zeros(k * k, dtype=probs.dtype, device=probs.device)
        pairs.index_add_(0, tokens[:, 1:].reshape(-1) * k + previous, weights[:, 1:].reshape(-1))
        expected_by_previous = torch.zeros(k, k, dtype=probs.dtype, device=probs.device)
        expected_by_previous.index_add_(0, previous, (probs[:, 1:] * weights[:, 1:].unsqueeze(-1)).reshape(-1, k))
        return grad_w1, pairs.view(k, k) - expected_by_previous.T

    def score_from_table(
        self,
        contexts: torch.Tensor,
        tokens: torch.Tensor,
        table: torch.Tensor,
        weights: torch.Tensor,
        generated: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``score`` from the rollout's ``transition_table`` instead of ``(B, N, k)`` probabilities.

        The same sum, where the expected-feature term sum_i w_i p_i is grouped by the table row each
        position used (its previous token): per row, the summed weights times that row's distribution.
        ``generated`` ``(B, N)`` bool marks the positions the policy wrote (elsewhere ``score``'s probs
        are zero, so only the chosen-token term counts there, as in ``score``). On the CPU a compiled loop
        takes the sum (``agents.policy.kernels.table_score``).
        """
        if table.device.type == "cpu" and table.dtype == torch.float32:
            from agents.policy import kernels

            as_float = contexts.to(table.dtype), weights.to(table.dtype)
            x, y, p, w, g = (t.contiguous().numpy() for t in (as_float[0], tokens, table, as_float[1], generated))
            grad_w1, grad_w2 = kernels.table_score(x, y, p, w, g, self.vocab_size)
            return torch.from_numpy(grad_w1), torch.from_numpy(grad_w2)
        return self._score_from_table_torch(contexts, tokens, table, weights, generated)

    def _score_from_table_torch(
        self,
        contexts: torch.Tensor,
        tokens: torch.Tensor,
        table: torch.Tensor,
        weights: torch.Tensor,
        generated: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``score_from_table`` with torch operations (any device)."""
        weights = weights.to(table.dtype)
        batch, length = tokens.shape
        k = self.vocab_size
        row = torch.cat([torch.full((batch, 1), k, dtype=tokens.dtype, device=tokens.device), tokens[:, :-1]], 1)
        counted = torch.where(generated, weights, torch.zeros_like(weights))
        row_weights = torch.zeros(batch, k + 1, dtype=table.dtype, device=table.device).scatter_add_(1, row, counted)
        expected = row_weights.unsqueeze(-1) * table  # (B, k + 1, k)
        chosen = torch.zeros(batch, k, dtype=table.dtype, device=table.device).scatter_add_(1, tokens, weights)
        grad_w1 = contexts.to(table.dtype).T @ (chosen - expected.sum(dim=1))
        pairs = torch.zeros(k * k, dtype=table.dtype, device=table.device)
        pairs.index_add_(0, tokens[:, 1:].reshape(-1) * k + tokens[:, :-1].reshape(-1), weights[:, 1:].reshape(-1))
        return grad_w1, pairs.view(k, k) - expected[:, :k].sum(dim=0).T

    def per_sample_scores(
        self, contexts: torch.Tensor, tokens: torch.Tensor, probs: torch.Tensor, weights: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The same sum taken per sequence: ``(B, d, k)`` and ``(B, k, k)``."""
        residual = self._weighted_residual(tokens, probs, weights)
        grad_w1 = contexts.to(residual.dtype).unsqueeze(2) * residual.sum(dim=1).unsqueeze(1)
        previous = torch.nn.functional.one_hot(tokens[:, :-1], self.vocab_size).to(residual.dtype)
        grad_w2 = torch.einsum("bij,bil->bjl", residual[:, 1:], previous)
        return grad_w1, grad_w2

    def score_sq_norms(
        self, contexts: torch.Tensor, tokens: torch.Tensor, probs: torch.Tensor, weights: torch.Tensor
    ) -> torch.Tensor:
        """||per-sequence score||^2 without forming the ``(B, d, k)`` block: ``(B,)``.

        ||x r^T||^2 = ||x||^2 ||r||^2 for the W1 block; the W2 block is accumulated per previous token.
        """
        residual = self._weighted_residual(tokens, probs, weights)
        w1_part = contexts.to(residual.dtype).pow(2).sum(1) * residual.sum(dim=1).pow(2).sum(1)
        batch, length, k = residual.shape
        rows = (torch.arange(batch, device=tokens.device).unsqueeze(1) * k + tokens[:, :-1]).reshape(-1)
        by_previous = torch.zeros(batch * k, k, dtype=residual.dtype, device=residual.device)
        by_previous.index_add_(0, rows, residual[:, 1:].reshape(-1, k))
        return w1_part + by_previous.pow(2).sum(1).view(batch, k).sum(1)

    def group_scores(
        self, contexts: torch.Tensor, tokens: torch.Tensor, probs: torch.Tensor, weights: torch.Tensor, num_groups: int
    ) -> torch.Tensor:
        """Per-group sums of weighted scores in closed form, flattened like ``parameters()``:
        ``(num_groups, dk + k^2)`` (see ``agents.policy.group_gradients.group_gradients``)."""
        return flatten_blocks(group_gradients(contexts, tokens, probs, weights, num_groups))

    def _weighted_residual(self, tokens: torch.Tensor, probs: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        residual = -probs * weights.unsqueeze(-1).to(probs.dtype)
        residual.scatter_add_(-1, tokens.unsqueeze(-1), weights.unsqueeze(-1).to(probs.dtype))
        return residual

    # ----- persistence ----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, torch.Tensor]:
        return {"w1": self.w1.detach().cpu().clone(), "w2": self.w2.detach().cpu().clone()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        for name in ("w1", "w2"):
            value = state[name]
            target = getattr(self, name)
            if tuple(value.shape) != tuple(target.shape):
                raise ValueError(
                    f"{name} in the saved state has shape {tuple(value.shape)}, expected {tuple(target.shape)}"
                )
            target.data.copy_(value.to(target.device, target.dtype))

    def save(self, path: str | Path) -> None:
        torch.save({"context_dim": self.context_dim, "vocab_size": self.vocab_size, **self.state_dict()}, path)

    @classmethod
    def load(cls, path: str | Path, device: str | torch.device = "cpu") -> LinearPolicy:
        state = torch.load(path, map_location="cpu", weights_only=True)
        policy = cls(int(state["context_dim"]), int(state["vocab_size"]), device)
        policy.load_state_dict(state)
        return policy


def uniform_policy(context_dim: int, vocab_size: int, device: str | torch.device = "cpu") -> LinearPolicy:
    """The uniform policy is the linear policy at w = 0."""
    return LinearPolicy(context_dim, vocab_size, device)
