"""Sweeps as Ray Tune trials on a local Ray with two CPUs: a driver killed mid-sweep, then resumed, leaves
every trial's folder under the storage path exactly once and re-runs no finished trial."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agents.experiment.jobs import FINAL_MODEL
from agents.experiment.tune import experiment_name, run_tune_search, storage_for
from agents.runs.folder import DONE, without_seal

DRIVER = """
import json
import sys

import ray

from agents.experiment.jobs import Evaluation, Job, TaskSpec, run_job
from agents.experiment.tune import run_tune_sweep
from agents.learners.pretrain import PretrainConfig

storage = sys.argv[1]
task = TaskSpec({"seq_len": 3, "vocab_size": 3, "context_dim": 4, "num_components": 4})
jobs = [
    Job(learner="pretrain", config=PretrainConfig(batch_size=64), task=task, budget=400, seed=seed,
        run_dir=f"{storage}/seed{seed}", evaluation=Evaluation(every=400, test_size=64))
    for seed in range(JOBS)
]
ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
print("RESULTS " + json.dumps(run_tune_sweep(run_job, jobs, name="tiny sweep", max_concurrent=2)))
"""
JOBS = 4


def trial_folders(storage: Path) -> list[Path]:
    return sorted((storage / "ray_tune" / "tiny-sweep").glob("run_trial_*"))


def reported(folder: Path) -> int:
    """How many results the trial reported (one line each in Tune's result.json)."""
    path = folder / "result.json"
    return len(path.read_text().splitlines()) if path.exists() else 0


@pytest.mark.slow
def test_interrupted_sweep_resumes_as_a_whole(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    storage = tmp_path / "storage"
    script = tmp_path / "driver.py"
    script.write_text(DRIVER.replace("JOBS", str(JOBS)))
    env = {**os.environ, "TUNE_GLOBAL_CHECKPOINT_S": "1", "RAY_DEDUP_LOGS": "0"}
    driver = subprocess.Popen(
        [sys.executable, str(script), str(storage)], env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not any(reported(folder) for folder in trial_folders(storage)):
        time.sleep(0.5)
    time.sleep(3)  # let the sweep record the finished trial
    finished_before = {folder.name for folder in trial_folders(storage) if reported(folder)}
    assert driver.poll() is None and 0 < len(finished_before) < JOBS, "the driver must be killed mid-sweep"
    os.killpg(driver.pid, signal.SIGKILL)  # the driver and the local Ray it started
    driver.wait()

    resumed = subprocess.run(
        [sys.executable, str(script), str(storage)], env=env, capture_output=True, text=True, timeout=400
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    [line] = [line for line in resumed.stdout.splitlines() if line.startswith("RESULTS ")]
    results = json.loads(line.removeprefix("RESULTS "))
    assert [result["learner"] for result in results] == ["pretrain"] * JOBS
    assert [result["final_step"] for result in results] == [400] * JOBS
    for seed, result in enumerate(results):  # each trial's result is its run's own summary
        assert result == without_seal(storage / f"seed{seed}" / DONE)
    folders = trial_folders(storage)
    indices = sorted(json.loads((folder / "params.json").read_text())["index"] for folder in folders)
    assert indices == list(range(JOBS))  # every trial's folder under the storage path, exactly once
    assert all(reported(folder) == 1 for folder in folders)  # finished trials were not run again
    assert finished_before <= {folder.name for folder in folders}
    for seed in range(JOBS):
        assert (storage / f"seed{seed}" / FINAL_MODEL).is_file()


def test_storage_holds_every_run_folder(tmp_path: Path) -> None:
    class Job:
        def __init__(self, run_dir: Path) -> None:
            self.run_dir = str(run_dir)

    jobs = [Job(tmp_path / "runs" / "a" / "seed0"), Job(tmp_path / "runs" / "b" / "seed0")]
    assert storage_for(jobs) == (tmp_path / "runs").resolve()
    assert storage_for(jobs, tmp_path) == tmp_path.resolve()
    with pytest.raises(ValueError, match="storage_path .* must hold every job's run folder"):
        storage_for(jobs, tmp_path / "elsewhere")
    with pytest.raises(ValueError, match="every job needs a run_dir"):
        storage_for([object()])
    assert experiment_name("tuning runs") == "tuning-runs"
    with pytest.raises(ValueError, match="description must contain"):
        experiment_name(" / ")


def test_search_needs_the_full_grid_of_its_axes(tmp_path: Path) -> None:
    class Job:
        run_dir = str(tmp_path / "run")

    with pytest.raises(ValueError, match="at least one point"):
        run_tune_search(print, {}, ("learning_rate", "seed"), float)
    with pytest.raises(ValueError, match=r"one value per axis of \['learning_rate', 'seed'\]"):
        run_tune_search(print, {(0.5,): Job()}, ("learning_rate", "seed"), float)
    with pytest.raises(ValueError, match="full grid of"):  # (2.0, 1) missing
        run_tune_search(print, {(0.5, 0): Job(), (0.5, 1): Job(), (2.0, 0): Job()}, ("learning_rate", "seed"), float)
