"""The one error of a run folder or a file the machinery reads, and the one form of its message
(``<file>: <what is wrong>; <what to do>``): below the learners, so that a learner reading its own files
(SB3's ``progress.csv``) refuses them as the run machinery does."""

from __future__ import annotations

from pathlib import Path


class RunFolderError(ValueError):
    """A run folder that cannot be used as asked: it holds another run, is in use, or a file is damaged."""


def file_problem(path: str | Path, problem: str, remedy: str) -> RunFolderError:
    """The one form of every complaint about a file: ``<file>: <what is wrong>; <what to do>``."""
    return RunFolderError(f"{path}: {problem}; {remedy}")
