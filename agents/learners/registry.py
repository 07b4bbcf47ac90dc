"""Every learner a job can name (``agents.experiment.jobs.Job``), with how the one job runner builds and
drives it. Each learner is built as ``Learner(envs, policy, config, seed, evaluator)``."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class LearnerKind:
    """How ``run_job`` builds and drives one learner: its class and config class (imported when first used,
    so a job of one learner never imports another's dependencies), the unit of its budget, the reward it
    needs (None: the task's own), the env's autoreset mode, the env rows its config implies (None: the
    job's ``rows``) and whether it trains one of the project's policies."""

    module: str
    learner: str
    config: str
    unit: str = "updates"
    reward: str | None = None
    autoreset: str = "next_step"
    rows_from_config: Callable[[Any], int] | None = None
    trains_policy: bool = True

    def learner_class(self) -> Any:
        return getattr(importlib.import_module(self.module), self.learner)

    def config_class(self) -> type:
        config_class: type = getattr(importlib.import_module(self.module), self.config)
        return config_class


def _group_rows(config: Any) -> int:
    return int(config.num_contexts * config.group_size)


LEARNERS: dict[str, LearnerKind] = {
    "paper_pg": LearnerKind("agents.learners.paper_pg", "PaperPG", "PaperPGConfig"),
    "group_pg": LearnerKind("agents.learners.group_pg", "GroupPG", "GroupPGConfig", rows_from_config=_group_rows),
    "best_of_m": LearnerKind(
        "agents.learners.best_of_m", "BestOfM", "BestOfMConfig", reward="outcome", autoreset="disabled"
    ),
    "process_repair": LearnerKind(
        "agents.learners.process_repair", "ProcessRepair", "ProcessRepairConfig", reward="process", autoreset="disabled"
    ),
    "adaptive_pg": LearnerKind("agents.learners.adaptive_pg", "AdaptivePG", "AdaptivePGConfig", autoreset="disabled"),
    "uniform_pg": LearnerKind("agents.learners.uniform_pg", "UniformPG", "UniformPGConfig", autoreset="disabled"),
    "pretrain": LearnerKind("agents.learners.pretrain", "Pretrainer", "PretrainConfig", autoreset="disabled"),
}
"""Every learner a job can name."""
