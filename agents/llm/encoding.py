"""The canonical text encoding of a seqreward task for language models: context -> prompt tokens, and response
tokens <-> answer tokens.

A prompt is the context written coordinate by coordinate, one token per coordinate: the token of the coordinate's
level. Contexts whose coordinates take few values (Rademacher contexts, a pool of such vectors) have one level per
value, so the prompt carries the context exactly (a *lossless* encoding). Real-valued contexts (the mixture) are
quantised into ``bins`` equal bins over [-bound, bound]: contexts that share a prompt are one question to the
model, which caps the exact match it can reach (``encoding_ceiling`` measures it). The response is N answer tokens
``y0 .. y{k-1}``, answer token j standing for the task's token j.

The vocabulary: ``<pad>``, ``<eos>``, the level tokens ``c0 .. c{L-1}``, the answer tokens ``y0 .. y{k-1}``.
This module needs numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from seqreward_env import SequenceTask
from seqreward_env.contexts import PoolContexts, RademacherContexts

PAD, EOS = "<pad>", "<eos>"
SPECIAL_TOKENS = (PAD, EOS)
# A pool whose coordinates take at most this many values is encoded value by value (losslessly).
MAX_EXACT_LEVELS = 64


@dataclass(frozen=True)
class PromptEncoding:
    """How contexts become prompts and answers become tokens, for one task shape.

    Attributes:
        levels: ``(L,)`` float64 increasing values a coordinate's token stands for (bin centres when quantised).
        vocab_size: k, the task's number of answer tokens.
        context_dim: d, the prompt length in tokens.
        lossless: True when every context the task draws is carried exactly (its coordinates are levels).
        bound: the quantised range [-bound, bound] (0 for a lossless encoding).
    """

    levels: tuple[float, ...]
    vocab_size: int
    context_dim: int
    lossless: bool
    bound: float = 0.0

    @classmethod
    def for_task(cls, task: SequenceTask, bins: int = 16) -> PromptEncoding:
        """The task's canonical encoding: exact for Rademacher contexts and pools with at most
        ``MAX_EXACT_LEVELS`` distinct coordinate values, else ``bins`` equal bins over the context bound."""
        if isinstance(bins, bool) or not isinstance(bins, int) or bins < 2:
            raise ValueError(f"bins must be an integer >= 2, got {bins!r}")
        distribution = task.distribution
        values: np.ndarray | None = None
        if isinstance(distribution, RademacherContexts):
            values = np.array([-1.0, 1.0])
        elif isinstance(distribution, PoolContexts):
            unique = np.unique(distribution.pool.astype(np.float64))
            values = unique if len(unique) <= MAX_EXACT_LEVELS else None
        if values is not None:
            return cls(tuple(float(v) for v in values), task.vocab_size, task.context_dim, lossless=True)
        bound = float(task.context_bound)
        edges = np.linspace(-bound, bound, bins + 1)
        centres = (edges[:-1] + edges[1:]) / 2
        return cls(tuple(float(c) for c in centres), task.vocab_size, task.context_dim, lossless=False, bound=bound)

    # ----- vocabulary -----------------------------------------------------------------------------
    @property
    def level_tokens(self) -> list[str]:
        return [f"c{i}" for i in range(len(self.levels))]

    @property
    def answer_tokens(self) -> list[str]:
        return [f"y{j}" for j in range(self.vocab_size)]

    @property
    def vocabulary(self) -> list[str]:
        """Every token, in id order: specials, level tokens, answer tokens."""
        return [*SPECIAL_TOKENS, *self.level_tokens, *self.answer_tokens]

    @property
    def level_offset(self) -> int:
        """Id of ``c0``."""
        return len(SPECIAL_TOKENS)

    @property
    def answer_offset(self) -> int:
        """Id of ``y0``: answer token j has id ``answer_offset + j``."""
        return len(SPECIAL_TOKENS) + len(self.levels)

    @property
    def answer_ids(self) -> list[int]:
        """The ids of the k answer tokens, in task-token order."""
        return list(range(self.answer_offset, self.answer_offset + self.vocab_size))

    # ----- contexts -> prompts --------------------------------------------------------------------
    def context_levels(self, contexts: Any) -> np.ndarray:
        """The level index of every coordinate: ``(n, d)`` int64 for ``(n, d)`` contexts (nearest level when
        lossless, the bin when quantised; a lossless encoding refuses a value that is not a level)."""
        x = np.asarray(contexts, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.context_dim:
            raise ValueError(f"contexts must have shape (n, {self.context_dim}), got {x.shape}")
        levels = np.asarray(self.levels)
        if self.lossless:
            index = np.abs(x[..., None] - levels).argmin(axis=-1)
            if not np.allclose(levels[index], x, rtol=0, atol=1e-6):
                raise ValueError(f"contexts hold values outside this lossless encoding's levels {self.levels}")
            return index
        scaled = (x + self.bound) / (2 * self.bound) * len(levels)
        return np.clip(np.floor(scaled), 0, len(levels) - 1).astype(np.int64)

    def prompt_ids(self, contexts: Any) -> np.ndarray:
        """Prompt token ids ``(n, d)`` int64."""
        return self.context_levels(contexts) + self.level_offset

    def prompt_texts(self, contexts: Any) -> list[str]:
        """The prompts as whitespace-separated tokens, one string per context."""
        names = np.asarray(self.level_tokens)
        return [" ".join(row) for row in names[self.context_levels(contexts)]]

    def decode_contexts(self, prompt_ids: Any) -> np.ndarray:
        """The contexts prompts stand for: ``(n, d)`` float32 (exact when lossless, bin centres otherwise)."""
        index = np.asarray(prompt_ids, dtype=np.int64) - self.level_offset
        if index.min(initial=0) < 0 or index.max(initial=0) >= len(self.levels):
            raise ValueError(f"prompt_ids must lie in [{self.level_offset}, {self.answer_offset}), got {prompt_ids!r}")
        return np.asarray(self.levels, dtype=np.float32)[index]

    # ----- answers <-> tokens ---------------------------------------------------------------------
    def response_ids(self, answers: Any) -> np.ndarray:
        """Token ids of ``(n, N)`` answers in [0, k)."""
        y = np.asarray(answers, dtype=np.int64)
        if y.min(initial=0) < 0 or y.max(initial=0) >= self.vocab_size:
            raise ValueError(f"answers must lie in [0, {self.vocab_size}), got {answers!r}")
        return y + self.answer_offset

    def response_texts(self, answers: Any) -> list[str]:
        names = np.asarray(self.answer_tokens)
        return [" ".join(row) for row in names[np.asarray(answers, dtype=np.int64)]]

    def answers(self, response_ids: Any, seq_len: int) -> np.ndarray:
        """The task tokens of responses: ``(n, seq_len)`` int64, -1 where a response has no answer token
        (a non-answer token, or a response shorter than ``seq_len``); ``response_ids`` a list of id lists
        or an ``(n, L)`` array."""
        out = np.full((len(response_ids), seq_len), -1, dtype=np.int64)
        for row, ids in zip(out, response_ids, strict=True):
            tokens = np.asarray(ids, dtype=np.int64)[:seq_len] - self.answer_offset
            tokens[(tokens < 0) | (tokens >= self.vocab_size)] = -1
            row[: len(tokens)] = tokens
        return out

    def answers_from_text(self, texts: list[str], seq_len: int) -> np.ndarray:
        """The task tokens of whitespace-separated responses (``"y2 y0 y1 y3"``): ``(n, seq_len)``, -1 where a
        response has no answer token (another word, or a response shorter than ``seq_len``)."""
        ids = {token: index for index, token in enumerate(self.vocabulary)}
        return self.answers([[ids.get(word, -1) for word in text.split()] for text in texts], seq_len)


def encoding_ceiling(task: SequenceTask, encoding: PromptEncoding, contexts: np.ndarray) -> dict[str, float]:
    """What the encoding lets any model reach on ``contexts``: contexts sharing a prompt get one answer
    distribution, so the best exact match is the share of each prompt's most frequent y* summed over prompts.

    Returns ``contexts``, ``distinct_prompts`` and ``best_exact_match`` (1.0 for a lossless encoding).
    """
    prompts = encoding.prompt_ids(contexts)
    targets = task.targets(contexts)
    keys = np.concatenate([prompts, targets], axis=1)
    pairs, pair_counts = np.unique(keys, axis=0, return_counts=True)
    prompt_of_pair = np.unique(pairs[:, : prompts.shape[1]], axis=0, return_inverse=True)[1].reshape(-1)
    best = np.zeros(prompt_of_pair.max() + 1, dtype=np.int64)
    np.maximum.at(best, prompt_of_pair, pair_counts)
    return {
        "contexts": float(len(contexts)),
        "distinct_prompts": float(len(best)),
        "best_exact_match": float(best.sum() / len(contexts)),
    }
