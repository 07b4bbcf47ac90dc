"""The config of an SB3 learner: which algorithm, and its keyword arguments over the project's defaults,
checked where the config is made."""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, field
from typing import Any

import torch
from sb3_contrib import MaskablePPO, RecurrentPPO
from stable_baselines3 import A2C, PPO
from stable_baselines3.common.base_class import BaseAlgorithm

from agents.common.config_checks import ConfigError, check_choice, check_types

# Each algorithm's class and the SB3 policy it trains on the dict observations.
ALGORITHMS: dict[str, tuple[type[BaseAlgorithm], str]] = {
    "ppo": (PPO, "MultiInputPolicy"),
    "a2c": (A2C, "MultiInputPolicy"),
    "maskable_ppo": (MaskablePPO, "MultiInputPolicy"),
    "recurrent_ppo": (RecurrentPPO, "MultiInputLstmPolicy"),
}
# Defaults sized for the small tasks (N = 6): a rollout of a few episodes per row, and minibatches that
# split it in a few parts. Anything here can be overridden with the config's algo_kwargs.
DEFAULT_KWARGS: dict[str, dict[str, Any]] = {
    "ppo": {"n_steps": 32, "batch_size": 512, "n_epochs": 4, "learning_rate": 1e-3, "ent_coef": 0.0},
    "a2c": {"n_steps": 8, "learning_rate": 1e-3},
    "maskable_ppo": {"n_steps": 32, "batch_size": 512, "n_epochs": 4, "learning_rate": 1e-3},
    "recurrent_ppo": {"n_steps": 32, "batch_size": 512, "n_epochs": 4, "learning_rate": 1e-3},
}

# Arguments the learner sets itself (the env and its policy, the seed, the device, the logging).
RESERVED_KWARGS = ("policy", "env", "seed", "device", "verbose", "tensorboard_log", "_init_setup_model")
# Ranges of the numeric arguments SB3 leaves unchecked or checks late: (minimum, maximum, minimum excluded).
COUNTS = ("n_steps", "batch_size", "n_epochs", "stats_window_size")
RANGES: dict[str, tuple[float, float, bool]] = {
    "learning_rate": (0.0, math.inf, True),
    "clip_range": (0.0, math.inf, True),
    "clip_range_vf": (0.0, math.inf, True),
    "target_kl": (0.0, math.inf, True),
    "max_grad_norm": (0.0, math.inf, True),
    "gamma": (0.0, 1.0, False),
    "gae_lambda": (0.0, 1.0, False),
    "ent_coef": (0.0, math.inf, False),
    "vf_coef": (0.0, math.inf, False),
}


@dataclass(frozen=True)
class SB3Config:
    """Settings of an SB3 learner (``agents.learners.sb3.SB3Learner``)."""

    algo: str = "ppo"
    """'ppo', 'a2c' (stable-baselines3), 'maskable_ppo' or 'recurrent_ppo' (sb3-contrib)."""
    algo_kwargs: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments of the algorithm over ``DEFAULT_KWARGS[algo]`` (e.g. ``{"n_steps": 16}``): plain
    values only (numbers, strings, booleans, None, lists and dicts of them), so that a run's config records
    them; rates and clip ranges are constants (SB3's schedules are functions)."""
    device: str = "cpu"
    """Torch device of the policy ('cpu', 'cuda', 'cuda:1', 'auto')."""

    def __post_init__(self) -> None:
        check_types(self)
        check_choice(self, "algo", ALGORITHMS)
        check_algo_kwargs(self.algo, self.algo_kwargs)
        if self.device != "auto":
            try:
                torch.device(self.device)
            except RuntimeError:
                raise ConfigError(
                    f"device (--device) must be a torch device such as 'cpu', 'cuda' or 'cuda:1', or 'auto'; "
                    f"got {self.device!r} [SB3Config]",
                    "device",
                ) from None

    def algorithm_kwargs(self) -> dict[str, Any]:
        """The algorithm's keyword arguments: ``DEFAULT_KWARGS[algo]`` updated with ``algo_kwargs``."""
        return {**DEFAULT_KWARGS[self.algo], **self.algo_kwargs}


def check_algo_kwargs(algo: str, algo_kwargs: dict[str, Any]) -> None:
    """Refuse (``ConfigError`` naming ``algo_kwargs`` and the key) an argument the algorithm does not take,
    one the learner sets itself, a value that is not plain data, or a number out of its range."""
    algo_class, _ = ALGORITHMS[algo]
    accepted = set(inspect.signature(algo_class.__init__).parameters) - {"self", *RESERVED_KWARGS}
    for key, value in algo_kwargs.items():
        if key not in accepted:
            what = "is set by the learner" if key in RESERVED_KWARGS else f"is not an argument of {algo_class.__name__}"
            fail(f"algo_kwargs[{key!r}] {what}; allowed: {sorted(accepted)}")
        if not is_plain(value):
            fail(f"algo_kwargs[{key!r}] must be plain data (numbers, strings, lists, dicts), got {value!r}")
        if key == "policy_kwargs" and not isinstance(value, dict):
            fail(f"algo_kwargs['policy_kwargs'] must be a dict, got {value!r}")
    merged = {**DEFAULT_KWARGS[algo], **algo_kwargs}
    for key in COUNTS:
        value = merged.get(key)
        if key in merged and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            fail(f"algo_kwargs[{key!r}] must be an integer >= 1, got {value!r}")
    for key, (low, high, low_open) in RANGES.items():
        value = merged.get(key)
        if value is None and key in ("clip_range_vf", "target_kl"):
            continue
        if key in merged and not in_range(value, low, high, low_open):
            interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if math.isinf(high) else ']'}"
            fail(f"algo_kwargs[{key!r}] must be a number in {interval}, got {value!r}")


def fail(message: str) -> None:
    raise ConfigError(f"{message} [SB3Config]", "algo_kwargs")


def in_range(value: Any, low: float, high: float, low_open: bool) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return False
    return (value > low if low_open else value >= low) and value <= high


def is_plain(value: Any) -> bool:
    """Whether ``value`` is JSON-like data: None, a bool, int, finite float or str, or a list, tuple or
    str-keyed dict of such values."""
    if value is None or isinstance(value, (bool, int, str)):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, (list, tuple)):
        return all(is_plain(entry) for entry in value)
    if isinstance(value, dict):
        return all(isinstance(key, str) and is_plain(entry) for key, entry in value.items())
    return False
