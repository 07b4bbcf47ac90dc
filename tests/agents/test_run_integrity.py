"""Results tied to the content of their inputs and checkpoints to their run: each case here once returned stale
or mixed numbers (a replaced base model or task file reused, another run's checkpoint resumed, metrics lost
under a checkpoint or a finished run, a ``done.json`` of the wrong type returned as the summary)."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import torch

from agents.analysis.paper_task import PaperTaskArrays, save_task_arrays
from agents.experiment.jobs import FINAL_MODEL, Evaluation, Job, TaskSpec, run_job
from agents.learners.pretrain import PretrainConfig
from agents.learners.uniform_pg import UniformPG, UniformPGConfig
from agents.runs.folder import CHECKPOINT, CONFIG, DONE, METRICS, read_metrics
from agents.runs.problems import RunFolderError
from seqreward_env import SequenceTask

TINY = {"seq_len": 3, "vocab_size": 3, "context_dim": 4, "num_components": 4}


def pretrain(folder: Path, seed: int = 0, steps: int = 6) -> Path:
    job = Job(
        learner="pretrain",
        config=PretrainConfig(batch_size=8),
        task=TaskSpec(TINY),
        budget=steps,
        seed=seed,
        run_dir=str(folder),
        evaluation=Evaluation(every=3, test_size=16),
    )
    run_job(job)
    return folder / FINAL_MODEL


def pg_job(folder: Path, base: Path, **changes: Any) -> Job:
    settings: dict[str, Any] = {
        "learner": "uniform_pg",
        "config": UniformPGConfig(),
        "task": TaskSpec(TINY),
        "budget": 8,
        "seed": 3,
        "run_dir": str(folder),
        "rows": 4,
        "base_model": str(base),
        "evaluation": Evaluation(every=2, test_size=16),
    }
    settings.update(changes)
    return Job(**settings)


def interrupted(job: Job, after: int) -> None:
    """Run ``job`` and interrupt it in its update number ``after + 1`` (after the checkpoint at ``after``)."""
    learner = UniformPG
    original = learner.train_step
    calls = {"n": 0}

    def train_step(self: Any, step: int) -> dict[str, Any]:
        calls["n"] += 1
        if calls["n"] == after + 1:
            raise KeyboardInterrupt
        return original(self, step)

    learner.train_step = train_step  # type: ignore[method-assign]
    try:
        with pytest.raises(KeyboardInterrupt):
            run_job(job)
    finally:
        learner.train_step = original  # type: ignore[method-assign]
    assert not (Path(job.run_dir) / DONE).exists()


@pytest.fixture(scope="module")
def bases(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("bases")
    return pretrain(root / "a", seed=0), pretrain(root / "b", seed=1, steps=9)


def test_a_finished_job_on_a_replaced_base_model_is_refused_naming_the_file(
    bases: tuple[Path, Path], tmp_path: Path
) -> None:
    base = tmp_path / "base.pt"
    shutil.copy(bases[0], base)
    first = run_job(pg_job(tmp_path / "pg", base))
    assert run_job(pg_job(tmp_path / "pg", base)) == first  # the same content: reused
    shutil.copy(bases[1], base)  # pre-training run again into the same file
    with pytest.raises(RunFolderError, match=rf"{base}: its content is not that of the file the run .* used"):
        run_job(pg_job(tmp_path / "pg", base))
    fresh = run_job(pg_job(tmp_path / "other", base))
    assert fresh["base_test_error"] != first["base_test_error"]


def test_an_interrupted_job_does_not_resume_on_a_replaced_base_model(bases: tuple[Path, Path], tmp_path: Path) -> None:
    base = tmp_path / "base.pt"
    shutil.copy(bases[0], base)
    interrupted(pg_job(tmp_path / "pg", base), after=4)
    shutil.copy(bases[1], base)
    with pytest.raises(RunFolderError, match=r"base.pt: its content"):
        run_job(pg_job(tmp_path / "pg", base))


def test_a_replaced_task_file_is_refused_naming_it(tmp_path: Path) -> None:
    def write(seed: int) -> Path:
        task = SequenceTask(**TINY, task_seed=seed)
        arrays = PaperTaskArrays(task.teacher_w1, task.teacher_w2, task.test_contexts(32))
        return save_task_arrays(tmp_path / "task.npz", arrays)

    task_file = write(0)
    job = Job(
        learner="pretrain",
        config=PretrainConfig(batch_size=8),
        task=TaskSpec(TINY, task_file=str(task_file)),
        budget=4,
        seed=0,
        run_dir=str(tmp_path / "run"),
        evaluation=Evaluation(every=2, test_size=16),
    )
    run_job(job)
    write(1)
    with pytest.raises(RunFolderError, match=rf"{task_file}: its content .* .task.task_file sha256"):
        run_job(job)


def test_a_finished_folder_moved_or_reached_through_a_symlink_is_reused(
    bases: tuple[Path, Path], tmp_path: Path
) -> None:
    experiment = tmp_path / "experiment"
    experiment.mkdir()
    base = experiment / "base.pt"
    shutil.copy(bases[0], base)
    first = run_job(pg_job(experiment / "pg", base))
    saved = json.loads((experiment / "pg" / CONFIG).read_text())
    assert saved["base_model"] == {"sha256": saved["base_model"]["sha256"]}  # content, not a path
    moved = tmp_path / "moved"
    shutil.move(experiment, moved)
    assert run_job(pg_job(moved / "pg", moved / "base.pt")) == first
    (tmp_path / "link").symlink_to(moved)
    assert run_job(pg_job(tmp_path / "link" / "pg", tmp_path / "link" / "base.pt")) == first


def test_a_checkpoint_from_another_run_is_refused(bases: tuple[Path, Path], tmp_path: Path) -> None:
    interrupted(pg_job(tmp_path / "a", bases[0]), after=4)
    interrupted(pg_job(tmp_path / "b", bases[0], seed=4), after=4)
    shutil.copy(tmp_path / "b" / CHECKPOINT, tmp_path / "a" / CHECKPOINT)
    with pytest.raises(RunFolderError, match=rf"{CHECKPOINT}: was written by another run .*; delete {CHECKPOINT}"):
        run_job(pg_job(tmp_path / "a", bases[0]))


def test_a_checkpoint_whose_step_was_changed_is_refused(bases: tuple[Path, Path], tmp_path: Path) -> None:
    interrupted(pg_job(tmp_path / "a", bases[0]), after=4)
    path = tmp_path / "a" / CHECKPOINT
    saved = torch.load(path, weights_only=True)
    torch.save({**saved, "step": 2}, path)
    with pytest.raises(RunFolderError, match=r"does not match its own seal"):
        run_job(pg_job(tmp_path / "a", bases[0]))


@pytest.mark.parametrize("damage", ["truncated", "emptied", "deleted", "changed"])
def test_metrics_lost_or_changed_under_a_checkpoint_are_refused(
    damage: str, bases: tuple[Path, Path], tmp_path: Path
) -> None:
    interrupted(pg_job(tmp_path / "a", bases[0]), after=4)
    metrics = tmp_path / "a" / METRICS
    lines = metrics.read_text().splitlines(keepends=True)
    if damage == "truncated":
        metrics.write_text("".join(lines[:-1]))
    elif damage == "emptied":
        metrics.write_text("")
    elif damage == "deleted":
        metrics.unlink()
    else:
        metrics.write_text("".join(lines).replace('"step": 2,', '"step": 1,'))
    match = "were changed" if damage == "changed" else "records were lost"
    with pytest.raises(RunFolderError, match=rf"{METRICS}: .*{match}.*; delete {CHECKPOINT}"):
        run_job(pg_job(tmp_path / "a", bases[0]))


def test_metrics_after_the_checkpoint_are_dropped_and_the_run_ends_as_an_uninterrupted_one(
    bases: tuple[Path, Path], tmp_path: Path
) -> None:
    straight = run_job(pg_job(tmp_path / "straight", bases[0]))
    interrupted(pg_job(tmp_path / "a", bases[0]), after=4)
    with open(tmp_path / "a" / METRICS, "a") as file:  # logged after the checkpoint, then killed
        file.write(json.dumps({"step": 5, "train/reward": 0.5}) + "\n")
    resumed = run_job(pg_job(tmp_path / "a", bases[0]))
    assert read_metrics(tmp_path / "a") == read_metrics(tmp_path / "straight")
    assert {k: v for k, v in resumed.items()} == straight


@pytest.mark.parametrize("damage", ["last line lost", "a record changed"])
def test_a_finished_run_whose_metrics_changed_is_not_reused(
    damage: str, bases: tuple[Path, Path], tmp_path: Path
) -> None:
    run_job(pg_job(tmp_path / "a", bases[0]))
    metrics = tmp_path / "a" / METRICS
    lines = metrics.read_text().splitlines(keepends=True)
    metrics.write_text("".join(lines[:-1]) if damage == "last line lost" else "".join(lines).replace("0.", "1.", 1))
    with pytest.raises(RunFolderError, match=rf"{METRICS}: is not what the finished run logged"):
        run_job(pg_job(tmp_path / "a", bases[0]))


@pytest.mark.parametrize("content", ["[1, 2]", '"text"', "{}", "{not json", "\x00\xff"])
def test_a_done_file_of_the_wrong_type_or_without_its_seal_is_refused(
    content: str, bases: tuple[Path, Path], tmp_path: Path
) -> None:
    run_job(pg_job(tmp_path / "a", bases[0]))
    (tmp_path / "a" / DONE).write_bytes(content.encode("latin-1"))
    with pytest.raises(RunFolderError, match=rf"{DONE}: .*; delete {DONE}"):
        run_job(pg_job(tmp_path / "a", bases[0]))


def test_a_done_file_copied_from_another_run_is_refused(bases: tuple[Path, Path], tmp_path: Path) -> None:
    run_job(pg_job(tmp_path / "a", bases[0]))
    run_job(pg_job(tmp_path / "b", bases[0], seed=5))
    shutil.copy(tmp_path / "b" / DONE, tmp_path / "a" / DONE)
    with pytest.raises(RunFolderError, match=r"is not the summary of this folder's run"):
        run_job(pg_job(tmp_path / "a", bases[0]))


def test_a_missing_base_model_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(RunFolderError, match=r"nowhere.pt: is missing or not a file \(the job's base_model\)"):
        run_job(pg_job(tmp_path / "a", tmp_path / "nowhere.pt"))


def test_jobs_that_differ_only_in_where_their_inputs_lie_are_the_same_run(
    bases: tuple[Path, Path], tmp_path: Path
) -> None:
    copy = tmp_path / "copy.pt"
    shutil.copy(bases[0], copy)
    job = pg_job(tmp_path / "a", bases[0])
    assert {k: v for k, v in job.identity().items() if k != "sources"} == {
        k: v for k, v in dataclasses.replace(job, base_model=str(copy)).identity().items() if k != "sources"
    }


@pytest.mark.parametrize("seq_len", [1])
def test_sb3_runs_never_write_nan_into_the_metrics(seq_len: int, tmp_path: Path) -> None:
    """explained_variance is NaN when the returns have no variance (every episode scored alike, as at N = 1
    with one row, or at a long N where no episode succeeds): the key is left out, never logged as NaN."""
    from agents.learners.sb3 import SB3Config

    job = Job(
        learner="sb3", config=SB3Config(algo="a2c", algo_kwargs={"n_steps": 2}),
        task=TaskSpec({**TINY, "seq_len": seq_len}, env_id="seqreward/Outcome-v0"), budget=16, seed=0,
        run_dir=str(tmp_path), rows=1, evaluation=Evaluation(every=8, test_size=8),
    )  # fmt: skip
    run_job(job)
    text = (tmp_path / METRICS).read_text()
    assert "NaN" not in text and "Infinity" not in text
    records = [record for record in read_metrics(tmp_path) if "train/value_loss" in record]
    assert records and all(
        "train/explained_variance" not in r or r["train/explained_variance"] == r["train/explained_variance"]
        for r in records
    )


def test_a_damaged_sb3_progress_file_is_refused_naming_it(tmp_path: Path) -> None:
    from agents.learners.sb3.logs import ResumedCSV

    path = tmp_path / "progress.csv"
    path.write_text("time/total_timesteps,x\n8,1\nnot a step,2\n")
    with pytest.raises(ValueError, match=rf"^{path}: a row has the step 'not a step', not a number; delete it"):
        ResumedCSV(path, 8)
    path.write_bytes(b"time/total_timesteps\n\xff\xfe\n")
    with pytest.raises(ValueError, match=rf"^{path}: is not a CSV file"):
        ResumedCSV(path, 8)
    path.write_text("time/total_timesteps,x\n8,1\n16,2\n,3\n")
    ResumedCSV(path, 8).close()
    assert path.read_text() == "time/total_timesteps,x\n8,1\n"
