"""What a policy offers the rest of the package: the per-episode cache and next-token probabilities a rollout
samples from (``AutoregressivePolicy``; ``MarkovPolicy`` adds the transition table, ``PrefixConditioned`` a cache
starting from a given prefix), and teacher-forced
probabilities of given responses (``TeacherForced``, the base of the linear and the network policies)."""

from __future__ import annotations

from typing import Any, Protocol

import torch

NO_TOKEN = -1  # "no previous token": position 0, where the W2 term is absent


class AutoregressivePolicy(Protocol):
    """What a rollout needs from a policy: a per-episode cache and next-token probabilities."""

    vocab_size: int

    def begin(self, contexts: torch.Tensor) -> torch.Tensor:
        """Per-episode work done once, e.g. x^T W1: returns a cache for ``next_probs``."""
        ...

    def next_probs(self, cache: torch.Tensor, previous: torch.Tensor | None) -> torch.Tensor:
        """``(B, k)`` next-token probabilities given the cache and the ``(B,)`` previous tokens
        (None when every row is at position 0; ``NO_TOKEN`` marks single rows at position 0)."""
        ...


class MarkovPolicy(AutoregressivePolicy, Protocol):
    """A policy whose next token depends on the prefix only through the last token (the linear policy
    and token-level mixtures of it): one table per episode then holds every next-token distribution,
    and a rollout samples by looking rows up instead of recomputing softmaxes token by token."""

    def transition_table(self, cache: torch.Tensor) -> torch.Tensor:
        """``(B, k + 1, k)``: row j < k holds the next-token probabilities after token j, row k those
        at position 0 (no previous token)."""
        ...


class PrefixConditioned(AutoregressivePolicy, Protocol):
    """A policy that reads the whole prefix (a network): its per-episode cache may start from a given
    ``(B, L)`` prefix, consumed up to its last token."""

    def begin(self, contexts: torch.Tensor, prefix: torch.Tensor | None = None) -> Any:
        ...


class TeacherForced:
    """Probabilities of given responses from a policy's teacher-forced ``token_logits`` ``(B, N, k)``."""

    def token_logits(self, contexts: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def token_probs(self, contexts: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """Teacher-forced next-token probabilities at every position: ``(B, N, k)``."""
        return torch.softmax(self.token_logits(contexts, tokens), dim=-1)

    def token_log_probs(self, contexts: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """log p(y_i | x, y_<i) of the given ``(B, N)`` tokens: ``(B, N)``."""
        log_probs = torch.log_softmax(self.token_logits(contexts, tokens), dim=-1)
        return log_probs.gather(-1, tokens.unsqueeze(-1)).squeeze(-1)

    def log_likelihood(self, contexts: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """log p(y | x) of whole ``(B, N)`` sequences: ``(B,)``."""
        return self.token_log_probs(contexts, tokens).sum(dim=1)
