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
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any, Protocol

import torch
from filelock import FileLock, Timeout
from torch.utils.tensorboard import SummaryWriter
from tqdm.auto import tqdm

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
from agents.experiment.tensorboard import QuerySeries, log_hparams

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


class Trainable(Protocol):
    """What ``train`` drives: one update, an evaluation, and the state to checkpoint."""

    def train_step(self, step: int) -> dict[str, Any]: ...

    def evaluate(self) -> dict[str, Any]: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


def train(
    run: Run,
    agent: Trainable,
    total_steps: int,
    *,
    eval_every: int,
    log_every: int = 1,
    description: str = "train",
    show_progress: bool = True,
    progress_position: int = 0,
    stop_after: int | None = None,
    on_eval: Callable[[int, dict[str, Any]], None] | None = None,
    eval_steps: Collection[int] = (),
    stop_when: Callable[[dict[str, Any]], bool] | None = None,
) -> None:
    """Run ``agent`` for ``total_steps`` updates in ``run``, resuming from its checkpoint if any.

    Evaluates at step 0 and every ``eval_every`` steps (and at the end), checkpointing right after each
    evaluation, so an interrupted run loses at most ``eval_every`` updates of work and nothing logged.
    ``stop_after`` ends the call early after that many updates (used to test resume). ``eval_steps``
    adds evaluations at the given steps (e.g. a log-spaced grid); ``stop_when`` ends the run after an
    evaluation whose metrics satisfy it (e.g. a target test error reached), the one at step 0 included;
    a run resumed after such an evaluation stays stopped.
    """
    check_count("total_steps", total_steps, minimum=0)
    check_count("eval_every", eval_every, minimum=1)
    check_count("log_every", log_every, minimum=1)
    if stop_after is not None:
        check_count("stop_after", stop_after, minimum=0)
    stopped = False
    if run.resumed_state is not None:
        agent.load_state_dict(run.resumed_state)
        stopped = run.resumed_stopped
    else:
        first = _evaluate(run, agent, 0, on_eval)
        stopped = stop_when is not None and bool(stop_when(first))
        run.save_checkpoint(0, agent.state_dict(), stopped=stopped)
    step = run.start_step
    progress = tqdm(
        total=total_steps,
        initial=min(step, total_steps),
        desc=description,
        disable=not show_progress,
        dynamic_ncols=True,
        position=progress_position,
    )
    done = 0
    eval_steps = frozenset(eval_steps)
    while step < total_steps and not stopped and (stop_after is None or done < stop_after):
        metrics = agent.train_step(step)
        step += 1
        done += 1
        if step % log_every == 0:
            run.log(step, metrics)
        if step % eval_every == 0 or step == total_steps or step in eval_steps:
            last_eval = _evaluate(run, agent, step, on_eval)
            stopped = stop_when is not None and bool(stop_when(last_eval))
            run.save_checkpoint(step, agent.state_dict(), stopped=stopped)
            error = last_eval.get("eval/test_error")
            if isinstance(error, float) and math.isfinite(error):
                progress.set_postfix(test_error=f"{error:.4f}")
        progress.update(1)
    progress.close()
    if run._writer is not None:
        run._writer.flush()
    if step >= total_steps or stopped:  # finished: the run's config and final metrics for the HParams table
        log_hparams(run.path / EVENTS, run.config, run.metrics())


def check_count(name: str, value: Any, *, minimum: int) -> None:
    """Refuse (``ValueError`` naming ``name``) anything but an ``int`` (not a bool) of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def _evaluate(
    run: Run, agent: Trainable, step: int, on_eval: Callable[[int, dict[str, Any]], None] | None
) -> dict[str, Any]:
    metrics = agent.evaluate()
    run.log(step, metrics)
    if on_eval is not None:
        on_eval(step, metrics)
    return metrics


def _plain(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        return value.item() if value.numel() == 1 else value.tolist()
    if hasattr(value, "tolist"):
        return value.tolist()
    return value
