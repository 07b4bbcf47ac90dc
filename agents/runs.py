"""Run folders shared by every agent and experiment: config, metrics (JSON lines), TensorBoard events,
checkpoints, a progress bar, and resume after an interruption with nothing logged lost or duplicated."""

from __future__ import annotations

import json
import math
import os
import shutil
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any, Protocol

import torch
from torch.utils.tensorboard import SummaryWriter
from tqdm.auto import tqdm

CHECKPOINT = "checkpoint.pt"
METRICS = "metrics.jsonl"
CONFIG = "config.json"


class Run:
    """A run folder: ``config.json``, ``metrics.jsonl`` (one JSON object per logged step),
    ``checkpoint.pt`` (the latest), and TensorBoard events under ``tb/``.

    Opening a folder that holds a checkpoint resumes it: metrics logged after the checkpoint's step
    are dropped from ``metrics.jsonl`` and purged from the TensorBoard events, so the resumed run
    writes them again exactly once. A different config in an existing folder is an error.
    """

    def __init__(self, path: str | Path, config: Mapping[str, Any], *, resume: bool = True) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        config_json = json.loads(json.dumps(dict(config), default=str))
        config_file = self.path / CONFIG
        if config_file.exists() and resume:
            saved = json.loads(config_file.read_text())
            if saved != config_json:
                changed = sorted(key for key in set(saved) | set(config_json) if saved.get(key) != config_json.get(key))
                raise ValueError(
                    f"run folder {self.path} holds a run with a different config (differs in {changed}); "
                    "use another folder or resume with the same settings"
                )
        elif not resume:
            for name in (CHECKPOINT, METRICS):
                (self.path / name).unlink(missing_ok=True)
            shutil.rmtree(self.path / "tb", ignore_errors=True)
        config_file.write_text(json.dumps(config_json, indent=2, sort_keys=True))
        self.config = config_json
        self.start_step = 0
        self.resumed_state: dict[str, Any] | None = None
        checkpoint = self.path / CHECKPOINT
        if resume and checkpoint.exists():
            saved_state = torch.load(checkpoint, map_location="cpu", weights_only=False)
            self.start_step = int(saved_state["step"])
            self.resumed_state = saved_state["state"]
        self._truncate_metrics(self.start_step)
        self.writer = SummaryWriter(str(self.path / "tb"), purge_step=self.start_step + 1 if self.start_step else None)

    def log(self, step: int, metrics: Mapping[str, Any]) -> None:
        """Append ``metrics`` at ``step`` to ``metrics.jsonl`` and write scalars (and lists, one scalar per
        entry) to TensorBoard. Keys are namespaced like ``eval/test_error``."""
        record = {"step": step, **{key: _plain(value) for key, value in metrics.items()}}
        with open(self.path / METRICS, "a") as file:
            file.write(json.dumps(record) + "\n")
        for key, value in record.items():
            if key == "step":
                continue
            if isinstance(value, list):
                for index, entry in enumerate(value):
                    self.writer.add_scalar(f"{key}/{index}", entry, step)
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                self.writer.add_scalar(key, value, step)

    def save_checkpoint(self, step: int, state: Mapping[str, Any]) -> None:
        """Write the latest checkpoint atomically (a crash mid-write leaves the previous one intact)."""
        self.writer.flush()
        temporary = self.path / (CHECKPOINT + ".tmp")
        torch.save({"step": step, "state": dict(state)}, temporary)
        os.replace(temporary, self.path / CHECKPOINT)

    def metrics(self) -> list[dict[str, Any]]:
        """Every record in ``metrics.jsonl``, in order."""
        return read_metrics(self.path)

    def close(self) -> None:
        self.writer.close()

    def _truncate_metrics(self, step: int) -> None:
        path = self.path / METRICS
        if not path.exists():
            return
        kept = [line for line in path.read_text().splitlines() if line.strip() and json.loads(line)["step"] <= step]
        path.write_text("".join(line + "\n" for line in kept))


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """The records a run wrote to ``metrics.jsonl`` under the folder ``path``."""
    file = Path(path) / METRICS
    if not file.exists():
        return []
    return [json.loads(line) for line in file.read_text().splitlines() if line.strip()]


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
    evaluation whose metrics satisfy it (e.g. a target test error reached), the one at step 0 included.
    """
    if run.resumed_state is not None:
        agent.load_state_dict(run.resumed_state)
    step = run.start_step
    stopped = False
    if step == 0:
        first = _evaluate(run, agent, 0, on_eval)
        stopped = stop_when is not None and stop_when(first)
        run.save_checkpoint(0, agent.state_dict())
    progress = tqdm(
        total=total_steps,
        initial=step,
        desc=description,
        disable=not show_progress,
        dynamic_ncols=True,
        position=progress_position,
    )
    last_eval: dict[str, Any] = {}
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
            run.save_checkpoint(step, agent.state_dict())
            stopped = stop_when is not None and stop_when(last_eval)
            error = last_eval.get("eval/test_error")
            if isinstance(error, float) and math.isfinite(error):
                progress.set_postfix(test_error=f"{error:.4f}")
        progress.update(1)
    progress.close()
    run.writer.flush()


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
