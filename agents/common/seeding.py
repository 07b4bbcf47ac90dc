"""Random streams of a run, all derived from one seed with ``numpy.random.SeedSequence``, keyed by what the
stream is for, so that two runs never share a stream by accident (as ``seed + i`` schemes do).

A stream is ``SeedSequence(seed, spawn_key=keys)``: the same seed and keys give the same stream on every
machine; any other seed or key gives an independent one. Keys are names ("env", "sampling", "pretrain",
a reward) or non-negative integers (a draw, a PG seed).
"""

from __future__ import annotations

import hashlib
from numbers import Integral

import numpy as np


def _key_int(key: str | int) -> int:
    if isinstance(key, str):
        return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=4).digest(), "little")
    if isinstance(key, bool) or not isinstance(key, Integral) or key < 0:
        raise ValueError(f"stream keys must be strings or integers >= 0, got {key!r}")
    return int(key)


def check_seed(name: str, seed: object) -> int:
    """``seed`` as an int if it is an integer in [0, 2**63), else a ValueError naming ``name``."""
    if isinstance(seed, bool) or not isinstance(seed, Integral) or not 0 <= int(seed) < 2**63:
        raise ValueError(f"{name} must be an integer in [0, 2**63), got {seed!r}")
    return int(seed)


def stream(seed: int, *keys: str | int) -> np.random.SeedSequence:
    """The random stream of ``seed`` for the purpose named by ``keys``."""
    return np.random.SeedSequence(check_seed("seed", seed), spawn_key=tuple(_key_int(key) for key in keys))


def derive_seed(seed: int, *keys: str | int) -> int:
    """A 63-bit integer seed for ``stream(seed, *keys)``, for APIs that take an int (a job record, torch)."""
    return int(stream(seed, *keys).generate_state(1, np.uint64)[0] >> np.uint64(1))


def row_seeds(seed: int, num_rows: int, *keys: str | int) -> list[int]:
    """One independent seed per env row, for ``envs.reset(seed=[...])``: row i of two runs with different
    seeds (or keys) never shares a context stream, unlike Gymnasium's ``seed + i``."""
    state = stream(seed, *keys).generate_state(num_rows, np.uint64) >> np.uint64(1)
    return [int(value) for value in state]
