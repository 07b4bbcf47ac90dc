"""Every refusal goes the one command-line way: before any work, one line on stderr naming the flag, the
value and what is allowed, exit status 2, no traceback and nothing written; and a second experiment on one
``--run-dir`` is refused at once while the first finishes."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from agents.analysis.paper_task import draw_paper_task, save_task_arrays
from scripts import bench_env, train_sb3
from scripts.figure1 import run as figure1
from scripts.lq import run as lq

ROOT = Path(__file__).resolve().parents[2]


def refused(main: Callable[[list[str]], Any], argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run ``main(argv)``; it must exit with status 2 and one line on stderr, which is returned."""
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err and captured.out == ""
    return lines[0]


@pytest.mark.parametrize(
    ("main", "argv", "expected"),
    [
        (figure1.main, ["--quick", "--device", "quantum"], "device (--device) must be a torch device"),
        (lq.main, ["--quick", "--device", "quantum"], "device (--device) must be a torch device"),
        (figure1.main, ["--quick", "--seq-len", "1000000000"], "--seq-len=1000000000"),
        (figure1.main, ["--quick", "--batch-size", "100000000"], "--batch-size=100000000"),
        (train_sb3.main, ["--num-envs", "100000000"], "--num-envs=100000000"),
        (bench_env.main, ["--num-envs", "1000000000"], "--num-envs=1000000000"),
        (figure1.main, ["--quick", "--sigma", "1e-300"], "sigma (--sigma) must be at least 1e-30"),
        (figure1.main, ["--quick", "--sigma", "1e-50"], "sigma (--sigma) must be at least 1e-30"),
        (
            figure1.main,
            ["--quick", "--seeds", "x"],
            "--seeds: invalid literal for int() with base 10: 'x' (allowed: --seeds INT)",
        ),
        (figure1.main, ["--quick", "--no-such-flag"], "Unrecognized options: --no-such-flag"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else None,
)
def test_a_bad_value_is_refused_in_one_line_before_any_work(
    main: Callable[[list[str]], Any],
    argv: list[str],
    expected: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # a default run folder would land here
    line = refused(main, [*argv, "--run-dir", str(tmp_path / "run")] if main is not bench_env.main else argv, capsys)
    assert expected in line
    assert "GiB" not in expected or "over the 4 GiB limit" in line  # what is allowed
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(torch.cuda.is_available(), reason="this torch sees a GPU: cuda is a device it can use")
def test_cuda_on_a_cpu_only_torch_is_refused_naming_device(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = refused(figure1.main, ["--quick", "--device", "cuda", "--run-dir", str(tmp_path / "run")], capsys)
    assert "device (--device) 'cuda'" in line and "allowed: 'cpu'" in line
    assert list(tmp_path.iterdir()) == []


def test_a_task_file_whose_test_contexts_are_off_the_sphere_is_refused_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shape = {key: getattr(figure1.QUICK, key) for key in ("vocab_size", "context_dim", "num_components", "sigma")}
    arrays = draw_paper_task(0, **shape, test_size=figure1.QUICK.test_size)
    task_file = save_task_arrays(
        tmp_path / "task.npz", arrays._replace(test_contexts=np.full_like(arrays.test_contexts, 1e6))
    )
    line = refused(figure1.main, ["--quick", "--task-file", str(task_file), "--run-dir", str(tmp_path / "run")], capsys)
    assert line.startswith("figure1: error: task_file (--task-file)") and "1e+06" in line
    assert not (tmp_path / "run").exists()


def test_a_second_experiment_on_one_run_dir_is_refused_at_once(tmp_path: Path) -> None:
    """Two real processes: the second, started while the first works, is refused with the one "in use" line
    before it reads the folder; the first finishes and writes its numbers."""
    run_dir = tmp_path / "run"
    command = [sys.executable, "-m", "scripts.figure1", "--quick", "--seeds", "1", "--workers", "1"]
    command += ["--run-dir", str(run_dir), "--no-progress"]
    first = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (run_dir / "task.npz").exists():  # written by the first inside its lock
            assert first.poll() is None and time.monotonic() < deadline, "the first run did not start"
            time.sleep(0.1)
        second = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
        first_running = first.poll() is None
        out, err = first.communicate(timeout=600)
    finally:
        first.kill()
    assert second.returncode == 1
    assert second.stderr.strip().splitlines() == [
        f"figure1: --run-dir {run_dir} is in use by another process (it holds {run_dir / 'experiment.lock'}); "
        "wait for it to finish, or give another --run-dir"
    ]
    assert second.stdout == ""  # it printed no run folder: it did no work
    assert first_running, "the first run ended before the second was refused: the test proves nothing"
    assert first.returncode == 0, err[-2000:]
    assert (run_dir / "figure1_summary.json").is_file()
