"""OBLR-PO against REINFORCE, RLOO, GRPO and Dr. GRPO at equal reward-query budgets, on the outcome and the
process reward, from one briefly pre-trained base model.

Protocol: every method gets the same B contexts x G responses per step and the same query budget (counted
by the env: one query per response under the outcome reward, N under the process reward). Each method's
learning rate (OBLR-PO's eta_max) is tuned on a small grid by the mean final test error over separate
tuning seeds; the chosen rate is then run on fresh evaluation seeds, and only those runs are reported
(the tuning seeds never enter the reported numbers). Each (phase, reward, method, rate, seed) is its own
run folder, so a rerun skips finished runs and resumes interrupted ones.

Writes, under the run directory: ``compare.png`` (test error against queries with 95% confidence bands,
final test error with 95% confidence intervals, the gradient's trace variance and SNR against queries,
and the paired trace variance of the unbiased estimators on the same batches), ``compare.csv`` (one row
per run), ``compare_curves.csv`` (the curves behind the figure), ``compare.json`` (the summary) and
TensorBoard events under ``tb_compare/`` (one run per method), all drawn from the runs' metrics.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from agents.common.config_checks import ConfigError, check_at_least, check_choices
from agents.experiment.cli import Experiment
from agents.learners.group_pg import METHODS
from agents.policy.choice import PolicyChoice, PolicyFields
from scripts.common.settings import DeviceSettings, MixtureContexts, PretrainSettings, ResponseLength, SweepSettings

ENV_IDS = {"outcome": "seqreward/Outcome-v0", "process": "seqreward/Process-v0"}
VARIANTS: dict[str, dict[str, Any]] = {
    **{method: {"method": method} for method in METHODS},
    "grpo_clip": {"method": "grpo", "epochs": 4, "clip_epsilon": 0.2, "kl_coef": 0.04},
    "oblr_po_debiased": {"method": "oblr_po", "snr_estimator": "debiased"},
}


def queries_per_step(config: CompareConfig, reward: str) -> int:
    """Reward queries of one step: B G responses, each 1 (outcome) or N (process) queries."""
    return config.num_contexts * config.group_size * (config.seq_len if reward == "process" else 1)


def steps_for(config: CompareConfig, reward: str) -> int:
    """Updates a run of ``reward`` gets: its query budget over the queries of one step (rounded down)."""
    budget = config.outcome_query_budget if reward == "outcome" else config.process_query_budget
    return budget // queries_per_step(config, reward)


@dataclass(frozen=True)
class CompareConfig(PolicyFields, DeviceSettings, PretrainSettings, SweepSettings, MixtureContexts, ResponseLength):
    """Settings of the comparison (defaults: the full setting)."""

    context_dim: int = 16
    num_components: int = 32
    pretrain_steps: int = 20
    """Supervised pre-training steps of the base model (Adagrad): brief, so that rewards stay informative."""
    pretrain_learning_rate: float | None = None
    """Adagrad learning rate of pre-training; unset: the policy's pre-training default (0.1 for every policy)."""
    rewards: tuple[str, ...] = ("outcome", "process")
    """Rewards to compare on."""
    methods: tuple[str, ...] = (
        "reinforce",
        "reinforce_mean",
        "rloo",
        "grpo",
        "grpo_clip",
        "dr_grpo",
        "oblr_po",
        "oblr_po_debiased",
        "oblr_baseline",
    )
    """Methods (agents.learners.group_pg.METHODS, or the named VARIANTS of this script)."""
    learning_rates: tuple[float, ...] = (0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
    """Learning-rate grid, the same for every method (OBLR-PO: eta_max)."""
    tuning_seeds: int = 3
    """Seeds per grid point for tuning (1000, 1001, ...)."""
    seeds: int = 10
    """Evaluation seeds (0, 1, ...) run at each method's tuned rate; only these are reported."""
    num_contexts: int = 32
    """B, contexts per step."""
    group_size: int = 8
    """G, responses per context."""
    outcome_query_budget: int = 76800
    """Reward queries per run under the outcome reward (one per response)."""
    process_query_budget: int = 614400
    """Reward queries per run under the process reward (N per response)."""
    optimizer: str = "sgd"
    """Optimiser of every method ('sgd', OBLR-PO's; 'adagrad'; 'adam')."""
    test_size: int = 1024
    evaluations: int = 15
    """Evaluations per run (the points of the learning curves)."""

    def check(self) -> None:
        super().check()  # the blocks' checks: types, counts, sizes, --device
        PolicyChoice.of(self)
        check_choices(self, "rewards", ENV_IDS)
        check_choices(self, "methods", VARIANTS)
        rates = list(self.learning_rates)
        if not rates or min(rates) <= 0:
            raise ConfigError(f"--learning-rates must be positive numbers, got {self.learning_rates!r}")
        if self.seeds < 2 or self.tuning_seeds < 1:
            raise ConfigError("need --seeds >= 2 (confidence intervals) and --tuning-seeds >= 1")
        check_at_least(self, 2, "group_size")  # a group's baseline needs another response
        for reward in self.rewards:
            if steps_for(self, reward) < 1:
                raise ConfigError(f"the {reward} query budget buys no step of {queries_per_step(self, reward)} queries")


QUICK = replace(
    CompareConfig(),
    seq_len=6,
    vocab_size=6,
    context_dim=8,
    num_components=16,
    pretrain_steps=30,
    learning_rates=(0.1, 0.3, 1.0, 3.0, 10.0, 30.0),
    tuning_seeds=2,
    seeds=5,
    num_contexts=16,
    group_size=8,
    outcome_query_budget=10240,
    process_query_budget=61440,
    test_size=512,
    evaluations=10,
)


EXPERIMENT = Experiment(
    "compare",
    CompareConfig,
    QUICK,
    ("compare.png", "compare.csv", "compare_curves.csv"),
    ("runs", "pretrain", "tb_compare"),
)
