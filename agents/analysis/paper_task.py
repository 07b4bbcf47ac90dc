"""The paper's own task draws: the teacher and test set that the official code of "Post-Training with Policy
Gradients: Optimality and the Base Model Barrier" (arXiv 2603.06957) draws for a seed, with torch.

The official code seeds torch's global generator with ``torch.manual_seed(seed)`` and takes, in order:
W1* = ``randn(k, d)``, W2* = ``randn(k, k)`` (float32), then the test set from the same generator:
component ids ``randint(0, M, (n,))``, noise ``randn(n, d) * sigma`` rescaled to norm at most sigma,
x = (e_(j mod d) + noise) rescaled to norm sqrt(d). The logit of token j after token p is
(W1* x)_j + W2*[j, p], which is ``SequenceTask``'s convention for ``teacher=(W1*, W2*)``.

A private ``torch.Generator`` seeded the same way gives the same numbers as the global one, so drawing
here never touches the caller's global random state. Seed 0 ships with ``seqreward_env`` (no torch
needed there); ``scripts/paper_task.py`` writes that file and a test regenerates it.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import torch

from agents.runs.inputs import read_npz
from agents.runs.problems import file_problem
from seqreward_env.paper import PAPER_SHAPE, PaperTaskArrays


def draw_paper_task(
    seed: int,
    *,
    vocab_size: int = PAPER_SHAPE["vocab_size"],
    context_dim: int = PAPER_SHAPE["context_dim"],
    num_components: int = PAPER_SHAPE["num_components"],
    sigma: float = PAPER_SHAPE["sigma"],
    test_size: int = PAPER_SHAPE["test_size"],
) -> PaperTaskArrays:
    """The teacher ``(k, d)``, ``(k, k)`` and the ``(test_size, d)`` test contexts of the official code's
    draw for ``seed`` (all float32 numpy arrays)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    generator = torch.Generator().manual_seed(int(seed))
    k, d = vocab_size, context_dim
    w1 = torch.randn(k, d, generator=generator)
    w2 = torch.randn(k, k, generator=generator)
    components = torch.randint(0, num_components, (test_size,), generator=generator)
    noise = torch.randn(test_size, d, generator=generator) * sigma
    norms = noise.norm(dim=1, keepdim=True)
    noise = noise * torch.clamp(sigma / norms, max=1.0)
    x = torch.zeros(test_size, d)
    x[torch.arange(test_size), components % d] = 1.0
    x = x + noise
    x = x / x.norm(dim=1, keepdim=True) * math.sqrt(d)
    return PaperTaskArrays(w1.numpy(), w2.numpy(), x.numpy())


def save_task_arrays(path: str | Path, arrays: PaperTaskArrays) -> Path:
    """Write a task's teacher and test set to an ``.npz`` file (the format ``load_task_arrays`` reads)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp.npz")
    w1, w2, test = (np.asarray(value, dtype=np.float32) for value in arrays)
    np.savez(temporary, teacher_w1=w1, teacher_w2=w2, test_contexts=test)
    os.replace(temporary, path)
    return path


def load_task_arrays(path: str | Path) -> PaperTaskArrays:
    """Read a task file: an ``.npz`` with ``teacher_w1`` ``(k, d)``, ``teacher_w2`` ``(k, k)`` and
    ``test_contexts`` ``(n, d)``, finite numbers (no pickled objects are ever loaded; the arrays' sizes are
    bounded from their headers before loading, ``agents.runs.inputs.read_npz``)."""
    remedy = f"give a task file with {list(PaperTaskArrays._fields)} (scripts/paper_task.py writes one)"
    found = read_npz(path, PaperTaskArrays._fields, remedy)
    arrays = PaperTaskArrays(*(found[name].astype(np.float32) for name in PaperTaskArrays._fields))
    k, d = arrays.teacher_w1.shape if arrays.teacher_w1.ndim == 2 else (0, 0)
    if (
        not k
        or arrays.teacher_w2.shape != (k, k)
        or arrays.test_contexts.ndim != 2
        or arrays.test_contexts.shape[1] != d
        or not len(arrays.test_contexts)
    ):
        raise file_problem(
            path, f"has shapes {[a.shape for a in found.values()]}; need (k, d), (k, k) and (n, d)", remedy
        )
    for name, array in zip(PaperTaskArrays._fields, arrays, strict=True):
        if not np.isfinite(array).all():
            raise file_problem(path, f"has non-finite entries in {name} (or values past float32's range)", remedy)
    return arrays
