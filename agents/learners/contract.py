"""What every learner is: a ``Trainable``, driven by the one loop (``agents.experiment.loop.train``) and
run by ``agents.experiment.jobs.run_job``, which calls every method declared here.

The four core methods are what the loop needs; the hooks after them have defaults that a learner overrides
where it has something to add (a learner inherits them by subclassing ``Trainable``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


class Trainable:
    """One update, an evaluation and the state to checkpoint; the reward queries counted so far; and the hooks
    a finished run calls (``summary``, ``save_final``) or a budget in environment steps reads
    (``env_steps_per_update``)."""

    reward_queries: int
    """Reward queries the learner counted from the env's reports (a finished job reports it beside the env's
    own count); a learner keeps it as a counter or computes it (SB3's)."""

    def train_step(self, step: int) -> dict[str, Any]:
        """One update; returns the metrics to log at ``step + 1``."""
        raise NotImplementedError(f"{type(self).__name__} does not define train_step")

    def evaluate(self) -> dict[str, Any]:
        """The current policy's evaluation metrics (``eval/...``)."""
        raise NotImplementedError(f"{type(self).__name__} does not define evaluate")

    def state_dict(self) -> dict[str, Any]:
        """Everything an exact resume needs (tensors and plain containers only)."""
        raise NotImplementedError(f"{type(self).__name__} does not define state_dict")

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a ``state_dict``."""
        raise NotImplementedError(f"{type(self).__name__} does not define load_state_dict")

    @property
    def env_steps_per_update(self) -> int:
        """Environment steps (summed over env rows) of one ``train_step``, for budgets counted in environment
        steps. Default 1."""
        return 1

    def summary(self) -> dict[str, Any]:
        """What a finished run reports besides its metrics. Default: nothing."""
        return {}

    def save_final(self, folder: str | Path) -> None:
        """Write what the learner trained beyond the job's policy (e.g. SB3's ``model.zip``) into ``folder``.
        Default: nothing."""
        return None
