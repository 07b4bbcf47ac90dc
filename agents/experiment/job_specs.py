"""The parts of a job (``agents.experiment.jobs.Job``) besides the learner: the task it runs on, when and
how it is evaluated, and the rule that ends it early."""

from __future__ import annotations

import hashlib
import inspect
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from agents.common.config_checks import check_count
from agents.policy.coverage import COVER_TAUS, PASS_AT_K, check_ks, check_taus
from agents.runs.files import file_digest
from agents.runs.problems import file_problem
from seqreward_env import ENV_IDS, SequenceTask


@dataclass(frozen=True)
class TaskSpec:
    """The task of a job: ``SequenceTask`` keyword arguments over the defaults of ``env_id`` (a registered
    id, or None for ``SequenceTask``'s own), with the teacher and test set of ``task_file`` (an ``.npz``
    written by ``agents.analysis.paper_task.save_task_arrays``) when given."""

    keywords: Mapping[str, Any] = field(default_factory=dict)
    env_id: str | None = None
    task_file: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.keywords, Mapping):
            raise ValueError(f"task keywords must be a mapping of SequenceTask arguments, got {self.keywords!r}")
        allowed = sorted(set(inspect.signature(SequenceTask).parameters) - {"self"})
        unknown = sorted(set(self.keywords) - set(allowed))
        if unknown:
            raise ValueError(f"task keywords {unknown} are not SequenceTask arguments; allowed: {allowed}")
        if self.env_id is not None and self.env_id not in ENV_IDS:
            raise ValueError(f"env_id must be one of {sorted(ENV_IDS)} or None, got {self.env_id!r}")
        if self.task_file is not None and not isinstance(self.task_file, str):
            raise ValueError(f"task_file must be a path string or None, got {self.task_file!r}")

    @property
    def context_dim(self) -> int:
        """The task's context dimension d (its keyword, else the env id's, else ``SequenceTask``'s default)."""
        default = inspect.signature(SequenceTask).parameters["context_dim"].default
        keywords = {**(ENV_IDS[self.env_id] if self.env_id is not None else {}), **self.keywords}
        return int(keywords.get("context_dim", default))

    def build(self, reward: str | None = None) -> SequenceTask:
        """The task (with ``reward`` instead of its own when given)."""
        kwargs = {**(ENV_IDS[self.env_id] if self.env_id is not None else {}), **self.keywords}
        if reward is not None:
            kwargs["reward"] = reward
        if self.task_file is not None:
            from agents.analysis.paper_task import load_task_arrays

            arrays = load_task_arrays(self.task_file)
            kwargs.update(teacher=(arrays.teacher_w1, arrays.teacher_w2), test_set=arrays.test_contexts)
        return SequenceTask(**kwargs)

    def record(self) -> dict[str, Any]:
        """JSON-ready; the task file by its content (``input_digest``), not by where it lies."""
        return {
            "keywords": dict(self.keywords),
            "env_id": self.env_id,
            "task_file": input_digest("task_file", self.task_file),
        }


def input_digest(name: str, path: str | None) -> dict[str, str] | None:
    """A file a job reads, identified by its content: ``{"sha256": ...}`` (None for no file); a missing one
    is a ``RunFolderError`` naming it."""
    if path is None:
        return None
    if not Path(path).is_file():
        raise file_problem(path, f"is missing or not a file (the job's {name})", f"give {name} an existing file")
    return {"sha256": file_digest(path)}


@dataclass(frozen=True)
class StopRule:
    """End a run at the first evaluation whose ``metric`` is at most ``at_most`` (or at least ``at_least``)."""

    metric: str
    at_most: float | None = None
    at_least: float | None = None

    def __post_init__(self) -> None:
        if (self.at_most is None) == (self.at_least is None):
            raise ValueError(f"a stop rule on {self.metric!r} needs exactly one of at_most and at_least")
        bound = self.at_most if self.at_most is not None else self.at_least
        if isinstance(bound, bool) or not isinstance(bound, (int, float)) or not math.isfinite(bound):
            raise ValueError(f"the bound of a stop rule must be a finite number, got {bound!r}")

    def __call__(self, metrics: Mapping[str, Any]) -> bool:
        value = float(metrics[self.metric])
        return value <= self.at_most if self.at_most is not None else value >= float(self.at_least)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Evaluation:
    """When and how a job is evaluated, in the unit of the learner's budget: at the start, every ``every``,
    at the steps of a grid growing by ``1 + growth`` (0: none) and at the end; training metrics are logged
    every ``log_every`` updates. ``test_size`` test contexts from the task's test set; ``tracked`` contexts
    ``(T, d)`` whose likelihoods are logged one by one, ``off_support`` the indices into them whose mean is
    logged too; ``stop`` ends the run early; ``keep_models`` saves the policy at every evaluation as
    ``models/step<n>.pt`` in the run folder (``model_file``), for analyses of the model along training;
    ``pass_at_k`` and ``cover_taus`` the k of the logged exact ``eval/pass@k`` and the tau of ``eval/cover@tau``."""

    every: int = 100
    growth: float = 0.0
    log_every: int = 1
    test_size: int = 1024
    tracked: Any = None
    off_support: tuple[int, ...] | None = None
    stop: StopRule | None = None
    keep_models: bool = False
    pass_at_k: tuple[int, ...] = PASS_AT_K
    cover_taus: tuple[float, ...] = COVER_TAUS

    def __post_init__(self) -> None:
        object.__setattr__(self, "pass_at_k", check_ks(self.pass_at_k, "evaluation.pass_at_k"))
        object.__setattr__(self, "cover_taus", check_taus(self.cover_taus, "evaluation.cover_taus"))
        if not isinstance(self.keep_models, bool):
            raise ValueError(f"evaluation.keep_models must be True or False, got {self.keep_models!r}")
        check_count("evaluation.every", self.every, minimum=1)
        check_count("evaluation.log_every", self.log_every, minimum=1)
        check_count("evaluation.test_size", self.test_size, minimum=1)
        if isinstance(self.growth, bool) or not isinstance(self.growth, (int, float)) or not 0 <= self.growth < 1e6:
            raise ValueError(f"evaluation.growth must be a number >= 0, got {self.growth!r}")
        if self.off_support is not None and self.tracked is None:
            raise ValueError("evaluation.off_support indexes evaluation.tracked, which is None")
        if self.tracked is not None:
            count = len(tracked_contexts(self.tracked))
            for index in self.off_support or ():
                if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < count:
                    raise ValueError(
                        f"evaluation.off_support must hold indices into the {count} tracked contexts, integers in "
                        f"[0, {count - 1}], got {index!r}"
                    )

    def record(self) -> dict[str, Any]:
        """JSON-ready; the tracked contexts by their SHA-256 (they follow from the task and base model)."""
        record = asdict(self)
        # what is logged beside the test error does not change a run: at the defaults they stay out of its
        # identity, so run folders written before they existed still match
        for name, default in (("pass_at_k", PASS_AT_K), ("cover_taus", COVER_TAUS)):
            if record[name] == default:
                del record[name]
            else:
                record[name] = list(record[name])
        if self.tracked is not None:
            tracked = np.ascontiguousarray(self.tracked, dtype=np.float32)
            record["tracked"] = hashlib.sha256(tracked.tobytes()).hexdigest()[:16]
        if self.off_support is not None:
            record["off_support"] = [int(index) for index in self.off_support]
        return record


def tracked_contexts(tracked: Any) -> np.ndarray:
    """``evaluation.tracked`` as a ``(T, d)`` float32 array, T >= 1, refused unless every entry is a finite
    number (in float32 too, as the evaluation computes)."""
    try:
        raw = np.asarray(tracked)
        if raw.dtype.kind not in "biuf":  # strings or objects would be converted, not refused
            raise TypeError(raw.dtype)
        with np.errstate(over="ignore"):
            array = raw.astype(np.float32)
    except (TypeError, ValueError):
        shown = repr(tracked) if len(repr(tracked)) <= 80 else repr(tracked)[:80] + "..."
        raise ValueError(f"evaluation.tracked must be a (T, d) array of finite numbers, got {shown}") from None
    if array.ndim != 2 or array.shape[0] == 0:
        raise ValueError(f"evaluation.tracked must be a (T, d) array with T >= 1 contexts, got shape {raw.shape}")
    finite = np.isfinite(array).all(axis=1)
    if not finite.all():
        row = int(np.argmin(finite))
        raise ValueError(
            f"evaluation.tracked must hold finite contexts (in float32), got {raw[row].tolist()!r} in row {row}"
        )
    return array


def model_file(run_dir: str | Path, step: int) -> Path:
    """The policy a job with ``Evaluation(keep_models=True)`` saved at its evaluation of ``step``."""
    return Path(run_dir) / "models" / f"step{step:06d}.pt"
