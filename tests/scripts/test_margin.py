"""The margin script end to end on a tiny setting: every file it promises, tasks that honour each margin,
query counts that match the env's, and a rerun that skips the finished runs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from scripts.margin import run as margin

TINY = [
    "--margins", "0.05", "0.1", "--seq-len", "2", "--vocab-size", "2", "--context-dim", "4", "--target-error", "0.3",
    "--seeds", "2", "--rows", "2", "--query-budget", "3000", "--test-size", "32", "--workers", "1", "--no-progress",
]  # fmt: skip


def test_margin_writes_its_files_and_resumes(tmp_path: Path) -> None:
    run_dir = margin.main([*TINY, "--run-dir", str(tmp_path)])
    assert (run_dir / "margin.png").stat().st_size > 10_000
    summary = json.loads((run_dir / "margin.json").read_text())
    assert summary["queries_match_env"] is True
    assert set(summary["series"]) == {"best_of_m", "process_repair", "adaptive_pg"}
    for curve in summary["series"].values():
        assert curve["margin"] == [0.05, 0.1]
        assert curve["inverse_margin_squared"] == pytest.approx([400.0, 100.0])
        assert all(reached == 2 for reached in curve["reached"])
    with open(run_dir / "margin.csv") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 3 * 2 * 2  # algorithms x margins x seeds
    for row in rows:
        assert row["agent_reward_queries"] == row["env_reward_queries"]
        assert int(row["queries_to_target"]) <= int(row["final_reward_queries"]) <= 3000
        config = json.loads(
            (
                run_dir
                / "runs"
                / row["algorithm"]
                / f"gamma{float(row['margin']):g}"
                / f"seed{row['seed']}"
                / "config.json"
            ).read_text()
        )
        assert config["task"]["keywords"]["margin"] == float(row["margin"])
    assert list((run_dir / "tb_margin" / "adaptive_pg").glob("events.out.tfevents.*"))
    stamps = {path: path.stat().st_mtime_ns for path in (run_dir / "runs").rglob("metrics.jsonl")}
    again = json.loads((margin.main([*TINY, "--run-dir", str(tmp_path)]) / "margin.json").read_text())
    assert again["series"] == summary["series"]
    assert stamps == {path: path.stat().st_mtime_ns for path in (run_dir / "runs").rglob("metrics.jsonl")}


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--margins", "0.1", "-0.2"], "--margins"),
        (["--margins", "0.9"], "not reachable"),
        (["--algorithms", "grpo"], "--algorithms"),
        (["--seeds", "0"], "--seeds"),
    ],
)
def test_bad_settings_fail_early(
    flags: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "1000")  # one line per message in the error box
    with pytest.raises(SystemExit) as refused:
        margin.main([*TINY, *flags, "--run-dir", str(tmp_path)])
    assert message in str(refused.value) + capsys.readouterr().err
