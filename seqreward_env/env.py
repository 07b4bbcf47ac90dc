"""The single environment: one episode of writing a length-N token sequence, a batch of one over the task core."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from seqreward_env._checks import check_seed
from seqreward_env.episodes import EpisodeBatch, parse_reset_options
from seqreward_env.frames import render_frames
from seqreward_env.spaces import RENDER_MODES, action_space, check_render_mode, make_task, observation_space, render_row
from seqreward_env.task import SequenceTask

ONE_ROW = np.zeros(1, dtype=np.int64)


class SequenceEnv(gym.Env[dict[str, np.ndarray], np.int64]):
    """Write y_1, ..., y_N one token per step; rewarded by the outcome or the process reward.

    Keyword arguments are those of ``SequenceTask`` (``seq_len``, ``vocab_size``, ``context_dim``,
    ``contexts``, ``num_components``, ``sigma``, ``teacher``, ``task_seed``, ``margin``, ``reward``,
    ``reward_values``), or a ready ``task``, plus ``render_mode``: None, "ansi" (a line of text) or
    "rgb_array" (a ``(height, width, 3)`` uint8 picture of the context and the tokens written, see
    ``seqreward_env.frames``).

    ``reset(options={"context": x, "prefix": tokens})`` re-asks a given context and/or starts from a
    given prefix (no reward queries spent on it). ``info["reward_queries"]`` is the number of reward
    queries the step answered; ``info["is_success"]`` comes with every step: False until the last step,
    then whether the whole response equals y* (so it says nothing before the reward does).
    ``action_masks()`` allows every token (for sb3-contrib's MaskablePPO).
    """

    metadata = {"render_modes": list(RENDER_MODES), "render_fps": 4}

    def __init__(self, *, task: SequenceTask | None = None, render_mode: str | None = None, **task_kwargs: Any) -> None:
        self.task = make_task(task, task_kwargs)
        self.render_mode = check_render_mode(render_mode)
        self._episodes = EpisodeBatch(self.task, 1)  # checks the sizes before the spaces allocate
        self.observation_space = observation_space(self.task)  # type: ignore[assignment]
        self.action_space = action_space(self.task)
        self._needs_reset = True
        self.total_reward_queries = 0

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        contexts, prefixes = parse_reset_options(self.task, options, 1, batched=False)
        super().reset(seed=check_seed("seed", seed))  # after the checks: a refused call changes nothing
        if contexts is None:
            contexts = self.task.sample_context_rows([self.np_random])
        self._episodes.start(ONE_ROW, contexts, prefixes)
        self._needs_reset = False
        return self._observation(), {}

    def step(self, action: Any) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        if self._needs_reset:
            raise RuntimeError("step() called before reset() or after the episode terminated; call reset() first")
        token = _check_action(action, self.task.vocab_size)
        rewards, terminated, queries, success = self._episodes.advance(ONE_ROW, np.array([token]))
        self.total_reward_queries += int(queries[0])
        info: dict[str, Any] = {"reward_queries": int(queries[0]), "is_success": bool(terminated[0] and success[0])}
        self._needs_reset = bool(terminated[0])
        return self._observation(), float(rewards[0]), bool(terminated[0]), False, info

    def render(self) -> str | np.ndarray | None:
        """The episode as text ("ansi"), as a ``(height, width, 3)`` uint8 frame ("rgb_array"), or None."""
        episodes = self._episodes
        if self.render_mode == "ansi":
            return render_row(self.task, episodes.tokens[0], int(episodes.positions[0]))
        if self.render_mode == "rgb_array":
            return render_frames(self.task, episodes.contexts[:1], episodes.tokens[:1], episodes.positions[:1])[0]
        return None

    def action_masks(self) -> np.ndarray:
        """``(k,)`` bool, all True: every token is a valid next action."""
        return np.ones(self.task.vocab_size, dtype=bool)

    def _observation(self) -> dict[str, np.ndarray]:
        obs: dict[str, Any] = self._episodes.observation(0)
        obs["position"] = np.int64(obs["position"])
        return obs


def _check_action(action: Any, vocab_size: int) -> int:
    array = np.asarray(action)
    if array.ndim != 0 or array.dtype.kind not in "iu" or not 0 <= int(array) < vocab_size:
        raise ValueError(f"action must be an integer token in [0, {vocab_size}), got {action!r}")
    return int(array)
