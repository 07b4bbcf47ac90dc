"""The natively batched vector environment: many episodes in lockstep over the same task core as the single env.

Row i behaves exactly like a single ``SequenceEnv`` reset with seed ``seed + i`` (as in
``gym.make_vec(..., vectorization_mode="sync")``): each row keeps its own random generator, used only
to draw its contexts; everything else is array operations over all rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from seqreward_env._checks import SEED_RULE, check_int, check_seed
from seqreward_env.episodes import EpisodeBatch, parse_reset_options
from seqreward_env.frames import render_frames
from seqreward_env.spaces import RENDER_MODES, action_space, check_render_mode, make_task, observation_space, render_row
from seqreward_env.task import SequenceTask


class SequenceVectorEnv(VectorEnv):
    """``num_envs`` sequence-writing episodes advanced together.

    Takes the keyword arguments of ``SequenceEnv`` plus ``num_envs``, ``autoreset_mode``
    (``"next_step"``, the Gymnasium default; ``"same_step"``; or ``"disabled"``) and ``copy`` (as in
    Gymnasium's ``SyncVectorEnv``: True returns fresh observation arrays; False returns views of the
    env's state, valid until the next ``step`` or ``reset``, which saves a copy per step). The ``tokens``
    observation ``(num_envs, N)`` is column-major either way: the env stores tokens by position, so that a
    step writes one contiguous row (``np.ascontiguousarray`` gives a row-major copy).

    ``reset(options=...)`` accepts ``context`` as one context ``(d,)`` for all rows or ``(num_envs, d)``,
    ``prefix`` as one prefix for all rows, an ``(num_envs, L)`` array or a list of per-row 1-D arrays,
    and ``reset_mask`` ``(num_envs,)`` bool to reset only some rows; ``seed`` is an int (row i gets
    ``seed + i``) or a list of one int or None per row, all checked before any row is seeded.

    ``info["is_success"]`` comes on every stepped row (mask ``info["_is_success"]``): False until a row's
    last step, then whether its response equals y*. ``render()`` returns one frame per row (a tuple);
    ``action_masks()`` allows every token, ``(num_envs, k)`` bool.
    """

    metadata = {"render_modes": list(RENDER_MODES), "render_fps": 4, "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(
        self,
        num_envs: int = 1,
        *,
        autoreset_mode: str | AutoresetMode = AutoresetMode.NEXT_STEP,
        task: SequenceTask | None = None,
        render_mode: str | None = None,
        copy: bool = True,
        **task_kwargs: Any,
    ) -> None:
        self.num_envs = check_int("num_envs", num_envs, 1)
        if not isinstance(copy, bool):
            raise ValueError(f"copy must be True or False, got {copy!r}")
        self.copy = copy
        self.autoreset_mode = _parse_autoreset_mode(autoreset_mode)
        self.metadata = {**self.metadata, "autoreset_mode": self.autoreset_mode}
        self.task = make_task(task, task_kwargs)
        self.render_mode = check_render_mode(render_mode)
        self._episodes = EpisodeBatch(self.task, self.num_envs)  # checks the sizes before the spaces allocate
        self.single_observation_space = observation_space(self.task)
        self.single_action_space = action_space(self.task)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._rngs: list[np.random.Generator] | None = None
        self._finished = np.ones(self.num_envs, dtype=bool)  # episode over: autoreset (or reset) due
        self._any_finished = True
        self._all_rows_mask = np.ones(self.num_envs, dtype=bool)  # copied for info masks (cheaper than np.ones)
        self._started = False
        self.total_reward_queries = 0

    @property
    def np_random_generators(self) -> list[np.random.Generator]:
        """Each row's generator (created from OS entropy on first use if never seeded)."""
        if self._rngs is None:
            self._rngs = [seeding.np_random(None)[0] for _ in range(self.num_envs)]
        return self._rngs

    def reset(
        self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        rows = np.arange(self.num_envs)
        if isinstance(options, dict) and "reset_mask" in options:
            rows = np.flatnonzero(self._check_reset_mask(options["reset_mask"]))
        contexts, prefixes = parse_reset_options(self.task, options, self.num_envs, batched=True)
        self._seed_rows(seed)  # after every check: a refused call changes nothing
        self._start_rows(
            rows,
            None if contexts is None else contexts[rows],
            None if prefixes is None else [prefixes[i] for i in rows],
        )
        self._started = True
        return self._episodes.observation(copy=self.copy), {}

    def step(self, actions: Any) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        if not self._started:
            raise RuntimeError("step() called before reset(); call reset() first")
        actions = self._check_actions(actions)
        restart = None
        if self._any_finished:
            if self.autoreset_mode == AutoresetMode.DISABLED:
                raise RuntimeError(
                    f"rows {np.flatnonzero(self._finished).tolist()} have terminated; with autoreset_mode='disabled' "
                    "reset them with reset(options={'reset_mask': mask}) before stepping"
                )
            if self.autoreset_mode == AutoresetMode.NEXT_STEP:
                restart = self._finished.copy()
        info: dict[str, Any] = {}
        if restart is None:  # every row steps: the common case, no fancy indexing
            rewards, terminated, queries, success = self._episodes.advance(slice(None), actions)
            # Rows that stepped in lockstep answered the same number of queries each, and end together.
            lockstep = self._episodes.lockstep is not None
            self.total_reward_queries += int(queries[0]) * self.num_envs if lockstep else int(queries.sum())
            info["reward_queries"], info["_reward_queries"] = queries, self._all_rows_mask.copy()
            info["is_success"], info["_is_success"] = success & terminated, self._all_rows_mask.copy()
            self._finished = terminated.copy()
            self._any_finished = bool(terminated[0]) if lockstep else bool(terminated.any())
        else:
            self._start_rows(np.flatnonzero(restart), None, None)
            stepping = np.flatnonzero(~restart)
            rewards = np.zeros(self.num_envs, dtype=np.float64)
            terminated = np.zeros(self.num_envs, dtype=bool)
            if stepping.size:
                step_rewards, step_terminated, queries, success = self._episodes.advance(stepping, actions[stepping])
                rewards[stepping] = step_rewards
                terminated[stepping] = step_terminated
                self.total_reward_queries += int(queries.sum())
                _add(info, "reward_queries", stepping, queries, self.num_envs)
                _add(info, "is_success", stepping, success & step_terminated, self.num_envs)
            self._finished = terminated.copy()
            self._any_finished = bool(terminated.any())
        if self.autoreset_mode == AutoresetMode.SAME_STEP and self._any_finished:
            info = self._reset_finished_same_step(info, np.flatnonzero(terminated))
        return (
            self._episodes.observation(copy=self.copy),
            rewards,
            terminated,
            np.zeros(self.num_envs, dtype=bool),
            info,
        )

    def render(self) -> tuple[str, ...] | tuple[np.ndarray, ...] | None:
        """One line of text per row ("ansi"), one ``(height, width, 3)`` uint8 frame per row ("rgb_array"),
        or None."""
        episodes = self._episodes
        if self.render_mode == "ansi":
            return tuple(
                render_row(self.task, episodes.tokens[i], int(episodes.positions[i])) for i in range(self.num_envs)
            )
        if self.render_mode == "rgb_array":
            return tuple(render_frames(self.task, episodes.contexts, episodes.tokens, episodes.positions))
        return None

    def action_masks(self) -> np.ndarray:
        """``(num_envs, k)`` bool, all True: every token is a valid next action in every row."""
        return np.ones((self.num_envs, self.task.vocab_size), dtype=bool)

    # ----- internals ------------------------------------------------------------------------------
    def _seed_rows(self, seed: int | list[int | None] | None) -> None:
        if seed is None:
            return
        if isinstance(seed, (list, tuple)):
            if len(seed) != self.num_envs:
                raise ValueError(f"seed must be {SEED_RULE} or a list of {self.num_envs} of them, got {seed!r}")
            seeds = [check_seed(f"seed[{i}]", row_seed) for i, row_seed in enumerate(seed)]  # all, before any row
        else:
            first = check_seed("seed", seed)
            seeds = [None if first is None else first + i for i in range(self.num_envs)]
        rngs = self.np_random_generators
        for i, row_seed in enumerate(seeds):
            if row_seed is not None:
                rngs[i] = seeding.np_random(row_seed)[0]

    def _start_rows(self, rows: np.ndarray, contexts: np.ndarray | None, prefixes: list[np.ndarray] | None) -> None:
        if rows.size == 0:
            return
        if contexts is None:
            rngs = self.np_random_generators
            contexts = self.task.sample_context_rows(rngs if len(rows) == self.num_envs else [rngs[i] for i in rows])
        self._episodes.start(rows, contexts, prefixes)
        self._finished[rows] = False
        self._any_finished = bool(self._finished.any())

    def _reset_finished_same_step(self, info: dict[str, Any], ended: np.ndarray) -> dict[str, Any]:
        """Gymnasium's same-step layout: the ended rows' last observation and info move to ``final_obs``
        and ``final_info``, and the rows start anew in this very step."""
        final_obs = np.full(self.num_envs, None, dtype=object)
        final_views = self._episodes.observation(ended)
        for j, row in enumerate(ended):
            final_obs[row] = {key: value[j] for key, value in final_views.items()}
        final_info: dict[str, Any] = {}
        for key in ("reward_queries", "is_success"):
            _add(final_info, key, ended, info[key][ended], self.num_envs)
            info["_" + key][ended] = False  # the rows now hold the new episode's (empty) reset info
            info[key][ended] = 0
            if not info["_" + key].any():  # as in Gymnasium's layout, a key no row reports is absent
                del info[key], info["_" + key]
        mask = np.zeros(self.num_envs, dtype=bool)
        mask[ended] = True
        self._start_rows(ended, None, None)
        return {**info, "final_obs": final_obs, "_final_obs": mask, "final_info": final_info, "_final_info": mask}

    def _check_actions(self, actions: Any) -> np.ndarray:
        array = np.asarray(actions)
        if array.shape != (self.num_envs,) or array.dtype.kind not in "iu":
            raise ValueError(f"actions must be an integer array of shape ({self.num_envs},), got {actions!r}")
        if array.dtype == np.int64:  # viewed as unsigned, a negative token is huge: one reduction checks both ends
            if array.view(np.uint64).max() < self.task.vocab_size:
                return array
        elif array.size and 0 <= array.min() and array.max() < self.task.vocab_size:
            return np.asarray(array, dtype=np.int64)  # every row valid: the common case
        stepping = ~self._finished if self.autoreset_mode == AutoresetMode.NEXT_STEP else np.ones(self.num_envs, bool)
        bad = stepping & ((array < 0) | (array >= self.task.vocab_size))
        if bad.any():
            raise ValueError(
                f"actions must be tokens in [0, {self.task.vocab_size}), got {array[bad].tolist()} at rows {np.flatnonzero(bad).tolist()}"
            )
        return array.astype(np.int64)

    def _check_reset_mask(self, mask: Any) -> np.ndarray:
        array = np.asarray(mask)
        if array.shape != (self.num_envs,) or array.dtype != np.bool_ or not array.any():
            raise ValueError(
                f"options['reset_mask'] must be a bool array of shape ({self.num_envs},) with a True entry, got {mask!r}"
            )
        return array


def _parse_autoreset_mode(value: Any) -> AutoresetMode:
    """An ``AutoresetMode`` from itself, its value ("NextStep") or its snake-case name ("next_step")."""
    by_name = {mode.name.lower(): mode for mode in AutoresetMode}
    if isinstance(value, str) and value.lower() in by_name:
        return by_name[value.lower()]
    try:
        return AutoresetMode(value)
    except ValueError:
        allowed = [*by_name, *(mode.value for mode in AutoresetMode)]
        raise ValueError(f"autoreset_mode must be one of {allowed}, got {value!r}") from None


def _add(info: dict[str, Any], key: str, rows: np.ndarray | slice, values: np.ndarray, num_envs: int) -> None:
    """Gymnasium's vector info layout: ``info[key]`` an array over all rows, ``info["_" + key]`` its mask."""
    array = np.zeros(num_envs, dtype=values.dtype)
    array[rows] = values
    mask = np.zeros(num_envs, dtype=bool)
    mask[rows] = True
    info[key], info["_" + key] = array, mask
