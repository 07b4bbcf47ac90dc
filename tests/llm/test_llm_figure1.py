"""The LLM Figure 1: its analysis on hand-made records, its settings' checks, and a tiny setting end to end
(the ``--quick`` command line, about a minute, in the slow suite)."""

from __future__ import annotations

import dataclasses
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
    rows = analysis.summarise(
        runs,
        {"A": np.array([0, 1]), "B": np.array([0])},
        level=0.5,
        censored={"A": [True, False]},
        learning_rates={"A": 0.001},
    )
    assert {k: rows[0]["lifted"][k] for k in ("mean", "min", "max")} == {"mean": 0.75, "min": 0.5, "max": 1.0}
    # Student-t 95% interval over two seeds: 0.3 +- 12.706 * 0.1 / sqrt(2) * sqrt(2)
    assert rows[0]["test_error"]["low"] == pytest.approx(0.3 - 12.7062 * 0.1, abs=1e-3)
    assert rows[0]["test_error"]["mean"] == pytest.approx(0.3) and rows[0]["base_test_error"] == 0.6
    assert rows[0]["censored"] == 1 and rows[1]["censored"] == 0
    assert rows[1]["lifted"]["mean"] == 0.0 and rows[1]["reward_queries"]["mean"] == 160
    table = analysis.markdown_table(rows)
    assert "| A | 0.001 | 2 (1) | 2 | 0.600 | 0.300 [-0.971, 1.571] | 0.75 [-2.43, 3.93] | 5 | 40 |" in table
    assert "| B | - | 1 (0) | 1 | 0.600 | 0.500 | 0.00 | 5 | 160 |" in table
    with pytest.raises(ValueError, match="without evaluation records"):
        analysis.summarise({"C": [[]]}, {"C": np.array([0])}, level=0.5)


def test_final_pass_at_k_of_base_and_final_models_from_the_tracked_likelihoods() -> None:
    # pass@k = mean over contexts of 1 - (1 - p)^k, at k = 1, 2, 4; the base is each method's first record
    runs = {
        "gains": [
            [record(0, 0, 0.7, [0.5, 0.0]), record(10, 5, 0.1, [1.0, 0.5])],
            [record(0, 0, 0.7, [0.5, 0.0]), record(10, 5, 0.5, [0.5, 0.5])],
        ],
        "narrows": [[record(0, 0, 0.7, [0.3, 0.3]), record(10, 5, 0.5, [0.9, 0.0])]],
    }
    passes = analysis.final_pass_at_k(runs, ks=(1, 2, 4))
    assert passes["k"] == [1, 2, 4]
    gains = passes["gains"]
    np.testing.assert_allclose(gains["base"], [0.25, 0.375, 0.46875])
    np.testing.assert_allclose(gains["final"], [[0.75, 0.875, 0.96875], [0.5, 0.75, 0.9375]])
    np.testing.assert_allclose(gains["mean"], [0.625, 0.8125, 0.953125])
    assert gains["crossover_k"] is None  # the trained model stays above its base at every k
    assert gains["area"] == pytest.approx((0.375 + 0.4375) / 2 + (0.4375 + 0.484375) / 2)
    narrows = passes["narrows"]
    np.testing.assert_allclose(narrows["base"], [0.3, 0.51, 1 - 0.7**4])
    np.testing.assert_allclose(narrows["mean"], [0.45, 0.495, 0.5 * (1 - 0.1**4)])
    assert narrows["crossover_k"] == 2  # the base overtakes it at k = 2 (Yue et al.'s crossover)
    lines = analysis.pass_at_k_lines(passes)
    assert "narrows: pass@1 0.300 -> 0.450" in lines[2] and "k* 2" in lines[2]
    with pytest.raises(ValueError, match="'empty'"):
        analysis.final_pass_at_k({"empty": [[]]})


def test_settling_and_the_chosen_rate() -> None:
    errors = [0.6, 0.5, 0.45, 0.44, 0.438, 0.437, 0.437, 0.437, 0.437, 0.437, 0.437]
    run = [record(10 * i, 0, e, []) for i, e in enumerate(errors)]
    # at step 50 the last fifth starts at 40 (0.438 -> 0.437); before min_steps it does not count
    assert analysis.settled_step(run, tolerance=0.002, min_steps=30) == 50
    assert analysis.settled_step(run, tolerance=0.002, min_steps=60) == 60
    assert analysis.settled_step(run, tolerance=1e-6, min_steps=30) == 70  # from 56 -> 50: 0.437 -> 0.437
    kept, censored = analysis.until_settled(run[:4], tolerance=0.002, min_steps=10)
    assert censored and len(kept) == 4
    kept, censored = analysis.until_settled(run, tolerance=0.002, min_steps=30)
    assert not censored and kept[-1]["step"] == 50
    tuning = {0.1: [[record(5, 0, 0.3, [])], [record(5, 0, 0.5, [])]], 0.01: [[record(5, 0, 0.35, [])]]}
    assert analysis.choose_learning_rate(tuning) == 0.01
    with pytest.raises(ValueError, match="every learning rate"):
        analysis.choose_learning_rate({0.1: []})


def test_bad_settings_name_the_field() -> None:
    with pytest.raises(ConfigError, match="base_test_error"):
        LLMFigure1Config(base_test_error=1.5)
    with pytest.raises(ConfigError, match="seeds"):
        LLMFigure1Config(seeds=0)
    with pytest.raises(ConfigError, match="llm_learning_rates"):
        LLMFigure1Config(llm_learning_rates=())
    with pytest.raises(ConfigError, match=r"min_steps \(--min-steps\) must be at most max_steps"):
        LLMFigure1Config(min_steps=50, max_steps=40)


TINY = LLMFigure1Config(
    sft_max_steps=20,
    sft_eval_every=10,
    max_steps=4,
    min_steps=2,
    tuning_steps=2,
    tuning_seeds=1,
    llm_learning_rates=(3e-4, 3e-3),
    oblr_learning_rates=(0.01,),
    paper_learning_rates=(0.1,),
    group_learning_rates=(0.1,),
    eval_every=2,
    test_size=64,
    seeds=1,
    prompts_per_step=4,
    group_size=4,
    pretrain_max_steps=50,
)


def test_a_tiny_setting_writes_its_table_and_figure_and_reuses_its_runs(tmp_path: Path) -> None:
    result = run_figure(TINY, tmp_path)
    names = [row["method"] for row in result["table"]]
    assert names == [
        "TRL GRPO (outcome)",
        "TRL GRPO (process, summed)",
        "TRL per-token PRM",
        "TRL RLOO (outcome)",
        "TRL OBLR-PO (outcome)",
        "PaperPG ORM",
        "PaperPG PRM",
        "GroupPG GRPO (outcome)",
    ]
    rows = {row["method"]: row for row in result["table"]}
    steps = {name: row["steps"]["mean"] for name, row in rows.items()}
    queries = {name: row["reward_queries"]["mean"] for name, row in rows.items()}
    for name in names:  # a run stops where it settled, or at the cap
        assert 2 <= steps[name] <= 4
        per_step = 16 * (4 if "process" in name or "PRM" in name else 1)
        assert queries[name] == steps[name] * per_step, name
    assert set(result["tuning"]["TRL GRPO (outcome)"]) == {"0.0003", "0.003"}
    assert rows["TRL GRPO (outcome)"]["learning_rate"] in (3e-4, 3e-3)
    for name in ("llm_figure1.png", "llm_figure1.json", "llm_figure1.md"):
        assert (tmp_path / name).stat().st_size > 0
    # the tuning runs and the reported runs have their own folders and seeds
    assert (tmp_path / "llm" / "outcome" / "tune" / "lr0.0003" / "seed0" / "done.json").is_file()
    done = tmp_path / "llm" / "process" / "seed0" / "done.json"
    stamp = done.stat().st_mtime_ns
    again = run_figure(TINY, tmp_path)  # finished runs are read back, not rerun
    assert done.stat().st_mtime_ns == stamp
    assert json.loads(json.dumps(again["table"])) == json.loads(json.dumps(result["table"]))
    # every method's pass@k, base and final, k = 1 to 2^30: a probability, rising with k
    passes = result["pass_at_k"]
    assert set(passes) == {"k", *names} and passes["k"][-1] == 2**30
    for name in names:
        for curve in (passes[name]["base"], *passes[name]["final"]):
            assert len(curve) == 16 and all(0.0 <= p <= 1.0 for p in curve)
            assert all(b >= a - 1e-12 for a, b in zip(curve, curve[1:], strict=False))
    assert again["pass_at_k"] == passes


@pytest.mark.slow
def test_quick_command_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    run_dir = main(["--quick", "--run-dir", str(tmp_path / "quick")])
    summary = json.loads((run_dir / "llm_figure1.json").read_text())
    assert summary["config"]["max_steps"] == QUICK.max_steps and len(summary["table"]) == 8
    out = capsys.readouterr()
    assert "{'loss'" not in out.out and "'train_runtime'" not in out.out  # progress bars, not TRL's log dictionaries


@pytest.mark.slow
def test_worker_processes_give_the_same_runs(tmp_path: Path) -> None:
    config = dataclasses.replace(TINY, workers=2, llm_learning_rates=(3e-3,), seeds=2)
    parallel = run_figure(config, tmp_path / "parallel")
    serial = run_figure(dataclasses.replace(config, workers=1), tmp_path / "serial")
    for one, other in zip(parallel["table"], serial["table"], strict=True):
        assert one["method"] == other["method"] and one["learning_rate"] == other["learning_rate"]
        assert one["test_error"]["mean"] == pytest.approx(other["test_error"]["mean"], abs=1e-6), one["method"]
        assert one["reward_queries"] == other["reward_queries"]
