"""The thread limit every worker process sets before training (torch and numpy's BLAS)."""

from __future__ import annotations

import torch
from threadpoolctl import threadpool_limits


def limit_threads(threads: int) -> None:
    """Use ``threads`` threads in torch and in numpy's BLAS for the rest of this process.

    The task's matrix products are tiny; a multi-threaded BLAS only adds synchronisation, and in
    several worker processes on a few cores its spinning threads can slow a 1024 x 32 x 32 product
    a hundredfold.
    """
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads!r}")
    torch.set_num_threads(threads)
    threadpool_limits(threads)
