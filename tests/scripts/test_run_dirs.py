"""Run folders of the scripts: a folder is adopted only when it is empty or already the same run's, ``--fresh``
removes only the files its manifest says a run wrote (content unchanged), and a bad ``--run-dir`` is refused
before any work. Each case here once overwrote or deleted a user's file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scripts import train_sb3
from scripts.figure1 import run as figure1

FIGURE1 = [
    "--seq-len", "4", "--vocab-size", "3", "--context-dim", "4", "--num-components", "4",
    "--pretrain-steps", "6", "--pretrain-batch-size", "16", "--pg-steps", "4", "--batch-size", "16",
    "--test-size", "32", "--eval-every", "2", "--no-progress", "--seeds", "1", "--workers", "1",
]  # fmt: skip
SB3 = [
    "--algo", "a2c", "--num-envs", "4", "--total-timesteps", "16", "--eval-every", "8", "--test-size", "16",
    "--env-kwargs", '{"seq_len": 3, "vocab_size": 3, "context_dim": 4, "num_components": 4}',
    "--algo-kwargs", '{"n_steps": 2}', "--no-progress",
]  # fmt: skip


def files_under(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in folder.rglob("*") if path.is_file()}


def test_figure1_refuses_a_users_folder_untouched(tmp_path: Path) -> None:
    (tmp_path / "figure1.csv").write_text("my own table")
    with pytest.raises(SystemExit, match=r"holds files no figure1 run wrote \(figure1.csv\)"):
        figure1.main([*FIGURE1, "--run-dir", str(tmp_path)])
    assert files_under(tmp_path) == {"figure1.csv": b"my own table"}


def test_figure1_fresh_keeps_a_users_file_and_resumes_identically(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    figure1.main([*FIGURE1, "--run-dir", str(run_dir)])
    first = json.loads((run_dir / "figure1_summary.json").read_text())
    (run_dir / "pg" / "notes.txt").write_text("mine")
    (run_dir / "figure1.csv").write_text("edited by hand")  # changed since the run wrote it: never overwritten
    before = files_under(run_dir)
    with pytest.raises(SystemExit, match=r"holds figure1.csv, not as the run wrote it .* nothing was removed"):
        figure1.main([*FIGURE1, "--run-dir", str(run_dir), "--fresh"])
    assert files_under(run_dir) == before
    (run_dir / "figure1.csv").rename(tmp_path / "mine.csv")
    figure1.main([*FIGURE1, "--run-dir", str(run_dir), "--fresh"])
    assert (run_dir / "pg" / "notes.txt").read_text() == "mine"
    assert json.loads((run_dir / "figure1_summary.json").read_text()) == first
    figure1.main([*FIGURE1, "--run-dir", str(run_dir), "--fresh"])  # the user's file survives every start over
    assert files_under(run_dir)["pg/notes.txt"] == b"mine"


def test_train_sb3_fresh_refuses_while_an_edited_model_is_there(tmp_path: Path) -> None:
    train_sb3.main([*SB3, "--run-dir", str(tmp_path)])
    (tmp_path / "model.zip").write_bytes(b"my own edit")
    with pytest.raises(SystemExit, match=r"holds model.zip, not as the run wrote it"):
        train_sb3.main([*SB3, "--run-dir", str(tmp_path), "--fresh"])
    assert (tmp_path / "model.zip").read_bytes() == b"my own edit"


def test_train_sb3_refuses_a_users_folder_without_leaving_a_lock_file(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(SystemExit, match=r"holds files no run wrote \(notes.txt\)"):
        train_sb3.main([*SB3, "--run-dir", str(tmp_path)])
    assert files_under(tmp_path) == {"notes.txt": b"mine"}


def test_train_sb3_refuses_a_figure1_folder(tmp_path: Path) -> None:
    figure1.main([*FIGURE1, "--run-dir", str(tmp_path)])
    before = files_under(tmp_path)
    with pytest.raises(SystemExit, match="holds files no run wrote"):
        train_sb3.main([*SB3, "--run-dir", str(tmp_path)])
    assert files_under(tmp_path) == before


def test_figure1_refuses_a_finished_train_sb3_folder(tmp_path: Path) -> None:
    train_sb3.main([*SB3, "--run-dir", str(tmp_path)])
    before = files_under(tmp_path)
    with pytest.raises(SystemExit, match="holds files no figure1 run wrote"):
        figure1.main([*FIGURE1, "--run-dir", str(tmp_path)])
    assert files_under(tmp_path) == before


def test_train_sb3_fresh_never_touches_a_users_files(tmp_path: Path) -> None:
    user = {"config.json": b'{"mine": 1}', "model.zip": b"my model", "sb3/x.txt": b"x", "tb/events.txt": b"e"}
    for name, content in user.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(content)
    with pytest.raises(SystemExit, match="not a run folder"):
        train_sb3.main([*SB3, "--run-dir", str(tmp_path), "--fresh"])
    assert files_under(tmp_path) == user


def test_train_sb3_fresh_removes_its_run_and_keeps_files_added_to_it(tmp_path: Path) -> None:
    first = train_sb3.main([*SB3, "--run-dir", str(tmp_path)])
    (tmp_path / "sb3" / "x.txt").write_text("mine")
    (tmp_path / "tb" / "events.txt").write_text("mine")
    again = train_sb3.main([*SB3, "--run-dir", str(tmp_path), "--fresh"])
    assert again == first
    assert (tmp_path / "sb3" / "x.txt").read_text() == "mine"
    assert (tmp_path / "tb" / "events.txt").read_text() == "mine"


@pytest.mark.parametrize("main", [figure1.main, train_sb3.main])
def test_an_empty_run_dir_or_a_file_is_refused_before_any_work(
    main: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = FIGURE1 if main is figure1.main else SB3
    (tmp_path / "file").write_text("mine")
    for run_dir, problem in (
        ("", "--run-dir '' must name a folder"),
        (str(tmp_path / "file"), "is a file, not a folder"),
    ):
        with pytest.raises(SystemExit) as caught:
            main([*args, "--run-dir", run_dir])  # type: ignore[operator]
        assert caught.value.code == 2 and problem in capsys.readouterr().err
    assert files_under(tmp_path) == {"file": b"mine"}


def test_fresh_never_clears_a_folder_another_program_wrote(tmp_path: Path) -> None:
    figure1.main([*FIGURE1, "--run-dir", str(tmp_path / "figure1")])
    train_sb3.main([*SB3, "--run-dir", str(tmp_path / "sb3")])
    before = files_under(tmp_path)
    with pytest.raises(SystemExit, match=r"is not a run folder of a run \(its manifest.json is of 'figure1'\)"):
        train_sb3.main([*SB3, "--run-dir", str(tmp_path / "figure1"), "--fresh"])
    with pytest.raises(
        SystemExit, match=r"is not a run folder of the figure1 experiment \(its manifest.json is of 'run'\)"
    ):
        figure1.main([*FIGURE1, "--run-dir", str(tmp_path / "sb3"), "--fresh"])
    assert files_under(tmp_path) == before


def test_train_sb3_refuses_a_damaged_progress_file_on_resume_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agents.learners.sb3.learner import SB3Learner

    original = SB3Learner.train_step
    calls = {"n": 0}

    def interrupted(self: SB3Learner, step: int) -> dict:
        calls["n"] += 1
        if calls["n"] == 2:  # after the first update and its checkpoint
            raise KeyboardInterrupt
        return original(self, step)

    monkeypatch.setattr(SB3Learner, "train_step", interrupted)
    args = [*SB3, "--total-timesteps", "32", "--eval-every", "8", "--run-dir", str(tmp_path)]
    with pytest.raises(KeyboardInterrupt):
        train_sb3.main(args)
    monkeypatch.setattr(SB3Learner, "train_step", original)
    progress = tmp_path / "sb3" / "progress.csv"
    assert progress.is_file() and not (tmp_path / "done.json").exists()
    progress.write_bytes(b"time/total_timesteps\n\xff\xfe\n")
    with pytest.raises(SystemExit, match=rf"^train_sb3: {progress}: is not a CSV file of SB3's scalars"):
        train_sb3.main(args)
    assert progress.read_bytes() == b"time/total_timesteps\n\xff\xfe\n"  # left as it was, for the user to see
