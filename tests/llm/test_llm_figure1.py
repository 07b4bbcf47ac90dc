"""The LLM Figure 1: its analysis on hand-made records, its settings' checks, and a tiny setting end to end
(the ``--quick`` command line, about a minute, in the slow suite)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from agents.common.config_checks import ConfigError
from scripts.llm_figure1 import analysis
from scripts.llm_figure1.run import QUICK, LLMFigure1Config, main, run_figure


def record(step: int, queries: int, error: float, tracked: list[float]) -> dict:
    return {"step": step, "train/reward_queries": queries, "eval/test_error": error, "eval/tracked_likelihood": tracked}


def test_off_support_and_lifted_share() -> None:
    off = analysis.off_support_indices([0.9, 0.01, 0.2, 0.001], threshold=0.05)
    assert off.tolist() == [1, 3]
    run = [record(0, 0, 0.5, [0.9, 0.01, 0.2, 0.001]), record(10, 80, 0.3, [0.9, 0.7, 0.2, 0.4])]
    assert analysis.lifted_fraction(run, off, level=0.5) == 0.5
    assert np.isnan(analysis.lifted_fraction(run, np.array([], dtype=int), level=0.5))


def test_summary_rows_and_table() -> None:
    runs = {
        "A": [
            [record(0, 0, 0.6, [0.0, 0.0]), record(5, 40, 0.2, [0.8, 0.9])],
            [record(0, 0, 0.6, [0.0, 0.0]), record(5, 40, 0.4, [0.8, 0.1])],
        ],
        "B": [[record(0, 0, 0.6, [0.0, 0.5]), record(5, 160, 0.5, [0.1, 0.6])]],
    }
    rows = analysis.summarise(runs, {"A": np.array([0, 1]), "B": np.array([0])}, level=0.5)
    assert rows[0]["lifted"] == {"mean": 0.75, "min": 0.5, "max": 1.0}
    assert rows[0]["test_error"]["mean"] == pytest.approx(0.3) and rows[0]["base_test_error"] == 0.6
    assert rows[1]["lifted"]["mean"] == 0.0 and rows[1]["reward_queries"]["mean"] == 160
    table = analysis.markdown_table(rows)
    assert "| A | 2 | 2 | 0.600 | 0.300 [0.200, 0.400] | 0.75 [0.50, 1.00] | 40 |" in table
    with pytest.raises(ValueError, match="without evaluation records"):
        analysis.summarise({"C": [[]]}, {"C": np.array([0])}, level=0.5)


def test_bad_settings_name_the_field() -> None:
    with pytest.raises(ConfigError, match="base_test_error"):
        LLMFigure1Config(base_test_error=1.5)
    with pytest.raises(ConfigError, match="seeds"):
        LLMFigure1Config(seeds=0)


def test_a_tiny_setting_writes_its_table_and_figure_and_reuses_its_runs(tmp_path: Path) -> None:
    config = LLMFigure1Config(
        sft_max_steps=20,
        sft_eval_every=10,
        steps=4,
        eval_every=2,
        test_size=64,
        seeds=1,
        prompts_per_step=4,
        group_size=4,
        pretrain_max_steps=50,
    )
    result = run_figure(config, tmp_path)
    names = [row["method"] for row in result["table"]]
    assert names == [
        "TRL GRPO (outcome)",
        "TRL GRPO (process, summed)",
        "TRL per-token PRM",
        "PaperPG ORM",
        "PaperPG PRM",
        "GroupPG GRPO (outcome)",
    ]
    queries = {row["method"]: row["reward_queries"]["mean"] for row in result["table"]}
    assert queries["TRL GRPO (outcome)"] == 4 * 16 and queries["TRL per-token PRM"] == 4 * 16 * 4
    assert queries["TRL GRPO (process, summed)"] == queries["TRL per-token PRM"]
    assert queries["PaperPG ORM"] == queries["TRL GRPO (outcome)"]
    for name in ("llm_figure1.png", "llm_figure1.json", "llm_figure1.md"):
        assert (tmp_path / name).stat().st_size > 0
    done = tmp_path / "llm" / "process" / "seed0" / "done.json"
    stamp = done.stat().st_mtime_ns
    again = run_figure(config, tmp_path)  # finished runs are read back, not rerun
    assert done.stat().st_mtime_ns == stamp
    assert json.loads(json.dumps(again["table"])) == json.loads(json.dumps(result["table"]))


@pytest.mark.slow
def test_quick_command_line(tmp_path: Path) -> None:
    run_dir = main(["--quick", "--run-dir", str(tmp_path / "quick"), "--no-progress"])
    summary = json.loads((run_dir / "llm_figure1.json").read_text())
    assert summary["config"]["steps"] == QUICK.steps and len(summary["table"]) == 6
