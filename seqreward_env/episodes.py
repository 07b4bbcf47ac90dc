"""The state of a batch of episodes and its transitions, shared by the single env (a batch of one) and the vector env."""

from __future__ import annotations

from typing import Any

import numpy as np

from seqreward_env._checks import check_memory, check_tokens
from seqreward_env.task import SequenceTask

RESET_OPTIONS = ("context", "prefix")


class EpisodeBatch:
    """``num_rows`` episodes advanced in lockstep with array operations.

    Arrays (row-major, one row per episode):
        contexts ``(n, d)`` float32; targets_by_position ``(N, n)`` int64 (y* transposed, so that a step
        reads one contiguous row; never exposed in observations);
        tokens ``(n, N)`` int64 with ``vocab_size`` marking "not written yet" (a view of tokens_by_position
        ``(N, n)``, stored by position so that a step writes one contiguous row); positions ``(n,)`` int64
        tokens written; on_track ``(n,)`` bool, whether the tokens written so far equal y*'s prefix.
    """

    def __init__(self, task: SequenceTask, num_rows: int) -> None:
        check_episode_memory(task, num_rows)
        self.task = task
        n, big_n = num_rows, task.seq_len
        self.contexts = np.zeros((n, task.context_dim), dtype=np.float32)
        self.targets_by_position = np.zeros((big_n, n), dtype=np.int64)
        self.tokens_by_position = np.full((big_n, n), task.vocab_size, dtype=np.int64)
        self.positions = np.zeros(n, dtype=np.int64)
        self.on_track = np.ones(n, dtype=bool)
        self._all_rows = np.arange(n, dtype=np.int64)
        self.lockstep: int | None = 0
        """The position every row is at when they all share one (rows started together), else None."""

    STATE_ARRAYS = ("contexts", "targets_by_position", "tokens_by_position", "positions", "on_track")

    def state(self) -> dict[str, Any]:
        """A copy of every row's episode (numpy arrays and the lockstep position, -1 for None), for a
        learner whose episodes run across a checkpoint."""
        return {
            **{name: getattr(self, name).copy() for name in self.STATE_ARRAYS},
            "lockstep": -1 if self.lockstep is None else self.lockstep,
        }

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore a ``state()`` of a batch with the same task and number of rows (arrays copied in place:
        a shape that differs is a ``ValueError``)."""
        for name in self.STATE_ARRAYS:
            np.copyto(getattr(self, name), np.asarray(state[name]), casting="no")
        lockstep = int(state["lockstep"])
        self.lockstep = None if lockstep < 0 else lockstep

    def start(self, rows: np.ndarray, contexts: np.ndarray, prefixes: list[np.ndarray] | None) -> None:
        """Begin new episodes on ``rows`` (increasing row indices) with the given ``(len(rows), d)`` contexts
        and optional prefixes."""
        every: np.ndarray | slice = slice(None) if len(rows) == len(self._all_rows) else rows  # all: plain copies
        self.contexts[every] = contexts
        if isinstance(every, slice):
            self.task.targets_by_position(contexts, out=self.targets_by_position)
        else:
            self.targets_by_position[:, rows] = self.task.targets_by_position(contexts)
        self.tokens_by_position[:, every] = self.task.vocab_size
        self.positions[every] = 0
        self.on_track[every] = True
        if prefixes is not None:
            for row, prefix in zip(rows, prefixes, strict=True):
                self.tokens_by_position[: len(prefix), row] = prefix
                self.positions[row] = len(prefix)
                self.on_track[row] = bool(np.array_equal(prefix, self.targets_by_position[: len(prefix), row]))
        first = int(self.positions[0])
        self.lockstep = first if bool((self.positions == first).all()) else None

    def advance(
        self, rows: np.ndarray | slice, actions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Write ``actions`` (validated tokens) on ``rows`` (an index array, or ``slice(None)`` for all)
        and score the step.

        Returns:
            rewards float64, terminated bool, reward queries int64 and success bool (meaningful where
            terminated), one entry per stepped row.
        """
        if isinstance(rows, slice) and rows == slice(None) and self.lockstep is not None:
            return self._advance_lockstep(actions)
        self.lockstep = None  # only some rows step (or the rows are at different positions)
        positions = self.positions[rows]
        row_indices = self._all_rows[rows]
        self.tokens_by_position.reshape(-1)[positions * len(self._all_rows) + row_indices] = actions
        right = self.targets_by_position.reshape(-1)[positions * len(self._all_rows) + row_indices] == actions
        on_track = self.on_track[rows] & right
        self.on_track[rows] = on_track
        positions += 1
        self.positions[rows] = positions
        rewards, queries = self.task.step_rewards(on_track, positions)
        return rewards, positions == self.task.seq_len, queries, on_track

    def _advance_lockstep(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``advance`` of every row when all share the position ``lockstep``: one column of each array,
        updated in place (the common case: a batch of episodes written token by token)."""
        position = self.lockstep
        assert position is not None
        self.tokens_by_position[position] = actions
        on_track = self.on_track
        np.logical_and(on_track, self.targets_by_position[position] == actions, out=on_track)
        np.add(self.positions, 1, out=self.positions)
        self.lockstep = position + 1
        rewards, queries = self.task.step_rewards(on_track, position + 1)
        terminated = np.zeros(len(on_track), dtype=bool)
        if position + 1 == self.task.seq_len:
            terminated[:] = True
        return rewards, terminated, queries, on_track.copy()

    @property
    def tokens(self) -> np.ndarray:
        """``(n, N)`` tokens of every row (a column-major view of ``tokens_by_position``)."""
        return self.tokens_by_position.T

    def observation(self, rows: np.ndarray | slice | int = slice(None), *, copy: bool = True) -> dict[str, np.ndarray]:
        """The observable state of ``rows``: context, tokens, position (copies, or views when ``copy`` is
        False and ``rows`` is a slice)."""
        take = (lambda a: a[rows].copy(order="K")) if copy else (lambda a: a[rows])  # "K": tokens stay column-major
        return {"context": take(self.contexts), "tokens": take(self.tokens), "position": take(self.positions)}


def episode_bytes_per_row(task: SequenceTask) -> int:
    """The most memory one row of a vector env holds at once, through construction, reset and step (bytes).

    Held: the episode arrays (context float32, targets and tokens ``(N,)`` int64, counters), two observation
    copies (the one a caller keeps and the next step's), the batched observation space (box bounds, the
    tokens space's ``nvec`` and ``start``: measured at about 21 N + 11 d + 48 bytes, counted with 25 N) and
    the row's random generator (measured at about 0.9 KiB). At the peak, on top, the larger of the reset's
    context draw (raw uniforms, Box-Muller radii, angles and normals in float64: about 32 d bytes, counted
    as 40 d) and, after it, the greedy targets' teacher scores, successor table and per-position scores
    (about 41 k bytes). ``tests/env/test_memory_estimate.py`` checks it against the peak resident memory of
    real envs.
    """
    n_len, k, d = task.seq_len, task.vocab_size, task.context_dim
    held = (4 * d + 16 * n_len + 40) + 2 * (4 * d + 8 * n_len + 8) + (25 * n_len + 11 * d + 48) + 1088
    return held + max(40 * d + 16, 41 * k + 48)


def check_episode_memory(task: SequenceTask, num_rows: int) -> None:
    """Refuse, before allocating, a batch whose peak memory (``episode_bytes_per_row`` per row) would not fit."""
    sizes = {"seq_len": task.seq_len, "vocab_size": task.vocab_size, "context_dim": task.context_dim}
    if num_rows != 1:
        sizes = {"num_envs": num_rows, **sizes}
    check_memory(sizes, num_rows * episode_bytes_per_row(task), "the episode arrays, observation spaces and a reset")


def parse_reset_options(
    task: SequenceTask, options: dict[str, Any] | None, num_rows: int, *, batched: bool
) -> tuple[np.ndarray | None, list[np.ndarray] | None]:
    """Validate ``reset`` options into ``(num_rows, d)`` contexts (or None) and per-row prefixes (or None).

    ``context`` is one context ``(d,)`` or, when ``batched``, one per row ``(num_rows, d)``. ``prefix``
    is one token sequence ``(L,)`` with L < N or, when ``batched``, one per row (an ``(num_rows, L)``
    array or a list of 1-D arrays). A prefix costs no reward queries.
    """
    if options is None:
        return None, None
    if not isinstance(options, dict):
        raise ValueError(f"options must be a dict with keys among {RESET_OPTIONS}, got {options!r}")
    allowed = (*RESET_OPTIONS, "reset_mask") if batched else RESET_OPTIONS  # the vector env reads reset_mask
    unknown = set(options) - set(allowed)
    if unknown:
        raise ValueError(f"options has unknown keys {sorted(unknown)}; allowed keys are {allowed}")
    contexts = None
    if options.get("context") is not None:
        x = task.check_context("options['context']", options["context"])
        if x.ndim == 2 and not batched:
            raise ValueError(f"options['context'] must have shape ({task.context_dim},), got shape {x.shape}")
        if x.ndim == 2 and len(x) != num_rows:
            raise ValueError(
                f"options['context'] must have {num_rows} rows (one per env) or be one context, got {len(x)}"
            )
        contexts = np.broadcast_to(x.reshape(-1, task.context_dim), (num_rows, task.context_dim)).copy()
    prefixes = None
    if options.get("prefix") is not None:
        raw = options["prefix"]
        as_rows = batched and (isinstance(raw, list) and raw and np.ndim(raw[0]) == 1 or np.ndim(raw) == 2)
        items = list(raw) if as_rows else [raw] * num_rows
        if len(items) != num_rows:
            raise ValueError(
                f"options['prefix'] must hold {num_rows} prefixes (one per env) or one prefix, got {len(items)}"
            )
        prefixes = [check_tokens("options['prefix']", item, task.vocab_size, task.seq_len - 1) for item in items]
    return contexts, prefixes
