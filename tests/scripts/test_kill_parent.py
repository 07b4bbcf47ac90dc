"""An experiment whose parent process is killed (SIGKILL, nothing to clean up) mid-run leaves no worker
behind, and the same command resumes to exactly the numbers of an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agents.runs.folder import read_metrics
from scripts.figure1 import run as figure1

ROOT = Path(__file__).resolve().parents[2]
ARGS = [
    "--quick", "--seq-len", "6", "--vocab-size", "4", "--context-dim", "4", "--num-components", "4",
    "--pretrain-steps", "20", "--pretrain-batch-size", "32", "--pg-steps", "300", "--batch-size", "32",
    "--test-size", "64", "--eval-every", "10", "--seeds", "2", "--workers", "2", "--no-progress",
]  # fmt: skip
PG_RUNS = [f"pg/seed{seed}/{reward}" for seed in range(2) for reward in ("orm", "prm")]


def children(pid: int) -> list[int]:
    """The worker processes of ``pid`` (multiprocessing children, not its resource tracker)."""
    try:
        listed = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:
        return []
    return [int(child) for child in listed if "resource_tracker" not in command_of(int(child))]


def command_of(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except FileNotFoundError:
        return ""


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def training(run_dir: Path) -> bool:
    """Whether some PG run has logged past its first evaluation."""
    for run in PG_RUNS:
        metrics = run_dir / run / "metrics.jsonl"
        if metrics.exists() and metrics.read_text().count("\n") > 3:
            return True
    return False


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_killing_figure1s_parent_leaves_no_worker_and_the_rerun_resumes_identically(tmp_path: Path) -> None:
    figure1.main([*ARGS, "--run-dir", str(tmp_path / "straight")])
    run_dir = tmp_path / "killed"
    command = [sys.executable, "-m", "scripts.figure1", *ARGS, "--run-dir", str(run_dir)]
    parent = subprocess.Popen(command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not training(run_dir):
            workers = children(parent.pid) or workers
            time.sleep(0.05)
        workers = children(parent.pid) or workers
        assert training(run_dir) and len(workers) == 2, (workers, parent.poll())
    finally:
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
    assert not (run_dir / "figure1_summary.json").exists()  # killed mid-run
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(alive(pid) for pid in workers):
        time.sleep(0.1)
    assert not any(alive(pid) for pid in workers)
    figure1.main([*ARGS, "--run-dir", str(run_dir)])
    for run in PG_RUNS:
        assert read_metrics(run_dir / run) == read_metrics(tmp_path / "straight" / run)
    summary = json.loads((run_dir / "figure1_summary.json").read_text())
    straight = json.loads((tmp_path / "straight" / "figure1_summary.json").read_text())
    assert summary == straight
