"""Compiled loops (numba) of the rollout and the score of a Markov policy on the CPU.

They take numpy views of CPU tensors (no copies) and give the same numbers as the torch code they stand
in for: ``sample_from_table`` draws exactly the tokens of ``torch.searchsorted`` over a float32 CDF that
``torch.cumsum`` builds (partial sums in float64, each rounded to float32), and ``table_score`` the
closed-form score of ``LinearPolicy.score_from_table`` up to float rounding.

Compiled on first use and cached on disk (``cache=True``): the first call in a fresh environment
compiles (a few seconds), later processes load the cached machine code.
"""

from __future__ import annotations

import numba
import numpy as np

# Batch rows sampled together: their token chains are independent, so the processor overlaps their
# lookups; their CDFs (BLOCK * R * k float32, 68 KiB at R = 33, k = 32) stay in cache.
BLOCK = 16


@numba.njit(cache=True, nogil=True)
def _cdf_block(table: np.ndarray, b: int, cdf: np.ndarray) -> None:
    """The CDF rows of batch row ``b``'s ``(R, k)`` block of ``table``, written into ``cdf`` ``(R, k)``.

    Partial sums accumulate in float64 and are rounded to float32 one by one (as ``torch.cumsum`` does on
    the CPU). From each row's last token of positive probability on, the CDF is +inf: a uniform past the
    rounded total picks that token, and a token of probability 0 is never drawn.
    """
    rows, k = cdf.shape
    for r in range(rows):
        total = 0.0
        last_positive = 0
        for j in range(k):
            p = table[b, r, j]
            total += p
            cdf[r, j] = np.float32(total)
            if p > 0:
                last_positive = j
        for j in range(last_positive, k):
            cdf[r, j] = np.inf


@numba.njit(cache=True, nogil=True)
def sample_from_table(
    table: np.ndarray, first_row: np.ndarray, uniforms: np.ndarray, tokens: np.ndarray, first_column: int
) -> np.ndarray:
    """Every step's tokens of every batch row from a Markov policy's transition table.

    Args:
        table: ``(B, R, k)`` float32 next-token probabilities; row r < k after token r, further rows for
            other states (e.g. position 0).
        first_row: ``(B,)`` int64, the table row each batch row starts from (its previous token, or the
            position-0 row).
        uniforms: ``(S, B)`` float32 in [0, 1), one per step and batch row.
        tokens: ``(B, >= first_column + S)`` int64: the tokens are also written to its columns
            ``first_column, ..., first_column + S - 1`` (the batch's responses, row by row).
        first_column: see ``tokens``.

    Returns:
        ``(S, B)`` int64 tokens: step s's token of row b is the number of CDF entries <= ``uniforms[s, b]``
        in the row of its previous token (inverse-CDF sampling, ``searchsorted(..., right=True)``).
    """
    batch, rows, k = table.shape
    steps = uniforms.shape[0]
    planned = np.empty((steps, batch), dtype=np.int64)
    cdf = np.empty((BLOCK, rows, k), dtype=np.float32)
    current = np.empty(BLOCK, dtype=np.int64)
    for start in range(0, batch, BLOCK):
        size = min(BLOCK, batch - start)
        for i in range(size):
            _cdf_block(table, start + i, cdf[i])
            current[i] = first_row[start + i]
        for s in range(steps):
            for i in range(size):
                u = uniforms[s, start + i]
                row = current[i]
                count = 0
                for j in range(k):  # branch-free count: vectorised by the compiler
                    count += cdf[i, row, j] <= u
                planned[s, start + i] = count
                tokens[start + i, first_column + s] = count
                current[i] = count
    return planned


@numba.njit(cache=True, nogil=True)
def table_score(
    contexts: np.ndarray,
    tokens: np.ndarray,
    table: np.ndarray,
    weights: np.ndarray,
    generated: np.ndarray,
    start_row: int,
) -> tuple[np.ndarray, np.ndarray]:
    """sum_{b,i} weights[b, i] grad_w log p(tokens[b, i]) of the linear policy, from its transition table.

    Args:
        contexts: ``(B, d)`` float32; tokens: ``(B, N)`` int64; table: ``(B, k + 1, k)`` float32 (row k:
            position 0); weights: ``(B, N)`` float32; generated: ``(B, N)`` bool, the positions whose
            expected-feature term counts (the policy wrote them); start_row: the table row of position 0.

    Returns:
        ``(d, k)`` and ``(k, k)`` float32 gradients for W1 and W2 (W2[j, p]: token j after token p).
    """
    batch, length = tokens.shape
    rows, k = table.shape[1], table.shape[2]
    d = contexts.shape[1]
    grad_w1 = np.zeros((d, k))  # float64 accumulators: the sums run over B * N terms
    grad_w2 = np.zeros((k, k))
    expected_by_row = np.zeros((rows, k))  # sum_b row_weights[b, r] * table[b, r]
    row_weights = np.zeros(rows, dtype=np.float32)
    residual = np.zeros(k, dtype=np.float32)
    for b in range(batch):
        row_weights[:] = 0.0
        residual[:] = 0.0
        previous = start_row
        for i in range(length):
            w = weights[b, i]
            token = tokens[b, i]
            residual[token] += w
            if generated[b, i]:
                row_weights[previous] += w
            if i > 0:
                grad_w2[token, previous] += w
            previous = token
        for r in range(rows):
            rw = row_weights[r]
            if rw != 0.0:
                for j in range(k):
                    e = rw * table[b, r, j]
                    residual[j] -= e
                    expected_by_row[r, j] += e
        for c in range(d):
            x = contexts[b, c]
            for j in range(k):
                grad_w1[c, j] += x * residual[j]
    for p in range(k):
        for j in range(k):
            grad_w2[j, p] -= expected_by_row[p, j]
    return grad_w1.astype(np.float32), grad_w2.astype(np.float32)
