"""The SB3-vs-paper-PG comparison end to end on a tiny setting: its files, equal budgets, resume, bad input."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from scripts.compare_sb3 import run as compare_sb3
from scripts.compare_sb3.jobs import env_steps, eval_every

TINY = [
    "--seq-len", "3", "--vocab-size", "3", "--context-dim", "4", "--num-components", "4",
    "--query-budget", "768", "--evaluations", "2", "--pg-batch-size", "32", "--num-envs", "8",
    "--ppo-n-steps", "16", "--ppo-batch-size", "64", "--a2c-n-steps", "8", "--pg-learning-rates", "1",
    "--ppo-learning-rates", "0.003", "--a2c-learning-rates", "0.003", "--seeds", "1", "--test-size", "64",
    "--workers", "1", "--no-progress",
]  # fmt: skip


def test_compare_sb3_writes_its_files_at_equal_budgets_and_skips_finished_runs(tmp_path: Path) -> None:
    run_dir = compare_sb3.main([*TINY, "--run-dir", str(tmp_path)])
    for name in ("compare_sb3.png", "compare_sb3.csv", "compare_sb3_curves.csv", "compare_sb3.json"):
        assert (run_dir / name).stat().st_size > 0, name
    summary = json.loads((run_dir / "compare_sb3.json").read_text())
    # lcm(32 x 3, 8 x 16, 8 x 8) = 384 environment steps between evaluations, two evaluations: Q = 768.
    assert summary["eval_every_env_steps"] == 384 and summary["query_budget"] == 768
    assert summary["env_steps"] == {"outcome": 3 * 768, "process": 768}
    assert summary["tuning_seeds"] == []  # one rate per method: nothing to tune
    results = summary["results"]
    for reward in ("outcome", "process"):
        assert set(results[reward]) == {"paper_pg", "ppo", "a2c"}
        for row in results[reward].values():
            # Equal reward queries: every run of every method and reward ends at Q queries, counted by the env.
            assert row["equal_reward_queries"]["reward_queries"] == 768
            assert row["equal_reward_queries"]["env_steps"] == summary["env_steps"][reward]
            # Equal environment steps: every run at 768 steps; an outcome run has spent 768 / N queries there.
            assert row["equal_env_steps"]["env_steps"] == 768
            assert row["equal_env_steps"]["reward_queries"] == (256 if reward == "outcome" else 768)
            for budget in ("equal_env_steps", "equal_reward_queries"):
                assert len(row[budget]["test_errors"]) == 1
                assert all(0.0 <= error <= 1.0 for error in row[budget]["test_errors"])
    with open(run_dir / "compare_sb3.csv") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 2 * 3 and {row["phase"] for row in rows} == {"eval"}
    for reward in ("outcome", "process"):
        # The budgets as the runs themselves logged them: the same for every method.
        logged = {(row["env_steps"], row["reward_queries"]) for row in rows if row["reward"] == reward}
        assert logged == {(str(summary["env_steps"][reward]), "768")}
    with open(run_dir / "compare_sb3_curves.csv") as file:
        curves = list(csv.DictReader(file))
    # Every method evaluates on the same grid of environment steps: 0, 384, ... (x N for the outcome runs).
    for reward, points in (("outcome", 7), ("process", 3)):
        for method in ("paper_pg", "ppo", "a2c"):
            steps = [int(c["env_steps"]) for c in curves if c["reward"] == reward and c["method"] == method]
            assert steps == [384 * i for i in range(points)]
    for reward in ("outcome", "process"):
        for method in ("paper_pg", "ppo", "a2c"):
            assert list((run_dir / "tb_compare" / reward / method).glob("events.out.tfevents.*"))
    pg_run = run_dir / "runs" / "eval" / "process" / "paper_pg" / "lr1" / "seed0"
    ppo_run = run_dir / "runs" / "eval" / "outcome" / "ppo" / "lr0.003" / "seed0"
    assert list((pg_run / "tb").glob("events.out.tfevents.*")) and (ppo_run / "model.zip").is_file()
    assert list((ppo_run / "sb3").glob("events.out.tfevents.*")) and (ppo_run / "sb3" / "progress.csv").is_file()

    # A second call finds every run finished: nothing is trained again, the same numbers come out.
    stamps = {path: path.stat().st_mtime_ns for path in (run_dir / "runs").rglob("*") if path.is_file()}
    compare_sb3.main([*TINY, "--run-dir", str(tmp_path)])
    assert json.loads((run_dir / "compare_sb3.json").read_text())["results"] == results
    assert (ppo_run / "model.zip").stat().st_mtime_ns == stamps[ppo_run / "model.zip"]
    assert (ppo_run / "done.json").stat().st_mtime_ns == stamps[ppo_run / "done.json"]


def test_tuning_picks_the_rate_with_the_lowest_final_test_error(tmp_path: Path) -> None:
    argv = [*TINY, "--methods", "paper_pg", "--rewards", "process", "--pg-learning-rates", "0.01", "1", "--seeds", "2"]
    run_dir = compare_sb3.main([*argv, "--run-dir", str(tmp_path)])
    row = json.loads((run_dir / "compare_sb3.json").read_text())["results"]["process"]["paper_pg"]
    grid = row["tuning_final_test_error"]
    assert set(grid) == {"0.01", "1"} and grid["1"] < grid["0.01"]
    assert row["learning_rate"] == 1.0 and row["rate_at_grid_edge"]
    assert (run_dir / "runs" / "tune" / "process" / "paper_pg" / "lr0.01" / "seed1000").is_dir()


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--rewards", "dense"], "--rewards"),
        (["--methods", "dqn"], "--methods"),
        (["--ppo-learning-rates", "0", "1"], "ppo learning-rate grid"),
        (["--query-budget", "0"], "--query-budget"),
    ],
)
def test_bad_settings_fail_before_any_run(
    flags: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "1000")  # one line per message in the error box
    with pytest.raises(SystemExit) as refused:
        compare_sb3.main([*TINY, *flags, "--run-dir", str(tmp_path / "never")])
    assert message in str(refused.value) + capsys.readouterr().err
    assert not (tmp_path / "never").exists()


def test_eval_grid_is_a_multiple_of_every_update_size() -> None:
    config = compare_sb3.CompareSB3Config()
    every = eval_every(config)
    assert every % (config.pg_batch_size * config.seq_len) == 0
    assert every % (config.num_envs * config.ppo_n_steps) == 0 and every % (config.num_envs * config.a2c_n_steps) == 0
    assert env_steps(config, "outcome") == config.seq_len * env_steps(config, "process")
    assert env_steps(config, "process") >= config.query_budget
