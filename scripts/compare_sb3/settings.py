"""SB3 PPO and A2C against the paper's PG on small tasks, with the outcome and the process reward, at equal
environment steps and at equal reward queries.

Every method starts from (nearly) the uniform policy: the paper's PG from w = 0 (its linear policy), SB3
from its own initialisation (an MLP whose last layer is scaled by 0.01, so its first distribution is close
to uniform); none sees a base model, since SB3's policies cannot load the linear one. All of them train
through the same registered envs with rewards -1/+1, and the envs count the reward queries.

Budgets. Every episode runs all N tokens, so within one reward the environment steps fix the queries:
an outcome episode costs one query for its N steps, a process episode N queries. Every run gets the same
query budget Q: a process run takes Q environment steps, an outcome run N Q. The outcome runs therefore
pass Q environment steps on the way, which gives the comparison at equal environment steps (all runs at
Q steps: outcome runs have spent Q/N queries there) and at equal reward queries (all runs at Q queries:
the end of every run). Evaluations fall on the same grid of environment steps for every method (exact
test error 1 - mean p(y*|x) on the task's fixed test set; SB3 policies through their action distribution).

Each method's learning rate is chosen from its grid by the final test error on separate tuning seeds
(1000, 1001, ...); the chosen rate then runs on the evaluation seeds (0, 1, ...), the only ones reported.
Each (phase, reward, method, rate, seed) is its own run (``agents.experiment.jobs.Job``: ``paper_pg`` or
``sb3``) in its own folder: a rerun reuses finished runs and resumes interrupted ones from their checkpoint.

Writes, under the run directory: ``compare_sb3.png`` (test error against environment steps and against
reward queries, and the test errors at the two equal budgets), ``compare_sb3.csv`` (one row per run),
``compare_sb3_curves.csv`` (the curves behind the figure), ``compare_sb3.json`` (the summary) and
TensorBoard events under ``tb_compare/`` (one run per reward and method), all drawn from what the runs
wrote (their ``metrics.jsonl``); each run's own TensorBoard events sit in its folder (an SB3 run's own scalars
under ``sb3/``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from agents.common.config_checks import ConfigError, check_choices
from agents.experiment.cli import Experiment
from scripts.common.settings import DeviceSettings, MixtureContexts, ResponseLength, SweepSettings

ENV_IDS = {"outcome": "seqreward/Outcome-v0", "process": "seqreward/Process-v0"}
METHODS = ("paper_pg", "ppo", "a2c")


def learning_rates(config: CompareSB3Config, method: str) -> list[float]:
    """The learning-rate grid of ``method`` (``<method>_learning_rates``, ``pg_`` for the paper's PG)."""
    return [float(rate) for rate in getattr(config, f"{method.removeprefix('paper_')}_learning_rates")]


@dataclass(frozen=True)
class CompareSB3Config(DeviceSettings, SweepSettings, MixtureContexts, ResponseLength):
    """Settings of the comparison (defaults: the full setting)."""

    seq_len: int = 6
    vocab_size: int = 4
    rewards: tuple[str, ...] = ("outcome", "process")
    """Rewards to compare on."""
    methods: tuple[str, ...] = ("paper_pg", "ppo", "a2c")
    """Methods: paper_pg, ppo, a2c."""
    query_budget: int = 61_440
    """Q, reward queries of every run (process runs: Q environment steps; outcome runs: N Q); rounded up so
    that every method evaluates on the same grid."""
    evaluations: int = 10
    """Evaluations per Q environment steps (outcome runs evaluate N times as many, on the same grid)."""
    pg_batch_size: int = 256
    """Contexts per step of the paper's PG."""
    pg_learning_rates: tuple[float, ...] = (0.1, 0.3, 1.0, 3.0)
    """Adagrad learning-rate grid of the paper's PG (the paper's is 0.1)."""
    num_envs: int = 64
    """Rows of the SB3 vector env (the adapter)."""
    ppo_n_steps: int = 32
    """PPO rollout length per row."""
    ppo_batch_size: int = 512
    """PPO minibatch size."""
    ppo_learning_rates: tuple[float, ...] = (0.001, 0.003, 0.01)
    """Adam learning-rate grid of PPO."""
    a2c_n_steps: int = 8
    """A2C rollout length per row."""
    a2c_learning_rates: tuple[float, ...] = (0.001, 0.003, 0.01)
    """RMSprop learning-rate grid of A2C."""
    tuning_seeds: int = 1
    """Seeds per grid point for tuning (1000, 1001, ...); no tuning runs for a grid of one rate."""
    seeds: int = 3
    """Evaluation seeds (0, 1, ...) at each method's chosen rate; only these are reported."""
    test_size: int = 1024

    def check(self) -> None:
        super().check()  # the blocks' checks: types, counts, sizes, --device
        check_choices(self, "rewards", ENV_IDS)
        check_choices(self, "methods", METHODS)
        for method in self.methods:
            rates = learning_rates(self, method)
            if not rates or min(rates) <= 0:
                raise ConfigError(f"the {method} learning-rate grid must be positive numbers, got {rates or 'none'}")


QUICK = replace(
    CompareSB3Config(),
    seq_len=4,
    query_budget=20_000,
    evaluations=5,
    pg_batch_size=128,
    pg_learning_rates=(0.3, 1.0),
    num_envs=32,
    ppo_n_steps=16,
    ppo_batch_size=256,
    ppo_learning_rates=(0.003,),
    a2c_learning_rates=(0.003,),
    seeds=2,
)


EXPERIMENT = Experiment(
    "compare_sb3",
    CompareSB3Config,
    QUICK,
    ("compare_sb3.png", "compare_sb3.csv", "compare_sb3_curves.csv"),
    ("runs", "tb_compare"),
)
