"""The mistakes script end to end on a tiny setting: every file it promises, queries the env agrees with,
both sweeps sharing their common setting, and a rerun that skips the finished runs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from scripts.mistakes import run as mistakes

TINY = [
    "--seq-lens", "1", "2", "--margin", "0.2", "--margins", "0.2", "0.3", "--margin-seq-len", "1",
    "--rewards", "outcome", "process", "--seeds", "2", "--max-rounds", "600", "--eval-every", "20",
    "--log-every", "5", "--test-size", "128", "--workers", "1", "--no-progress",
]  # fmt: skip


def test_mistakes_writes_its_files_and_resumes(tmp_path: Path) -> None:
    run_dir = mistakes.main([*TINY, "--run-dir", str(tmp_path)])
    assert (run_dir / "mistakes.png").stat().st_size > 10_000
    summary = json.loads((run_dir / "mistakes.json").read_text())
    # settings (1, 0.2), (2, 0.2), (1, 0.3): the sweeps share (1, 0.2), run once per reward and seed
    assert summary["runs"] == 2 * 3 * 2
    with open(run_dir / "mistakes.csv") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 12
    for row in rows:
        rounds, queries = int(row["rounds"]), int(row["reward_queries"])
        assert queries == int(row["env_reward_queries"])
        assert queries == rounds * (int(row["seq_len"]) if row["reward"] == "process" else 1)
        assert 0 < int(row["mistakes"]) <= rounds and row["converged"] == "True"
        assert float(row["smallest_test_margin"]) >= float(row["gamma"])
        assert float(row["rate"]) == pytest.approx(2 ** int(row["seq_len"]) / float(row["gamma"]) ** 2)
    assert set(summary["series"]) == {"outcome, zeta=1", "process, zeta=1"}
    for curve in summary["series"].values():
        assert [p["seq_len"] for p in curve["by_seq_len"]] == [1, 2]
        assert [p["gamma"] for p in curve["by_gamma"]] == [0.2, 0.3]
        assert curve["by_seq_len"][0] == {**curve["by_gamma"][0], "seq_len": 1}  # the shared setting
        assert curve["growth_per_token"] > 0 and curve["all_converged"]
    assert list((run_dir / "tb_mistakes" / "outcome_zeta1").glob("events.out.tfevents.*"))
    events = [path.parent.name for path in (run_dir / "runs").rglob("events.out.tfevents.*")]
    assert sorted(set(events)) == ["by_queries", "by_step", "hparams", "tb"]  # per run: steps, queries, HParams
    assert all(events.count(folder) == 12 for folder in set(events))
    stamps = {path: path.stat().st_mtime_ns for path in (run_dir / "runs").rglob("metrics.jsonl")}
    again = json.loads((mistakes.main([*TINY, "--run-dir", str(tmp_path)]) / "mistakes.json").read_text())
    assert again["series"] == summary["series"]
    assert stamps == {path: path.stat().st_mtime_ns for path in (run_dir / "runs").rglob("metrics.jsonl")}


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--zetas", "1", "0.5"], "--zetas"),
        (["--rewards", "outcome", "dense"], "--rewards"),
        (["--margins", "0", "0.2"], "--margins"),
        (["--seq-lens", "0", "2"], "--seq-lens"),
        (["--margin", "0.95"], "not reachable"),
    ],
)
def test_bad_settings_fail_early(
    flags: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "1000")  # one line per message in the error box
    with pytest.raises(SystemExit) as refused:
        mistakes.main([*TINY, *flags, "--run-dir", str(tmp_path)])
    assert message in str(refused.value) + capsys.readouterr().err
