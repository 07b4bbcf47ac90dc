"""The curriculum experiment's settings: the task grid, the base models, the methods compared and the budget,
declared once; its jobs, analysis and plots import them from here."""

from __future__ import annotations

from dataclasses import dataclass, replace

from agents.common.config_checks import ConfigError, check_choices, check_fields, check_interval
from agents.learners.difficulty import DifficultyConfig
from agents.policy.choice import PolicyChoice, PolicyFields

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
class CurriculumConfig(PolicyFields):
    """Settings of the curriculum experiment (defaults: the full setting)."""

    seq_lens: tuple[int, ...] = (2, 4, 6, 8, 10, 12, 14, 16)
    """Response lengths N."""
    vocab_size: int = 3
    """k, the vocabulary size."""
    context_dim: int = 8
    """d, the context dimension."""
    num_components: int = 8
    """M, the mixture's components."""
    sigma: float = 0.05
    """Noise scale of the mixture."""
    margin: float = 0.05
    """gamma: every context has margin >= gamma."""
    task_seeds: tuple[int, ...] = (0, 1, 2)
    """Task draws (teachers and test sets)."""
    seeds: int = 8
    """Seeds per task draw and N (pre-training data, contexts, sampling; 0, 1, ...)."""
    token_probability: float = 0.5
    """Base model quality: pre-training stops once the mean p(y*_i | x, y*_<i) on the test set reaches it."""
    pretrain_learning_rate: float = 0.02
    """Adagrad learning rate of pre-training."""
    pretrain_batch_size: int = 64
    """(x, y*) pairs per pre-training step."""
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
    """Reward queries at most per run; a run that reaches no target within it is censored."""
    test_size: int = 256
    """Contexts in the test set (exact test error)."""
    workers: int = 2
    """Local worker processes."""
    backend: str = "local"
    """'local' or 'ray'."""
    ray_address: str = ""
    """Ray cluster address ('auto' to find one; empty starts a local Ray)."""
    device: str = "cpu"
    """Torch device."""

    def __post_init__(self) -> None:
        check_fields(self)
        check_config(self)

    @property
    def episodes_per_update(self) -> int:
        return self.num_contexts * self.group_size


def check_config(config: CurriculumConfig) -> None:
    """Fail early, with what is allowed, on a bad command line."""
    PolicyChoice.of(config)
    if not config.seq_lens or min(config.seq_lens) < 2:
        raise ConfigError(f"--seq-lens must be integers >= 2 (a hint needs a token to give), got {config.seq_lens!r}")
    if not config.task_seeds:
        raise ConfigError("--task-seeds must name at least one task draw", "task_seeds")
    check_choices(config, "methods", METHODS)
    if not 1.0 / config.vocab_size < config.token_probability < 1.0:
        raise ConfigError(f"--token-probability must lie in (1/k, 1) = ({1 / config.vocab_size:.3g}, 1)")
    for name in ("target_error", "off_support_below", "lifted_above", "lifted_share", "target_pass_rate"):
        check_interval(config, name, 0.0, 1.0, low_open=True, high_open=True)
    if config.group_size < 2 or config.num_contexts < 2:
        raise ConfigError("--group-size and --num-contexts must be >= 2 (group baselines, gradient spread)")
    if config.query_budget < config.episodes_per_update * max(config.seq_lens):
        raise ConfigError("--query-budget must allow one update of every method (B G N process queries)")
    difficulty_config(config, "orm_difficulty_filter", max(config.seq_lens))  # the band and refill limit checked


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
    task_seeds=(0,),
    seeds=1,
    query_budget=30_000,
    test_size=128,
)
"""The quick setting: three lengths, one task draw, one seed, a small budget (under a minute)."""
