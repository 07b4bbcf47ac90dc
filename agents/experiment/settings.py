"""What every experiment's settings share: the task's keyword arguments read from a settings dataclass, in
one place instead of one hand-written dict per script."""

from __future__ import annotations

from typing import Any

# The SequenceTask arguments an experiment's settings carry under the same names and meanings.
TASK_FIELDS = ("seq_len", "vocab_size", "context_dim", "contexts", "num_components", "sigma", "task_seed")


def task_keywords(config: Any, **overrides: Any) -> dict[str, Any]:
    """``SequenceTask`` keyword arguments: each of ``TASK_FIELDS`` that the settings ``config`` has, then
    ``overrides`` (a swept value such as ``seq_len`` or ``margin``, or what the script fixes itself)."""
    keywords = {name: getattr(config, name) for name in TASK_FIELDS if hasattr(config, name)}
    keywords.update(overrides)
    return keywords
