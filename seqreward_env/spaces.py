"""Observation and action spaces of the environments, and building a task from env keyword arguments."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from seqreward_env.task import SequenceTask

RENDER_MODES = ("ansi", "rgb_array")


def make_task(task: SequenceTask | None, task_kwargs: dict[str, Any]) -> SequenceTask:
    """The env's task: the given ``SequenceTask``, or one built from the keyword arguments (not both)."""
    if task is None:
        return SequenceTask(**task_kwargs)
    if not isinstance(task, SequenceTask):
        raise ValueError(f"task must be a SequenceTask, got {type(task).__name__}")
    if task_kwargs:
        raise ValueError(f"pass either task or task keyword arguments, not both; got task and {sorted(task_kwargs)}")
    return task


def observation_space(task: SequenceTask) -> spaces.Dict:
    """``context`` float32 (d,) within the task's bound; ``tokens`` N entries in [0, k], k meaning "not
    written yet"; ``position`` the number of tokens written, in [0, N]."""
    bound = np.float32(task.context_bound)
    return spaces.Dict(
        {
            "context": spaces.Box(-bound, bound, shape=(task.context_dim,), dtype=np.float32),
            "tokens": spaces.MultiDiscrete(np.full(task.seq_len, task.vocab_size + 1, dtype=np.int64)),
            "position": spaces.Discrete(task.seq_len + 1),
        }
    )


def check_render_mode(render_mode: Any) -> str | None:
    """The render mode if it is one of ``RENDER_MODES`` or None, else raise ValueError."""
    if render_mode is not None and render_mode not in RENDER_MODES:
        raise ValueError(f"render_mode must be None or one of {RENDER_MODES}, got {render_mode!r}")
    return render_mode


def action_space(task: SequenceTask) -> spaces.Discrete:
    """The next token, in [0, k)."""
    return spaces.Discrete(task.vocab_size)


def render_row(task: SequenceTask, tokens: np.ndarray, position: int) -> str:
    """One line of text for an episode: position and the tokens written ('.' for not yet written)."""
    written = " ".join(str(int(t)) for t in tokens[:position])
    blanks = " ".join("." for _ in range(task.seq_len - position))
    return f"position {position}/{task.seq_len} | {written}{' ' if written and blanks else ''}{blanks}"
