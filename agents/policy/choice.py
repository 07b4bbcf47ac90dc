"""Which policy a run trains: making a fresh one by name (linear, mlp, transformer), loading a saved one
without running code, the experiments' choice of policy (``--policy``, ``--hidden``, ...), and each policy
kind's default learning rate per optimiser (``DEFAULT_LEARNING_RATES``), which every learner and experiment
uses where its rate is left unset (None)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from agents.common.config_checks import ConfigError
from agents.policy.linear import LinearPolicy
from agents.policy.network_policy import NetworkPolicy
from agents.policy.networks import CausalTransformer, LinearLogits, MarkovMLP, NetworkSizes

POLICIES = ("linear", "mlp", "transformer")
DEFAULT_SIZES = NetworkSizes()

STAGES = ("pretrain", "adagrad", "sgd", "adam")
"""What a default rate is for: supervised pre-training (always Adagrad), or policy gradient under an optimiser."""

DEFAULT_LEARNING_RATES: dict[str, dict[str, float]] = {
    "linear": {"pretrain": 0.1, "adagrad": 0.1, "sgd": 1.0, "adam": 0.1},
    "mlp": {"pretrain": 0.1, "adagrad": 0.1, "sgd": 1.0, "adam": 0.01},
    "transformer": {"pretrain": 0.1, "adagrad": 0.01, "sgd": 0.1, "adam": 0.001},
}
"""Per policy kind, per stage (``STAGES``): the learning rate a run uses when none is given, measured on
Figure 1's quick setting (docs/neural.md, "Default learning rates"). The linear policy keeps the paper's
Adagrad 0.1 throughout; the transformer pre-trains at 0.1 but needs PG rates ten times smaller, or its
first PG steps saturate its logits on wrong tokens (a collapse)."""


def policy_kind(policy: object) -> str:
    """The kind ("linear", "mlp" or "transformer") of a made or loaded policy (a ``LinearPolicy``, or a
    ``NetworkPolicy`` whose architecture names it; the linear policy's general path counts as linear).
    Raises ``ValueError`` for a network of another kind (whose rate must then be given)."""
    if isinstance(policy, LinearPolicy):
        return "linear"
    if isinstance(policy, NetworkPolicy):
        name = policy.architecture.get("name")
        if name in POLICIES:
            return str(name)
        if isinstance(policy.module, LinearLogits):
            return "linear"
    raise ValueError(
        f"no default learning rate for a policy of type {type(policy).__name__} (kinds with defaults: "
        f"{POLICIES}); give the learning rate explicitly"
    )


def default_learning_rate(kind: str, stage: str) -> float:
    """The default rate of policy ``kind`` for ``stage``: 'pretrain', or PG under 'adagrad', 'sgd' or 'adam'."""
    if kind not in DEFAULT_LEARNING_RATES:
        raise ValueError(f"policy must be one of {POLICIES}, got {kind!r}")
    if stage not in STAGES:
        raise ValueError(f"optimizer must be one of {STAGES[1:]} (or 'pretrain'), got {stage!r}")
    return DEFAULT_LEARNING_RATES[kind][stage]


def learning_rate_for(rate: float | None, policy: object, stage: str) -> float:
    """``rate`` where given, else the default of ``policy``'s kind (a policy object or a kind's name) for
    ``stage`` (``default_learning_rate``): what a learner resolves its config's ``learning_rate`` to."""
    if rate is not None:
        return float(rate)
    kind = policy if isinstance(policy, str) else policy_kind(policy)
    return default_learning_rate(kind, stage)


def make_policy(
    name: str,
    task: object,
    sizes: NetworkSizes = DEFAULT_SIZES,
    device: str | torch.device = "cpu",
    seed: int = 0,
) -> LinearPolicy | NetworkPolicy:
    """A fresh policy for ``task`` (a ``SequenceTask``): "linear" (w = 0, uniform), "mlp" or "transformer"
    (uniform too: zero output layer; hidden weights drawn from ``seed``), on ``device``."""
    context_dim, vocab_size = task.context_dim, task.vocab_size  # type: ignore[attr-defined]
    if name == "linear":
        return LinearPolicy(context_dim, vocab_size, device)
    return _network(name, context_dim, vocab_size, task.seq_len, sizes, device, seed)  # type: ignore[attr-defined]


def _network(
    name: str,
    context_dim: int,
    vocab_size: int,
    seq_len: int,
    sizes: NetworkSizes,
    device: str | torch.device,
    seed: int,
) -> NetworkPolicy:
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)  # nn.Module initialisers draw from the global stream: seed it, then restore it
    try:
        module: nn.Module
        if name == "mlp":
            module = MarkovMLP(context_dim, vocab_size, sizes)
        elif name == "transformer":
            module = CausalTransformer(context_dim, vocab_size, seq_len, sizes)
        else:
            raise ValueError(f"policy must be one of {POLICIES}, got {name!r}")
    finally:
        torch.random.set_rng_state(generator_state)
    architecture = {"name": name, "seq_len": seq_len, **asdict(sizes)}
    return NetworkPolicy(module.to(device), context_dim, vocab_size, architecture)


def load_policy(path: str | Path, device: str | torch.device = "cpu") -> LinearPolicy | NetworkPolicy:
    """A policy saved by ``LinearPolicy.save`` or ``NetworkPolicy.save`` (no code executed on load)."""
    saved = torch.load(path, map_location="cpu", weights_only=True)
    if "architecture" not in saved:
        return LinearPolicy.load(path, device)
    architecture = dict(saved["architecture"])
    name = architecture.pop("name", None)
    seq_len = int(architecture.pop("seq_len", 1))
    sizes = NetworkSizes(**{key: int(value) for key, value in architecture.items()})
    policy = _network(str(name), int(saved["context_dim"]), int(saved["vocab_size"]), seq_len, sizes, device, 0)
    policy.load_state_dict(saved["state"])
    return policy


@dataclass(frozen=True)
class PolicyFields:
    """The settings of an experiment that say which policy it trains; an experiment's config inherits them
    and ``PolicyChoice.of(config)`` reads them."""

    policy: str = "linear"
    """The policy trained: linear, mlp or transformer."""
    hidden: int = 32
    """Network width (MLP hidden units, transformer model dimension)."""
    layers: int = 1
    """Network depth (MLP hidden layers, transformer blocks)."""
    heads: int = 2
    """Transformer attention heads (must divide --hidden)."""


@dataclass(frozen=True)
class PolicyChoice:
    """Which policy an experiment trains, as its command line gives it (``--policy``, ``--hidden``, ...)."""

    name: str = "linear"
    """linear, mlp or transformer."""
    hidden: int = 32
    layers: int = 1
    heads: int = 2

    def __post_init__(self) -> None:
        if self.name not in POLICIES:
            raise ValueError(f"policy must be one of {POLICIES}, got {self.name!r}")
        NetworkSizes(self.hidden, self.layers, self.heads)  # validates the sizes

    @classmethod
    def of(cls, config: object) -> PolicyChoice:
        """The choice held by an experiment config's ``policy``, ``hidden``, ``layers`` and ``heads`` fields;
        a bad value raises ``ConfigError`` naming the flags."""
        values = {field: getattr(config, field) for field in ("policy", "hidden", "layers", "heads")}
        try:
            return cls(values.pop("policy"), **values)
        except ValueError as error:
            raise ConfigError(f"--policy / --hidden / --layers / --heads: {error}", "policy") from None

    def make(self, task: object, device: str | torch.device = "cpu", seed: int = 0) -> LinearPolicy | NetworkPolicy:
        """A fresh policy of this choice for ``task`` (see ``make_policy``)."""
        return make_policy(self.name, task, NetworkSizes(self.hidden, self.layers, self.heads), device, seed)

    def learning_rate(self, rate: float | None, stage: str) -> float:
        """``rate`` where given, else this policy's default for ``stage`` (``DEFAULT_LEARNING_RATES``)."""
        return learning_rate_for(rate, self.name, stage)

    def record(self) -> dict[str, Any]:
        """What a run's config records of the choice: nothing for the linear policy (so run folders made
        before networks existed still resume), the name and sizes otherwise."""
        return {} if self.name == "linear" else {"policy": asdict(self)}
