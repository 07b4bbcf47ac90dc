"""The base model barrier in N: reward queries that Algorithm 1 (best-of-m, outcome reward) and Algorithm 2
(process repair, process reward) need to reach a target test error, as the response length N grows.

For each N and seed a base model is pre-trained (Adagrad on (x, y*)) until its mean next-token probability
of y* on the test set reaches ``--token-probability``: the same per-token quality for every N, so its
likelihood of whole answers falls geometrically in N. From it, each algorithm runs through the env, with
the paper's m (or ``--tries``), until the exact test error reaches ``--target-error`` (or the query budget
is spent); evaluations on a log-spaced grid give the queries at which it did to within 5%. The theory:
the outcome reward needs queries growing like 1/LQ, geometric in N (up to k^N); the process reward like the
token-level LQ, at most linear in N (about N k).

Writes, under the run directory (whose path it prints): ``barrier.png`` (queries against N on a log scale
beside k^N and N k, per-seed points and medians; process queries on a linear scale), ``barrier.csv`` (one
row per run), ``barrier.json`` (the summary with fitted growth), TensorBoard events under ``tb_barrier/``
and every run's folder (config, metrics, events, checkpoints) under ``runs/``. Running the same command
again skips finished runs and resumes interrupted ones.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from agents.common.config_checks import ConfigError, check_choices, check_interval, check_positive
from agents.experiment.cli import Experiment
from agents.experiment.settings import check_task_sizes
from agents.policy.choice import PolicyChoice, PolicyFields
from scripts.common.settings import DeviceSettings, MixtureContexts, PretrainSettings, TargetSettings

ALGORITHMS = {"best_of_m": "Algorithm 1: best-of-m, outcome reward", "process_repair": "Algorithm 2: process repair"}


@dataclass(frozen=True)
class BarrierConfig(PolicyFields, DeviceSettings, PretrainSettings, TargetSettings, MixtureContexts):
    """Settings of the barrier experiment (defaults: the full setting)."""

    seq_lens: tuple[int, ...] = (2, 4, 6, 8, 10, 12)
    """Response lengths N."""
    vocab_size: int = 3
    margin: float = 0.05
    """gamma: every context has margin >= gamma (the theory's margin condition)."""
    task_seed: int = 0
    """Seed of the teacher and the test set (the teacher does not depend on N)."""
    token_probability: float = 0.5
    """Base model quality: pre-training stops once the mean p(y*_i | x, y*_<i) on the test set reaches it."""
    pretrain_learning_rate: float = 0.02
    """Adagrad learning rate of pre-training (small, so that the quality is hit closely)."""
    pretrain_max_steps: int = 2000
    """Pre-training steps at most."""
    algorithms: tuple[str, ...] = ("best_of_m", "process_repair")
    """Algorithms ('best_of_m', 'process_repair')."""
    tries: int | None = None
    """m for both algorithms; unset: the paper's choice from the base model's LQ and token-level LQ."""
    step_per_token: bool = True
    """Algorithm 2 takes the adaptive step per verified token (--no-step-per-token: one step on the verified
    prefix, whose gain of at most 1/2 in log-likelihood per update is shared by N tokens)."""
    lq_eps: float = 0.1
    """eps of the likelihood quantiles behind the paper's m."""
    delta: float = 0.1
    """Failure probability behind the paper's m."""
    seeds: int = 3
    """Seeds per N (pre-training data, contexts and sampling; 0, 1, ...)."""
    query_budget: int = 4_000_000

    def check(self) -> None:
        super().check()  # the blocks': types, counts, --target-error, --query-budget against --rows, --device
        PolicyChoice.of(self)
        if not self.seq_lens or min(self.seq_lens) < 1:
            raise ConfigError(f"seq_lens (--seq-lens) must be integers >= 1, got {self.seq_lens!r}", "seq_lens")
        check_choices(self, "algorithms", ALGORITHMS)
        if not 1.0 / self.vocab_size < self.token_probability < 1.0:
            raise ConfigError(
                f"token_probability (--token-probability) must lie in (1/k, 1) = ({1 / self.vocab_size:.3g}, 1), "
                f"got {self.token_probability!r}",
                "token_probability",
            )
        check_positive(self, "margin")
        check_interval(self, "delta", 0.0, 1.0, low_open=True, high_open=True)
        check_interval(self, "lq_eps", 0.0, 1.0, low_open=True, high_open=True)
        longest = self.task(seq_len=max(self.seq_lens))
        check_task_sizes(longest, self.rows, "rows")
        check_task_sizes(longest, self.pretrain_batch_size, "pretrain_batch_size")


QUICK = replace(BarrierConfig(), seq_lens=(2, 4, 6, 8, 10), seeds=2, query_budget=400_000, test_size=256)

EXPERIMENT = Experiment("barrier", BarrierConfig, QUICK, ("barrier.png", "barrier.csv"), ("runs", "tb_barrier"))
