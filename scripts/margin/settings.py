"""The margin: reward queries that the theory's algorithms need to reach a target test error on tasks built
with ``margin=gamma``, set beside the 1/gamma^2 rate of the theory's bounds.

Each task keeps only contexts whose normalised margin is at least gamma (the teacher and N, k, d fixed).
Each algorithm starts from the uniform model (w = 0, so the base model's likelihood is k^-N for every
gamma and only the margin changes) and runs through the env until the exact test error reaches
``--target-error`` (or the query budget is spent); evaluations on a log-spaced grid give the queries at
which it did to within 5%.

Writes, under the run directory (whose path it prints): ``margin.png`` (queries against gamma on log-log
axes beside 1/gamma^2, per-seed points and medians), ``margin.csv`` (one row per run), ``margin.json`` (the
summary with the fitted exponent of 1/gamma), TensorBoard events under ``tb_margin/`` (step = 1000 gamma)
and every run's folder under ``runs/``. Running the same command again skips finished runs and resumes
interrupted ones.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from agents.common.config_checks import ConfigError, check_choices
from agents.experiment.cli import Experiment
from agents.experiment.settings import task_keywords
from scripts.common.settings import ContextChoice, DeviceSettings, ResponseLength, TargetSettings
from seqreward_env import SequenceTask

LABELS = {
    "best_of_m": "Algorithm 1 (best-of-m, outcome)",
    "process_repair": "Algorithm 2 (process repair)",
    "adaptive_pg": "adaptive PG (outcome)",
    "uniform_pg": "uniform-behaviour PG (outcome)",
}


def task_keywords_at(config: MarginConfig, gamma: float) -> dict[str, Any]:
    """The task's keyword arguments at margin ``gamma``, with the outcome reward (Algorithm 2's job switches
    to the process reward it needs)."""
    return {**task_keywords(config, margin=gamma), "reward": "outcome"}


@dataclass(frozen=True)
class MarginConfig(DeviceSettings, TargetSettings, ContextChoice, ResponseLength):
    """Settings of the margin experiment (defaults: the full setting)."""

    margins: tuple[float, ...] = (0.01, 0.02, 0.04, 0.08, 0.16)
    """Margins gamma."""
    seq_len: int = 3
    vocab_size: int = 3
    algorithms: tuple[str, ...] = ("best_of_m", "process_repair", "adaptive_pg")
    """Algorithms ('best_of_m', 'process_repair', 'adaptive_pg'; the last with the outcome reward)."""
    seeds: int = 5
    """Seeds per margin (contexts and sampling; 0, 1, ...)."""
    query_budget: int = 2_000_000

    def check(self) -> None:
        super().check()  # the blocks' checks: types, counts, sizes, --device
        gammas = list(self.margins)
        if not gammas or min(gammas) <= 0:
            raise ConfigError(f"--margins must be positive numbers, got {self.margins!r}")
        check_choices(self, "algorithms", LABELS)
        if not 0.0 < self.target_error < 1.0:
            raise ConfigError(f"--target-error must lie in (0, 1), got {self.target_error!r}")
        for gamma in gammas:
            try:
                SequenceTask(**task_keywords_at(self, gamma))
            except ValueError as error:
                raise ConfigError(f"--margins: {error}") from None


QUICK = replace(MarginConfig(), margins=(0.02, 0.04, 0.08, 0.16), seeds=3, query_budget=200_000, test_size=256)


EXPERIMENT = Experiment("margin", MarginConfig, QUICK, ("margin.png", "margin.csv"), ("runs", "tb_margin"))
