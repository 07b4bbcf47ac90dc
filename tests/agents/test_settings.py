"""The task's keyword arguments come from an experiment's settings in one place."""

from __future__ import annotations

from dataclasses import dataclass

from agents.experiment.settings import TASK_FIELDS, task_keywords
from seqreward_env import SequenceTask


@dataclass(frozen=True)
class Settings:
    seq_len: int = 3
    vocab_size: int = 5
    context_dim: int = 4
    task_seed: int = 7
    seeds: int = 2  # not a task field: never passed on
    margin: tuple[float, ...] = (0.1, 0.2)  # a sweep, not the task's margin: never passed on


def test_task_keywords_take_the_task_fields_then_the_overrides() -> None:
    keywords = task_keywords(Settings(), seq_len=6, margin=0.1)
    assert keywords == {"seq_len": 6, "vocab_size": 5, "context_dim": 4, "task_seed": 7, "margin": 0.1}
    task = SequenceTask(**task_keywords(Settings()))
    assert (task.seq_len, task.vocab_size, task.context_dim, task.task_seed) == (3, 5, 4, 7)
    assert set(TASK_FIELDS) <= set(SequenceTask.__init__.__code__.co_varnames)
