"""The teacher's greedy target y*, computed position by position for a batch of contexts.

After the first token, y*_i depends only on y*_(i-1) through each context's successor map
next[prev] = argmax_j (W1* x + W2*[:, prev])_j. The map is computed only where the targets go: a row needs a
new entry until its target repeats a token; from then on it cycles through known entries. Once every row
cycles, the rows are followed until the targets of all of them repeat together (after a common period), and
that block of positions is copied to the end.
"""

from __future__ import annotations

import numpy as np


def greedy_targets(base: np.ndarray, teacher_w2: np.ndarray, length: int, out: np.ndarray | None = None) -> np.ndarray:
    """y* by position: ``(length, n)`` int64, row i holding token i of every context's target.

    Args:
        base: the teacher's context scores W1* x, ``(n, k)`` float64.
        teacher_w2: W2*, ``(k, k)``: score of token j after token prev is ``base[:, j] + teacher_w2[j, prev]``.
        length: N, the number of positions.
        out: a C-ordered ``(length, n)`` int64 array to write into (None: a new one).
    """
    n, k = base.shape
    if out is not None and (out.shape != (length, n) or out.dtype != np.int64 or not out.flags.c_contiguous):
        raise ValueError(
            f"out must be a C-ordered int64 array of shape ({length}, {n}), got "
            f"{out.dtype} of shape {out.shape}{'' if out.flags.c_contiguous else ' (not C-ordered)'}"
        )
    by_position = np.empty((length, n), dtype=np.int64) if out is None else out
    by_position[0] = base.argmax(axis=1)
    successor = np.empty(n * k, dtype=np.int64)  # successor[b * k + prev], valid where known
    known = np.zeros(n * k, dtype=bool)
    offsets = np.arange(n, dtype=np.int64) * k
    flat = np.empty(n, dtype=np.int64)
    cycle_start = -1  # a position from which every row's target is on its cycle, once found
    for i in range(1, length):
        np.add(offsets, by_position[i - 1], out=flat)
        if cycle_start < 0:
            new = np.flatnonzero(~known[flat])
            if new.size:
                scores = base[new] + teacher_w2.T[by_position[i - 1, new]]
                successor[flat[new]] = scores.argmax(axis=1)
                known[flat[new]] = True
            else:
                cycle_start = i - 1  # every row's token i - 1 has been seen before: it is on its cycle
        np.take(successor, flat, out=by_position[i], mode="clip")  # in range: "clip" skips a buffered copy
        if cycle_start >= 0 and np.array_equal(by_position[i], by_position[cycle_start]):
            _repeat_period(by_position, cycle_start, i - cycle_start)
            break
    return by_position


def _repeat_period(rows: np.ndarray, start: int, period: int) -> None:
    """Fill ``rows[start + period:]`` in place, given that ``rows`` repeats with ``period`` from ``start`` on
    and rows up to ``start + period - 1`` are filled: a few block copies, each doubling the filled part."""
    filled = start + period
    while filled < len(rows):
        size = min(filled - start, len(rows) - filled)  # filled - start is a whole number of periods
        rows[filled : filled + size] = rows[start : start + size]
        filled += size
