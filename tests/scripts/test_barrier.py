"""The barrier script end to end on a tiny setting: every file it promises, query counts that match the env's,
base models of the stated quality, and a rerun that skips the finished runs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from scripts.barrier import run as barrier

TINY = [
    "--seq-lens", "1", "3", "--vocab-size", "2", "--context-dim", "4", "--num-components", "4", "--margin", "0.02",
    "--token-probability", "0.6", "--target-error", "0.3", "--seeds", "2", "--rows", "2",
    "--query-budget", "3000", "--test-size", "32", "--workers", "1", "--no-progress",
]  # fmt: skip


def test_barrier_writes_its_files_and_resumes(tmp_path: Path) -> None:
    run_dir = barrier.main([*TINY, "--run-dir", str(tmp_path)])
    assert (run_dir / "barrier.png").stat().st_size > 10_000
    summary = json.loads((run_dir / "barrier.json").read_text())
    assert summary["queries_match_env"] is True
    assert set(summary["series"]) == {"best_of_m", "process_repair"}
    for curve in summary["series"].values():
        assert curve["seq_len"] == [1, 3] and curve["k_to_the_n"] == [2.0, 8.0] and curve["n_times_k"] == [2.0, 6.0]
        assert all(reached == 2 for reached in curve["reached"])  # every run reached test error 0.3
        assert all(tries >= 1 for tries in curve["tries"])
    for base in summary["base_models"].values():
        assert base["eval/mean_token_probability"] >= 0.6  # pre-training stopped at the stated quality
    with open(run_dir / "barrier.csv") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 2 * 2 * 2  # algorithms x lengths x seeds
    for row in rows:
        assert row["agent_reward_queries"] == row["env_reward_queries"]
        assert int(row["queries_to_target"]) <= int(row["final_reward_queries"]) <= 3000
    assert list((run_dir / "tb_barrier" / "best_of_m").glob("events.out.tfevents.*"))
    assert list((run_dir / "runs" / "process_repair" / "N3" / "seed1" / "tb").glob("events.out.tfevents.*"))
    stamps = {path: path.stat().st_mtime_ns for path in (run_dir / "runs").rglob("metrics.jsonl")}
    again = json.loads((barrier.main([*TINY, "--run-dir", str(tmp_path)]) / "barrier.json").read_text())
    assert again["series"] == summary["series"]
    assert stamps == {path: path.stat().st_mtime_ns for path in (run_dir / "runs").rglob("metrics.jsonl")}
    # the same folder with other settings: refused naming what differs, never the old numbers under new labels
    with pytest.raises(SystemExit, match=r"different config \(task.keywords.task_seed: 0 -> 1"):
        barrier.main([*TINY, "--task-seed", "1", "--target-error", "0.25", "--run-dir", str(tmp_path)])
    assert json.loads((run_dir / "barrier.json").read_text())["series"] == summary["series"]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--seq-lens", "2", "x"], "--seq-lens"),
        (["--seq-lens", "0", "2"], "--seq-lens"),
        (["--algorithms", "best_of_m", "ppo"], "--algorithms"),
        (["--token-probability", "0.4"], "--token-probability"),
        (["--target-error", "1.5"], "--target-error"),
        (["--vocab-size", "1"], "--vocab-size"),
        (["--rows", "0"], "--rows"),
    ],
)
def test_bad_settings_fail_early(
    flags: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "1000")  # one line per message in the error box
    with pytest.raises(SystemExit) as refused:
        barrier.main([*TINY, *flags, "--run-dir", str(tmp_path)])
    assert message in str(refused.value) + capsys.readouterr().err
