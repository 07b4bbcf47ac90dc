"""The adaptive step and the transformer: does Algorithm 2's near-linear query cost in N come back for a
transformer when its step is not the theory's?

Algorithm 2 (process repair, process reward) learns from each verified token with the step
c / (4 + 2 ||g||^2), g the token's score; c = 1 is the theory's step. To first order the step raises the
token's log-probability by c ||g||^2 / (4 + 2 ||g||^2), at most c / 2 whatever the score norm, so a policy
with far more parameters does not move its own token less; what differs is how far the update carries to
other contexts. The experiment measures it: for each policy and each c (``--linear-step-scales``,
``--transformer-step-scales``), for each N and seed, a base model pre-trained to the same quality per token
(the barrier experiment's), then Algorithm 2 from it until the target test error; the queries to the target
against N are fitted per variant (growth per token and power of N, each with its 95% interval).

Writes, under the run directory (whose path it prints): ``adaptive_step.png`` (queries against N per
variant, log and linear scales), ``adaptive_step.csv`` (one row per run), ``adaptive_step.json`` (the
summary with the fits and the verdicts), TensorBoard events under ``tb_adaptive_step/`` and every run's
folder under ``runs/``. Running the same command again skips finished runs and resumes interrupted ones.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from agents.common.config_checks import ConfigError
from agents.experiment.cli import Experiment
from agents.policy.networks import NetworkSizes
from scripts.barrier.settings import BarrierConfig
from scripts.common.settings import DeviceSettings, QuerySettings


@dataclass(frozen=True)
class AdaptiveStepConfig(DeviceSettings, QuerySettings):
    """Settings of the adaptive-step experiment (defaults: the setting of docs/neural.md). The task, the base
    models' quality per token, the target and the rows are the barrier experiment's defaults
    (``scripts.barrier.settings.BarrierConfig``: k = 3, d = 8, margin 0.05, mean token probability 0.5, test
    error 0.1)."""

    seq_lens: tuple[int, ...] = (2, 4, 6, 8, 10, 12, 14)
    """Response lengths N."""
    linear_step_scales: tuple[float, ...] = (1.0, 4.0)
    """Step scales c of the linear policy (1: the theory's step)."""
    transformer_step_scales: tuple[float, ...] = (1.0, 4.0, 16.0)
    """Step scales c of the transformer."""
    hidden: int = 32
    """Transformer model dimension."""
    layers: int = 1
    """Transformer blocks."""
    heads: int = 2
    """Transformer attention heads (must divide --hidden)."""
    seeds: int = 3
    """Seeds per N (pre-training data, contexts and sampling; 0, 1, ...)."""
    query_budget: int = 200_000
    test_size: int = 256

    def check(self) -> None:
        super().check()  # the blocks': types, counts, --query-budget against --rows, --device
        if not self.seq_lens or min(self.seq_lens) < 1:
            raise ConfigError(f"seq_lens (--seq-lens) must be integers >= 1, got {self.seq_lens!r}", "seq_lens")
        scales = (*self.linear_step_scales, *self.transformer_step_scales)
        if not scales or min(scales) <= 0:
            raise ConfigError(f"--linear-step-scales / --transformer-step-scales must be positive, got {scales!r}")
        try:
            NetworkSizes(self.hidden, self.layers, self.heads)
        except ValueError as error:
            raise ConfigError(f"--hidden / --layers / --heads: {error}", "heads") from None
        barrier_settings(self, "linear")  # the barrier experiment's checks (sizes, the budget against --rows)


def barrier_settings(config: AdaptiveStepConfig, policy: str) -> BarrierConfig:
    """The barrier experiment's settings for ``policy`` (its task, base models and query runs: its defaults
    but for N, the seeds, the budget, the test size and the policy)."""
    names = ("seq_lens", "seeds", "rows", "query_budget", "test_size", "device", "hidden", "layers", "heads")
    shared = {name: getattr(config, name) for name in names}
    return replace(BarrierConfig(), **shared, policy=policy, algorithms=("process_repair",))


QUICK = replace(
    AdaptiveStepConfig(),
    seq_lens=(2, 4, 6),
    linear_step_scales=(1.0,),
    transformer_step_scales=(1.0, 4.0),
    seeds=2,
    query_budget=20_000,
    test_size=128,
)

EXPERIMENT = Experiment(
    "adaptive_step", AdaptiveStepConfig, QUICK, ("adaptive_step.png", "adaptive_step.csv"), ("runs", "tb_adaptive_step")
)
