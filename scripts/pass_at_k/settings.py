"""Does RL shrink what the model can reach? Exact pass@k (k = 1 to 2^30), Cover@tau and greedy exact match
of base models and of the models every learner trains from them, over task draws and seeds.

Yue et al. (arXiv 2504.13837) report from sampled pass@k that RL-trained LLMs beat their base models at small
k and lose to them at large k; ProRL (arXiv 2505.24864) reports that long RL training expands what the model
reaches. Here pass@k = mean over test contexts of 1 - (1 - p(y*|x))^k is exact, for any k, from each model's
likelihoods, and a uniform guess succeeds with probability k^-N, so no crossover is luck.

Writes, under the run directory: ``pass_at_k.json`` (every setting's curves per draw and seed and their
statistics), ``pass_at_k.png``, ``pass_at_k.csv`` (one row per setting) and every run's folder under
``runs/``. Running the same command again reuses finished runs and resumes interrupted ones.

Run it as ``python -m scripts.pass_at_k [--quick]``.

Settings: the task shape, the learners, the checkpoints along training, the sweeps over N, the base model's
pre-training length and the policy, and the statistics; the quick setting; and the list of settings (one
learner at one N, base model, policy and training length) that the grid holds. Not the full product: every
learner at the main setting; ORM and PRM (the paper's PG) along training, over N, over the base model's
pre-training length and over the policies.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import NamedTuple

from agents.common.config_checks import ConfigError, check_choices
from agents.experiment.cli import Experiment
from agents.policy.choice import POLICIES, PolicyChoice, PolicyFields
from agents.policy.coverage import PASS_AT_K_GRID, check_ks, check_taus
from scripts.common.settings import (
    DeviceSettings,
    MixtureContexts,
    PretrainSettings,
    ResponseLength,
    SweepSettings,
)

GROUP_METHODS = ("reinforce", "rloo", "grpo", "dr_grpo", "oblr_po")
"""GroupPG's methods in the experiment (``agents.learners.group_pg.METHODS``)."""
LEARNERS = ("orm", "prm", *GROUP_METHODS, "best_of_m", "process_repair", "ppo")
"""orm and prm: the paper's PG (PaperPG) with each reward; GroupPG's methods (outcome reward); Algorithm 1
(best_of_m, outcome) and 2 (process_repair, process); SB3's PPO (outcome, its own network from scratch)."""
PAPER_PG = ("orm", "prm")
GROUPS = ("learners", "length", "seq_len", "base", "policy")
"""What a setting varies: the learner at the main setting; the training length (ORM and PRM at the
checkpoints, up to a run ``long_factor`` times the longest); N; the base model's pre-training length; the policy."""


@dataclass(frozen=True)
class PassAtKConfig(PolicyFields, DeviceSettings, PretrainSettings, SweepSettings, MixtureContexts, ResponseLength):
    """Settings of the pass@k experiment (defaults: the full setting); the task shape, the seeds, the test set,
    the workers and the device are the blocks' of ``scripts.common.settings``."""

    seq_len: int = 16
    """N of the main setting."""
    task_seed: int = 0
    """Root of the task draws (draw i's teacher and test set come from a seed derived from it and i)."""
    draws: int = 8
    """Task draws (teachers); intervals are bootstrapped over them."""
    seeds: int = 3
    """Seeds per draw (pre-training once per draw, then each learner per seed)."""
    learners: tuple[str, ...] = LEARNERS
    """Learners at the main setting (see ``LEARNERS``)."""
    pretrain_steps: int = 100
    """Pre-training steps of the main base model (Adagrad, batch ``pretrain_batch_size``)."""
    steps: int = 1000
    """Updates of every learner at the main setting (a checkpoint of the ORM and PRM runs)."""
    checkpoints: tuple[int, ...] = (0, 250, 1000, 4000)
    """Steps at which the ORM and PRM models are kept and evaluated; their runs go on to ``long_factor``
    times the last (ProRL's longer training)."""
    long_factor: int = 4
    """The longest run: this many times the last checkpoint."""
    batch_size: int = 64
    """Responses per update of the paper's PG and of GroupPG (num_contexts x group_size)."""
    group_size: int = 8
    """GroupPG's G, responses per context."""
    theory_rows: int = 16
    """Contexts searched side by side by Algorithms 1 and 2 (one response each per update)."""
    tries: int = 16
    """m of Algorithms 1 and 2 (the most extra responses per context, or candidates per position)."""
    ppo_env_steps: int = 100_000
    """Environment steps (tokens) of each PPO run (SB3 trains its own network from scratch)."""
    ppo_num_envs: int = 16
    """PPO's env rows."""
    seq_lens: tuple[int, ...] = (8, 32)
    """Other N for ORM and PRM (the main N is added)."""
    pretrain_sweep: tuple[int, ...] = (30, 300)
    """Other pre-training lengths of the base model for ORM and PRM (a weaker and a stronger base)."""
    policies: tuple[str, ...] = ("mlp", "transformer")
    """Other policies for ORM and PRM (the main policy is ``--policy``)."""
    test_size: int = 512
    """Test contexts per draw (exact pass@k over them)."""
    ks: tuple[int, ...] = PASS_AT_K_GRID
    """The k of the pass@k curves (default 1, 4, ..., 2^30)."""
    taus: tuple[float, ...] = (0.01, 0.1, 0.5, 0.9)
    """The tau of Cover@tau."""
    bootstrap_reps: int = 2000
    """Bootstrap resamples of the draws."""
    seed: int = 0
    """Root seed of pre-training, contexts and sampling."""

    def check(self) -> None:
        super().check()  # the blocks': types, counts, task sizes, --device
        check_config(self)


def check_config(config: PassAtKConfig) -> None:
    """The experiment's own checks: fail early, naming the flag and what is allowed."""
    PolicyChoice.of(config)
    check_choices(config, "learners", LEARNERS)
    check_choices(config, "policies", POLICIES, at_least_one=False)
    for name in ("ks", "checkpoints", "seq_lens", "pretrain_sweep"):
        values = getattr(config, name)
        if name == "ks":
            check_ks(values, "ks (--ks)")
        elif any(
            isinstance(v, bool) or not isinstance(v, int) or v < (0 if name == "checkpoints" else 1) for v in values
        ):
            raise ConfigError(
                f"--{name.replace('_', '-')} must be integers >= {0 if name == 'checkpoints' else 1}, got {values!r}",
                name,
            )
    check_taus(config.taus, "taus (--taus)")
    if config.steps not in config.checkpoints:
        raise ConfigError(f"--steps ({config.steps}) must be one of --checkpoints {config.checkpoints!r}", "steps")
    if config.batch_size % config.group_size or config.batch_size // config.group_size < 2:
        raise ConfigError(
            f"--batch-size ({config.batch_size}) must be a multiple of --group-size ({config.group_size}) with at "
            "least 2 contexts",
            "batch_size",
        )


class Setting(NamedTuple):
    """One setting of the grid: ``learner`` at N = ``seq_len`` from the base model pre-trained for
    ``pretrain_steps`` steps, with ``policy``, read at training step ``step``; ``group`` says what it varies."""

    group: str
    learner: str
    seq_len: int
    pretrain_steps: int
    policy: str
    step: int

    @property
    def label(self) -> str:
        return (
            f"{self.group}: {self.learner} N={self.seq_len} pretrain={self.pretrain_steps} "
            f"{self.policy} step={self.step}"
        )


def settings(config: PassAtKConfig) -> list[Setting]:
    """Every setting the experiment reports (the runs behind them are fewer: the length settings share the
    ORM and PRM runs of the main setting)."""
    main = (config.seq_len, config.pretrain_steps, config.policy)
    grid = [Setting("learners", learner, *main, config.steps) for learner in config.learners]
    longest = config.long_factor * max(config.checkpoints)
    for learner in PAPER_PG:
        grid += [Setting("length", learner, *main, step) for step in (*config.checkpoints, longest) if step > 0]
        grid += [
            Setting("seq_len", learner, n, *main[1:], config.steps) for n in config.seq_lens if n != config.seq_len
        ]
        grid += [
            Setting("base", learner, config.seq_len, p, config.policy, config.steps)
            for p in config.pretrain_sweep
            if p != config.pretrain_steps
        ]
        grid += [
            Setting("policy", learner, *main[:2], name, config.steps)
            for name in config.policies
            if name != config.policy
        ]
    return grid


QUICK = replace(
    PassAtKConfig(),
    seq_len=6,
    vocab_size=4,
    context_dim=4,
    num_components=4,
    draws=2,
    seeds=1,
    pretrain_steps=20,
    pretrain_batch_size=32,
    steps=20,
    checkpoints=(0, 5, 20),
    batch_size=32,
    group_size=4,
    theory_rows=8,
    tries=8,
    ppo_env_steps=2048,
    ppo_num_envs=8,
    seq_lens=(4,),
    pretrain_sweep=(5,),
    policies=("mlp", "transformer"),
    test_size=128,
    bootstrap_reps=200,
)
"""A small setting that runs in under a minute: every learner, group and policy, 2 draws x 1 seed."""

EXPERIMENT = Experiment(
    "pass_at_k",
    PassAtKConfig,
    QUICK,
    ("pass_at_k.png", "pass_at_k.csv"),
    ("runs",),
    quick_help="a small setting that runs in under a minute",
)
