"""Every registered seqreward id as a GEM text environment (the ``gem-llm`` package): importing this module
registers them, so ``gem.make("seqreward/Process-v0")`` gives one.

One token per turn, as GEM's games take one move per turn: the first observation states the task and the
context, each later one the tokens written so far; an action is text whose last ``\\boxed{j}`` (or, alone, the
integer ``j``) is the next token. Under it runs the Gymnasium env of the same id, so a seed gives the same
context and the same tokens give the same rewards, ``reward_queries`` and ``is_success``. An action with no
token in [0, k) ends the episode as GEM's games end a format error: the task's low reward, no reward query
spent (the verifier was never asked), ``info["format_error"] = True``.

GEM's own ``Env.reset`` seeds Python's, numpy's and torch's global generators; this env does not call it:
the episode's context comes from the Gymnasium env's own generator, seeded by ``reset(seed)``.
"""

from __future__ import annotations

import re
from typing import Any

import gem
import gymnasium as gym
import numpy as np
from gem.envs.registration import ENV_REGISTRY

import seqreward_env

BOXED = re.compile(r"\\boxed\{\s*(-?\d+)\s*\}")
BARE = re.compile(r"^\s*(-?\d+)\s*$")


class SequenceTextEnv(gem.Env):  # type: ignore[misc]
    """A seqreward id as text: ``reset(seed) -> (prompt, info)``, ``step(text) -> (text, reward, terminated,
    truncated, info)`` with the Gymnasium env's reward and info."""

    def __init__(self, seqreward_id: str, seed: int | None = None) -> None:
        super().__init__()
        self.env = gym.make(seqreward_id)
        self.task = self.env.unwrapped.task  # type: ignore[attr-defined]
        self.seed = seed  # the first reset's seed when reset() is given none (gem.make_vec passes one per env)
        self.tokens: list[int] = []
        self.done = True
        self._rng = np.random.default_rng(seed)

    def reset(self, seed: int | None = None) -> tuple[str, dict[str, Any]]:
        if seed is None and self.seed is not None:
            seed, self.seed = self.seed, None
        obs, info = self.env.reset(seed=seed)
        self.tokens, self.done = [], False
        low, high = self.task.reward_low, self.task.reward_high
        context = " ".join(f"{value:.6g}" for value in obs["context"].tolist())
        prompt = (
            f"Write {self.task.seq_len} tokens, each an integer in [0, {self.task.vocab_size - 1}], one per turn, "
            f"as \\boxed{{token}}. The {self.task.reward} reward pays {high:g} for "
            f"{'each right prefix' if self.task.reward == 'process' else 'a right answer'}, else {low:g}. "
            f"Context: {context}. Token 1:"
        )
        return prompt, {**info, "context": obs["context"].tolist()}

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        if self.done:
            raise RuntimeError("step() called after the episode ended; call reset() first")
        token = parse_token(action, self.task.vocab_size)
        if token is None:
            self.done = True
            low = float(self.task.reward_low)
            return (
                f"No token in [0, {self.task.vocab_size - 1}] found in {action[-80:]!r}; the episode ends.",
                low,
                True,
                False,
                {"reward_queries": 0, "is_success": False, "format_error": True},
            )
        obs, reward, terminated, truncated, info = self.env.step(token)
        self.tokens.append(token)
        self.done = bool(terminated or truncated)
        written = " ".join(str(t) for t in self.tokens)
        text = f"Tokens so far: {written}." + ("" if self.done else f" Token {len(self.tokens) + 1}:")
        return text, float(reward), bool(terminated), bool(truncated), {**info, "format_error": False}

    def sample_random_action(self) -> str:
        return f"\\boxed{{{int(self._rng.integers(self.task.vocab_size))}}}"


def parse_token(action: Any, vocab_size: int) -> int | None:
    """The token of an action text: its last ``\\boxed{j}``, else the text if it is just an integer; None when
    there is none or it lies outside [0, k)."""
    if not isinstance(action, str):
        return None
    boxed = BOXED.findall(action)
    found = boxed[-1] if boxed else (match.group(1) if (match := BARE.match(action)) else None)
    if found is None or not 0 <= int(found) < vocab_size:
        return None
    return int(found)


def register_gem_envs() -> None:
    """Register every seqreward id with GEM (once; ids already registered are left as they are)."""
    for env_id in seqreward_env.ENV_IDS:
        if env_id not in ENV_REGISTRY:
            gem.register(env_id, "seqreward_serve.gem_env:SequenceTextEnv", seqreward_id=env_id)


register_gem_envs()
