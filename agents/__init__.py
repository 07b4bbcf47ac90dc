"""agents: policy-gradient learners for the seqreward environments.

The sub-packages are the roles, each importing only those before it: ``agents.common`` (config checks,
seeding, threads), ``agents.runs`` (run folders and the files a run reads), ``agents.policy`` (what acts),
``agents.rules`` (how it learns: pure functions with their equations), ``agents.learners`` (the
``Trainable`` learners and their registry), ``agents.analysis`` (statistics and fits of what runs wrote) and
``agents.experiment`` (jobs, the training loop, sweeps, command lines); ``agents.llm`` bridges to TRL.

The public API below is imported on first use (PEP 562 ``__getattr__``): an eager import would load
torch and the learners, about a second, for every ``import agents`` (the version check, the command
lines' ``--help``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from seqreward_env._version import __distribution__, __version__

if TYPE_CHECKING:
    from agents.common.seeding import check_seed, derive_seed, row_seeds, stream
    from agents.experiment.jobs import LEARNERS, Evaluation, Job, StopRule, TaskSpec, run_job
    from agents.experiment.loop import train
    from agents.experiment.sweep import run_sweep
    from agents.learners.adaptive_pg import AdaptivePG, AdaptivePGConfig
    from agents.learners.best_of_m import BestOfM, BestOfMConfig
    from agents.learners.group_pg import GroupPG, GroupPGConfig
    from agents.learners.paper_pg import PaperPG, PaperPGConfig
    from agents.learners.pretrain import PretrainConfig, Pretrainer
    from agents.learners.process_repair import ProcessRepair, ProcessRepairConfig
    from agents.learners.sb3 import SB3Config, SB3Learner
    from agents.learners.uniform_pg import UniformPG, UniformPGConfig
    from agents.policy.choice import make_policy
    from agents.policy.linear import LinearPolicy, uniform_policy
    from agents.policy.mixture import MixturePolicy
    from agents.policy.network_policy import NetworkPolicy
    from agents.policy.networks import CausalTransformer, MarkovMLP
    from agents.policy.rollout import Rollout, rollout
    from agents.runs.folder import Run

# public name -> the module that defines it
_EXPORTS = {
    "LinearPolicy": "agents.policy.linear",
    "MixturePolicy": "agents.policy.mixture",
    "uniform_policy": "agents.policy.linear",
    "NetworkPolicy": "agents.policy.network_policy",
    "MarkovMLP": "agents.policy.networks",
    "CausalTransformer": "agents.policy.networks",
    "make_policy": "agents.policy.choice",
    "Rollout": "agents.policy.rollout",
    "rollout": "agents.policy.rollout",
    "Pretrainer": "agents.learners.pretrain",
    "PretrainConfig": "agents.learners.pretrain",
    "PaperPG": "agents.learners.paper_pg",
    "PaperPGConfig": "agents.learners.paper_pg",
    "GroupPG": "agents.learners.group_pg",
    "GroupPGConfig": "agents.learners.group_pg",
    "AdaptivePG": "agents.learners.adaptive_pg",
    "AdaptivePGConfig": "agents.learners.adaptive_pg",
    "BestOfM": "agents.learners.best_of_m",
    "BestOfMConfig": "agents.learners.best_of_m",
    "ProcessRepair": "agents.learners.process_repair",
    "ProcessRepairConfig": "agents.learners.process_repair",
    "UniformPG": "agents.learners.uniform_pg",
    "UniformPGConfig": "agents.learners.uniform_pg",
    "SB3Learner": "agents.learners.sb3",
    "SB3Config": "agents.learners.sb3",
    "Job": "agents.experiment.jobs",
    "TaskSpec": "agents.experiment.jobs",
    "Evaluation": "agents.experiment.jobs",
    "StopRule": "agents.experiment.jobs",
    "LEARNERS": "agents.experiment.jobs",
    "run_job": "agents.experiment.jobs",
    "Run": "agents.runs.folder",
    "train": "agents.experiment.loop",
    "run_sweep": "agents.experiment.sweep",
    "check_seed": "agents.common.seeding",
    "derive_seed": "agents.common.seeding",
    "row_seeds": "agents.common.seeding",
    "stream": "agents.common.seeding",
}

__all__ = [
    "__distribution__",
    "__version__",
    "LinearPolicy",
    "MixturePolicy",
    "uniform_policy",
    "NetworkPolicy",
    "MarkovMLP",
    "CausalTransformer",
    "make_policy",
    "Rollout",
    "rollout",
    "Pretrainer",
    "PretrainConfig",
    "PaperPG",
    "PaperPGConfig",
    "GroupPG",
    "GroupPGConfig",
    "AdaptivePG",
    "AdaptivePGConfig",
    "BestOfM",
    "BestOfMConfig",
    "ProcessRepair",
    "ProcessRepairConfig",
    "UniformPG",
    "UniformPGConfig",
    "SB3Learner",
    "SB3Config",
    "Job",
    "TaskSpec",
    "Evaluation",
    "StopRule",
    "LEARNERS",
    "run_job",
    "Run",
    "train",
    "run_sweep",
    "check_seed",
    "derive_seed",
    "row_seeds",
    "stream",
]


def __getattr__(name: str) -> Any:
    """Import a public name's module on first access and cache the name in this module."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'agents' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
