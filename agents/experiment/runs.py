"""Run folders shared by every agent and experiment: config, metrics (JSON lines), TensorBoard events,
checkpoints, a finished marker, a progress bar, and resume after an interruption with nothing logged lost
or duplicated.

A run folder holds ``config.json`` (the run's full config, paths inside the folder relative to it),
``metrics.jsonl`` (one JSON object per logged step), ``checkpoint.pt`` (the latest, tensors and plain
containers only), ``done.json`` (written last: the run is finished, with its final numbers), TensorBoard
events under ``tb/`` and ``run.lock`` (held while a process works in the folder)."""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from filelock import FileLock, Timeout
from torch.utils.tensorboard import SummaryWriter

from agents.experiment.run_files import (
    RunFolderError,
    atomic_torch_save,
    atomic_write_json,
    atomic_write_text,
    describe_differences,
    load_checkpoint,
    portable_config,
    read_json_lines,
)
from agents.experiment.tensorboard import QuerySeries

CHECKPOINT = "checkpoint.pt"
METRICS = "metrics.jsonl"
CONFIG = "config.json"
DONE = "done.json"
LOCK = "run.lock"
EVENTS = "tb"
# Everything a Run writes in its folder (what starting it over removes).
RUN_FILES = (CHECKPOINT, METRICS, CONFIG, DONE, EVENTS)


class RunFolderBusy(RunFolderError):
    """Another process holds the run folder."""


class Run:
    """A run folder (see the module docstring), locked against other processes while open.

    Opening a folder that holds a checkpoint resumes it: metrics logged after the checkpoint's step
    are dropped from ``metrics.jsonl`` (rewritten atomically) and purged from the TensorBoard events, so
    the resumed run writes them again exactly once; a folder without a checkpoint starts over. A
    different config in an existing folder is a ``ValueError`` naming the differing fields; a folder
    another process holds is a ``RunFolderBusy``.
    """

    def __init__(self, path: str | Path, config: Mapping[str, Any], *, resume: bool = True) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(str(self.path / LOCK), timeout=0)
        try:
            self._lock.acquire()
        except Timeout:
            raise RunFolderBusy(
                f"run folder {self.path} is in use by another process (it holds {self.path / LOCK}); "
                "wait for it to finish, or give this run another folder"
            ) from None
        self._writer: SummaryWriter | None = None
        try:
            self._open(config, resume)
        except BaseException:
            self._lock.release()
            raise

    def _open(self, config: Mapping[str, Any], resume: bool) -> None:
        config_json = portable_config(config, self.path)
        config_file = self.path / CONFIG
        if not config_file.exists():
            # config.json is written before anything else: run files without it are not this package's
            # (or not of a run it can vouch for), and are neither removed nor appended to.
            foreign = [name for name in (CHECKPOINT, METRICS, DONE, EVENTS) if (self.path / name).exists()]
            if foreign:
                raise RunFolderError(
                    f"{self.path} holds {', '.join(foreign)} but no {CONFIG}: it is not a run folder written "
                    "here, and nothing in it was removed; give the run another folder"
                )
        if config_file.exists() and resume:
            check_same_config(self.path, config_json)
        elif not resume:
            for name in (CHECKPOINT, METRICS, DONE):
                (self.path / name).unlink(missing_ok=True)
            shutil.rmtree(self.path / EVENTS, ignore_errors=True)
        if not config_file.exists() or not resume:
            atomic_write_text(config_file, json.dumps(config_json, indent=2, sort_keys=True))
        self.config = config_json
        self.start_step = 0
        self.resumed_state: dict[str, Any] | None = None
        self.resumed_stopped = False
        checkpoint = self.path / CHECKPOINT
        self._has_checkpoint = resume and checkpoint.exists()
        if self._has_checkpoint:
            saved_state = load_checkpoint(checkpoint)
            if not isinstance(saved_state, dict) or "step" not in saved_state or "state" not in saved_state:
                raise RunFolderError(f"checkpoint {checkpoint} is not a run checkpoint (no 'step' and 'state')")
            self.start_step = int(saved_state["step"])
            self.resumed_state = saved_state["state"]
            self.resumed_stopped = bool(saved_state.get("stopped", False))
            self._truncate_metrics(self.start_step)
        else:  # nothing checkpointed: whatever was logged is written again from step 0
            (self.path / METRICS).unlink(missing_ok=True)
            shutil.rmtree(self.path / EVENTS, ignore_errors=True)
        self._tags_at_step: tuple[int, set[str]] = (-1, set())
        # The learning curves again with the reward queries as the step (agents.experiment.tensorboard).
        self.by_queries = QuerySeries(self.path / EVENTS, self.metrics(), resumed=self._has_checkpoint)

    @property
    def writer(self) -> SummaryWriter:
        """The TensorBoard writer of ``tb/``, made on first use (a run that logs nothing adds no events
        file), purging the events after the checkpoint's step on resume."""
        if self._writer is None:
            purge = self.start_step + 1 if self._has_checkpoint else None
            self._writer = SummaryWriter(str(self.path / EVENTS), purge_step=purge)
        return self._writer

    def log(self, step: int, metrics: Mapping[str, Any]) -> None:
        """Append ``metrics`` at ``step`` to ``metrics.jsonl`` and write scalars (and lists, one scalar per
        entry) to TensorBoard. Keys are namespaced like ``eval/test_error``; a tag already written at this
        step (a training record and an evaluation both carry ``train/reward_queries``) is written once."""
        record = {"step": step, **{key: _plain(value) for key, value in metrics.items()}}
        with open(self.path / METRICS, "a") as file:
            file.write(json.dumps(record) + "\n")
        if self._tags_at_step[0] != step:
            self._tags_at_step = (step, set())
        written = self._tags_at_step[1]
        for key, value in record.items():
            if key == "step" or key in written:
                continue
            written.add(key)
            if isinstance(value, list):
                for index, entry in enumerate(value):
                    self.writer.add_scalar(f"{key}/{index}", entry, step)
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                self.writer.add_scalar(key, value, step)
        self.by_queries.log(record)

    def save_checkpoint(self, step: int, state: Mapping[str, Any], *, stopped: bool = False) -> None:
        """Write the latest checkpoint atomically (a crash mid-write leaves the previous one intact).
        ``state`` must hold only tensors and plain containers (it is loaded with ``weights_only=True``);
        ``stopped``: the run met its stopping rule at ``step`` (a resume does not train on)."""
        if self._writer is not None:
            self._writer.flush()
        self.by_queries.flush()
        atomic_torch_save({"step": step, "state": dict(state), "stopped": stopped}, self.path / CHECKPOINT)
        self._has_checkpoint = True

    def finish(self, summary: Mapping[str, Any]) -> None:
        """Mark the run finished: ``done.json`` (the final numbers ``summary``), written atomically, last."""
        if self._writer is not None:
            self._writer.flush()
        self.by_queries.flush()
        atomic_write_json(self.path / DONE, json.loads(json.dumps(dict(summary), default=str)))

    def metrics(self) -> list[dict[str, Any]]:
        """Every record in ``metrics.jsonl``, in order."""
        return read_metrics(self.path)

    def close(self) -> None:
        """Flush the events and release the folder to other processes."""
        if self._writer is not None:
            self._writer.close()
        self.by_queries.close()
        self._lock.release()

    def __enter__(self) -> Run:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _truncate_metrics(self, step: int) -> None:
        """Keep the records up to ``step``; the file is replaced atomically, never rewritten in place."""
        path = self.path / METRICS
        if not path.exists():
            return
        records = read_json_lines(path, drop_partial_last=True)
        kept = [record for record in records if record["step"] <= step]
        if len(kept) < len(records) or _has_partial_line(path):
            atomic_write_text(path, "".join(json.dumps(record) + "\n" for record in kept))


def _has_partial_line(path: Path) -> bool:
    text = path.read_text()
    return bool(text) and not text.endswith("\n")


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """The records a run wrote to ``metrics.jsonl`` under the folder ``path`` (a damaged line is a
    ``ValueError`` naming the file and the line)."""
    file = Path(path) / METRICS
    if not file.exists():
        return []
    return read_json_lines(file)


def final_test_error(path: str | Path) -> float:
    """The last evaluation's exact test error of the run in the folder ``path``; inf for a diverged run
    (a non-finite error) or one without an evaluation, so that it never wins a tuning."""
    evaluations = [record for record in read_metrics(path) if "eval/test_error" in record]
    error = float(evaluations[-1]["eval/test_error"]) if evaluations else math.inf
    return error if math.isfinite(error) else math.inf


def check_same_config(path: str | Path, config: Mapping[str, Any]) -> None:
    """Refuse (``ValueError`` naming the differing fields) a folder whose ``config.json`` differs from
    ``config`` (already made portable by ``portable_config``)."""
    saved = json.loads((Path(path) / CONFIG).read_text())
    if saved != dict(config):
        raise RunFolderError(
            f"run folder {path} holds a run with a different config ({describe_differences(saved, config)}); "
            "use another folder, or the same settings to resume or reuse it"
        )


def finished_run(path: str | Path, config: Mapping[str, Any]) -> dict[str, Any] | None:
    """The final numbers (``done.json``) of the finished run in ``path`` if it ran ``config``; None if the
    folder holds no finished run; a ``ValueError`` naming the differing fields if it finished another config
    (a finished run is never silently reused under other settings)."""
    folder = Path(path)
    if not (folder / DONE).is_file():
        return None
    if not (folder / CONFIG).is_file():
        raise RunFolderError(f"{folder / DONE} marks a finished run but {folder / CONFIG} is missing")
    check_same_config(folder, portable_config(config, folder))
    summary: dict[str, Any] = json.loads((folder / DONE).read_text())
    return summary


def _plain(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        return value.item() if value.numel() == 1 else value.tolist()
    if hasattr(value, "tolist"):
        return value.tolist()
    return value
