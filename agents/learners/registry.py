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
    needs (None: the task's own), the env's autoreset mode and whether the env copies its observations, the
    env rows its config implies (None: the job's ``rows``), whether it trains one of the project's policies
    (else it brings its own network and takes ``policy=None``), its evaluator (``"module:Class"``, built
    as ``Class(task, test_size)``; None: ``agents.policy.evaluation.PolicyEvaluator``) and the sub-folder of
    the run folder for its own logs (passed as ``log_dir``; None: none)."""

    module: str
    learner: str
    config: str
    unit: str = "updates"
    reward: str | None = None
    autoreset: str = "next_step"
    rows_from_config: Callable[[Any], int] | None = None
    trains_policy: bool = True
    copy: bool = False
    evaluator: str | None = None
    log_dir: str | None = None

    def learner_class(self) -> Any:
        return getattr(importlib.import_module(self.module), self.learner)

    def evaluator_class(self) -> Any:
        if self.evaluator is None:
            from agents.policy.evaluation import PolicyEvaluator

            return PolicyEvaluator
        module, name = self.evaluator.split(":")
        return getattr(importlib.import_module(module), name)

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
    "sb3": LearnerKind(
        "agents.learners.sb3.learner",
        "SB3Learner",
        "SB3Config",
        unit="env_steps",
        autoreset="same_step",
        trains_policy=False,
        copy=True,
        evaluator="agents.learners.sb3.callbacks:SB3Evaluator",
        log_dir="sb3",
    ),
}
"""Every learner a job can name."""
