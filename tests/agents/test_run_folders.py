"""Run folders that never lose, mix up or run foreign code: each case here once failed (a step logged twice,
a metrics file emptied or unreadable, a config that pinned absolute paths, a second process in the same
folder, orphaned workers, a duplicated TensorBoard tag, an empty events file per rerun)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from agents.experiment.loop import train
from agents.learners.group_pg import GroupPGConfig
from agents.learners.paper_pg import PaperPG
from agents.runs.files import clear_run_folder, record_written
from agents.runs.folder import CHECKPOINT, METRICS, Run, finished_run, read_metrics
from agents.runs.problems import RunFolderError
from tests.agents.test_runs import EVAL_EVERY, STEPS, make_agent, run_once

ROOT = Path(__file__).resolve().parents[2]


def eval_steps(path: Path) -> list[int]:
    return [record["step"] for record in read_metrics(path) if "eval/test_error" in record]


def test_an_interrupt_before_the_first_checkpoint_after_step_0_logs_step_0_once(tmp_path: Path) -> None:
    run_once(tmp_path / "straight")
    run_once(tmp_path / "resumed", stop_after=2)  # steps 0, 1, 2 logged; the only checkpoint is step 0's
    assert eval_steps(tmp_path / "resumed") == [0]
    run_once(tmp_path / "resumed")
    assert read_metrics(tmp_path / "resumed") == read_metrics(tmp_path / "straight")
    # killed between step 0's record and its checkpoint: nothing checkpointed, so everything starts over
    run_once(tmp_path / "killed", stop_after=2)
    (tmp_path / "killed" / CHECKPOINT).unlink()
    run_once(tmp_path / "killed")
    assert read_metrics(tmp_path / "killed") == read_metrics(tmp_path / "straight")


def test_a_cut_last_line_is_dropped_on_resume_and_a_damaged_line_is_reported_by_name(tmp_path: Path) -> None:
    run_once(tmp_path / "straight")
    folder = tmp_path / "resumed"
    run_once(folder, stop_after=13)
    metrics = folder / METRICS
    inode = metrics.stat().st_ino
    with open(metrics, "a") as file:
        file.write('{"step": 14, "train/rew')  # an append cut short by a kill
    run_once(folder)
    assert read_metrics(folder) == read_metrics(tmp_path / "straight")
    assert metrics.stat().st_ino != inode  # truncated by replacing the file, never rewritten in place
    lines = metrics.read_text().splitlines()
    metrics.write_text("\n".join([lines[0], "{not json", *lines[1:]]) + "\n")
    with pytest.raises(RunFolderError, match=r"metrics.jsonl: line 2 is damaged"):
        read_metrics(folder)
    with pytest.raises(RunFolderError, match=r"metrics.jsonl: line 2"):
        Run(folder, {"steps": STEPS})


def test_an_empty_or_damaged_checkpoint_is_reported_by_name(tmp_path: Path) -> None:
    run_once(tmp_path, stop_after=1)
    (tmp_path / CHECKPOINT).write_bytes(b"")
    with pytest.raises(RunFolderError, match=r"checkpoint.pt: is empty"):
        Run(tmp_path, {"steps": STEPS})
    (tmp_path / CHECKPOINT).write_bytes(b"PK\x03\x04 not a zip at all")
    with pytest.raises(RunFolderError, match=r"checkpoint.pt: is damaged"):
        Run(tmp_path, {"steps": STEPS})


def test_a_moved_folder_or_one_spelled_differently_resumes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    model = Path("models") / "base.pt"

    def config(folder: str) -> dict[str, Any]:
        return {"run_dir": folder, "base_model": str(Path(folder) / "base.pt"), "other_model": str(model)}

    with Run("a/run", config("a/run")):
        pass
    saved = json.loads(Path("a/run/config.json").read_text())
    assert saved == {"run_dir": ".", "base_model": "base.pt", "other_model": "models/base.pt"}
    with Run("./a/x/../run/", config("./a/x/../run/")):  # the same folder spelled differently
        pass
    with Run(tmp_path / "a" / "run", config(str(tmp_path / "a" / "run"))):  # absolute
        pass
    shutil.move("a", "b")
    with Run("b/run", config("b/run")):  # moved
        pass
    with pytest.raises(RunFolderError, match=r"other_model: 'models/base.pt' -> 'elsewhere/base.pt'"):
        Run("b/run", {**config("b/run"), "other_model": "elsewhere/base.pt"})


def test_resuming_with_another_optimizer_is_refused_by_the_config_comparison(tmp_path: Path) -> None:
    with Run(tmp_path, {"config": asdict(GroupPGConfig(optimizer="sgd"))}):
        pass
    with pytest.raises(RunFolderError, match=r"config.optimizer: 'sgd' -> 'adam'"):
        Run(tmp_path, {"config": asdict(GroupPGConfig(optimizer="adam"))})


def test_a_finished_run_is_reused_only_under_its_own_config(tmp_path: Path) -> None:
    assert finished_run(tmp_path, {"seed": 1}) is None
    with Run(tmp_path, {"seed": 1}) as run:
        run.finish({"final": 0.5})
    assert finished_run(tmp_path, {"seed": 1}) == {"final": 0.5}
    with pytest.raises(RunFolderError, match=r"seed: 1 -> 2"):
        finished_run(tmp_path, {"seed": 2})


def test_reward_queries_are_one_scalar_per_evaluation_and_a_rerun_adds_no_events_file(tmp_path: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run_once(tmp_path)
    events = sorted((tmp_path / "tb").glob("events.out.tfevents.*"))
    run_once(tmp_path)  # finished: nothing to train, nothing logged
    assert sorted((tmp_path / "tb").glob("events.out.tfevents.*")) == events
    accumulator = EventAccumulator(str(tmp_path / "tb"))
    accumulator.Reload()
    steps = [event.step for event in accumulator.Scalars("train/reward_queries")]
    assert steps == [0, *range(1, STEPS + 1)]  # once per step, the evaluations' steps included


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"total_steps": -5}, "total_steps must be an integer >= 0"),
        ({"eval_every": 0}, "eval_every must be an integer >= 1"),
        ({"total_steps": "10"}, "total_steps must be an integer"),
        ({"log_every": 1.5}, "log_every must be an integer"),
    ],
)
def test_train_refuses_bad_budgets_before_any_work(settings: dict[str, Any], message: str, tmp_path: Path) -> None:
    agent: PaperPG = make_agent()
    arguments = {"total_steps": STEPS, "eval_every": EVAL_EVERY, **settings}
    with Run(tmp_path, {"steps": STEPS}) as run, pytest.raises(ValueError, match=message):
        train(run, agent, arguments.pop("total_steps"), show_progress=False, **arguments)
    assert read_metrics(tmp_path) == []


def test_a_second_process_on_the_same_folder_is_refused(tmp_path: Path) -> None:
    code = (
        "import sys; from agents.runs.folder import Run, RunFolderBusy\n"
        "try:\n    Run(sys.argv[1], {'steps': 1})\nexcept RunFolderBusy as error:\n    print(error); sys.exit(3)\n"
    )
    with Run(tmp_path, {"steps": 1}):
        other = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, cwd=ROOT)
    assert other.returncode == 3, other.stderr
    assert "in use by another process" in other.stdout
    again = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, cwd=ROOT)
    assert again.returncode == 0, again.stdout + again.stderr  # released on close


def test_clearing_a_run_folder_removes_only_what_the_run_wrote(tmp_path: Path) -> None:
    foreign = tmp_path / "notes"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("mine")
    with pytest.raises(RunFolderError, match="not a run folder"):
        clear_run_folder(tmp_path, "x")
    assert (foreign / "keep.txt").read_text() == "mine"
    (tmp_path / "runs" / "a").mkdir(parents=True)
    for name in ("out.csv", "runs/a/out.csv", "runs/a/changed.csv"):
        (tmp_path / name).write_text("x")
    record_written(tmp_path, [tmp_path / "out.csv"], "x")
    record_written(tmp_path / "runs" / "a", [tmp_path / "runs/a/out.csv", tmp_path / "runs/a/changed.csv"], "run")
    (tmp_path / "runs/a/changed.csv").write_text("edited since")
    (tmp_path / "runs/a/mine.txt").write_text("mine")
    kept = clear_run_folder(tmp_path, "x")
    assert kept == [tmp_path / "notes/keep.txt", tmp_path / "runs/a/changed.csv", tmp_path / "runs/a/mine.txt"]
    assert sorted(str(path.relative_to(tmp_path)) for path in tmp_path.rglob("*") if path.is_file()) == [
        "manifest.json",
        "notes/keep.txt",
        "runs/a/changed.csv",
        "runs/a/manifest.json",
        "runs/a/mine.txt",
    ]  # the manifests stay (emptied) where files were kept: the folders remain run folders


@pytest.mark.parametrize("name", ["tb", METRICS, CHECKPOINT])
def test_a_folder_with_run_files_but_no_config_is_refused_untouched(name: str, tmp_path: Path) -> None:
    foreign = tmp_path / name
    if name == "tb":
        foreign.mkdir()
        (foreign / "mine.txt").write_text("mine")
    else:
        foreign.write_text("mine")
    for resume in (True, False):
        with pytest.raises(RunFolderError, match=f"holds {name} but no config.json"):
            Run(tmp_path, {"learner": "x"}, resume=resume)
    assert (foreign / "mine.txt" if name == "tb" else foreign).read_text() == "mine"
    assert not (tmp_path / "config.json").exists()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_pool_workers_end_when_their_parent_is_killed(tmp_path: Path) -> None:
    code = (
        "import time\nfrom agents.experiment.sweep import run_sweep\n"
        "if __name__ == '__main__':\n    run_sweep(time.sleep, [60, 60], workers=2, show_progress=False)\n"
    )
    script = tmp_path / "parent.py"
    script.write_text(code)
    parent = subprocess.Popen([sys.executable, str(script)], cwd=ROOT)
    try:
        workers: list[int] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(workers) < 2:
            time.sleep(0.2)
            children = Path(f"/proc/{parent.pid}/task/{parent.pid}/children").read_text().split()
            workers = [int(pid) for pid in children if "multiprocessing" in _cmdline(int(pid))]
            workers = [pid for pid in workers if "resource_tracker" not in _cmdline(pid)]
        assert len(workers) == 2
    finally:
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(pid) for pid in workers):
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in workers)


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except FileNotFoundError:
        return ""
