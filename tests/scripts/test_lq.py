"""The LQ script end to end on a tiny setting: every file it promises, quantiles that agree with the run's
likelihoods, and a rerun that only redraws."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from scripts.lq import run as lq
from scripts.lq.analysis import LEVELS

TINY = [
    "--seq-len", "4", "--vocab-size", "3", "--context-dim", "4", "--steps", "20", "--checkpoint-every", "10",
    "--batch-size", "16", "--num-contexts", "64", "--eps", "0.1", "0.5", "--no-progress",
]  # fmt: skip


def test_lq_writes_its_files_and_resumes(tmp_path: Path) -> None:
    run_dir = lq.main([*TINY, "--run-dir", str(tmp_path)])
    assert (run_dir / "lq.png").stat().st_size > 10_000
    summary = json.loads((run_dir / "lq.json").read_text())
    assert summary["steps"] == [0, 10, 20]
    # step 0 is the uniform model: p(y*|x) = 3^-4 and every next-token probability 1/3, on every context
    assert summary["test_error"][0] == pytest.approx(1 - 3.0**-4)
    assert summary["log10_lq"]["sequence"]["0.1"][0] == pytest.approx(-4 * np.log10(3))
    assert summary["log10_lq"]["token"]["0.5"][0] == pytest.approx(-np.log10(3))
    assert summary["test_error"][-1] < summary["test_error"][0]
    for step in summary["steps"]:
        saved = np.load(run_dir / "likelihoods" / f"step{step:06d}.npz")
        assert saved["sequence"].shape == saved["token"].shape == (64,)
        assert (saved["sequence"] <= saved["token"] + 1e-12).all()  # p(y*|x) <= min_i p(y*_i | ...)
        assert (run_dir / "pretrain" / "models" / f"step{step:06d}.pt").exists()  # the job kept each model
    final = np.load(run_dir / "likelihoods" / "step000020.npz")
    assert summary["log10_lq"]["sequence"]["0.5"][-1] == pytest.approx(np.sort(final["sequence"])[32])
    with open(run_dir / "lq.csv") as file:
        rows = list(csv.DictReader(file))
    assert {(row["step"], row["level"]) for row in rows} == {(s, v) for s in ("0", "10", "20") for v in LEVELS}
    assert list((run_dir / "pretrain" / "tb").glob("events.out.tfevents.*"))
    assert list((run_dir / "tb_lq").glob("events.out.tfevents.*"))  # the quantiles and histograms
    written = [run_dir / "pretrain" / "checkpoint.pt", *(run_dir / "likelihoods").iterdir()]
    stamps = [path.stat().st_mtime_ns for path in written]
    again = lq.main([*TINY, "--run-dir", str(tmp_path)])
    assert json.loads((again / "lq.json").read_text()) == summary
    assert [path.stat().st_mtime_ns for path in written] == stamps  # nothing was trained or evaluated again
    with pytest.raises(SystemExit, match="different config"):
        lq.main([*TINY, "--learning-rate", "0.5", "--run-dir", str(tmp_path)])


@pytest.mark.parametrize(
    ("flags", "message"),
    [(["--eps", "0.1", "1.5"], "--eps"), (["--eps", "a"], "--eps"), (["--contexts", "gaussian"], "--contexts")],
)
def test_bad_settings_fail_early(
    flags: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "1000")  # one line per message in the error box
    with pytest.raises(SystemExit) as refused:
        lq.main([*TINY, *flags, "--run-dir", str(tmp_path)])
    assert message in str(refused.value) + capsys.readouterr().err
