"""The paper's own Figure-1 task: the teacher and test set the official code draws for seed 0, shipped as
arrays (``data/paper_task_seed0.npz``), so the paper's ids and ``make run`` ask the paper's questions.

The arrays were drawn with torch (see ``agents.analysis.paper_task.draw_paper_task``, which draws any seed);
this module only reads them, so ``seqreward_env`` stays free of torch.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any, NamedTuple

import numpy as np

# The official code's Figure-1 shapes: d = k = 32, a mixture of 32, sigma 0.05, 1024 test contexts.
PAPER_SHAPE: dict[str, Any] = {
    "vocab_size": 32,
    "context_dim": 32,
    "num_components": 32,
    "sigma": 0.05,
    "test_size": 1024,
}
DATA_FILES = ("paper_task_seed0.npz",)


class PaperTaskArrays(NamedTuple):
    """W1* ``(k, d)``, W2* ``(k, k)`` and the test contexts ``(n, d)``, float32."""

    teacher_w1: np.ndarray
    teacher_w2: np.ndarray
    test_contexts: np.ndarray


def data_path(name: str) -> Any:
    """The packaged data file ``name`` (a ``Traversable``; ``str()`` of it is a path for an installed package)."""
    if name not in DATA_FILES:
        raise ValueError(f"name must be one of {DATA_FILES}, got {name!r}")
    return resources.files("seqreward_env").joinpath("data", name)


@lru_cache(maxsize=1)
def paper_task_arrays() -> PaperTaskArrays:
    """The official code's seed-0 teacher and test set (read once; treat the arrays as read-only)."""
    with data_path("paper_task_seed0.npz").open("rb") as file, np.load(file) as data:
        arrays = PaperTaskArrays(data["teacher_w1"], data["teacher_w2"], data["test_contexts"])
    for array in arrays:
        array.setflags(write=False)
    return arrays
