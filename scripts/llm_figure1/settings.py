"""Figure 1 on the LLM stack: does the outcome reward stall where the base model gives y* no likelihood, and does
the per-token process reward get past it, for a transformer trained by TRL?

"Post-Training with Policy Gradients: Optimality and the Base Model Barrier" (arXiv 2603.06957), Figure 1, on
``seqreward/RademacherProcess-v0`` (contexts a prompt carries exactly): a tiny Llama is fine-tuned (TRL's
SFTTrainer) on the contexts whose first coordinate is +1 until its test error reaches ``--base-test-error``;
then TRL's GRPOTrainer with the outcome reward and with the process reward summed into one scalar per completion,
``ProcessGRPOTrainer`` with the per-token process reward (A_i = r_i), RLOO and OBLR-PO (``OBLRPOTrainer``, arXiv
2511.23310) with the outcome reward train it. Beside them, on the same task, the package's linear policy is
pre-trained to the same base test error and trained by PaperPG (ORM and PRM) and GroupPG (GRPO, outcome), with
as many responses per step.

Every method's learning rate is chosen by a sweep (``*_learning_rates``) on ``tuning_seeds`` tuning runs of
``tuning_steps`` steps (their seeds keyed apart from the reported ones); then ``seeds`` reported runs train at
the chosen rate until the test error's change over the last fifth of the run is at most ``tolerance`` (from
``min_steps`` on), or to ``max_steps`` (reported as censored). Every context of the task is tracked; the
off-support ones (base likelihood below ``--off-support-threshold``, from each stack's own base) are counted as
lifted when they end above ``--lift-level``.

Writes ``llm_figure1.png``, ``llm_figure1.json`` (table, chosen rates, tuning results and curves) and
``llm_figure1.md`` (the table) in the run folder, with every run's folder (``metrics.jsonl``, TensorBoard
events); the same command reuses finished runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from agents.common.config_checks import ConfigError, check_interval, check_positive
from agents.experiment.cli import Experiment
from scripts.common.settings import PretrainSettings, SweepSettings

RATE_SWEEPS = ("llm_learning_rates", "oblr_learning_rates", "paper_learning_rates", "group_learning_rates")


@dataclass(frozen=True)
class LLMFigure1Config(SweepSettings, PretrainSettings):
    """Settings of the LLM Figure 1 (defaults: the full setting)."""

    task_seed: int = 0
    """Which draw of the task's teacher."""
    hidden_size: int = 32
    """Width of the tiny Llama."""
    num_layers: int = 2
    """Its decoder layers."""
    num_heads: int = 2
    """Its attention heads."""
    base_test_error: float = 0.6
    """SFT stops at the first evaluation with test error at most this; the linear base likewise."""
    sft_max_steps: int = 300
    """SFT's step limit."""
    sft_eval_every: int = 10
    """SFT steps between evaluations (where it may stop)."""
    max_steps: int = 2000
    """Step cap of the reported runs (a run that has not settled by then is censored)."""
    min_steps: int = 200
    """No run is called settled before this step."""
    tolerance: float = 0.005
    """A run has settled when its test error changed by at most this over the last fifth of the run."""
    tuning_steps: int = 200
    """Steps of each tuning run of the learning-rate sweep."""
    tuning_seeds: int = 2
    """Tuning runs per learning rate (seeds keyed apart from the reported ones)."""
    prompts_per_step: int = 8
    """Contexts per step."""
    group_size: int = 8
    """Responses per context (PaperPG gets prompts_per_step * group_size fresh contexts per step)."""
    llm_learning_rates: tuple[float, ...] = (1e-4, 3e-4, 1e-3, 3e-3)
    """Adam learning rates swept for TRL's GRPO (both rewards), per-token PRM and RLOO."""
    oblr_learning_rates: tuple[float, ...] = (0.0003, 0.001, 0.003, 0.01)
    """eta_max values swept for OBLR-PO (SGD at the SNR-governed rate)."""
    paper_learning_rates: tuple[float, ...] = (0.03, 0.1, 0.3, 1.0)
    """Adagrad learning rates swept for PaperPG (ORM and PRM)."""
    group_learning_rates: tuple[float, ...] = (0.03, 0.1, 0.3, 1.0)
    """SGD learning rates swept for GroupPG (GRPO)."""
    pretrain_learning_rate: float = 0.1
    """Adagrad learning rate of the linear base's pre-training."""
    pretrain_max_steps: int = 2000
    """Its step limit (it stops at base_test_error)."""
    eval_every: int = 50
    """Steps between evaluations."""
    test_size: int = 1024
    off_support_threshold: float = 0.05
    """A tracked context is off-support when its base likelihood is below this."""
    lift_level: float = 0.5
    """An off-support context is lifted when its final likelihood exceeds this."""
    seeds: int = 5
    """Reported seeds per method (each trained to its settling step or the cap)."""
    seed: int = 0
    """Root seed: every run's streams derive from it."""
    workers: int = 1
    """Local worker processes for the runs of each phase (tuning, then reported); results do not depend on it."""

    def check(self) -> None:
        super().check()  # types, seeds, counts >= 1, rates > 0, the backend
        check_positive(self, "off_support_threshold", "tolerance")
        for name in RATE_SWEEPS:
            rates = getattr(self, name)
            if not rates or any(not (isinstance(r, float) and r > 0) for r in rates):
                raise ConfigError(
                    f"{name} (--{name.replace('_', '-')}) must be one or more positive floats, got {rates!r}", name
                )
        if self.min_steps > self.max_steps:
            raise ConfigError(
                f"min_steps (--min-steps) must be at most max_steps={self.max_steps}, got {self.min_steps!r}",
                "min_steps",
            )
        check_interval(self, "base_test_error", 0.0, 1.0, low_open=True, high_open=True)
        check_interval(self, "lift_level", 0.0, 1.0, low_open=True, high_open=True)


QUICK = LLMFigure1Config(
    sft_max_steps=150,
    max_steps=40,
    min_steps=20,
    tuning_steps=10,
    tuning_seeds=1,
    seeds=2,
    llm_learning_rates=(3e-4, 3e-3),
    oblr_learning_rates=(0.001, 0.003),
    paper_learning_rates=(0.1, 0.3),
    group_learning_rates=(0.1, 0.3),
    eval_every=10,
    test_size=256,
    pretrain_max_steps=500,
)


EXPERIMENT = Experiment(
    "llm_figure1",
    LLMFigure1Config,
    QUICK,
    ("llm_figure1.png", "llm_figure1.md"),
    ("llm", "linear"),
    quick_help="a small setting (two rates, two seeds, short runs) that runs in a few minutes",
    run_dir_name="{setting}-seed{seed}",
    summary_file=False,
)
