"""Neural sequence models for the seqreward tasks: a Markov MLP and a small causal transformer.

Every module here maps (context, prefix) to next-token logits in two ways:

- ``forward(contexts, tokens)``: teacher-forced logits ``(B, N, k)`` for ``(B, d)`` contexts and ``(B, N)``
  tokens, where position i sees the context and ``tokens[:, :i]`` only (what the general autograd path of
  ``agents.policy.network_policy.NetworkPolicy`` differentiates);
- ``start(contexts)`` then ``step(state, previous)``: the same logits one position at a time for a rollout
  (``previous`` None at position 0, else the ``(B,)`` tokens just written).

The Markov MLP also gives ``transition_logits``, every next-token distribution of an episode at once, so the
rollout's transition-table path serves it. The transformer keeps a key/value cache: a step attends over the
cached positions instead of recomputing the prefix. Both start uniform (zero output layer), as the linear
policy does at w = 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class NetworkSizes:
    """Sizes of the shipped networks (small defaults that train on the small ids in minutes on two cores)."""

    hidden: int = 32
    """Width: the MLP's hidden units, the transformer's model dimension."""
    layers: int = 1
    """Hidden layers of the MLP, blocks of the transformer."""
    heads: int = 2
    """Attention heads of the transformer (must divide ``hidden``)."""

    def __post_init__(self) -> None:
        for name in ("hidden", "layers", "heads"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if self.hidden % self.heads:
            raise ValueError(f"heads must divide hidden, got hidden={self.hidden} and heads={self.heads}")


class MarkovMLP(nn.Module):
    """logits(y_i | x, y_<i) = f(x, y_(i-1)): tanh(A x + E[y_(i-1)]) through ``layers - 1`` more tanh layers
    and a linear head; E has a row k for "no previous token" (position 0)."""

    def __init__(self, context_dim: int, vocab_size: int, sizes: NetworkSizes = NetworkSizes()) -> None:
        super().__init__()
        self.context_dim, self.vocab_size = context_dim, vocab_size
        self.context_in = nn.Linear(context_dim, sizes.hidden)
        self.token_in = nn.Embedding(vocab_size + 1, sizes.hidden)
        self.hidden_layers = nn.ModuleList(nn.Linear(sizes.hidden, sizes.hidden) for _ in range(sizes.layers - 1))
        self.head = nn.Linear(sizes.hidden, vocab_size)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def _logits(self, hidden: torch.Tensor) -> torch.Tensor:
        hidden = torch.tanh(hidden)
        for layer in self.hidden_layers:
            hidden = torch.tanh(layer(hidden))
        return self.head(hidden)

    def forward(self, contexts: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """Teacher-forced logits ``(B, N, k)``."""
        no_token = torch.full_like(tokens[:, :1], self.vocab_size)
        previous = torch.cat([no_token, tokens[:, :-1]], dim=1)
        return self._logits(self.context_in(contexts).unsqueeze(1) + self.token_in(previous))

    def start(self, contexts: torch.Tensor) -> torch.Tensor:
        """A x: ``(B, hidden)``, computed once per episode."""
        return self.context_in(contexts)

    def step(self, state: torch.Tensor, previous: torch.Tensor | None) -> torch.Tensor:
        """Next-token logits ``(B, k)``; ``previous`` entries < 0 mean position 0."""
        if previous is None:
            previous = torch.full(state.shape[:1], self.vocab_size, dtype=torch.int64, device=state.device)
        previous = torch.where(previous < 0, torch.full_like(previous, self.vocab_size), previous)
        return self._logits(state + self.token_in(previous))

    def transition_logits(self, state: torch.Tensor) -> torch.Tensor:
        """``(B, k + 1, k)`` logits after every previous token (row k: position 0), from ``start``'s state."""
        return self._logits(state.unsqueeze(1) + self.token_in.weight.unsqueeze(0))


@dataclass
class KeyValueCache:
    """The transformer's incremental state: per block, keys and values ``(B, heads, N, head_dim)`` filled up
    to ``length`` positions, and the embedded context ``(B, hidden)`` for position 0."""

    context: torch.Tensor
    keys: list[torch.Tensor]
    values: list[torch.Tensor]
    length: int = 0


class CausalTransformer(nn.Module):
    """A pre-norm causal transformer over (x, y_1, ..., y_(N-1)): position 0 holds a projection of the
    context, position i >= 1 the embedding of y_i; the output at position i gives the logits of y_(i+1).
    Learned position embeddings, so at most ``seq_len`` positions."""

    def __init__(self, context_dim: int, vocab_size: int, seq_len: int, sizes: NetworkSizes = NetworkSizes()) -> None:
        super().__init__()
        if seq_len < 1:
            raise ValueError(f"seq_len must be >= 1, got {seq_len!r}")
        self.context_dim, self.vocab_size, self.seq_len = context_dim, vocab_size, seq_len
        self.heads, self.head_dim = sizes.heads, sizes.hidden // sizes.heads
        self.context_in = nn.Linear(context_dim, sizes.hidden)
        self.token_in = nn.Embedding(vocab_size, sizes.hidden)
        self.position = nn.Parameter(torch.randn(seq_len, sizes.hidden) * 0.02)
        self.blocks = nn.ModuleList(_Block(sizes.hidden) for _ in range(sizes.layers))
        self.norm = nn.LayerNorm(sizes.hidden)
        self.head = nn.Linear(sizes.hidden, vocab_size)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def _blocks(self) -> list[_Block]:
        return [block for block in self.blocks if isinstance(block, _Block)]

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, L, hidden)`` -> ``(B, heads, L, head_dim)``."""
        return x.unflatten(-1, (self.heads, self.head_dim)).transpose(1, 2)

    def forward(self, contexts: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """Teacher-forced logits ``(B, N, k)`` (one causal pass over all positions)."""
        length = tokens.shape[1]
        if length > self.seq_len:
            raise ValueError(f"tokens have {length} positions, the transformer at most seq_len={self.seq_len}")
        inputs = torch.cat([self.context_in(contexts).unsqueeze(1), self.token_in(tokens[:, :-1])], dim=1)
        hidden = inputs + self.position[:length]
        causal = torch.ones(length, length, dtype=torch.bool, device=tokens.device).tril()
        for block in self._blocks():
            normed = block.attention_norm(hidden)
            query, key, value = (self._split(part) for part in block.qkv(normed).chunk(3, dim=-1))
            hidden = hidden + block.out(self._attend(query, key, value, causal))
            hidden = hidden + block.feedforward(block.feedforward_norm(hidden))
        return self.head(self.norm(hidden))

    def _attend(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """softmax(q k^T / sqrt(head_dim)) v over the allowed positions, heads merged: ``(B, L, hidden)``."""
        scores = query @ key.transpose(-1, -2) / math.sqrt(self.head_dim)
        scores = scores.masked_fill(~mask, float("-inf"))
        return (torch.softmax(scores, dim=-1) @ value).transpose(1, 2).flatten(-2)

    def start(self, contexts: torch.Tensor, prefix: torch.Tensor | None = None) -> KeyValueCache:
        """An empty cache for ``(B, d)`` contexts; with a ``(B, L)`` prefix, positions 0..L-1 are filled
        (context and y_1..y_(L-1)), so that the next ``step`` with ``previous = prefix[:, -1]`` gives the
        logits of y_(L+1)."""
        batch = contexts.shape[0]
        shape = (batch, self.heads, self.seq_len, self.head_dim)
        empty = [contexts.new_zeros(shape) for _ in self.blocks]
        cache = KeyValueCache(self.context_in(contexts), empty, [e.clone() for e in empty])
        if prefix is not None and prefix.shape[1] > 0:
            self.step(cache, None)
            for i in range(prefix.shape[1] - 1):
                self.step(cache, prefix[:, i])
        return cache

    def step(self, cache: KeyValueCache, previous: torch.Tensor | None) -> torch.Tensor:
        """Logits ``(B, k)`` at the next position, attending over the cache; appends that position."""
        at = cache.length
        if at >= self.seq_len:
            raise ValueError(f"the cache already holds all seq_len={self.seq_len} positions")
        if (previous is None) != (at == 0):
            raise ValueError(f"previous tokens are needed exactly after position 0; the cache is at {at}")
        current = cache.context if previous is None else self.token_in(previous)
        hidden = (current + self.position[at]).unsqueeze(1)  # (B, 1, hidden)
        visible = torch.ones(1, at + 1, dtype=torch.bool, device=hidden.device)
        for block, keys, values in zip(self._blocks(), cache.keys, cache.values, strict=True):
            query, key, value = (self._split(part) for part in block.qkv(block.attention_norm(hidden)).chunk(3, dim=-1))
            keys[:, :, at : at + 1] = key
            values[:, :, at : at + 1] = value
            attended = self._attend(query, keys[:, :, : at + 1], values[:, :, : at + 1], visible)
            hidden = hidden + block.out(attended)
            hidden = hidden + block.feedforward(block.feedforward_norm(hidden))
        cache.length = at + 1
        return self.head(self.norm(hidden)).squeeze(1)


class _Block(nn.Module):
    """One pre-norm block's weights: attention (fused q, k, v) and a 4x feed-forward layer."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.attention_norm = nn.LayerNorm(hidden)
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.out = nn.Linear(hidden, hidden)
        self.feedforward_norm = nn.LayerNorm(hidden)
        self.feedforward = nn.Sequential(nn.Linear(hidden, 4 * hidden), nn.GELU(), nn.Linear(4 * hidden, hidden))


class LinearLogits(nn.Module):
    """The linear policy's logits x^T W1 + W2[:, y_(i-1)] as a module: the general autograd path run on the
    linear policy, to be checked against its closed forms (``LinearPolicy.module``)."""

    def __init__(self, w1: torch.Tensor, w2: torch.Tensor) -> None:
        super().__init__()
        self.w1 = nn.Parameter(w1.detach().clone())
        self.w2 = nn.Parameter(w2.detach().clone())
        self.vocab_size = w2.shape[0]

    def forward(self, contexts: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        base = (contexts @ self.w1).unsqueeze(1)
        after = self.w2.T[tokens[:, :-1]]  # (B, N - 1, k)
        return base + torch.cat([torch.zeros_like(after[:, :1]), after], dim=1)

    def start(self, contexts: torch.Tensor) -> torch.Tensor:
        return contexts @ self.w1

    def step(self, state: torch.Tensor, previous: torch.Tensor | None) -> torch.Tensor:
        if previous is None:
            return state
        after = self.w2.T[previous.clamp(min=0)]
        return state + torch.where((previous >= 0).unsqueeze(-1), after, torch.zeros_like(after))

    def transition_logits(self, state: torch.Tensor) -> torch.Tensor:
        rows = torch.cat([self.w2.T, torch.zeros_like(self.w2[:1])])
        return state.unsqueeze(1) + rows.unsqueeze(0)
