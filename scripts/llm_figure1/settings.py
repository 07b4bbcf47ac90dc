"""Figure 1 on the LLM stack: does the outcome reward stall where the base model gives y* no likelihood, and does
the per-token process reward get past it, for a transformer trained by TRL?

"Post-Training with Policy Gradients: Optimality and the Base Model Barrier" (arXiv 2603.06957), Figure 1, on
``seqreward/RademacherProcess-v0`` (contexts a prompt carries exactly): a tiny Llama is fine-tuned (TRL's
SFTTrainer) on the contexts whose first coordinate is +1 until its test error reaches ``--base-test-error``;
then, per seed, TRL's GRPOTrainer with the outcome reward, GRPOTrainer with the process reward summed into one
scalar per completion, and ``agents.llm.ProcessGRPOTrainer`` with the per-token process reward (A_i = r_i) train
it. Beside them, on the same task, the package's linear policy is
pre-trained to the same base test error and trained by PaperPG (ORM and PRM) and GroupPG (GRPO, outcome), with
as many responses per step. Every context of the task is tracked; the off-support ones (base likelihood below
``--off-support-threshold``, from each stack's own base) are counted as lifted when they end above
``--lift-level``.

Writes ``llm_figure1.png``, ``llm_figure1.json`` (table and curves) and ``llm_figure1.md`` (the table) in the run
folder, with every run's folder (``metrics.jsonl``, TensorBoard events); the same command reuses finished runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from agents.common.config_checks import check_interval, check_positive
from agents.experiment.cli import Experiment
from scripts.common.settings import Settings


@dataclass(frozen=True)
class LLMFigure1Config(Settings):
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
    steps: int = 400
    """Policy-gradient steps of every run."""
    prompts_per_step: int = 8
    """Contexts per step."""
    group_size: int = 8
    """Responses per context (PaperPG gets prompts_per_step * group_size fresh contexts per step)."""
    llm_learning_rate: float = 3e-4
    """Adam learning rate of the TRL runs."""
    pretrain_batch_size: int = 64
    """(x, y*) pairs per step of the linear base's pre-training (Adagrad)."""
    pretrain_learning_rate: float = 0.1
    """Its learning rate."""
    pretrain_max_steps: int = 2000
    """Its step limit (it stops at base_test_error)."""
    group_learning_rate: float = 0.1
    """GroupPG's learning rate (SGD)."""
    eval_every: int = 50
    """Steps between evaluations."""
    test_size: int = 1024
    """Test contexts."""
    off_support_threshold: float = 0.05
    """A tracked context is off-support when its base likelihood is below this."""
    lift_level: float = 0.5
    """An off-support context is lifted when its final likelihood exceeds this."""
    seeds: int = 3
    """Seeds per method."""
    seed: int = 0
    """Root seed: every run's streams derive from it."""

    def check(self) -> None:
        super().check()  # types, seeds, counts >= 1, rates > 0
        check_positive(self, "off_support_threshold")
        check_interval(self, "base_test_error", 0.0, 1.0, low_open=True, high_open=True)
        check_interval(self, "lift_level", 0.0, 1.0, low_open=True, high_open=True)


QUICK = LLMFigure1Config(sft_max_steps=150, steps=30, eval_every=10, test_size=256, pretrain_max_steps=500)


EXPERIMENT = Experiment(
    "llm_figure1",
    LLMFigure1Config,
    QUICK,
    ("llm_figure1.png", "llm_figure1.md"),
    ("llm", "linear"),
    quick_help="a small setting that runs in about a minute",
    run_dir_name="{setting}-seed{seed}",
    summary_file=False,
)
