"""Every learner a job can name (``agents.experiment.jobs.Job``), with how the one job runner builds and
drives it. Each learner is a ``Trainable`` (``agents.learners.contract``) built as
``Learner(envs, policy, config, seed, evaluator)``.

A learner's classes come from a typed factory that imports its module when first called, so that a job of
one learner never imports another's dependencies (stable-baselines3 only for the ``sb3`` learner)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from agents.learners.contract import Trainable


class LearnerClasses(NamedTuple):
    """A learner's class, its config class and its evaluator (built as ``evaluator(task, test_size,
    pass_at_k=ks, cover_taus=taus)``; None: ``agents.policy.evaluation.PolicyEvaluator``, which the job builds
    with its tracked contexts)."""

    learner: type[Trainable]
    config: type
    evaluator: Callable[..., Any] | None = None


@dataclass(frozen=True)
class LearnerKind:
    """How ``run_job`` builds and drives one learner: its classes (``classes``, a factory importing them when
    first used), the unit of its budget, the reward it needs (None: the task's own), the env's autoreset mode
    and whether the env copies its observations, the env rows its config implies (None: the job's ``rows``),
    whether it trains one of the project's policies (else it brings its own network and takes
    ``policy=None``) and the sub-folder of the run folder for its own logs (passed as ``log_dir``; None:
    none)."""

    classes: Callable[[], LearnerClasses]
    unit: str = "updates"
    reward: str | None = None
    autoreset: str = "next_step"
    rows_from_config: Callable[[Any], int] | None = None
    trains_policy: bool = True
    copy: bool = False
    log_dir: str | None = None

    def learner_class(self) -> type[Trainable]:
        return self.classes().learner

    def config_class(self) -> type:
        return self.classes().config


def _group_rows(config: Any) -> int:
    return int(config.num_contexts * config.group_size)


def _paper_pg() -> LearnerClasses:
    from agents.learners.paper_pg import PaperPG, PaperPGConfig

    return LearnerClasses(PaperPG, PaperPGConfig)


def _group_pg() -> LearnerClasses:
    from agents.learners.group_pg import GroupPG, GroupPGConfig

    return LearnerClasses(GroupPG, GroupPGConfig)


def _best_of_m() -> LearnerClasses:
    from agents.learners.best_of_m import BestOfM, BestOfMConfig

    return LearnerClasses(BestOfM, BestOfMConfig)


def _process_repair() -> LearnerClasses:
    from agents.learners.process_repair import ProcessRepair, ProcessRepairConfig

    return LearnerClasses(ProcessRepair, ProcessRepairConfig)


def _adaptive_pg() -> LearnerClasses:
    from agents.learners.adaptive_pg import AdaptivePG, AdaptivePGConfig

    return LearnerClasses(AdaptivePG, AdaptivePGConfig)


def _uniform_pg() -> LearnerClasses:
    from agents.learners.uniform_pg import UniformPG, UniformPGConfig

    return LearnerClasses(UniformPG, UniformPGConfig)


def _pretrain() -> LearnerClasses:
    from agents.learners.pretrain import PretrainConfig, Pretrainer

    return LearnerClasses(Pretrainer, PretrainConfig)


def _sb3() -> LearnerClasses:
    from agents.learners.sb3.callbacks import SB3Evaluator
    from agents.learners.sb3.config import SB3Config
    from agents.learners.sb3.learner import SB3Learner

    return LearnerClasses(SB3Learner, SB3Config, SB3Evaluator)


LEARNERS: dict[str, LearnerKind] = {
    "paper_pg": LearnerKind(_paper_pg),
    "group_pg": LearnerKind(_group_pg, rows_from_config=_group_rows),
    "best_of_m": LearnerKind(_best_of_m, reward="outcome", autoreset="disabled"),
    "process_repair": LearnerKind(_process_repair, reward="process", autoreset="disabled"),
    "adaptive_pg": LearnerKind(_adaptive_pg, autoreset="disabled"),
    "uniform_pg": LearnerKind(_uniform_pg, autoreset="disabled"),
    "pretrain": LearnerKind(_pretrain, autoreset="disabled"),
    "sb3": LearnerKind(_sb3, unit="env_steps", autoreset="same_step", trains_policy=False, copy=True, log_dir="sb3"),
}
"""Every learner a job can name."""
