"""The robustness experiment end to end on a tiny setting: every draw runs, the pooled numbers are
consistent with the per-draw rows, and the files are written."""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path

import pytest

from scripts.figure1 import run as figure1
from scripts.robustness import run as robustness

TINY = replace(
    figure1.QUICK,
    seq_len=5,
    vocab_size=4,
    context_dim=4,
    num_components=4,
    pretrain_steps=20,
    pretrain_batch_size=32,
    batch_size=32,
    test_size=64,
    eval_every=4,
    off_support_threshold=0.05,
)


def test_robustness_pools_every_draw(tmp_path: Path) -> None:
    config = robustness.RobustnessConfig(draws=2, seeds=1, pg_steps=8, workers=1)
    result = robustness.run_robustness(config, TINY, tmp_path, show_progress=False)
    with open(tmp_path / "robustness.csv") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 2 * 2 * 2  # draws x optimisers x rewards
    for optimizer in robustness.OPTIMIZERS:
        pooled = result["pooled"][optimizer]
        assert pooled["draws"] == 2
        for name in ("orm", "prm"):
            mine = [r for r in rows if r["optimizer"] == optimizer and r["reward"] == name and r["fallback"] == "False"]
            lifted = sum(int(r["lifted_pairs"]) for r in mine)
            pairs = sum(int(r["pairs"]) for r in mine)
            assert pooled[name]["lifted_pairs"] == [lifted, pairs]
            low, high = pooled[name]["lifted_interval"]
            if pairs:
                assert low <= pooled[name]["lifted_fraction"] <= high
    # the two optimisers of a draw start from the same base model; the draws differ
    assert {r["base_test_error"] for r in rows if r["draw"] == "0"} == {rows[0]["base_test_error"]}
    assert rows[0]["base_test_error"] != [r for r in rows if r["draw"] == "1"][0]["base_test_error"]
    assert (tmp_path / "robustness.png").stat().st_size > 5_000
    assert json.loads((tmp_path / "robustness.json").read_text())["pooled"] == json.loads(json.dumps(result["pooled"]))
    assert list((tmp_path / "tb").glob("events.out.tfevents.*"))


def test_robustness_flags_are_checked(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        robustness.main(["--draws", "0"])
    assert "draws (--draws) must be >= 1" in capsys.readouterr().err
