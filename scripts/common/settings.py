"""The settings blocks that experiments' configs are composed of (dataclass inheritance: each block's
fields keep their flag names, ``--seeds`` stays ``--seeds``, and their docstrings are the flags' help).

An experiment's config inherits the blocks it uses, redeclares a field only to change its default (the help
stays the block's) or its meaning (with a docstring of its own), and adds its own checks in ``check``, which
``__post_init__`` runs after every block's: each block's ``check`` calls the next one's (``super().check()``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agents.common.config_checks import ConfigError, check_choice, check_env_id, check_fields
from agents.experiment.jobs import run_job
from agents.experiment.settings import check_device, check_task_sizes, task_keywords
from agents.experiment.sweep import run_sweep

CONTEXTS = ("rademacher", "mixture")


@dataclass(frozen=True)
class Settings:
    """The root of every script's settings: ``__post_init__`` checks the field types and the rules all
    settings share (``check_fields``), then ``check``."""

    def __post_init__(self) -> None:
        check_fields(self)
        self.check()

    def check(self) -> None:
        """Each block's own checks (a ``ConfigError`` naming the flag); blocks call ``super().check()``."""


@dataclass(frozen=True)
class DeviceSettings(Settings):
    """Where torch computes."""

    device: str = "cpu"
    """Torch device: 'cpu', or 'cuda' ('cuda:<index>') where this torch sees a GPU."""

    def check(self) -> None:
        super().check()
        check_device(self.device)


@dataclass(frozen=True)
class SweepSettings(Settings):
    """How many runs an experiment makes and where they run."""

    seeds: int = 3
    """Seeds per setting (data, contexts and sampling of each derive from it; 0, 1, ...)."""
    test_size: int = 512
    """Contexts in the test set (exact test error)."""
    workers: int = 2
    """Local worker processes."""
    backend: str = "local"
    """'local' or 'ray'."""
    ray_address: str = ""
    """Ray cluster address ('auto' to find one; empty starts a local Ray)."""

    def sweep(self, jobs: list[Any], description: str = "runs", show_progress: bool = True) -> list[dict[str, Any]]:
        """Run ``jobs`` with ``run_job`` on the configured backend; their summaries in order."""
        return run_sweep(
            run_job,
            jobs,
            backend=self.backend,
            workers=self.workers,
            ray_address=self.ray_address or None,
            description=description,
            show_progress=show_progress,
        )


@dataclass(frozen=True)
class QuerySettings(SweepSettings):
    """The budget of the theory's query experiments: ``rows`` contexts side by side, one reward query per row
    and step."""

    rows: int = 4
    """Contexts searched side by side (env rows); 1 is the paper's sequential algorithm."""
    query_budget: int = 1_000_000
    """Reward queries at most per run."""

    def check(self) -> None:
        super().check()
        if self.query_budget < self.rows:
            raise ConfigError(
                f"query_budget (--query-budget) must allow one step of --rows={self.rows} queries, "
                f"got {self.query_budget}",
                "query_budget",
            )


@dataclass(frozen=True)
class TargetSettings(QuerySettings):
    """A query experiment whose runs stop at a target test error."""

    target_error: float = 0.1
    """Test error 1 - E p(y*|x) each run must reach."""

    def check(self) -> None:
        super().check()
        if not 0.0 < self.target_error < 1.0:
            raise ConfigError(
                f"target_error (--target-error) must lie in (0, 1), got {self.target_error!r}", "target_error"
            )


@dataclass(frozen=True)
class PretrainSettings(Settings):
    """Supervised pre-training of a base model (Adagrad on (x, y*), token-level cross-entropy)."""

    pretrain_batch_size: int = 64
    """(x, y*) pairs per pre-training step."""


@dataclass(frozen=True)
class TaskShape(Settings):
    """The task's vocabulary, context dimension and draw (``SequenceTask``'s arguments of the same names)."""

    vocab_size: int = 8
    """k, the vocabulary size."""
    context_dim: int = 8
    """d, the context dimension."""
    task_seed: int = 0
    """Seed of the teacher and the test set."""

    def task(self, **overrides: Any) -> dict[str, Any]:
        """The ``SequenceTask`` keyword arguments these settings hold, then ``overrides``."""
        return task_keywords(self, **overrides)


@dataclass(frozen=True)
class ResponseLength(TaskShape):
    """A task of one response length, whose arrays must fit in memory."""

    seq_len: int = 8
    """N, the response length."""

    def check(self) -> None:
        super().check()
        check_task_sizes(task_keywords(self))


@dataclass(frozen=True)
class MixtureContexts(TaskShape):
    """The paper's mixture of contexts."""

    num_components: int = 8
    """M, the mixture's components (their centres are the noise-free contexts)."""
    sigma: float = 0.05
    """Noise scale of the mixture."""


@dataclass(frozen=True)
class ContextChoice(TaskShape):
    """A choice of context distribution."""

    contexts: str = "rademacher"
    """Context distribution ('rademacher' or 'mixture')."""

    def check(self) -> None:
        super().check()
        check_choice(self, "contexts", CONTEXTS)


@dataclass(frozen=True)
class EnvChoice(Settings):
    """A registered seqreward id (a benchmark's task) and the seed of what the script draws."""

    env_id: str = "seqreward/PaperOutcome-v1"
    """Registered seqreward id (its task is used)."""
    seed: int = 0
    """Seed of the contexts and of what is sampled."""

    def check(self) -> None:
        super().check()
        check_env_id(self)
