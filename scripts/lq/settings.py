"""The likelihood CDF and the likelihood quantile of base models along pre-training, at sequence and token level.

The paper's synthetic setting (the full one): d = 32, k = 10, N = 100, rademacher contexts; supervised
pre-training with Adagrad (lr 1.0, batch 256, token-level cross-entropy, w = 0 at the start), a checkpoint
every 500 steps up to 5000. At each checkpoint the exact likelihood p(y*|x) and the token-level minimum
min_i p(y*_i | x, y*_<i) are computed on 16384 contexts (the task's fixed test set), giving their CDFs
P(p <= a) and the likelihood quantiles LQ(eps) = sup{a : P(p <= a) <= eps}.

Writes, under the run directory (whose path it prints): ``lq.png`` (the CDFs, the LQ(eps) curves and
LQ at the chosen eps against the pre-training step, both levels), ``lq.csv`` (log10 LQ(eps) on a fine eps
grid for every checkpoint and level), ``lq.json`` (the summary), the pre-training job's run folder
``pretrain/`` (config, metrics, TensorBoard events, checkpoints, ``models/step<n>.pt``: each base model),
``likelihoods/step<n>.npz`` (the log10 likelihoods behind the plots, computed from those models) and
``tb_lq/`` (TensorBoard: the LQs as scalars and the log-likelihoods as histograms, per checkpoint).
Running the same command again resumes; a finished run is only redrawn.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from agents.common.config_checks import ConfigError
from agents.experiment.cli import Experiment
from agents.policy.choice import PolicyChoice, PolicyFields
from scripts.common.settings import ContextChoice, DeviceSettings, ResponseLength


@dataclass(frozen=True)
class LQConfig(PolicyFields, DeviceSettings, ContextChoice, ResponseLength):
    """Settings of the LQ experiment (defaults: the paper's synthetic setting)."""

    seq_len: int = 100
    vocab_size: int = 10
    context_dim: int = 32
    steps: int = 5000
    """Pre-training steps (Adagrad)."""
    checkpoint_every: int = 500
    """Pre-training steps between checkpoints (each is evaluated; step 0, the uniform model, too)."""
    batch_size: int = 256
    """(x, y*) pairs per pre-training step."""
    learning_rate: float = 1.0
    """Adagrad learning rate."""
    num_contexts: int = 16384
    """Contexts on which the likelihoods are computed exactly."""
    eps: tuple[float, ...] = (0.001, 0.01, 0.1, 0.5)
    """Eps of the reported quantiles LQ(eps) (tables, TensorBoard, the right-hand panels)."""
    seed: int = 0
    """Seed of the pre-training data."""
    threads: int = 1
    """Torch threads."""

    def check(self) -> None:
        super().check()  # the blocks' checks: types, counts, sizes, --device
        PolicyChoice.of(self)
        if not self.eps or not all(0.0 <= eps < 1.0 for eps in self.eps):
            raise ConfigError(f"--eps must be numbers in [0, 1), got {self.eps!r}")
        if self.num_contexts < 2:
            raise ConfigError(f"--num-contexts must be >= 2, got {self.num_contexts}")


QUICK = replace(
    LQConfig(), seq_len=30, vocab_size=6, context_dim=16, steps=1000, checkpoint_every=100, num_contexts=4096
)


EXPERIMENT = Experiment(
    "lq",
    LQConfig,
    QUICK,
    ("lq.png", "lq.csv"),
    ("likelihoods", "pretrain", "tb_lq"),
    quick_help="a small setting that runs in well under a minute",
    run_dir_name="{setting}-seed{seed}",
    full_setting="paper",
    summary_file=False,
)
