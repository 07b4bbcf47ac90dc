"""Dynamic sampling, difficulty filters and curricula against the base model barrier: the reward queries each
method needs to reach a target test error (and, separately, to lift the contexts off the base model's support)
as the response length N grows, from base models of the same quality per token.

Methods: plain ORM (RLOO, G responses per context), ORM with DAPO's dynamic sampling, ORM with a difficulty
filter (pass rate in a band, estimated from the group; the exact-likelihood filter is an oracle, run only when
named), ORM with a reverse hint curriculum on a fixed schedule, ORM with an adaptive hint curriculum, the
paper's PRM PG and PRM with an adaptive hint curriculum. Every query spent counts, those on dropped or
filtered groups included; runs that reach no target within the query budget are reported as censored.

Writes, under the run directory (whose path it prints): ``curriculum.png``, ``curriculum.csv`` (one row per
run), ``curriculum.json`` (the summary, with the fitted growth laws), TensorBoard events under
``tb_curriculum/`` and every run's folder under ``runs/``. Running the same command again skips finished runs
and resumes interrupted ones.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from agents.common.config_checks import ConfigError, check_choices, check_interval
from agents.experiment.cli import Experiment
from agents.learners.difficulty import DifficultyConfig
from agents.policy.choice import PolicyChoice, PolicyFields
from scripts.common.settings import DeviceSettings, MixtureContexts, PretrainSettings, SweepSettings

METHODS = {
    "orm": "ORM (RLOO)",
    "orm_dynamic_sampling": "ORM + dynamic sampling",
    "orm_difficulty_filter": "ORM + difficulty filter (group estimate)",
    "orm_oracle_filter": "ORM + difficulty filter (exact likelihood: oracle)",
    "orm_hint_curriculum": "ORM + hint curriculum (fixed schedule)",
    "orm_adaptive_curriculum": "ORM + adaptive hint curriculum",
    "prm": "PRM (paper's PG)",
    "prm_curriculum": "PRM + adaptive hint curriculum",
}
"""Every method the experiment can run, with its label."""
DEFAULT_METHODS = (
    "orm",
    "orm_dynamic_sampling",
    "orm_difficulty_filter",
    "orm_hint_curriculum",
    "orm_adaptive_curriculum",
    "prm",
    "prm_curriculum",
)


@dataclass(frozen=True)
class CurriculumConfig(PolicyFields, DeviceSettings, PretrainSettings, SweepSettings, MixtureContexts):
    """Settings of the curriculum experiment (defaults: the full setting)."""

    seq_lens: tuple[int, ...] = (2, 4, 6, 8, 10, 12, 14, 16, 20, 24)
    """Response lengths N."""
    vocab_size: int = 3
    margin: float = 0.05
    """gamma: every context has margin >= gamma."""
    task_seed: int = 0
    """Seed of the first task draw (teacher and test set); the draws are task_seed, task_seed + 1, ..."""
    draws: int = 3
    """Task draws (task seeds task_seed .. task_seed + draws - 1)."""
    seeds: int = 8
    """Seeds per task draw and N (pre-training data, contexts, sampling; 0, 1, ...)."""
    test_size: int = 256
    token_probability: float = 0.5
    """Base model quality: pre-training stops once the mean p(y*_i | x, y*_<i) on the test set reaches it."""
    pretrain_learning_rate: float = 0.02
    """Adagrad learning rate of pre-training."""
    pretrain_max_steps: int = 2000
    """Pre-training steps at most."""
    methods: tuple[str, ...] = DEFAULT_METHODS
    """Methods compared (see ``METHODS``)."""
    learning_rate: float = 0.1
    """Adagrad learning rate of every method (the paper's)."""
    num_contexts: int = 16
    """B, contexts per update."""
    group_size: int = 8
    """G, responses per context (the PRM runs ask B G contexts once each: the same episodes per update)."""
    max_refill_batches: int = 4
    """Dynamic sampling and the filter: extra batches of B contexts drawn at most per update."""
    filter_band: tuple[float, float] = (0.2, 0.8)
    """The difficulty filter's band of pass rates (PRIME's)."""
    schedule_steps: int = 10
    """Hint curriculum: updates per level (hints N-1, N-2, ..., 0)."""
    target_pass_rate: float = 0.5
    """Adaptive curriculum: one hint token fewer once the running success rate reaches it."""
    window: int = 5
    """Adaptive curriculum: updates in the running success rate."""
    target_error: float = 0.1
    """Test error 1 - E p(y*|x) each run must reach."""
    off_support_below: float = 1e-3
    """Off-support contexts: test contexts whose base-model likelihood is below this."""
    lifted_above: float = 0.5
    """An off-support context counts as lifted once its likelihood exceeds this."""
    lifted_share: float = 0.5
    """The second target: this share of the off-support contexts lifted."""
    query_budget: int = 400_000
    """Reward queries at most per run, those of dropped or filtered groups included; a run that reaches no
    target within it is censored."""

    @property
    def episodes_per_update(self) -> int:
        return self.num_contexts * self.group_size

    @property
    def task_seeds(self) -> tuple[int, ...]:
        """The task draws' seeds."""
        return tuple(range(self.task_seed, self.task_seed + self.draws))

    def check(self) -> None:
        super().check()  # the blocks': types, counts, --device, the mixture's sizes
        PolicyChoice.of(self)
        if not self.seq_lens or min(self.seq_lens) < 2:
            raise ConfigError(
                f"seq_lens (--seq-lens) must be integers >= 2 (a hint needs a token to give), got {self.seq_lens!r}",
                "seq_lens",
            )
        check_choices(self, "methods", METHODS)
        if not 1.0 / self.vocab_size < self.token_probability < 1.0:
            raise ConfigError(
                f"token_probability (--token-probability) must lie in (1/k, 1) = ({1 / self.vocab_size:.3g}, 1), "
                f"got {self.token_probability!r}",
                "token_probability",
            )
        for name in ("target_error", "off_support_below", "lifted_above", "lifted_share", "target_pass_rate"):
            check_interval(self, name, 0.0, 1.0, low_open=True, high_open=True)
        for name in ("group_size", "num_contexts"):
            if getattr(self, name) < 2:
                raise ConfigError(
                    f"{name} (--{name.replace('_', '-')}) must be >= 2 (group baselines, gradient spread), "
                    f"got {getattr(self, name)!r}",
                    name,
                )
        if self.query_budget < self.episodes_per_update * max(self.seq_lens):
            raise ConfigError(
                f"query_budget (--query-budget) must allow one update of every method (B G N = "
                f"{self.episodes_per_update * max(self.seq_lens)} process queries), got {self.query_budget}",
                "query_budget",
            )
        difficulty_config(self, "orm_difficulty_filter", max(self.seq_lens))  # the band and refill limit checked


def difficulty_config(config: CurriculumConfig, method: str, seq_len: int) -> DifficultyConfig:
    """The ``DifficultyConfig`` of ``method`` at length ``seq_len`` (hints from N - 1 down to 0)."""
    hints = tuple(float(h) for h in range(seq_len - 1, -1, -1))
    if method in ("orm_dynamic_sampling",):
        return DifficultyConfig(dynamic_sampling=True, max_refill_batches=config.max_refill_batches)
    if method in ("orm_difficulty_filter", "orm_oracle_filter"):
        return DifficultyConfig(
            filter_band=config.filter_band,
            filter_estimate="oracle" if method == "orm_oracle_filter" else "group",
            max_refill_batches=config.max_refill_batches,
        )
    if method == "orm_hint_curriculum":
        return DifficultyConfig(curriculum="fixed", curriculum_ladder=hints, schedule_steps=config.schedule_steps)
    if method in ("orm_adaptive_curriculum", "prm_curriculum"):
        return DifficultyConfig(
            curriculum="adaptive",
            curriculum_ladder=hints,
            target_pass_rate=config.target_pass_rate,
            window=config.window,
        )
    return DifficultyConfig()


QUICK = replace(
    CurriculumConfig(),
    seq_lens=(2, 4, 6),
    draws=1,
    seeds=1,
    query_budget=30_000,
    test_size=128,
)
"""The quick setting: three lengths, one task draw, one seed, a small budget (under a minute)."""

EXPERIMENT = Experiment(
    "curriculum",
    CurriculumConfig,
    QUICK,
    ("curriculum.png", "curriculum.csv"),
    ("runs", "tb_curriculum"),
    quick_help="three lengths, one task draw, one seed, a small budget (about 25 s of CPU)",
)
