"""Checks that config dataclasses run in ``__post_init__``, so a bad value fails where it enters with its
field's name, the value and what is allowed.

``check_types(config)`` checks every field against its annotation (an ``int`` field takes an ``int``, not a
bool, float or string; a ``float`` field a finite real number; ``X | None`` also ``None``; ``Literal``
one of its values; ``tuple[T, ...]`` a tuple of ``T``); the other functions add ranges and choices.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from collections.abc import Collection
from typing import Any, Literal, Union, get_args, get_origin

from seqreward_env import ENV_IDS
from seqreward_env.contexts import SIGMA_MAX


class ConfigError(ValueError):
    """A config field with a value it does not allow; ``field`` names it (None: several fields together)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field

    def __reduce__(self) -> tuple[Any, ...]:
        return (ConfigError, (str(self), self.field))


def _field_types(cls: Any) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {field.name: hints[field.name] for field in dataclasses.fields(cls)}


def _label(name: str) -> str:
    """A field's name and its command-line flag, as errors show them."""
    return f"{name} (--{name.replace('_', '-')})"


def check_types(config: Any) -> None:
    """Every field of the dataclass instance ``config`` has a value of its annotated type."""
    for name, kind in _field_types(type(config)).items():
        value = getattr(config, name)
        if not _matches(value, kind):
            raise ConfigError(
                f"{_label(name)} must be {_describe(kind)}, got {value!r} ({type(value).__name__}) [{type(config).__name__}]",
                name,
            )


def _matches(value: Any, kind: Any) -> bool:
    if kind is Any or kind is object:
        return True
    origin = get_origin(kind)
    if origin in (Union, types.UnionType):
        return any(_matches(value, option) for option in get_args(kind))
    if origin is Literal:
        return any(value == option and type(value) is type(option) for option in get_args(kind))
    if kind is type(None):
        return value is None
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if kind is str:
        return isinstance(value, str)
    if origin is tuple:
        arguments = get_args(kind)
        if not isinstance(value, tuple):
            return False
        if len(arguments) == 2 and arguments[1] is Ellipsis:
            return all(_matches(entry, arguments[0]) for entry in value)
        return len(arguments) == len(value) and all(map(_matches, value, arguments))
    if origin is dict or kind is dict:
        return isinstance(value, dict)
    if isinstance(kind, type):
        return isinstance(value, kind)
    return True


def _describe(kind: Any) -> str:
    origin = get_origin(kind)
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(option) for option in get_args(kind))
    if origin is Literal:
        return "one of " + ", ".join(repr(option) for option in get_args(kind))
    if kind is type(None):
        return "None"
    if kind is float:
        return "a finite number"
    if kind is int:
        return "an integer"
    if kind is bool:
        return "true or false"
    if kind is str:
        return "a string"
    if origin is tuple:
        arguments = get_args(kind)
        if len(arguments) == 2 and arguments[1] is Ellipsis:
            return f"a tuple of {_describe(arguments[0])}"
    return getattr(kind, "__name__", str(kind))


def check_at_least(config: Any, minimum: float, *names: str) -> None:
    """Each named field (skipped where None) is >= ``minimum``."""
    for name in names:
        value = getattr(config, name)
        if value is not None and not value >= minimum:
            raise ConfigError(f"{_label(name)} must be >= {minimum}, got {value!r} [{type(config).__name__}]", name)


def check_positive(config: Any, *names: str) -> None:
    """Each named field (skipped where None) is > 0."""
    for name in names:
        value = getattr(config, name)
        if value is not None and not value > 0:
            raise ConfigError(f"{_label(name)} must be > 0, got {value!r} [{type(config).__name__}]", name)


def check_interval(
    config: Any, name: str, low: float, high: float, *, low_open: bool = False, high_open: bool = False
) -> None:
    """The named field (skipped where None) lies in the interval from ``low`` to ``high``."""
    value = getattr(config, name)
    if value is None:
        return
    above = value > low if low_open else value >= low
    below = value < high if high_open else value <= high
    if not (above and below):
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise ConfigError(f"{_label(name)} must lie in {interval}, got {value!r} [{type(config).__name__}]", name)


def check_choice(config: Any, name: str, choices: Collection[Any]) -> None:
    """The named field is one of ``choices``."""
    value = getattr(config, name)
    if value not in choices:
        raise ConfigError(
            f"{_label(name)} must be one of {sorted(choices)}, got {value!r} [{type(config).__name__}]", name
        )


def check_choices(config: Any, name: str, choices: Collection[Any], *, at_least_one: bool = True) -> None:
    """The named tuple field holds only ``choices`` (and, with ``at_least_one``, one or more of them)."""
    values = getattr(config, name)
    if at_least_one and not values:
        raise ConfigError(f"{_label(name)} must name at least one of {sorted(choices)} [{type(config).__name__}]", name)
    for value in values:
        if value not in choices:
            raise ConfigError(
                f"{_label(name)}: {value!r} is not one of {sorted(choices)} [{type(config).__name__}]", name
            )


SEED_LIMIT = 2**63  # seeds must fit torch's and numpy's 64-bit seeding
BACKENDS = ("local", "ray")  # where a sweep runs its jobs (agents.experiment.sweep.run_sweep)


def check_fields(config: Any) -> None:
    """``check_types``, then the rules every experiment's settings share: a seed (a field named ``seed`` or
    ending in ``_seed``) in [0, 2^63); every other integer field a count >= 1; ``vocab_size`` >= 2 (a
    vocabulary of one token has nothing to learn); every ``*learning_rate`` > 0; a ``backend`` one of
    ``BACKENDS``; a ``sigma`` (the mixture's noise) in (0, ``SIGMA_MAX``]."""
    check_types(config)
    for name in _field_types(type(config)):
        value = getattr(config, name)
        if name == "backend":
            check_choice(config, name, BACKENDS)
        if name == "sigma":
            check_interval(config, name, 0.0, SIGMA_MAX, low_open=True)
        if not isinstance(value, int) or isinstance(value, bool):
            if name.endswith("learning_rate") and isinstance(value, float):
                check_positive(config, name)
            continue
        if name == "seed" or name.endswith("_seed"):
            if not 0 <= value < SEED_LIMIT:
                raise ConfigError(
                    f"{_label(name)} must lie in [0, 2^63), got {value!r} [{type(config).__name__}]", name
                )
        elif name == "vocab_size":
            check_at_least(config, 2, name)
        else:
            check_at_least(config, 1, name)


def check_count(name: str, value: Any, *, minimum: int) -> None:
    """Refuse (``ValueError`` naming ``name``) anything but an ``int`` (not a bool) of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def check_json_object(config: Any, name: str) -> dict[str, Any]:
    """The named string field parsed as a JSON object (a ``ConfigError`` naming its flag otherwise)."""
    text = getattr(config, name)
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as error:
        reason = error.msg if isinstance(error, json.JSONDecodeError) else "nested too deeply"
        raise ConfigError(f"{_label(name)} must be a JSON object, got {text!r} ({reason})", name) from None
    if not isinstance(value, dict):
        raise ConfigError(f"{_label(name)} must be a JSON object, got {text!r}", name)
    return value


def check_env_id(config: Any, name: str = "env_id") -> None:
    """The named field is a registered seqreward id."""
    check_choice(config, name, ENV_IDS)
