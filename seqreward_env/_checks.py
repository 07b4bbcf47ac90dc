"""Argument checks shared by the task and the environments: each names the argument, its value and what is allowed."""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np

# The most memory one task or env may ask for at construction or in one step. The paper's largest task
# needs under 1 MiB; a request past this is a typo (seq_len=10**9) or a task this dense design cannot
# serve (vocab_size=30000 makes a 7 GB k x k teacher), refused before anything is allocated.
MEMORY_LIMIT_GIB = 4.0
SEED_RULE = "None or an integer >= 0 (a Python int or a numpy integer; not a bool or a float)"


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


def check_seed(name: str, value: Any) -> int | None:
    """Return an episode seed as an int (or None); both environments accept exactly these."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Integral) or int(value) < 0:
        raise ValueError(f"{name} must be {SEED_RULE}, got {value!r}")
    return int(value)


def check_memory(arguments: dict[str, Any], nbytes: int, what: str) -> None:
    """Refuse, before allocating, sizes whose ``nbytes`` for ``what`` exceed ``MEMORY_LIMIT_GIB``.

    ``arguments`` maps the size arguments that set ``nbytes`` to their values; the error names them all.
    """
    if nbytes > MEMORY_LIMIT_GIB * 2**30:
        named = ", ".join(f"{name}={value!r}" for name, value in arguments.items())
        raise ValueError(
            f"{named} would need {nbytes / 2**30:.1f} GiB for {what}, over the {MEMORY_LIMIT_GIB:g} GiB "
            f"limit (seqreward_env._checks.MEMORY_LIMIT_GIB); choose smaller sizes"
        )


def check_array(name: str, value: Any, shape: tuple[int | None, ...], *, dtype: Any = np.float64) -> np.ndarray:
    """Return ``value`` as a finite real array of the given shape (None matches any length), else raise ValueError."""
    try:
        raw = np.asarray(value)
        if raw.dtype.kind not in "biufc":  # strings ("1.5") or objects would be converted, not refused
            raise TypeError(f"entries of dtype {raw.dtype}")
        complex_entries = raw.dtype.kind == "c"
        array = raw if complex_entries else np.asarray(raw, dtype=dtype)
    except (TypeError, ValueError) as error:
        shown = repr(value) if len(repr(value)) <= 200 else repr(value)[:200] + "..."
        raise ValueError(f"{name} must be a numeric array of shape {_shape_text(shape)}, got {shown}") from error
    if complex_entries:  # converting would silently drop the imaginary part
        raise ValueError(f"{name} must be a real array, got a complex array {value!r}")
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
