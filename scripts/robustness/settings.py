"""Figure 1 over many draws of the task: does the paper's picture hold beyond one teacher?

For each draw (the official code's teacher and test set for task seed 0, 1, ..., each with its own
pre-training seed) the Figure-1 job runs PG with ORM and PRM from the draw's base model over a few PG
seeds, with Adagrad (the paper's optimiser) and with plain SGD (whose first step, unlike Adagrad's, does
not move every coordinate by the full learning rate whatever the gradient's size). Every off-support
context of every draw is pooled: per optimiser and reward, the fraction of (context, PG seed) pairs
lifted above 1/2 with a 95% bootstrap interval over draws, and the final test error with one.

Writes ``robustness.json``, ``robustness.csv`` (one row per draw, optimiser and reward),
``robustness.png`` and TensorBoard scalars in the run folder; each draw's Figure-1 folders lie beneath
it, so the same command resumes.
"""

from __future__ import annotations

from dataclasses import dataclass

from agents.common.config_checks import check_choice
from agents.experiment.cli import Experiment
from scripts.common.settings import Settings
from scripts.figure1.settings import QUICK as FIGURE1_QUICK
from scripts.figure1.settings import Figure1Config

FIGURE1_SETTINGS = {"paper": Figure1Config(), "quick": FIGURE1_QUICK}


@dataclass(frozen=True)
class RobustnessConfig(Settings):
    """Settings of the robustness experiment (the Figure-1 settings apply to every draw)."""

    draws: int = 8
    """Task draws (official-code teacher and test set for task seeds 0 .. draws - 1)."""
    seeds: int = 2
    """PG seeds per draw, reward and optimiser."""
    pg_steps: int = 4000
    """PG steps per run."""
    adagrad_learning_rate: float = 0.1
    """Adagrad's learning rate (the paper's)."""
    sgd_learning_rate: float = 10.0
    """Plain SGD's learning rate (the loss is a mean over batch and tokens, so its gradient is small)."""
    seed: int = 0
    """Root seed: each draw's pre-training and PG seeds derive from (seed, draw)."""
    workers: int = 2
    """Processes for each draw's PG runs."""
    figure1_setting: str = "paper"
    """The Figure-1 setting every draw runs: 'paper' (the paper's task and budget) or 'quick' (its small
    setting)."""

    def check(self) -> None:
        super().check()  # types, the seed in [0, 2^63), every count >= 1, rates > 0
        check_choice(self, "figure1_setting", FIGURE1_SETTINGS)

    def figure1(self) -> Figure1Config:
        """The Figure-1 settings the draws start from."""
        return FIGURE1_SETTINGS[self.figure1_setting]


QUICK = RobustnessConfig(draws=3, seeds=2, pg_steps=150, figure1_setting="quick")


def draw_folders(config: RobustnessConfig) -> tuple[str, ...]:
    """``draw0``, ``draw1``, ...: the Figure-1 folders of each draw."""
    return tuple(f"draw{draw}" for draw in range(config.draws))


EXPERIMENT = Experiment(
    "robustness",
    RobustnessConfig,
    QUICK,
    ("robustness.png", "robustness.csv"),
    ("tb",),
    quick_help="Figure 1's quick setting over 3 draws",
    run_dir_name="{setting}",
    full_setting="paper",
    draw_folders=draw_folders,
    summary_file=False,
)
