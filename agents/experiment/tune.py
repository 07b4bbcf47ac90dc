"""Sweeps as Ray Tune trials: one trial per job, every run folder under one storage path, and an interrupted
sweep resumed as a whole (``Tuner.restore``) without re-running the trials that finished.

``agents.experiment.sweep.run_sweep(..., backend="ray")`` lands here. Each job must carry a ``run_dir`` (its run
folder); the storage path is the folder that holds them all (by default their common parent, i.e. the
experiment's run folder), and Tune's own records of the sweep (trial states, each trial's result) live in
``<storage>/ray_tune/<name>/``. On a cluster the storage path must be a directory every node sees at the same
path (a shared file system): the runs write their folders there directly, so the analysis on the head
node reads them as they are. A restore finds the trials that had finished and returns their recorded
results; the others start again, and their jobs resume from their own run folders' checkpoints.

A trial whose node is lost (or whose worker dies) is retried up to ``max_failures`` times, on whichever node has
room: the retried trial runs its job again, and the job resumes from its run folder's last checkpoint, so the
run neither loses nor repeats a step. Each trial reports the id of the Ray node it ran on (``node_id``).

``run_tune_search`` is the same over a named grid (a learning rate and a seed, say): each trial reports a
number measured on its finished run, and the caller picks from the ``ResultGrid``.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
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
    strings and dicts of numbers) and the Ray node it ran on."""
    import ray
    from ray import tune

    index = int(config["index"])
    result = function(jobs[index])
    tune.report(
        {
            "index": index,
            "result": json.dumps(result),
            "run_dir": str(jobs[index].run_dir),
            "node_id": ray.get_runtime_context().get_node_id(),
        }
    )


def run_tune_sweep(
    function: Callable[[Any], Any],
    jobs: Sequence[Any],
    *,
    storage_path: str | os.PathLike[str] | None = None,
    name: str = "sweep",
    ray_address: str | None = None,
    max_concurrent: int = 0,
    on_result: Callable[[], None] | None = None,
    max_failures: int = 3,
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
        max_failures: how often a failed trial (its node lost, its worker killed) is run again; its job
            resumes from its run folder's checkpoint.
    """
    from ray import tune

    storage = storage_for(jobs, storage_path)
    trainable = tune.with_parameters(run_trial, function=function, jobs=list(jobs))
    space = {"index": tune.grid_search(list(range(len(jobs))))}
    grid = fit(trainable, space, storage, name, ray_address, max_concurrent, on_result, max_failures)
    trials = [grid[index] for index in range(len(grid))]
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


def run_search_trial(
    config: dict[str, Any],
    function: Callable[[Any], Any],
    jobs: Mapping[tuple[Any, ...], Any],
    axes: Sequence[str],
    metric: Callable[[str], float],
) -> None:
    """One trial of a grid search: run the job at the trial's point (``config[axis]`` for each axis), then
    report the point, its run folder and ``metric(job.run_dir)`` under the name ``"metric"``."""
    from ray import tune

    point = tuple(config[axis] for axis in axes)
    job = jobs[point]
    function(job)
    tune.report(
        {**dict(zip(axes, point, strict=True)), "metric": float(metric(job.run_dir)), "run_dir": str(job.run_dir)}
    )


def run_tune_search(
    function: Callable[[Any], Any],
    jobs: Mapping[tuple[Any, ...], Any],
    axes: Sequence[str],
    metric: Callable[[str], float],
    *,
    storage_path: str | os.PathLike[str] | None = None,
    name: str = "search",
    ray_address: str | None = None,
    max_concurrent: int = 0,
    on_result: Callable[[], None] | None = None,
    max_failures: int = 3,
) -> Any:
    """A Tune grid search over every point of ``jobs``: one trial per point runs ``function(job)`` in the
    job's run folder and reports ``metric(job.run_dir)``; resumes the search if ``<storage>/ray_tune/<name>``
    holds an interrupted one (finished trials are not run again).

    Args:
        function: a module-level function (Ray imports it on the worker).
        jobs: ``{(value of axes[0], value of axes[1], ...): job}`` over the full grid of the axes' values,
            each job with a ``run_dir`` under the storage path.
        axes: the names of the search space's dimensions (each a ``tune.grid_search`` over its values).
        metric: a module-level function of a finished job's run folder, the number the trial reports as
            ``"metric"`` (importable on the workers: from the installed package, not a script).

    ``storage_path``, ``name``, ``ray_address``, ``max_concurrent``, ``on_result`` and ``max_failures`` are as in
    ``run_tune_sweep``.

    Returns:
        Tune's ``ResultGrid``: one result per point, whose ``metrics`` hold the axes' values, ``"metric"``
        and ``"run_dir"``.
    """
    if not jobs:
        raise ValueError("jobs must map at least one point of the grid to a job, got none")
    points = list(jobs)
    if any(len(point) != len(axes) for point in points):
        raise ValueError(f"every key of jobs must hold one value per axis of {list(axes)}, got {points}")
    values = [sorted({point[position] for point in points}) for position in range(len(axes))]
    if len(points) != math.prod(len(value) for value in values):
        raise ValueError(f"jobs must cover the full grid of {list(axes)}, got {len(points)} points")
    storage = storage_for(list(jobs.values()), storage_path)
    from ray import tune

    trainable = tune.with_parameters(
        run_search_trial, function=function, jobs=dict(jobs), axes=list(axes), metric=metric
    )
    space = {axis: tune.grid_search(value) for axis, value in zip(axes, values, strict=True)}
    grid = fit(trainable, space, storage, name, ray_address, max_concurrent, on_result, max_failures)
    reported = [grid[i].metrics for i in range(len(grid)) if grid[i].metrics and "metric" in grid[i].metrics]
    if len(reported) != len(points):
        raise RuntimeError(f"search {name!r} returned {len(reported)} results for {len(points)} trials")
    return grid


def fit(
    trainable: Any,
    space: dict[str, Any],
    storage: Path,
    name: str,
    ray_address: str | None,
    max_concurrent: int,
    on_result: Callable[[], None] | None,
    max_failures: int = 3,
) -> Any:
    """Run (or restore and finish) the Tune experiment ``<storage>/ray_tune/<name>`` of one-CPU trials over
    the search space ``space``, each failed trial retried up to ``max_failures`` times; its ``ResultGrid``,
    after checking that no trial failed for good."""
    import ray
    from ray import tune

    if max_concurrent < 0:
        raise ValueError(f"max_concurrent must be >= 0, got {max_concurrent!r}")
    if isinstance(max_failures, bool) or not isinstance(max_failures, int) or max_failures < 0:
        raise ValueError(f"max_failures must be an integer >= 0, got {max_failures!r}")
    name = experiment_name(name)
    if not ray.is_initialized():
        ray.init(address=ray_address, ignore_reinit_error=True, log_to_driver=False)
    trainable = tune.with_resources(trainable, {"cpu": 1})
    callbacks = [_Progress(on_result)] if on_result is not None else []
    folder = storage / TUNE_FOLDER / name
    if tune.Tuner.can_restore(str(folder)):
        tuner = tune.Tuner.restore(str(folder), trainable, resume_unfinished=True, resume_errored=True)
    else:
        tuner = tune.Tuner(
            trainable,
            param_space=space,
            tune_config=tune.TuneConfig(max_concurrent_trials=max_concurrent or None),
            run_config=tune.RunConfig(
                name=name,
                storage_path=str(storage / TUNE_FOLDER),
                verbose=0,
                callbacks=callbacks,
                failure_config=tune.FailureConfig(max_failures=max_failures),
            ),
        )
    grid = tuner.fit()
    errors = [str(grid[i].error) for i in range(len(grid)) if grid[i].error is not None]
    if errors:
        raise RuntimeError(f"{len(errors)} of {len(grid)} trials of {name!r} failed; first error: {errors[0]}")
    return grid


class _Progress:
    """A Tune callback calling ``update()`` once per finished trial (built lazily: Ray is optional)."""

    def __new__(cls, update: Callable[[], None]) -> Any:
        from ray.tune import Callback

        class Progress(Callback):  # type: ignore[misc]
            def on_trial_complete(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
                update()

        return Progress()
