"""The Figure-1 script end to end on a tiny setting (every file it promises, numbers that make sense,
resume, bad flags), and its analysis on hand-made inputs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from agents.analysis.paper_task import draw_paper_task, save_task_arrays
from agents.policy.linear import LinearPolicy
from scripts.figure1 import analysis
from scripts.figure1 import run as figure1

TINY = [
    "--seq-len", "5", "--vocab-size", "4", "--context-dim", "4", "--num-components", "4",
    "--pretrain-steps", "20", "--pretrain-batch-size", "32", "--pg-steps", "12", "--batch-size", "32",
    "--test-size", "64", "--eval-every", "4", "--no-progress", "--seeds", "2",
]  # fmt: skip


def test_figure1_writes_its_files_and_resumes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = figure1.main([*TINY, "--run-dir", str(tmp_path), "--workers", "1"])
    assert (run_dir / "figure1.png").stat().st_size > 10_000
    assert list((run_dir / "tb_layout").glob("events.out.tfevents.*"))  # ORM and PRM on shared charts
    assert list((run_dir / "tb_figures" / "figure1").glob("events.out.tfevents.*"))
    result = json.loads((run_dir / "figure1.json").read_text())
    for name in ("orm", "prm"):
        runs = result["curves"][name]
        assert len(runs) == 2
        for seed in runs:
            assert seed["step"] == [0, 4, 8, 12]
            assert all(0.0 <= error <= 1.0 for error in seed["test_error"])
            assert len(seed["tracked_likelihood"][0]) >= 4  # the centres, then off-support test contexts
        for index in range(2):
            assert list((run_dir / "pg" / f"seed{index}" / name / "tb").glob("events.out.tfevents.*"))
            assert list((run_dir / "pg" / f"seed{index}" / name / "tb" / "hparams").glob("events.out.tfevents.*"))
            assert (run_dir / "pg" / f"seed{index}" / name / "final_model.pt").exists()
        summary = result["summary"][name]
        assert summary["seeds"] == 2
        assert len(summary["lifted_seeds"]) == len(result["off_support_labels"]) >= 1
        assert all(0 <= count <= 2 for count in summary["lifted_seeds"])
    # every run starts from the same base model; different PG seeds see different contexts
    starts = {seed["test_error"][0] for runs in result["curves"].values() for seed in runs}
    assert len(starts) == 1
    assert result["curves"]["orm"][0]["test_error"][1:] != result["curves"]["orm"][1]["test_error"][1:]
    with open(run_dir / "figure1.csv") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 2 * 2 * 4 and {row["reward"] for row in rows} == {"orm", "prm"}
    printed = capsys.readouterr().out
    assert "lifted above 0.5" in printed and "ORM: final test error" in printed
    assert "exact pass@k on the test set" in printed and "base pass@k overtakes it at k* =" in printed
    check_pass_at_k_against_saved_models(run_dir)
    # a second call finds every run complete and redraws from the same metrics
    again = figure1.main([*TINY, "--run-dir", str(tmp_path), "--workers", "1"])
    assert json.loads((again / "figure1.json").read_text())["curves"] == result["curves"]


def check_pass_at_k_against_saved_models(run_dir: Path) -> None:
    """The summary's pass@k (k = 1 to 2^30) of the base and of each seed's final model equals 1 - (1 - p)^k
    recomputed here from the saved models, their likelihoods from the task's closed form."""
    from agents.analysis.paper_task import load_task_arrays
    from seqreward_env import SequenceTask

    summary = json.loads((run_dir / "figure1_summary.json").read_text())["summary"]["pass_at_k"]
    ks = np.array(summary["k"], dtype=np.float64)
    assert summary["k"][0] == 1 and summary["k"][-1] == 2**30
    arrays = load_task_arrays(run_dir / "task.npz")
    task = SequenceTask(
        seq_len=5,
        vocab_size=4,
        context_dim=4,
        teacher=(arrays.teacher_w1, arrays.teacher_w2),
        test_set=arrays.test_contexts,
    )
    x = arrays.test_contexts[:64]

    def recomputed(path: Path) -> np.ndarray:
        w1, w2 = LinearPolicy.load(path).as_numpy()
        p = task.likelihood(w1, w2, x)
        return (1.0 - (1.0 - p[:, None]) ** ks[None, :]).mean(axis=0)

    np.testing.assert_allclose(
        summary["base"], recomputed(run_dir / "pretrain" / "final_model.pt"), rtol=1e-7, atol=1e-12
    )
    for name in ("orm", "prm"):
        for index, curve in enumerate(summary[name]["seeds"]):
            expected = recomputed(run_dir / "pg" / f"seed{index}" / name / "final_model.pt")
            np.testing.assert_allclose(curve, expected, rtol=1e-7, atol=1e-12)
        assert summary[name]["pass_at_1_gain"] == pytest.approx(summary[name]["mean"][0] - summary["base"][0])


def test_figure1_takes_a_given_task_and_base_model(tmp_path: Path) -> None:
    arrays = draw_paper_task(7, vocab_size=4, context_dim=4, num_components=4, test_size=64)
    task_file = save_task_arrays(tmp_path / "mine.npz", arrays)
    base = LinearPolicy(4, 4)
    base.w1.data.normal_()
    base_file = tmp_path / "base.pt"
    base.save(base_file)
    run_dir = figure1.main(
        [
            *TINY,
            "--seeds",
            "1",
            "--task-file",
            str(task_file),
            "--base-model",
            str(base_file),
            "--run-dir",
            str(tmp_path / "run"),
            "--workers",
            "1",
        ]
    )
    assert not (run_dir / "pretrain").exists()  # the given base model replaced pre-training
    np.testing.assert_array_equal(np.load(run_dir / "task.npz")["teacher_w1"], arrays.teacher_w1)
    result = json.loads((run_dir / "figure1.json").read_text())
    assert result["curves"]["orm"][0]["test_error"][0] == pytest.approx(result["base_test_error"])


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--pg-steps", "-5"], "pg_steps (--pg-steps) must be >= 1"),
        (["--eval-every", "0"], "eval_every (--eval-every) must be >= 1"),
        (["--seeds", "0"], "seeds (--seeds) must be >= 1"),
        (["--learning-rate", "inf"], "learning_rate (--learning-rate)"),
        (["--seed", "-1"], "seed (--seed) must lie in [0, 2^63)"),
        (["--teacher", "mine"], "teacher (--teacher) must be one of"),
        (["--base-model", "/nonexistent/base.pt"], "base_model (--base-model) must be an existing file"),
    ],
)
def test_bad_flags_fail_before_any_work(
    tmp_path: Path, flags: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        figure1.main([*TINY, *flags, "--run-dir", str(tmp_path / "run")])
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_off_support_and_fallback() -> None:
    assert analysis.off_support(np.array([0.5, 1e-13, 0.2, 1e-20]), 1e-12).tolist() == [1, 3]
    assert analysis.lowest_fallback(np.array([0.5, 1e-3, 0.2, 0.9]), 2).tolist() == [1, 2]


def test_lift_counts_and_seed_summary() -> None:
    final = np.array([[0.9, 0.1, 0.6], [0.4, 0.0, 0.51], [0.99, 0.7, 0.2]])  # 3 seeds x 3 contexts
    assert analysis.lift_counts(final).tolist() == [2, 1, 2]
    summary = analysis.summarise_seeds(
        {
            "orm": {"test_error": [0.1, 0.2, 0.3], "off_support_likelihood": final},
            "prm": {"test_error": [0.05, 0.05, 0.05], "off_support_likelihood": np.ones((3, 3))},
        },
        np.array([1e-13, 1e-20, 1e-15]),
        ["centre 8", "test 1", "test 2"],
    )
    assert summary["orm"]["lifted_seeds"] == [2, 1, 2] and summary["orm"]["lifted_fraction"] == pytest.approx(5 / 9)
    assert summary["orm"]["test_error"] == pytest.approx({"mean": 0.2, "min": 0.1, "max": 0.3})
    assert summary["prm"]["lifted_fraction"] == 1.0
    lines = analysis.summary_lines(summary)
    assert any("centre 8" in line and "ORM 2/3, PRM 3/3" in line for line in lines)
    assert any("2 context(s)" in line and "test 1, test 2" not in line for line in lines)


def test_bootstrap_interval_and_pooling() -> None:
    low, high = analysis.bootstrap_interval(np.array([0.2, 0.2, 0.2]))
    assert low == high == pytest.approx(0.2)
    low, high = analysis.bootstrap_interval(np.array([0.0, 1.0] * 10))
    assert 0.25 < low < 0.5 < high < 0.75
    # weights: a draw with more off-support contexts counts more
    low, high = analysis.bootstrap_interval(np.array([0.0, 1.0]), np.array([1.0, 0.0]))
    assert low == high == 0.0
    draw = {"off_support": [{}, {}], "orm": {"seeds": 2, "lifted_seeds": [2, 0], "test_error": {"mean": 0.1}}}
    other = {"off_support": [{}], "orm": {"seeds": 2, "lifted_seeds": [1], "test_error": {"mean": 0.3}}}
    without = {
        "off_support": [{}],
        "fallback": True,
        "orm": {"seeds": 2, "lifted_seeds": [2], "test_error": {"mean": 0.5}},
    }
    pooled = analysis.pool_draws([draw, other, without])
    assert pooled["off_support_contexts"] == 3 and pooled["draws"] == 3 and pooled["draws_with_off_support"] == 2
    assert pooled["orm"]["lifted_pairs"] == [3, 6] and pooled["orm"]["lifted_fraction"] == 0.5
    assert pooled["orm"]["test_error"] == pytest.approx(0.3)  # every draw's test error counts
    low, high = pooled["orm"]["lifted_interval"]
    assert 0.0 <= low <= 0.5 <= high <= 1.0


def test_figure1_with_a_network_policy(tmp_path: Path) -> None:
    run_dir = figure1.main(
        [*TINY, "--seeds", "1", "--policy", "mlp", "--hidden", "8", "--run-dir", str(tmp_path), "--workers", "1"]
    )
    result = json.loads((run_dir / "figure1.json").read_text())
    errors = result["curves"]["prm"][0]["test_error"]
    assert errors[0] == pytest.approx(result["base_test_error"])
    assert result["base_test_error"] < 1 - 1 / 4**5  # pre-training moved the MLP off the uniform policy
    config = json.loads((run_dir / "pretrain" / "config.json").read_text())
    assert config["policy"]["name"] == "mlp" and config["policy"]["hidden"] == 8


def test_a_run_folder_of_another_task_is_refused_untouched(tmp_path: Path) -> None:
    figure1.main([*TINY, "--seeds", "1", "--run-dir", str(tmp_path), "--workers", "1"])
    before = {path: path.read_bytes() for path in tmp_path.rglob("*") if path.is_file() and "tb" not in path.parts}
    with pytest.raises(SystemExit, match="another task|different config"):
        figure1.main([*TINY, "--seeds", "1", "--task-seed", "5", "--run-dir", str(tmp_path), "--workers", "1"])
    after = {path: path.read_bytes() for path in tmp_path.rglob("*") if path.is_file() and "tb" not in path.parts}
    assert after == before


def test_a_task_file_that_does_not_fit_fails_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = save_task_arrays(tmp_path / "wrong.npz", draw_paper_task(1, vocab_size=6, context_dim=4, test_size=64))
    damaged = tmp_path / "damaged.npz"
    damaged.write_bytes(b"not a zip file")
    for path, message in ((wrong, "holds a teacher of shape (6, 4)"), (damaged, "is not a readable .npz file")):
        with pytest.raises(SystemExit):
            figure1.main([*TINY, "--task-file", str(path), "--run-dir", str(tmp_path / "run")])
        # the error panel wraps at the terminal's width, and where it wraps depends on tmp_path's length
        assert message in " ".join(capsys.readouterr().err.replace("│", " ").split())
    assert not (tmp_path / "run").exists()
