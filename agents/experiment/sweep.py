"""Sweeps over seeds and settings: run one function over many picklable jobs, in this process, in local
worker processes, or on a Ray cluster (``backend="ray"``, needs the ``ray`` extra)."""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from tqdm.auto import tqdm

J = TypeVar("J")
R = TypeVar("R")

BACKENDS = ("local", "ray")
PR_SET_PDEATHSIG = 1  # prctl option: the signal a process gets when its parent ends (Linux)
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def run_sweep(
    function: Callable[[J], R],
    jobs: Sequence[J],
    *,
    backend: str = "local",
    workers: int = 1,
    ray_address: str | None = None,
    description: str = "sweep",
    show_progress: bool = True,
) -> list[R]:
    """``[function(job) for job in jobs]``, in order, run where ``backend`` says.

    Args:
        function: a module-level function (so worker processes and Ray can import it).
        jobs: picklable arguments, one per run; each run should write its own run folder so that an
            interrupted sweep resumes run by run.
        backend: "local" (``workers`` processes; 1 runs in this process) or "ray".
        workers: local worker processes.
        ray_address: address of a running Ray cluster ("auto" to find it); None starts a local Ray. The
            jobs run as Ray Tune trials whose run folders share one storage path (``agents.experiment.tune``).
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers!r}")
    progress = tqdm(total=len(jobs), desc=description, disable=not show_progress, dynamic_ncols=True)
    results: list[Any]
    if backend == "ray":
        results = _run_on_ray(function, jobs, ray_address, progress, description)
    elif workers == 1 or len(jobs) <= 1:
        results = []
        for job in jobs:
            results.append(function(job))
            progress.update(1)
    else:
        # Workers start with single-threaded BLAS (unless the caller chose otherwise): several processes
        # each spinning a multi-threaded BLAS over a few cores slow the task's tiny products a hundredfold.
        saved = {name: os.environ.get(name) for name in BLAS_THREAD_VARIABLES}
        for name in BLAS_THREAD_VARIABLES:
            os.environ.setdefault(name, "1")
        try:
            context = multiprocessing.get_context("spawn")
            with context.Pool(min(workers, len(jobs)), initializer=die_with_parent, initargs=(os.getpid(),)) as pool:
                results = []
                for result in pool.imap(function, jobs):
                    results.append(result)
                    progress.update(1)
                pool.close()  # let workers exit on their own (leaving the block would kill them mid-cleanup)
                pool.join()
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
    progress.close()
    return results


def die_with_parent(parent: int, poll_seconds: float = 0.5) -> None:
    """Make this worker process end when the process ``parent`` does (even by ``kill -9``), so that no
    orphaned worker keeps writing to a run folder: Linux's parent-death signal where there is one, and a
    watchdog thread that exits once the parent is gone everywhere."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # gone before the signal was armed
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(poll_seconds)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()


def _run_on_ray(
    function: Callable[[Any], Any], jobs: Sequence[Any], address: str | None, progress: Any, description: str
) -> list[Any]:
    """The jobs as Ray Tune trials under one storage path, resumable as a whole (``agents.experiment.tune``)."""
    try:
        from ray import tune  # noqa: F401
    except ImportError as error:
        raise ValueError("backend='ray' needs Ray Tune: pip install 'seqreward[ray]'") from error
    from agents.experiment.tune import run_tune_sweep

    return run_tune_sweep(function, jobs, name=description, ray_address=address, on_result=lambda: progress.update(1))
