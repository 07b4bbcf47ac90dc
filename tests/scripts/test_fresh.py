"""``--fresh`` removes only what a run wrote, and only in a folder that is a run folder: any other folder is
refused and left intact (it once deleted whatever ``--run-dir`` named)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agents.experiment.cli import EXPERIMENT_MARKER, mark_experiment_folder, record_outputs, start_fresh
from scripts import train_sb3
from scripts.barrier import run as barrier
from scripts.compare import run as compare
from scripts.compare_sb3 import run as compare_sb3
from scripts.figure1 import run as figure1
from scripts.lq import run as lq
from scripts.margin import run as margin
from scripts.mistakes import run as mistakes
from scripts.robustness import run as robustness

MAINS: dict[str, Callable[[list[str]], Any]] = {
    "margin": margin.main,
    "barrier": barrier.main,
    "mistakes": mistakes.main,
    "compare": compare.main,
    "compare_sb3": compare_sb3.main,
    "lq": lq.main,
    "train_sb3": train_sb3.main,
    "figure1": figure1.main,
    "robustness": robustness.main,
}


@pytest.mark.parametrize("name", sorted(MAINS))
def test_fresh_refuses_a_folder_that_is_not_a_run_folder(name: str, tmp_path: Path) -> None:
    important = tmp_path / "important"
    important.mkdir()
    (important / "thesis.tex").write_text("years of work")
    quick = [] if name == "train_sb3" else ["--quick"]
    with pytest.raises(SystemExit, match="not a run folder"):
        MAINS[name]([*quick, "--fresh", "--no-progress", "--run-dir", str(tmp_path)])
    assert (important / "thesis.tex").read_text() == "years of work"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["important"]


def test_fresh_removes_what_the_experiment_wrote_and_keeps_the_rest(tmp_path: Path) -> None:
    started = time.time_ns()
    mark_experiment_folder(tmp_path, "margin")
    for name in ("runs", "tb_margin"):
        (tmp_path / name / "inner").mkdir(parents=True)
        (tmp_path / name / "inner" / "events.out.tfevents.1").write_text("events")
    for name in ("margin.png", "margin.csv", "margin.json"):
        (tmp_path / name).write_text("output")
    record_outputs(tmp_path, "margin", margin.EXPERIMENT.written(), started)
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "runs" / "inner" / "notes.txt").write_text("mine too")
    with pytest.raises(SystemExit, match="another experiment"):
        start_fresh(tmp_path, "barrier", barrier.EXPERIMENT.written())
    assert len(list(tmp_path.iterdir())) == 8
    start_fresh(tmp_path, "margin", margin.EXPERIMENT.written())
    left = sorted(str(path.relative_to(tmp_path)) for path in tmp_path.rglob("*") if path.is_file())
    assert left == [EXPERIMENT_MARKER, "manifest.json", "notes.txt", "runs/inner/notes.txt"]
