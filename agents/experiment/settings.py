"""What every experiment's settings share: the task's keyword arguments read from a settings dataclass (in
one place instead of one hand-written dict per script), and the checks that refuse, where the settings are
made, a device this torch cannot use or sizes that would not fit in memory."""

from __future__ import annotations

import re
from typing import Any

from agents.common.config_checks import ConfigError
from seqreward_env import SequenceTask
from seqreward_env._checks import check_memory
from seqreward_env.episodes import episode_bytes_per_row

# The SequenceTask arguments an experiment's settings carry under the same names and meanings.
TASK_FIELDS = ("seq_len", "vocab_size", "context_dim", "contexts", "num_components", "sigma", "task_seed")


def task_keywords(config: Any, **overrides: Any) -> dict[str, Any]:
    """``SequenceTask`` keyword arguments: each of ``TASK_FIELDS`` that the settings ``config`` has, then
    ``overrides`` (a swept value such as ``seq_len`` or ``margin``, or what the script fixes itself)."""
    keywords = {name: getattr(config, name) for name in TASK_FIELDS if hasattr(config, name)}
    keywords.update(overrides)
    return keywords


def flag(name: str) -> str:
    """A settings field's command-line flag: ``seq_len`` -> ``--seq-len``."""
    return f"--{name.replace('_', '-')}"


def check_device(device: str, field: str = "device") -> None:
    """Refuse (``ConfigError`` naming ``--device``) a torch device string torch cannot parse, or a CUDA
    device this torch has not (a CPU-only build, no GPU, or an index past the GPUs it sees)."""
    import torch

    label = f"{field} ({flag(field)})"
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError):
        raise ConfigError(f"{label} must be a torch device such as 'cpu' or 'cuda', got {device!r}", field) from None
    if parsed.type == "cpu":
        return
    if parsed.type != "cuda":
        raise ConfigError(f"{label} must be 'cpu' or 'cuda' (or 'cuda:<index>'), got {device!r}", field)
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if count == 0:
        raise ConfigError(f"{label} {device!r}: this torch sees no CUDA device; allowed: 'cpu'", field)
    if parsed.index is not None and parsed.index >= count:
        raise ConfigError(
            f"{label} {device!r}: this torch sees {count} CUDA device(s), 'cuda:0' to 'cuda:{count - 1}'", field
        )


def check_task_sizes(task: dict[str, Any], rows: int = 1, rows_field: str | None = None) -> None:
    """Refuse (``ConfigError`` naming the flags) a task whose arrays, or ``rows`` episodes side by side
    (the flag ``rows_field``), would pass the memory limit of ``seqreward_env`` (``MEMORY_LIMIT_GIB``): the
    same estimates the task and the env make, here before any work. ``task``: ``SequenceTask`` keyword
    arguments of the sizes (``seq_len``, ``vocab_size``, ``context_dim``)."""
    sizes = {name: task[name] for name in ("seq_len", "vocab_size", "context_dim") if name in task}
    try:
        shaped = SequenceTask(**sizes, contexts="rademacher")  # the teacher's and margin's estimates
    except ValueError as error:
        raise ConfigError(_with_flags(error), "seq_len") from None
    check_rows(shaped, rows, rows_field)


def check_rows(task: SequenceTask, rows: int, rows_field: str | None) -> None:
    """Refuse (``ConfigError`` naming the flags) ``rows`` episodes of ``task`` side by side whose arrays
    would pass the memory limit (``seqreward_env.episodes.episode_bytes_per_row``)."""
    named: dict[str, Any] = {flag(name): getattr(task, name) for name in ("seq_len", "vocab_size", "context_dim")}
    if rows_field is not None:
        named = {flag(rows_field): rows, **named}
    try:
        check_memory(named, rows * episode_bytes_per_row(task), f"{rows} episodes side by side")
    except ValueError as error:
        raise ConfigError(str(error), rows_field or "seq_len") from None


def _with_flags(error: ValueError) -> str:
    """The task's size error with each size named by its flag (``seq_len=`` -> ``--seq-len=``)."""
    return re.sub(r"\b(seq_len|vocab_size|context_dim)=", lambda m: f"{flag(m.group(1))}=", str(error))


def check_env_rows(env_id: str, rows: int, rows_field: str, **env_kwargs: Any) -> None:
    """``check_rows`` for ``rows`` envs of the registered ``env_id`` (its task made once, as one env)."""
    import gymnasium as gym

    env = gym.make(env_id, **env_kwargs)
    try:
        check_rows(env.unwrapped.task, rows, rows_field)  # type: ignore[attr-defined]
    finally:
        env.close()
