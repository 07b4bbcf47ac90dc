"""Sweeps as Ray Tune trials: one trial per job, every run folder under one storage path, and an interrupted
sweep resumed as a whole (``Tuner.restore``) without re-running the trials that finished.

``agents.sweep.run_sweep(..., backend="ray")`` lands here. Each job must carry a ``run_dir`` (its run
folder); the storage path is the folder that holds them all (by default their common parent, i.e. the
experiment's run folder), and Tune's own records of the sweep (trial states, each trial's result) live in
``<storage>/ray_tune/<name>/``. On a cluster the storage path must be a directory every node sees at the same
path (a shared file system): the runs write their folders there directly, so the analysis on the head
node reads them as they are. A restore finds the trials that had finished and returns their recorded
results; the others start again, and their jobs resume from their own run folders' checkpoints.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

TUNE_FOLDER = "ray_tune"


def storage_for(jobs: Sequence[Any], storage_path: str | os.PathLike[str] | None = None) -> Path:
    """The storage path of a sweep: ``storage_path`` (checked to hold every job's ``run_dir``) or, if None,
    the common parent folder of the jobs' run folders."""
    if not jobs:
        raise ValueError("jobs must be a non-empty sequence of jobs with a run_dir, got none")
    missing = [index for index, job in enumerate(jobs) if not getattr(job, "run_dir", None)]
    if missing:
        raise ValueError(f"every job needs a run_dir to run as a Tune trial; jobs {missing} have none")
    folders = [Path(job.run_dir).resolve() for job in jobs]
    if storage_path is None:
        return Path(os.path.commonpath(folders)) if len(folders) > 1 else folders[0].parent
    storage = Path(storage_path).resolve()
    outside = [str(folder) for folder in folders if not folder.is_relative_to(storage)]
    if outside:
        raise ValueError(
            f"storage_path {str(storage)!r} must hold every job's run folder; these are outside: {outside}"
        )
    return storage


def experiment_name(description: str) -> str:
    """A folder name for the sweep from its description ("tuning runs" -> "tuning-runs")."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", description.strip()).strip("-.")
    if not name:
        raise ValueError(f"description must contain a letter or digit to name the sweep, got {description!r}")
    return name


def run_trial(config: dict[str, Any], function: Callable[[Any], Any], jobs: Sequence[Any]) -> None:
    """One Tune trial: run job ``config["index"]`` and report its result (as JSON: results of the sweeps are
    strings and dicts of numbers)."""
    from ray import tune

    index = int(config["index"])
    result = function(jobs[index])
    tune.report({"index": index, "result": json.dumps(result), "run_dir": str(jobs[index].run_dir)})


def run_tune_sweep(
    function: Callable[[Any], Any],
    jobs: Sequence[Any],
    *,
    storage_path: str | os.PathLike[str] | None = None,
    name: str = "sweep",
    ray_address: str | None = None,
    max_concurrent: int = 0,
    on_result: Callable[[], None] | None = None,
) -> list[Any]:
    """``[function(job) for job in jobs]`` as Ray Tune trials, in order; resumes the sweep if
    ``<storage>/ray_tune/<name>`` holds an interrupted one.

    Args:
        function: a module-level function (Ray imports it on the worker).
        jobs: picklable jobs, each with a ``run_dir`` under the storage path.
        storage_path: see ``storage_for``.
        name: the sweep's folder under ``<storage>/ray_tune`` (from ``experiment_name``).
        ray_address: a running cluster ("auto", "ray://head:10001"); None starts a local Ray.
        max_concurrent: the most trials at once (0: as many as the cluster's CPUs allow, one CPU each).
        on_result: called once per finished trial (a progress bar's update).
    """
    import ray
    from ray import tune

    if max_concurrent < 0:
        raise ValueError(f"max_concurrent must be >= 0, got {max_concurrent!r}")
    storage = storage_for(jobs, storage_path)
    name = experiment_name(name)
    if not ray.is_initialized():
        ray.init(address=ray_address, ignore_reinit_error=True, log_to_driver=False)
    trainable = tune.with_resources(tune.with_parameters(run_trial, function=function, jobs=list(jobs)), {"cpu": 1})
    callbacks = [_Progress(on_result)] if on_result is not None else []
    folder = storage / TUNE_FOLDER / name
    if tune.Tuner.can_restore(str(folder)):
        tuner = tune.Tuner.restore(str(folder), trainable, resume_unfinished=True, resume_errored=True)
    else:
        tuner = tune.Tuner(
            trainable,
            param_space={"index": tune.grid_search(list(range(len(jobs))))},
            tune_config=tune.TuneConfig(max_concurrent_trials=max_concurrent or None),
            run_config=tune.RunConfig(
                name=name, storage_path=str(storage / TUNE_FOLDER), verbose=0, callbacks=callbacks
            ),
        )
    grid = tuner.fit()
    trials = [grid[index] for index in range(len(grid))]
    errors = [str(result.error) for result in trials if result.error is not None]
    if errors:
        raise RuntimeError(f"{len(errors)} of {len(jobs)} trials of sweep {name!r} failed; first error: {errors[0]}")
    results: list[Any] = [None] * len(jobs)
    seen = set()
    for result in trials:
        metrics = result.metrics or {}
        if "index" not in metrics:
            continue  # a trial that ended without reporting: counted as missing below
        index = int(metrics["index"])
        seen.add(index)
        results[index] = json.loads(metrics["result"])
    if len(seen) != len(jobs):
        raise RuntimeError(f"sweep {name!r} returned {len(seen)} results for {len(jobs)} jobs")
    return results


class _Progress:
    """A Tune callback calling ``update()`` once per finished trial (built lazily: Ray is optional)."""

    def __new__(cls, update: Callable[[], None]) -> Any:
        from ray.tune import Callback

        class Progress(Callback):  # type: ignore[misc]
            def on_trial_complete(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
                update()

        return Progress()
