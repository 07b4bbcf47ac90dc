"""The curriculum experiment's quick setting end to end (it must stay under a minute), and bad flags refused
naming the flag before any work."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

from scripts.curriculum.run import main
from scripts.curriculum.settings import DEFAULT_METHODS


def test_the_quick_setting_writes_its_files_with_the_envs_query_counts(tmp_path: Path) -> None:
    run_dir = main(["--quick", "--run-dir", str(tmp_path), "--no-progress"])
    assert (run_dir / "curriculum.png").stat().st_size > 10_000
    summary = json.loads((run_dir / "curriculum.json").read_text())
    assert summary["queries_match_env"] is True
    assert set(summary["series"]) == set(DEFAULT_METHODS) == set(summary["growth"])
    with open(run_dir / "curriculum.csv") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == len(DEFAULT_METHODS) * 3  # methods x lengths (one task draw, one seed)
    for row in rows:
        assert row["agent_reward_queries"] == row["env_reward_queries"]
        assert row["censored"] == str(not (row["reached"] == "True" and int(row["queries_to_target"]) <= 30_000))
    dynamic = [row for row in rows if row["method"] == "orm_dynamic_sampling"]
    assert all(int(row["dropped_groups"]) > 0 for row in dynamic)  # groups were dropped, and their queries counted
    hinted = [row for row in rows if row["method"] == "orm_hint_curriculum"]
    assert all(int(row["curriculum_changes"]) >= 1 for row in hinted)
    for row in rows:  # pass@1 at the end is 1 - the test error; the base model's is far lower
        assert math.isclose(float(row["pass@1"]), 1 - float(row["final_test_error"]), rel_tol=1e-6)
        assert float(row["base_pass@1"]) < 0.5 < float(row["pass@1"])
    assert set(summary["against_orm"]) == set(DEFAULT_METHODS) - {"orm"}  # every trick's growth against ORM's
    assert set(summary["coverage"]) == set(DEFAULT_METHODS)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--filter-band", "0.8", "0.2"], "filter_band"),
        (["--filter-band", "0.2", "1.5"], "filter_band"),
        (["--max-refill-batches", "-1"], "max_refill_batches"),
        (["--methods", "orm", "ppo"], "--methods"),
        (["--seq-lens", "1", "2"], "--seq-lens"),
    ],
)
def test_bad_flags_are_refused_naming_the_flag(
    flags: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "1000")  # one line per message in the error box
    with pytest.raises(SystemExit) as refused:
        main([*flags, "--run-dir", str(tmp_path)])
    assert message in str(refused.value) + capsys.readouterr().err
    assert not (tmp_path / "runs").exists()  # refused before any work
