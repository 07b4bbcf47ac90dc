"""Which policy a run trains: making a fresh one by name (linear, mlp, transformer), loading a saved one
without running code, and the experiments' choice of policy (``--policy``, ``--hidden``, ...)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from agents.experiment.config_checks import ConfigError
from agents.policy.networks import CausalTransformer, MarkovMLP, NetworkSizes
from agents.policy.policy import LinearPolicy
from agents.policy.policy_grad import NetworkPolicy

POLICIES = ("linear", "mlp", "transformer")
DEFAULT_SIZES = NetworkSizes()


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

    def record(self) -> dict[str, Any]:
        """What a run's config records of the choice: nothing for the linear policy (so run folders made
        before networks existed still resume), the name and sizes otherwise."""
        return {} if self.name == "linear" else {"policy": asdict(self)}
