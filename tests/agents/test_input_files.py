"""Every file a run reads is validated where it is read, with one message form ``<file>: <what is wrong>;
<what to do>``: each case here once ended in a traceback deep inside json, numpy or torch (or loaded 6 GB)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from agents.analysis.paper_task import PaperTaskArrays, load_task_arrays, save_task_arrays
from agents.experiment.jobs import Evaluation, Job, TaskSpec, run_job
from agents.learners.pretrain import PretrainConfig
from agents.learners.uniform_pg import UniformPGConfig
from agents.policy.linear import LinearPolicy
from agents.runs.folder import CONFIG, EVENTS, METRICS, Run
from agents.runs.inputs import MAX_JSON_DEPTH, read_json, read_npz, read_policy_file
from agents.runs.problems import RunFolderError

TINY = {"seq_len": 3, "vocab_size": 3, "context_dim": 4, "num_components": 4}
FORM = r"^\S+: [^;]+; .+"  # <file>: <what is wrong>; <what to do>


def linear_file(path: Path, **changes: Any) -> Path:
    state = {"context_dim": 4, "vocab_size": 3, "w1": torch.zeros(4, 3), "w2": torch.zeros(3, 3), **changes}
    torch.save({key: value for key, value in state.items() if value is not None}, path)
    return path


BAD_POLICIES: dict[str, Callable[[Path], Path]] = {
    "empty": lambda path: (path.write_bytes(b""), path)[1],
    "garbage": lambda path: (path.write_bytes(b"not a torch file at all"), path)[1],
    "truncated": lambda path: (path.write_bytes(linear_file(path).read_bytes()[:300]), path)[1],
    "a list": lambda path: (torch.save([1, 2], path), path)[1],
    "a dict without its keys": lambda path: (torch.save({"a": 1}, path), path)[1],
    "without w2": lambda path: linear_file(path, w2=None),
    "NaN weights": lambda path: linear_file(path, w1=torch.full((4, 3), float("nan"))),
    "wrong shape": lambda path: linear_file(path, w1=torch.zeros(5, 3)),
    "another task": lambda path: linear_file(path, context_dim=5, w1=torch.zeros(5, 3)),
    "a string dim": lambda path: linear_file(path, vocab_size="3"),
}


@pytest.mark.parametrize("case", sorted(BAD_POLICIES))
def test_a_bad_base_model_is_refused_naming_the_file(case: str, tmp_path: Path) -> None:
    path = BAD_POLICIES[case](tmp_path / "base.pt")
    with pytest.raises(RunFolderError, match=FORM) as caught:
        read_policy_file(path, "give another", context_dim=4, vocab_size=3)
    assert str(caught.value).startswith(str(path))
    job = Job(
        learner="uniform_pg", config=UniformPGConfig(), task=TaskSpec(TINY), budget=2, seed=0,
        run_dir=str(tmp_path / "run"), rows=2, base_model=str(path), evaluation=Evaluation(every=1, test_size=8),
    )  # fmt: skip
    with pytest.raises(RunFolderError, match=rf"^{path}: "):
        run_job(job)


def test_a_good_base_model_passes() -> None:
    policy = LinearPolicy(4, 3)
    buffer = io.BytesIO()
    policy.save(buffer)  # type: ignore[arg-type]
    path = Path("/tmp") / f"good-{id(buffer)}.pt"
    path.write_bytes(buffer.getvalue())
    try:
        assert set(read_policy_file(path, "x", context_dim=4, vocab_size=3)) == {
            "context_dim",
            "vocab_size",
            "w1",
            "w2",
        }
    finally:
        path.unlink()


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "is not JSON"),
        (b"{not json", "is not JSON"),
        (b"\xff\xfe\x00", "is not UTF-8"),
        (b"[1, 2]", "holds a JSON list, not an object"),
        (b"3", "holds a JSON int, not an object"),
        (b"[" * 100_000 + b"]" * 100_000, "nested more than"),
        (b'{"a":' * (MAX_JSON_DEPTH + 1) + b"1" + b"}" * (MAX_JSON_DEPTH + 1), "nested more than"),
    ],
)
def test_a_bad_json_file_is_refused_in_one_form(content: bytes, problem: str, tmp_path: Path) -> None:
    path = tmp_path / "file.json"
    path.write_bytes(content)
    with pytest.raises(RunFolderError, match=FORM) as caught:
        read_json(path, "fix it")
    assert problem in str(caught.value)


@pytest.mark.parametrize("content", [b"[1]", b"{bad", b"\x00\x01\xff", b"[" * 100_000])
def test_a_damaged_config_json_is_refused_on_resume(content: bytes, tmp_path: Path) -> None:
    with Run(tmp_path, {"a": 1}):
        pass
    (tmp_path / CONFIG).write_bytes(content)
    with pytest.raises(RunFolderError, match=rf"^{tmp_path / CONFIG}: .*; "):
        Run(tmp_path, {"a": 1})


def test_binary_metrics_are_refused_naming_the_file(tmp_path: Path) -> None:
    with Run(tmp_path, {"a": 1}) as run:
        run.log(0, {"x": 1.0})
        run.save_checkpoint(0, {})
    (tmp_path / METRICS).write_bytes(b"\x80\x81\x82\n")
    with pytest.raises(RunFolderError, match=rf"^{tmp_path / METRICS}: is not UTF-8 text"):
        Run(tmp_path, {"a": 1})


def test_a_tb_file_or_a_run_dir_file_is_refused(tmp_path: Path) -> None:
    with Run(tmp_path / "run", {"a": 1}):
        pass
    (tmp_path / "run" / EVENTS).write_text("mine")
    with pytest.raises(RunFolderError, match=rf"^{tmp_path / 'run' / EVENTS}: is a file"):
        Run(tmp_path / "run", {"a": 1})
    (tmp_path / "file").write_text("mine")
    with pytest.raises(RunFolderError, match=rf"^{tmp_path / 'file'}: is a file, not a folder"):
        Run(tmp_path / "file", {"a": 1})


def task_npz(path: Path) -> Path:
    rng = np.random.default_rng(0)
    arrays = PaperTaskArrays(rng.normal(size=(3, 4)), rng.normal(size=(3, 3)), rng.normal(size=(16, 4)))
    return save_task_arrays(path, arrays)


def test_a_truncated_or_garbage_task_file_is_refused(tmp_path: Path) -> None:
    path = task_npz(tmp_path / "task.npz")
    assert load_task_arrays(path).test_contexts.shape == (16, 4)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(RunFolderError, match=rf"^{path}: is not a readable .npz"):
        load_task_arrays(path)
    path.write_bytes(b"garbage")
    with pytest.raises(RunFolderError, match=rf"^{path}: is not a readable .npz"):
        load_task_arrays(path)


def test_a_task_file_that_would_inflate_is_refused_from_its_headers(tmp_path: Path) -> None:
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, shape in (("teacher_w1", (3, 4)), ("teacher_w2", (3, 3)), ("test_contexts", (2**27, 4))):
            buffer = io.BytesIO()
            np.lib.format.write_array_header_1_0(buffer, {"descr": "<f4", "fortran_order": False, "shape": shape})
            archive.writestr(f"{name}.npy", buffer.getvalue())  # the header is all that is read
    with pytest.raises(RunFolderError, match=rf"^{path}: would inflate to 2.0 GiB"):
        load_task_arrays(path)


def test_an_npz_with_objects_or_missing_arrays_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "objects.npz"
    np.savez(path, a=np.array([{"x": 1}], dtype=object))
    with pytest.raises(RunFolderError, match=r"array 'a' has dtype object, not a numeric one"):
        read_npz(path, ["a"], "fix it")
    with pytest.raises(RunFolderError, match=r"lacks the arrays \['b'\]"):
        read_npz(path, ["b"], "fix it")


def test_a_task_file_with_non_finite_values_is_refused(tmp_path: Path) -> None:
    arrays = PaperTaskArrays(np.full((3, 4), np.nan), np.zeros((3, 3)), np.zeros((4, 4)))
    path = save_task_arrays(tmp_path / "task.npz", arrays)
    with pytest.raises(RunFolderError, match=r"non-finite entries in teacher_w1"):
        load_task_arrays(path)


def test_a_pretrain_job_on_a_damaged_task_file_is_refused(tmp_path: Path) -> None:
    path = task_npz(tmp_path / "task.npz")
    path.write_bytes(b"PK\x03\x04 cut short")
    job = Job(
        learner="pretrain", config=PretrainConfig(batch_size=4), task=TaskSpec(TINY, task_file=str(path)),
        budget=2, seed=0, run_dir=str(tmp_path / "run"), evaluation=Evaluation(every=1, test_size=8),
    )  # fmt: skip
    with pytest.raises(RunFolderError, match=rf"^{path}: "):
        run_job(job)
