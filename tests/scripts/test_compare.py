"""The compare script end to end on a tiny setting: every file it promises, equal query budgets, tuning on
separate seeds, and a rerun that skips the finished runs."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from scripts.compare import run as compare

TINY = [
    "--seq-len", "4", "--vocab-size", "4", "--context-dim", "4", "--num-components", "4",
    "--pretrain-steps", "10", "--pretrain-batch-size", "32", "--methods", "grpo_clip", "oblr_po",
    "--learning-rates", "0.5", "2", "--tuning-seeds", "1", "--seeds", "2", "--num-contexts", "4",
    "--group-size", "3", "--outcome-query-budget", "72", "--process-query-budget", "240",
    "--test-size", "32", "--evaluations", "3", "--workers", "1", "--no-progress",
]  # fmt: skip


def test_compare_writes_its_files_and_resumes(tmp_path: Path) -> None:
    run_dir = compare.main([*TINY, "--run-dir", str(tmp_path)])
    assert (run_dir / "compare.png").stat().st_size > 10_000
    summary = json.loads((run_dir / "compare.json").read_text())
    # equal budgets: 6 steps of 12 responses; the process reward pays N = 4 queries per response
    assert summary["steps"] == {"outcome": 6, "process": 5}
    assert summary["queries"] == {"outcome": 72, "process": 240}
    for reward in ("outcome", "process"):
        table = summary["results"][reward]
        assert set(table) == {"grpo_clip", "oblr_po"}
        for row in table.values():
            assert row["learning_rate"] in (0.5, 2.0)
            assert set(row["tuning_final_test_error"]) == {"0.5", "2"}
            assert len(row["final_test_errors"]) == 2
            assert 0.0 <= row["final_test_error_mean"] <= 1.0 and row["final_test_error_ci95"] >= 0.0
            assert row["reward_queries"] == [summary["queries"][reward]] * 2
        assert summary["paired_trace_variance"][reward]["weighted_leave_one_out"]["batches"] > 0
        improvement = summary["probability_of_lower_error_than_best"][reward]
        [other] = {"grpo_clip", "oblr_po"} - {improvement["best"]}
        assert 0.0 <= improvement[other]["low"] <= improvement[other]["point"] <= improvement[other]["high"] <= 1.0
        for row in table.values():
            iqm = row["final_test_error_iqm"]
            assert (
                min(row["final_test_errors"])
                <= iqm["low"]
                <= iqm["point"]
                <= iqm["high"]
                <= max(row["final_test_errors"])
            )
        assert list((run_dir / "tb_compare" / reward / "oblr_po").glob("events.out.tfevents.*"))
    # TensorBoard's comparison views: the layout, the figure, one HParams session and a query axis per run
    assert list((run_dir / "tb_layout").glob("events.out.tfevents.*"))
    assert list((run_dir / "tb_figures" / "compare").glob("events.out.tfevents.*"))
    run_folders = {path.parent for path in (run_dir / "runs").rglob("metrics.jsonl")}
    assert len(run_folders) == 16
    assert all(list((folder / "tb" / "hparams").glob("events.out.tfevents.*")) for folder in run_folders)
    assert all(list((folder / "tb" / "by_queries").glob("events.out.tfevents.*")) for folder in run_folders)
    # every run is a finished job: group PG from the pre-training job's final model, queries the env's count
    for folder in run_folders:
        done = json.loads((folder / "done.json").read_text())
        reward = folder.relative_to(run_dir / "runs").parts[1]
        assert done["learner"] == "group_pg"
        assert done["reward_queries"] == done["env_reward_queries"] == summary["queries"][reward]
    pretrain = json.loads((run_dir / "pretrain" / "done.json").read_text())
    assert pretrain["learner"] == "pretrain" and (run_dir / "pretrain" / "final_model.pt").is_file()
    assert summary["base_test_error"] == pretrain["final_test_error"]
    with open(run_dir / "compare.csv") as file:
        rows = list(csv.DictReader(file))
    # 2 rewards x 2 methods x (2 rates x 1 tuning seed + 2 evaluation seeds)
    assert len(rows) == 16
    tuning_seeds = {row["seed"] for row in rows if row["phase"] == "tune"}
    evaluation_seeds = {row["seed"] for row in rows if row["phase"] == "eval"}
    assert tuning_seeds == {"1000"} and evaluation_seeds == {"0", "1"}  # never the same seeds
    with open(run_dir / "compare_curves.csv") as file:
        quantities = {row["quantity"] for row in csv.DictReader(file)}
    assert {"test_error", "trace_variance", "snr", "learning_rate", "equal_reward_groups", "entropy"} <= quantities
    # a rerun finds every run finished and redraws the same numbers from the runs' metrics
    stamps = {path: path.stat().st_mtime_ns for path in (run_dir / "runs").rglob("metrics.jsonl")}
    again = json.loads((compare.main([*TINY, "--run-dir", str(tmp_path)]) / "compare.json").read_text())
    assert again["results"] == summary["results"]
    assert stamps == {path: path.stat().st_mtime_ns for path in (run_dir / "runs").rglob("metrics.jsonl")}


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--methods", "rloo", "ppo"], "--methods"),
        (["--rewards", "outcome", "dense"], "--rewards"),
        (["--learning-rates", "0.1", "-1"], "--learning-rates"),
        (["--seeds", "1"], "--seeds"),
        (["--evaluations", "0"], "--evaluations"),
        (["--methods", ","], "--methods"),
        (["--learning-rates", "abc"], "--learning-rates"),
        (["--task-seed", "-1"], "--task-seed"),
        (["--task-seed", str(2**70)], "--task-seed"),
        (["--outcome-query-budget", "5"], "query budget"),
    ],
)
def test_bad_settings_fail_early(
    flags: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "1000")  # one line per message in the error box
    with pytest.raises(SystemExit) as refused:
        compare.main([*TINY, *flags, "--run-dir", str(tmp_path)])
    assert message in str(refused.value) + capsys.readouterr().err


@pytest.mark.slow
def test_ray_tune_search_chooses_the_rates_of_the_local_backend(tmp_path: Path) -> None:
    """The tuning as Tune searches on a local Ray with 2 CPUs: the rates it picks are those the local backend
    picks from the same run folders, and every trial's folder lies under the storage path exactly once."""
    ray = pytest.importorskip("ray")
    flags = [*TINY, "--tuning-seeds", "2", "--run-dir", str(tmp_path)]

    def on_ray() -> dict[str, Any]:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        try:
            return json.loads((compare.main([*flags, "--backend", "ray"]) / "compare.json").read_text())
        finally:
            ray.shutdown()

    first = on_ray()
    stamps = {path: path.stat().st_mtime_ns for path in (tmp_path / "runs").rglob("metrics.jsonl")}
    local = json.loads((compare.main([*flags, "--backend", "local"]) / "compare.json").read_text())
    assert stamps == {path: path.stat().st_mtime_ns for path in (tmp_path / "runs").rglob("metrics.jsonl")}
    for reward in ("outcome", "process"):
        for method in ("grpo_clip", "oblr_po"):
            ray_row, local_row = first["results"][reward][method], local["results"][reward][method]
            assert ray_row["learning_rate"] == local_row["learning_rate"]
            assert ray_row["tuning_final_test_error"] == local_row["tuning_final_test_error"]
    storage = tmp_path / "runs" / "tune" / "ray_tune"
    searches = sorted(folder.name for folder in storage.iterdir() if folder.is_dir())
    assert searches == [f"tuning-{r}-{m}" for r in ("outcome", "process") for m in ("grpo_clip", "oblr_po")]
    points = []
    for search in searches:
        for trial in (storage / search).glob("run_search_trial_*"):
            params = json.loads((trial / "params.json").read_text())
            [result] = [json.loads(line) for line in (trial / "result.json").read_text().splitlines()]
            assert Path(result["run_dir"]).resolve().is_relative_to((tmp_path / "runs" / "tune").resolve())
            points.append((search, params["learning_rate"], params["seed"]))
    expected = [(s, rate, seed) for s in searches for rate in (0.5, 2.0) for seed in (1000, 1001)]
    assert sorted(points) == sorted(expected)  # every trial exactly once, under the storage path
    # a rerun restores the finished searches: no trial runs or reports again, and the same rates come back
    assert on_ray()["results"] == first["results"]
    trials = [trial for search in searches for trial in (storage / search).glob("run_search_trial_*")]
    assert len(trials) == len(expected)
    assert all(len((trial / "result.json").read_text().splitlines()) == 1 for trial in trials)
