"""Online learning with a uniform behaviour: the mistakes of uniform-behaviour PG against k^N / gamma^2.

Each run starts from w = 0 on a task with margin gamma and plays rounds of online learning, one fresh
context per round: the learner answers with the mode of p_w (a wrong answer is a mistake), a uniform
response is queried through the env, and the learner takes the adaptive step on it (``agents.learners.uniform_pg``;
zeta > 1 adds the clipped importance ratio). A run ends when the learner's answer is right on every test
context (checked every ``eval_every`` rounds; it has then converged: later mistakes are rare) or after
``max_rounds`` rounds. Two sweeps: the length N at a fixed gamma, and gamma at a fixed N, each over seeds,
rewards and zetas; the mistakes are set beside the bound's rate k^N / gamma^2 on log scales.

Writes, under the run directory (whose path it prints): ``mistakes.png`` (mistakes against N and against
gamma with the rate beside them, and the cumulative mistakes over rounds), ``mistakes.csv`` (one row per
run), ``mistakes.json`` (the summary, with the fitted growth per token and the exponent in gamma),
TensorBoard events under ``tb_mistakes/`` and every run's folder (config, metrics, events, checkpoint)
under ``runs/``. Running the same command again skips finished runs and resumes interrupted ones.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from agents.common.config_checks import ConfigError, check_choices
from agents.experiment.cli import Experiment
from agents.experiment.settings import task_keywords
from scripts.common.settings import ContextChoice, SweepSettings
from seqreward_env import SequenceTask


def sweep_settings(config: MistakesConfig) -> list[tuple[int, float]]:
    """The (N, gamma) pairs of both sweeps (N at gamma = ``margin``, gamma at N = ``margin_seq_len``), each
    once, sorted."""
    pairs = [(n, config.margin) for n in list(config.seq_lens)]
    pairs += [(config.margin_seq_len, gamma) for gamma in list(config.margins)]
    return sorted(set(pairs))


def task_kwargs(config: MistakesConfig, seq_len: int, gamma: float, reward: str = "outcome") -> dict[str, Any]:
    """The task's keyword arguments at length ``seq_len``, margin ``gamma`` and ``reward``."""
    return task_keywords(config, seq_len=seq_len, margin=gamma, reward=reward)


REWARDS = ("outcome", "process")

# TensorBoard custom-scalars layout: the runs of the experiment's summary events on shared charts.


@dataclass(frozen=True)
class MistakesConfig(SweepSettings, ContextChoice):
    """Settings of the mistake-bound experiment (defaults: the full setting)."""

    vocab_size: int = 2
    seq_lens: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7, 8)
    """Lengths N of the sweep in N (at gamma = --margin)."""
    margin: float = 0.1
    """gamma of the sweep in N."""
    margins: tuple[float, ...] = (0.05, 0.1, 0.15, 0.2, 0.3)
    """Margins gamma of the sweep in gamma (at N = --margin-seq-len)."""
    margin_seq_len: int = 5
    """N of the sweep in gamma."""
    rewards: tuple[str, ...] = ("outcome", "process")
    """Rewards ('outcome', 'process')."""
    zetas: tuple[float, ...] = (1.0,)
    """Clips zeta of the importance ratio (1: plain uniform-behaviour PG)."""
    seeds: int = 10
    """Seeds per setting (0, 1, ...)."""
    max_rounds: int = 200_000
    """Rounds (contexts) at most per run."""
    eval_every: int = 25
    """Rounds between convergence checks (greedy answers on the test set) and checkpoints."""
    log_every: int = 10
    """Rounds between logged records (the cumulative-mistake curves)."""

    def check(self) -> None:
        super().check()  # the blocks' checks: types, counts, sizes, --device
        for flag, values, low in (
            ("--seq-lens", self.seq_lens, 1),
            ("--margins", self.margins, 0.0),
            ("--zetas", self.zetas, 1.0),
        ):
            if not values or min(values) < low or (flag == "--margins" and min(values) <= 0):
                raise ConfigError(f"{flag} must be numbers {'>' if low == 0 else '>='} {low}, got {values!r}")
        check_choices(self, "rewards", REWARDS)
        try:
            for seq_len, gamma in sweep_settings(self):
                SequenceTask(**task_kwargs(self, seq_len, gamma))
        except ValueError as error:
            raise ConfigError(f"--margin/--margins: {error}") from None


QUICK = replace(
    MistakesConfig(),
    seq_lens=(1, 2, 3, 4, 5, 6),
    margins=(0.05, 0.1, 0.2, 0.3),
    margin_seq_len=4,
    rewards=("outcome",),
    seeds=3,
    max_rounds=20_000,
)


EXPERIMENT = Experiment("mistakes", MistakesConfig, QUICK, ("mistakes.png", "mistakes.csv"), ("runs", "tb_mistakes"))
