"""The pass@k experiment end to end: its quick setting writes every curve, the pass@k it reads from the kept
models equals what the runs logged at those steps, and a rerun reuses every run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agents.runs.folder import read_metrics
from scripts.pass_at_k.run import main
from scripts.pass_at_k.settings import QUICK, settings

TINY = [
    "--quick", "--learners", "orm", "grpo", "--policies", "--seq-lens", "--pretrain-sweep",
    "--workers", "1", "--no-progress",
]  # fmt: skip


def check_result(run_dir: Path, result: dict[str, Any]) -> None:
    """Every setting has draws x seeds runs with a curve per k, and the trained curve of each paper-PG run at
    its step equals the ``eval/pass@k`` its run logged there (model files against the logged evaluation)."""
    ks = result["k"]
    assert ks[0] == 1 and ks[-1] == 2**30
    config = result["config"]
    for entry in result["settings"]:
        runs = entry["runs"]
        assert len(runs) == config["draws"] * config["seeds"]
        for run in runs:
            for which in ("base", "trained"):
                curve = run[which]["pass_at_k"]
                assert len(curve) == len(ks) and all(0.0 <= value <= 1.0 for value in curve)
                assert all(b >= a - 1e-12 for a, b in zip(curve, curve[1:], strict=False))  # never falls in k
        setting = entry["setting"]
        if setting["learner"] in ("orm", "prm"):
            run = runs[0]
            folder = (
                run_dir / "runs" / setting["learner"] / f"draw{run['draw']}" / f"N{setting['seq_len']}"
                / f"pretrain{setting['pretrain_steps']}" / setting["policy"] / f"seed{run['seed']}"
            )  # fmt: skip
            logged = [r for r in read_metrics(folder) if r["step"] == setting["step"] and "eval/test_error" in r]
            assert logged, f"no evaluation at step {setting['step']} in {folder}"
            expected = [logged[-1][f"eval/pass@{k}"] for k in ks]
            assert run["trained"]["pass_at_k"] == pytest.approx(expected, rel=1e-9, abs=1e-12)
            assert run["trained"]["greedy_exact_match"] == logged[-1]["eval/greedy_exact_match"]


def test_tiny_pass_at_k_writes_its_curves_and_resumes(tmp_path: Path) -> None:
    run_dir = main([*TINY, "--run-dir", str(tmp_path)])
    result = json.loads((run_dir / "pass_at_k.json").read_text())
    check_result(run_dir, result)
    groups = {entry["group"] for entry in result["settings"]}
    assert groups == {"learners", "length"}
    assert (run_dir / "pass_at_k.png").stat().st_size > 10_000
    assert len((run_dir / "pass_at_k.csv").read_text().splitlines()) == 1 + len(result["settings"])
    stamps = {path: path.stat().st_mtime_ns for path in (run_dir / "runs").rglob("metrics.jsonl")}
    again = json.loads((main([*TINY, "--run-dir", str(tmp_path)]) / "pass_at_k.json").read_text())
    assert again["settings"] == result["settings"]
    assert stamps == {path: path.stat().st_mtime_ns for path in (run_dir / "runs").rglob("metrics.jsonl")}


@pytest.mark.slow
def test_quick_pass_at_k_covers_every_learner_and_sweep(tmp_path: Path) -> None:
    run_dir = main(["--quick", "--no-progress", "--run-dir", str(tmp_path)])
    result = json.loads((run_dir / "pass_at_k.json").read_text())
    check_result(run_dir, result)
    assert [entry["label"] for entry in result["settings"]] == [s.label for s in settings(QUICK)]
    ppo = next(entry for entry in result["settings"] if entry["setting"]["learner"] == "ppo")
    assert ppo["runs"][0]["base"]["pass_at_k"][0] < 0.01  # PPO starts from its own near-uniform network
