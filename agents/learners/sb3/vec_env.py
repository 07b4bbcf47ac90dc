"""A stable-baselines3 ``VecEnv`` over the native ``SequenceVectorEnv``, so SB3 trains at the vector env's speed.

SB3 does not accept Gymnasium vector envs: its algorithms speak SB3's own ``VecEnv`` protocol (auto-reset
inside ``step``, the last observation of an ended episode in ``infos[i]["terminal_observation"]``, one
info dict per row, seeds applied at the next ``reset``). ``SB3VecEnv`` speaks that protocol over the
natively batched env built with ``autoreset_mode="same_step"``, whose layout is exactly SB3's: the rows
that end in a step return their reset observation and hand their final one over in ``final_obs``.

Row i behaves like ``DummyVecEnv([lambda: gym.make(env_id) for ...])``'s env i for the same seeds and
actions: same observations, float32 rewards, dones and infos (``reward_queries``, ``is_success`` (False
until the last step), ``TimeLimit.truncated`` and ``terminal_observation``), so every SB3 algorithm sees the same
data, only faster (no Python loop over rows, no wrapper stack per row).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any, cast

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv
from stable_baselines3.common.vec_env.base_vec_env import VecEnvIndices, VecEnvObs, VecEnvStepReturn, tile_images

from seqreward_env import SequenceVectorEnv

# Attributes and methods whose value differs per row: the adapter answers them row by row, as
# DummyVecEnv would from its single envs. Everything else lives once on the shared vector env.
PER_ROW_ATTRIBUTES = ("total_reward_queries", "np_random", "action_masks", "render")


class SB3VecEnv(VecEnv):
    """SB3's ``VecEnv`` protocol over a ``SequenceVectorEnv`` built with ``autoreset_mode="same_step"``.

    Args:
        venv: the native vector env (``gym.make_vec(env_id, num_envs, autoreset_mode="same_step")`` or
            ``SequenceVectorEnv(num_envs, autoreset_mode="same_step", ...)``).

    Per-row quantities: ``get_attr("total_reward_queries")`` gives each row's reward queries (their sum is
    the env's total), ``get_attr("np_random")`` each row's generator, ``env_method("action_masks")`` and
    ``action_masks()`` all-True masks (every token is always a valid action; sb3-contrib's MaskablePPO
    asks for them), ``env_method("render")`` each row's text. Other attributes and methods belong to the
    shared vector env (for instance ``get_attr("task")``); setting or calling them for only some rows is
    refused, since the rows share one object.
    """

    def __init__(self, venv: SequenceVectorEnv) -> None:
        native = getattr(venv, "unwrapped", venv)
        if not isinstance(native, SequenceVectorEnv):
            raise ValueError(f"venv must be a seqreward_env.SequenceVectorEnv, got {type(venv).__name__}")
        if native.autoreset_mode != AutoresetMode.SAME_STEP:
            raise ValueError(
                f"venv must be built with autoreset_mode='same_step' (SB3 resets rows inside step), "
                f"got autoreset_mode={native.autoreset_mode.value!r}"
            )
        if not getattr(native, "copy", True):
            raise ValueError(
                "venv must return fresh observation arrays (copy=True): SB3 keeps the last observation across a step"
            )
        self.venv = native
        self.row_reward_queries = np.zeros(native.num_envs, dtype=np.int64)
        self._actions: np.ndarray | None = None
        super().__init__(native.num_envs, native.single_observation_space, native.single_action_space)
        self._keys = list(cast(gym.spaces.Dict, native.single_observation_space).spaces)
        self.metadata = {**native.metadata, "render_modes": self.metadata["render_modes"]}

    @property
    def task(self) -> Any:
        """The ``SequenceTask`` all rows share (teacher, targets, exact evaluation)."""
        return self.venv.task

    # ----- stepping -------------------------------------------------------------------------------
    def reset(self) -> VecEnvObs:
        """Reset every row, with the seeds and options set since the last reset (then forgotten)."""
        seeds: list[int | None] = [None if seed is None else int(seed) for seed in self._seeds]
        with_options = [i for i, options in enumerate(self._options) if options]
        plain = np.ones(self.num_envs, dtype=bool)
        plain[with_options] = False
        seed_arg: list[int | None] | None = seeds
        obs: dict[str, np.ndarray] = {}
        if plain.any():
            obs, _ = self.venv.reset(seed=seed_arg, options={"reset_mask": plain} if with_options else None)
            seed_arg = None
        # Rows reset with options (a given context or prefix) go one by one: rare, and each may differ.
        for row in with_options:
            mask = np.zeros(self.num_envs, dtype=bool)
            mask[row] = True
            obs, _ = self.venv.reset(seed=seed_arg, options={**self._options[row], "reset_mask": mask})
            seed_arg = None
        self.reset_infos = [{} for _ in range(self.num_envs)]
        self._reset_seeds()
        self._reset_options()
        return self._ordered(obs)

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions).reshape(self.num_envs)

    def step_wait(self) -> VecEnvStepReturn:
        if self._actions is None:
            raise RuntimeError("step_wait() called without a pending step_async(actions)")
        actions, self._actions = self._actions, None
        obs, rewards, terminated, truncated, info = self.venv.step(actions)
        dones = terminated | truncated
        timeouts = (truncated & ~terminated).tolist()
        # Gymnasium's layout leaves out a key that no row reports (all rows ended in this step).
        queries = info.get("reward_queries", np.zeros(self.num_envs, dtype=np.int64))
        running = info.get("is_success", np.zeros(self.num_envs, dtype=bool)).tolist()  # False before the end
        infos: list[dict[str, Any]] = [
            {"reward_queries": q, "is_success": s, "TimeLimit.truncated": t}
            for q, s, t in zip(queries.tolist(), running, timeouts, strict=True)
        ]
        if "final_obs" in info:
            final_info = info["final_info"]
            final_queries = final_info["reward_queries"].tolist()
            success = final_info["is_success"].tolist()
            for row in np.flatnonzero(info["_final_obs"]).tolist():
                infos[row].update(
                    reward_queries=final_queries[row],
                    is_success=success[row],
                    terminal_observation=info["final_obs"][row],
                )
                self.reset_infos[row] = {}
            self.row_reward_queries += final_info["reward_queries"]
        self.row_reward_queries += queries
        return self._ordered(obs), rewards.astype(np.float32), dones, infos

    def close(self) -> None:
        self.venv.close()

    # ----- SB3 extras -----------------------------------------------------------------------------
    def action_masks(self) -> np.ndarray:
        """``(num_envs, k)`` bool, all True: every token is a valid action (for MaskablePPO)."""
        return np.ones((self.num_envs, self.venv.task.vocab_size), dtype=bool)

    def render(self, mode: str | None = None) -> Any:
        """The rows' text (``render_mode="ansi"``), one string per row; with ``"rgb_array"``, every row's
        frame tiled into one picture as SB3's ``VecEnv.render`` does (what ``VecVideoRecorder`` records);
        None without a render mode."""
        if mode not in (None, self.render_mode):
            raise ValueError(f"render mode is fixed at construction ({self.render_mode!r}); got mode={mode!r}")
        if self.render_mode == "rgb_array":
            return tile_images(self._frames())
        return self.venv.render()

    def get_images(self) -> Sequence[np.ndarray | None]:
        """Each row's ``(height, width, 3)`` uint8 frame (``render_mode="rgb_array"`` only)."""
        return list(self._frames())

    def _frames(self) -> list[np.ndarray]:
        if self.render_mode != "rgb_array":
            raise NotImplementedError(f"images need render_mode='rgb_array'; this env renders {self.render_mode!r}")
        return [cast(np.ndarray, frame) for frame in self.venv.render() or ()]

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        rows = list(self._get_indices(indices))
        if attr_name == "total_reward_queries":
            return [int(self.row_reward_queries[i]) for i in rows]
        if attr_name == "np_random":
            return [self.venv.np_random_generators[i] for i in rows]
        if attr_name in ("action_masks", "render"):
            return [self._row_method(attr_name, i) for i in rows]
        value = getattr(self.venv, attr_name)  # AttributeError for unknown names, as SB3 expects
        return [value for _ in rows]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        self._check_all_rows(indices, f"set_attr({attr_name!r})")
        if attr_name in PER_ROW_ATTRIBUTES:
            raise ValueError(f"{attr_name!r} is computed per row by the adapter and cannot be set")
        setattr(self.venv, attr_name, value)

    def env_method(
        self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **method_kwargs: Any
    ) -> list[Any]:
        rows = list(self._get_indices(indices))
        if method_name in ("action_masks", "render"):
            return [self._row_method(method_name, i)(*method_args, **method_kwargs) for i in rows]
        self._check_all_rows(indices, f"env_method({method_name!r})")
        result = getattr(self.venv, method_name)(*method_args, **method_kwargs)
        return [result for _ in rows]

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        """Always False: the rows are not single envs and carry no Gymnasium wrappers."""
        return [False for _ in self._get_indices(indices)]

    # ----- internals ------------------------------------------------------------------------------
    def _ordered(self, obs: dict[str, np.ndarray]) -> OrderedDict[str, np.ndarray]:
        """The observation as DummyVecEnv gives it: an ``OrderedDict`` in the space's key order."""
        return OrderedDict((key, obs[key]) for key in self._keys)

    def _row_method(self, name: str, row: int) -> Callable[..., Any]:
        if name == "action_masks":
            return lambda: np.ones(self.venv.task.vocab_size, dtype=bool)
        return lambda: (self.venv.render() or (None,) * self.num_envs)[row]

    def _check_all_rows(self, indices: VecEnvIndices, what: str) -> None:
        rows = sorted(set(self._get_indices(indices)))
        if rows != list(range(self.num_envs)):
            raise ValueError(
                f"{what} acts on the vector env that all {self.num_envs} rows share; call it for all rows "
                f"(indices=None), not for rows {rows}"
            )


def make_sb3_vec_env(env_id: str, num_envs: int, seed: int | None = None, **env_kwargs: Any) -> SB3VecEnv:
    """The adapter over ``gym.make_vec(env_id, num_envs, autoreset_mode="same_step", **env_kwargs)``.

    With ``seed``, row i is reset with ``seed + i`` at the first ``reset()`` (as ``VecEnv.seed`` does).
    """
    venv = gym.make_vec(
        env_id,
        num_envs=num_envs,
        vectorization_mode="vector_entry_point",
        autoreset_mode=AutoresetMode.SAME_STEP,
        **env_kwargs,
    )
    adapter = SB3VecEnv(venv)  # type: ignore[arg-type]
    if seed is not None:
        adapter.seed(seed)
    return adapter


def make_dummy_vec_env(
    env_id: str,
    num_envs: int,
    seed: int | None = None,
    wrapper: Callable[[gym.Env], gym.Env] | None = None,
    **env_kwargs: Any,
) -> DummyVecEnv:
    """SB3's reference: ``DummyVecEnv`` over ``num_envs`` single envs ``gym.make(env_id, **env_kwargs)``.

    ``wrapper`` is applied to each single env (for instance sb3-contrib's ``ActionMasker``).
    """

    def make_one() -> gym.Env:
        env = gym.make(env_id, **env_kwargs)
        return env if wrapper is None else wrapper(env)

    vec = DummyVecEnv([make_one for _ in range(num_envs)])
    if seed is not None:
        vec.seed(seed)
    return vec
