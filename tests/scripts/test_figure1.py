"""The Figure-1 script end to end on a tiny setting: every file it promises, numbers that make sense, resume."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from scripts import figure1

TINY = [
    "--seq-len", "5", "--vocab-size", "4", "--context-dim", "4", "--num-components", "4",
    "--pretrain-steps", "20", "--pretrain-batch-size", "32", "--pg-steps", "12", "--batch-size", "32",
    "--test-size", "64", "--eval-every", "4", "--no-progress",
]  # fmt: skip


def test_figure1_writes_its_files_and_resumes(tmp_path: Path) -> None:
    run_dir = figure1.main([*TINY, "--run-dir", str(tmp_path), "--workers", "1"])
    assert (run_dir / "figure1.png").stat().st_size > 10_000
    summary = json.loads((run_dir / "figure1.json").read_text())
    for name in ("orm", "prm"):
        curve = summary[name]
        assert curve["step"] == [0, 4, 8, 12]
        assert all(0.0 <= error <= 1.0 for error in curve["test_error"])
        assert len(curve["centre_likelihood"][0]) == 4
        assert list((run_dir / name / "tb").glob("events.out.tfevents.*"))
        assert (run_dir / name / "final_model.pt").exists()
    # both runs start from the same base model
    assert summary["orm"]["test_error"][0] == summary["prm"]["test_error"][0]
    assert summary["off_support_centres"]
    with open(run_dir / "figure1.csv") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 8 and {row["reward"] for row in rows} == {"orm", "prm"}
    # a second call finds every run complete and redraws from the same metrics
    again = figure1.main([*TINY, "--run-dir", str(tmp_path), "--workers", "1"])
    assert json.loads((again / "figure1.json").read_text())["orm"] == summary["orm"]


def test_off_support_falls_back_to_the_lowest_centres() -> None:
    import numpy as np

    chosen, threshold = figure1.off_support_centres(np.array([0.5, 1e-3, 0.2, 0.9]), 1e-12)
    assert chosen.tolist() == [1] and threshold > 1e-3
    chosen, threshold = figure1.off_support_centres(np.array([1e-20, 0.5, 1e-13, 0.9]), 1e-12)
    assert chosen.tolist() == [0, 2] and threshold == 1e-12
