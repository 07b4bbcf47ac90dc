"""Argument checks shared by the task and the environments: each names the argument, its value and what is allowed."""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np


def check_int(name: str, value: Any, minimum: int) -> int:
    """Return ``value`` as an int if it is an integer >= ``minimum``, else raise ValueError."""
    if isinstance(value, bool) or not isinstance(value, Integral) or int(value) < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_real(name: str, value: Any, minimum: float = -np.inf, *, strict: bool = False) -> float:
    """Return ``value`` as a float if it is a finite real number above ``minimum`` (strictly if asked)."""
    bad = isinstance(value, bool) or not isinstance(value, Real) or not np.isfinite(float(value))
    if not bad:
        bad = float(value) <= minimum if strict else float(value) < minimum
    if bad:
        relation = ">" if strict else ">="
        allowed = f"a finite number {relation} {minimum}" if np.isfinite(minimum) else "a finite number"
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return float(value)


def check_array(name: str, value: Any, shape: tuple[int | None, ...], *, dtype: Any = np.float64) -> np.ndarray:
    """Return ``value`` as a finite array of the given shape (None matches any length), else raise ValueError."""
    try:
        array = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be a numeric array of shape {_shape_text(shape)}, got {value!r}") from error
    if array.ndim != len(shape) or any(
        want is not None and have != want for have, want in zip(array.shape, shape, strict=True)
    ):
        raise ValueError(f"{name} must have shape {_shape_text(shape)}, got shape {array.shape}")
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must contain only finite values, got non-finite entries")
    return array


def check_tokens(name: str, value: Any, vocab_size: int, max_length: int) -> np.ndarray:
    """Return a 1-D int64 token array with entries in [0, vocab_size) and length <= max_length."""
    array = np.asarray(value)
    if array.ndim != 1 or (array.size > 0 and array.dtype.kind not in "iu"):
        raise ValueError(f"{name} must be a 1-D array of integer tokens, got {value!r}")
    if array.size > max_length:
        raise ValueError(f"{name} must have length <= {max_length}, got length {array.size}")
    if array.size and (array.min() < 0 or array.max() >= vocab_size):
        raise ValueError(f"{name} entries must lie in [0, {vocab_size}), got {array.tolist()}")
    return array.astype(np.int64)


def _shape_text(shape: tuple[int | None, ...]) -> str:
    return "(" + ", ".join("any" if n is None else str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"
