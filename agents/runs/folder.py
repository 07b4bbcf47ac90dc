"""Run folders shared by every agent and experiment: config, metrics (JSON lines), TensorBoard events,
checkpoints, a finished marker, a progress bar, and resume after an interruption with nothing logged lost
or duplicated.

A run folder holds ``config.json`` (the run's full config, paths inside the folder relative to it),
``metrics.jsonl`` (one JSON object per logged step), ``checkpoint.pt`` (the latest, tensors and plain
containers only), ``done.json`` (written last: the run is finished, with its final numbers), TensorBoard
events under ``tb/`` and ``run.lock`` (held while a process works in the folder).

A run's identity is its config without the ``sources`` entry (where its input files lay, shown but not
compared: the files themselves are identified by their SHA-256 in the config); ``run_identity`` hashes it.
Each checkpoint names the run and its step and seals the metrics it follows (their count and SHA-256), and
``done.json`` seals the final metrics: a checkpoint of another run, one changed after it was written, or
metrics lost or changed under a checkpoint or a finished run are refused, naming the file."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from filelock import FileLock, Timeout
from torch.utils.tensorboard import SummaryWriter

from agents.runs.files import (
    MANIFEST,
    atomic_torch_save,
    atomic_write_json,
    atomic_write_text,
    config_differences,
    config_value,
    describe_differences,
    json_digest,
    manifest_owner,
    portable_config,
    record_written,
    state_digest,
)
from agents.runs.inputs import load_checkpoint, metrics_lines, read_json
from agents.runs.problems import RunFolderError, file_problem
from agents.runs.tensorboard import QuerySeries

CHECKPOINT = "checkpoint.pt"
METRICS = "metrics.jsonl"
CONFIG = "config.json"
DONE = "done.json"
LOCK = "run.lock"
EVENTS = "tb"
# Everything a Run writes in its folder (what starting it over removes).
RUN_FILES = (CHECKPOINT, METRICS, CONFIG, DONE, EVENTS)
# Files runs and jobs write in a run folder (recorded in its manifest, what --fresh may remove): the run files,
# the trained policy (final_model.pt, SB3's model.zip, models/step<n>.pt) and the logs under tb/ and sb3/.
WRITTEN_PATTERNS = (CONFIG, CHECKPOINT, DONE, METRICS, LOCK, "final_model.pt", "model.zip", "models/step*.pt")
WRITTEN_LOG_PATTERNS = ("tb/**/events.out.tfevents.*", "sb3/**/events.out.tfevents.*", "sb3/progress.csv")
SOURCES = "sources"  # config.json: where the input files lay (informative; their content is in the identity)
SEAL = "run_seal"  # done.json: the run and the metrics its summary was computed from
START_OVER = f"delete {CHECKPOINT} to run it again from step 0, or start it over with --fresh"


def run_identity(config: Mapping[str, Any]) -> str:
    """The SHA-256 of a run's identity: its (portable) config without ``sources``."""
    return json_digest({key: value for key, value in config.items() if key != SOURCES})


class RunFolderBusy(RunFolderError):
    """Another process holds the run folder."""


class Run:
    """A run folder (see the module docstring), locked against other processes while open.

    Opening a folder that holds a checkpoint resumes it: metrics logged after the checkpoint's step
    are dropped from ``metrics.jsonl`` (rewritten atomically) and purged from the TensorBoard events, so
    the resumed run writes them again exactly once; a folder without a checkpoint starts over. A
    different config in an existing folder is a ``RunFolderError`` naming the differing fields (or the input
    file whose content changed); so are a checkpoint of another run or changed since it was written, metrics
    lost or changed up to the checkpoint's step, and a folder that is neither new, empty nor a run's
    (``check_adoptable``); a folder another process holds is a ``RunFolderBusy``.
    """

    def __init__(self, path: str | Path, config: Mapping[str, Any], *, resume: bool = True) -> None:
        self.path = Path(path)
        check_run_folder(self.path)
        check_adoptable(self.path)  # before run.lock is made in it
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
        check_adoptable(self.path)  # again, now that the folder is held
        if config_file.exists() and resume:
            check_same_config(self.path, config_json)
        elif not resume:
            for name in (CHECKPOINT, METRICS, DONE):
                (self.path / name).unlink(missing_ok=True)
            clear_events(self.path / EVENTS)
        if not config_file.exists() or not resume:
            atomic_write_text(config_file, json.dumps(config_json, indent=2, sort_keys=True))
        self.config = config_json
        self.identity = run_identity(config_json)
        self.start_step = 0
        self.resumed_state: dict[str, Any] | None = None
        self.resumed_stopped = False
        self._metrics_digest = hashlib.sha256()
        self._metrics_count = 0
        checkpoint = self.path / CHECKPOINT
        self._has_checkpoint = resume and checkpoint.exists()
        if self._has_checkpoint:
            saved = self._check_checkpoint(load_checkpoint(checkpoint))
            self.start_step = saved["step"]
            self.resumed_state = saved["state"]
            self.resumed_stopped = saved["stopped"]
            self._repair_metrics(saved["step"], saved["metrics"])
        else:  # nothing checkpointed: whatever was logged is written again from step 0
            (self.path / METRICS).unlink(missing_ok=True)
            clear_events(self.path / EVENTS)
        self._tags_at_step: tuple[int, set[str]] = (-1, set())
        # The learning curves again with the reward queries as the step (agents.runs.tensorboard).
        self.by_queries = QuerySeries(self.path / EVENTS, self.metrics(), resumed=self._has_checkpoint)

    def _check_checkpoint(self, saved: Any) -> dict[str, Any]:
        """The checkpoint's entries, if it is this run's (its ``run`` is this config's identity) and whole (its
        seal matches its run, step, stopped flag, state and metrics record); else a ``RunFolderError``."""
        path = self.path / CHECKPOINT
        keys = ("run", "step", "stopped", "state", "metrics", "seal")
        if not isinstance(saved, dict) or any(key not in saved for key in keys):
            raise file_problem(
                path, f"is not a run checkpoint of this version (it needs the entries {keys})", START_OVER
            )
        if saved["run"] != self.identity:
            raise file_problem(
                path,
                f"was written by another run (run {str(saved['run'])[:12]}; this folder's {CONFIG} is run "
                f"{self.identity[:12]})",
                START_OVER,
            )
        if checkpoint_seal(saved) != saved["seal"]:
            raise file_problem(
                path, "does not match its own seal (its step, state or metrics record was changed)", START_OVER
            )
        step, metrics = saved["step"], saved["metrics"]
        if isinstance(step, bool) or not isinstance(step, int) or step < 0 or not isinstance(metrics, dict):
            raise file_problem(path, f"names no valid step ({step!r})", START_OVER)
        return saved

    def _repair_metrics(self, step: int, sealed: Mapping[str, Any]) -> None:
        """Make ``metrics.jsonl`` what it was when the checkpoint at ``step`` was written: records logged after
        it are dropped (the file replaced atomically); records missing or changed up to it are refused."""
        path = self.path / METRICS
        lines = metrics_lines(path, drop_partial_last=True) if path.exists() else []
        kept = [text for text, record in lines if record["step"] <= step]
        digest = hashlib.sha256("".join(kept).encode("utf-8"))
        if len(kept) != sealed.get("records") or digest.hexdigest() != sealed.get("sha256"):
            missing = len(kept) < int(sealed.get("records", 0))
            problem = (
                f"holds {len(kept)} records up to step {step}, but the checkpoint at step {step} follows "
                f"{sealed.get('records')} (records were lost)"
                if missing
                else f"its records up to step {step} are not those the checkpoint at step {step} follows (they were changed)"
            )
            raise file_problem(path, problem, START_OVER)
        if len(kept) < len(lines) or (path.exists() and _has_partial_line(path)):
            atomic_write_text(path, "".join(kept))
        self._metrics_digest, self._metrics_count = digest, len(kept)

    def metrics_seal(self) -> dict[str, Any]:
        """The count and SHA-256 of the records logged so far (what a checkpoint or ``done.json`` seals)."""
        return {"records": self._metrics_count, "sha256": self._metrics_digest.copy().hexdigest()}

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
        line = json.dumps(record) + "\n"
        with open(self.path / METRICS, "a") as file:
            file.write(line)
        self._metrics_digest.update(line.encode("utf-8"))
        self._metrics_count += 1
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
        saved = {
            "run": self.identity,
            "step": step,
            "stopped": stopped,
            "state": dict(state),
            "metrics": self.metrics_seal(),
        }
        atomic_torch_save({**saved, "seal": checkpoint_seal(saved)}, self.path / CHECKPOINT)
        self._has_checkpoint = True
        self.record_written()

    def record_written(self) -> None:
        """List what runs write in this folder (``WRITTEN_PATTERNS``) in its manifest, as it is now."""
        paths = [path for pattern in (*WRITTEN_PATTERNS, *WRITTEN_LOG_PATTERNS) for path in self.path.glob(pattern)]
        record_written(self.path, paths, "run")

    def finish(self, summary: Mapping[str, Any]) -> None:
        """Mark the run finished: ``done.json`` (the final numbers ``summary``), written atomically, last."""
        if self._writer is not None:
            self._writer.flush()
        self.by_queries.flush()
        plain = json.loads(json.dumps(dict(summary), default=str))
        atomic_write_json(self.path / DONE, {**plain, SEAL: {"run": self.identity, "metrics": self.metrics_seal()}})
        self.record_written()

    def metrics(self) -> list[dict[str, Any]]:
        """Every record in ``metrics.jsonl``, in order."""
        return read_metrics(self.path)

    def close(self) -> None:
        """Flush the events, record what was written, and release the folder to other processes."""
        if self._writer is not None:
            self._writer.close()
        self.by_queries.close()
        try:
            self.record_written()
        finally:
            self._lock.release()

    def __enter__(self) -> Run:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def clear_events(folder: Path) -> None:
    """Remove the TensorBoard event files under ``folder`` (and folders left empty), nothing else."""
    if not folder.is_dir():
        return
    for path in folder.rglob("events.out.tfevents.*"):
        if path.is_file() and not path.is_symlink():
            path.unlink()
    for path in sorted(folder.rglob("*"), key=lambda path: len(path.parts), reverse=True):
        if path.is_dir() and not path.is_symlink() and not any(path.iterdir()):
            path.rmdir()
    if not any(folder.iterdir()):
        folder.rmdir()


def _has_partial_line(path: Path) -> bool:
    data = path.read_bytes()
    return bool(data) and not data.endswith(b"\n")


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """The records a run wrote to ``metrics.jsonl`` under the folder ``path`` (a damaged line is a
    ``ValueError`` naming the file and the line)."""
    file = Path(path) / METRICS
    if not file.exists():
        return []
    return [record for _, record in metrics_lines(file)]


def final_test_error(path: str | Path) -> float:
    """The last evaluation's exact test error of the run in the folder ``path``; inf for a diverged run
    (a non-finite error) or one without an evaluation, so that it never wins a tuning."""
    evaluations = [record for record in read_metrics(path) if "eval/test_error" in record]
    error = float(evaluations[-1]["eval/test_error"]) if evaluations else math.inf
    return error if math.isfinite(error) else math.inf


def check_run_folder(path: Path) -> None:
    """Refuse a run folder path that is a file, or whose ``tb`` is one."""
    if path.exists() and not path.is_dir():
        raise file_problem(path, "is a file, not a folder", "give the run a folder (a new one, or its run folder)")
    if (path / EVENTS).exists() and not (path / EVENTS).is_dir():
        raise file_problem(path / EVENTS, "is a file where the run keeps its TensorBoard folder", "move it away")


def check_adoptable(path: Path) -> None:
    """Refuse a folder a run may not adopt: one without ``config.json`` that holds anything but a lock and a
    manifest, unless ``--fresh`` cleared it as a run folder (its manifest says so) and kept a user's files.
    ``config.json`` is written before anything else: run files without it are not this package's (or not of
    a run it can vouch for), and are neither removed nor appended to."""
    if not path.is_dir() or (path / CONFIG).exists():
        return
    foreign = [name for name in (CHECKPOINT, METRICS, DONE, "model.zip", "final_model.pt") if (path / name).exists()]
    cleared = manifest_owner(path) == "run"  # a run folder --fresh cleared, keeping a user's files
    if (path / EVENTS).exists() and not cleared:
        foreign.append(EVENTS)
    if foreign:
        raise RunFolderError(
            f"{path} holds {', '.join(foreign)} but no {CONFIG}: it is not a run folder written here, and "
            "nothing in it was removed; give the run another folder"
        )
    if cleared:
        return
    others = sorted(entry.name for entry in path.iterdir() if entry.name not in (LOCK, MANIFEST))
    if others:
        raise RunFolderError(
            f"{path} holds files no run wrote ({', '.join(others[:5])}) and nothing in it was changed; "
            "give the run a new or empty folder"
        )


def check_same_config(path: str | Path, config: Mapping[str, Any]) -> None:
    """Refuse (``RunFolderError``) a folder whose ``config.json`` differs from ``config`` (already made portable
    by ``portable_config``) in anything but its ``sources``: an input file whose content changed is named."""
    config_file = Path(path) / CONFIG
    saved = read_json(config_file, "delete the folder's run files, or give the run another folder")
    identity = {key: value for key, value in config.items() if key != SOURCES}
    kept = {key: value for key, value in saved.items() if key != SOURCES}
    if kept == identity:
        return
    given = config.get(SOURCES)
    sources: dict[str, Any] = given if isinstance(given, dict) else {}
    for name in config_differences(kept, identity):
        for field, source in sources.items():
            if name.startswith(field + ".") and isinstance(config_value(kept, field), dict):
                raise file_problem(
                    source,
                    f"its content is not that of the file the run in {path} used ({field} sha256 "
                    f"{str(config_value(kept, name))[:12]} -> {str(config_value(identity, name))[:12]})",
                    "restore that file, or run on the new one in another folder (or start over with --fresh)",
                )
    raise RunFolderError(
        f"run folder {path} holds a run with a different config ({describe_differences(kept, identity)}); "
        "use another folder, or the same settings to resume or reuse it"
    )


def checkpoint_seal(saved: Mapping[str, Any]) -> str:
    """The SHA-256 binding a checkpoint's run, step, stopped flag, metrics record and state together."""
    parts = {key: saved[key] for key in ("run", "step", "stopped", "metrics")}
    return json_digest({**parts, "state": state_digest(saved["state"])})


def finished_run(path: str | Path, config: Mapping[str, Any]) -> dict[str, Any] | None:
    """The final numbers (``done.json``) of the finished run in ``path`` if it ran ``config``; None if the
    folder holds no finished run; a ``RunFolderError`` if it finished another config (naming the differing
    fields, or the input file whose content changed), or if ``done.json`` or the metrics it was computed from
    are damaged or changed (a finished run is never silently reused under other settings or other numbers)."""
    folder = Path(path)
    check_run_folder(folder)
    done_file = folder / DONE
    if not done_file.exists():
        return None
    if not (folder / CONFIG).is_file():
        raise RunFolderError(f"{done_file} marks a finished run but {folder / CONFIG} is missing")
    config_json = portable_config(config, folder)
    check_same_config(folder, config_json)
    again = f"delete {DONE} to finish the run again from its checkpoint, or start it over with --fresh"
    done = read_json(done_file, again)
    seal = done.pop(SEAL, None)
    if not isinstance(seal, dict) or seal.get("run") != run_identity(config_json):
        raise file_problem(
            done_file, "is not the summary of this folder's run (its run seal is missing or another's)", again
        )
    lines = metrics_lines(folder / METRICS) if (folder / METRICS).is_file() else []
    digest = hashlib.sha256("".join(text for text, _ in lines).encode("utf-8")).hexdigest()
    if seal.get("metrics") != {"records": len(lines), "sha256": digest}:
        raise file_problem(
            folder / METRICS,
            f"is not what the finished run logged ({len(lines)} records now, {seal.get('metrics', {}).get('records')} "
            "when it finished, or changed records)",
            f"restore it, or {again}",
        )
    return done


def without_seal(done_file: str | Path) -> dict[str, Any]:
    """The summary a ``done.json`` holds (its run seal left out), as ``run_job`` returns it."""
    done = read_json(done_file, "delete it to finish the run again")
    done.pop(SEAL, None)
    return done


def _plain(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        return value.item() if value.numel() == 1 else value.tolist()
    if hasattr(value, "tolist"):
        return value.tolist()
    return value
