"""The native vector env gives exactly the arrays of Gymnasium's sync (and async) vector env over single envs."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import seqreward_env
from seqreward_env import SequenceTask, SequenceVectorEnv

SMALL_IDS = ["seqreward/Outcome-v0", "seqreward/Process-v0"]


def make_pair(
    env_id: str, num_envs: int, *, same_step: bool = False, **kwargs: Any
) -> tuple[gym.vector.VectorEnv, gym.vector.VectorEnv]:
    """The native vector env and Gymnasium's sync env over single envs, same id and task arguments."""
    if same_step:
        native = gym.make_vec(env_id, num_envs=num_envs, autoreset_mode="same_step", **kwargs)
        sync = gym.make_vec(
            env_id,
            num_envs=num_envs,
            vectorization_mode="sync",
            vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP},
            **kwargs,
        )
    else:
        native = gym.make_vec(env_id, num_envs=num_envs, **kwargs)
        sync = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="sync", **kwargs)
    assert isinstance(native.unwrapped, SequenceVectorEnv)
    assert isinstance(sync, gym.vector.SyncVectorEnv)
    return native, sync


def compare_run(
    native: gym.vector.VectorEnv,
    sync: gym.vector.VectorEnv,
    same: Callable[..., None],
    run_lockstep: Callable[..., Any],
    *,
    seed: int,
    steps: int,
    reset_options: Callable[[], dict[str, Any] | None] = lambda: None,
) -> dict[str, int]:
    """Step both envs in lockstep, assert every output identical, and count what the run went through."""
    task = native.unwrapped.task
    seen = {"terminated": 0, "autoreset_rows": 0, "success": 0, "failure": 0, "final_obs": 0}
    finished = np.zeros(native.num_envs, dtype=bool)
    for step, left, right in run_lockstep(native, sync, task, seed=seed, steps=steps, reset_options=reset_options):
        same(left, right, f"step {step}")
        if step == 0:
            continue
        _, rewards, terminated, truncated, info = left
        assert not truncated.any()
        if native.unwrapped.autoreset_mode == AutoresetMode.NEXT_STEP:
            # Rows that ended on the previous step restart now: no reward, no query, no verdict.
            assert np.all(rewards[finished] == 0.0)
            assert not terminated[finished].any()
            assert not info.get("_reward_queries", np.zeros_like(finished))[finished].any()
            seen["autoreset_rows"] += int(finished.sum())
        finished = terminated
        seen["terminated"] += int(terminated.sum())
        successes = info.get("final_info", info).get("is_success")
        if successes is not None:
            mask = info.get("final_info", info)["_is_success"]
            seen["success"] += int(successes[mask].sum())
            seen["failure"] += int((~successes[mask]).sum())
        seen["final_obs"] += int(info.get("_final_obs", np.zeros(1, dtype=bool)).sum())
    return seen


@pytest.mark.parametrize("env_id", list(seqreward_env.ENV_IDS))
def test_native_matches_sync_on_registered_ids(env_id: str, same: Any, run_lockstep: Any) -> None:
    native, sync = make_pair(env_id, 3)
    seq_len = native.unwrapped.task.seq_len
    seen = compare_run(native, sync, same, run_lockstep, seed=7, steps=2 * (seq_len + 1) + 2)
    assert seen["terminated"] == 2 * 3
    assert seen["autoreset_rows"] == 2 * 3


@pytest.mark.parametrize("env_id", SMALL_IDS)
@pytest.mark.parametrize("seed", [0, 11])
def test_native_matches_sync_next_step_tiny(
    env_id: str, seed: int, tiny_task_kwargs: dict[str, Any], same: Any, run_lockstep: Any
) -> None:
    native, sync = make_pair(env_id, 5, **tiny_task_kwargs)
    seen = compare_run(native, sync, same, run_lockstep, seed=seed, steps=5 * (3 + 1))
    assert seen["terminated"] == 5 * 5
    assert seen["success"] > 0 and seen["failure"] > 0


@pytest.mark.parametrize("env_id", SMALL_IDS)
def test_native_matches_sync_same_step(
    env_id: str, tiny_task_kwargs: dict[str, Any], same: Any, run_lockstep: Any
) -> None:
    native, sync = make_pair(env_id, 5, same_step=True, **tiny_task_kwargs)
    seen = compare_run(native, sync, same, run_lockstep, seed=3, steps=4 * 3)
    assert seen["final_obs"] == 4 * 5
    assert seen["success"] > 0 and seen["failure"] > 0


@pytest.mark.parametrize("same_step", [False, True])
def test_native_matches_sync_when_rows_end_at_different_steps(
    same_step: bool, tiny_task_kwargs: dict[str, Any], same: Any, run_lockstep: Any
) -> None:
    """Resetting some rows mid-episode staggers the episode ends, so autoresets hit only some rows."""
    native, sync = make_pair("seqreward/Process-v0", 4, same_step=same_step, **tiny_task_kwargs)
    task = native.unwrapped.task
    rng = np.random.default_rng(5)
    stagger = np.array([True, False, True, False])
    ended_alone = 0
    for step, left, right in run_lockstep(native, sync, task, seed=1, steps=1):
        same(left, right, f"step {step}")
    for step in range(12):
        if step % 5 == 2:
            left_reset = native.reset(options={"reset_mask": stagger.copy()})
            right_reset = sync.reset(options={"reset_mask": stagger.copy()})
            same(left_reset, right_reset, f"masked reset before step {step}")
            stagger = ~stagger
        actions = rng.integers(0, task.vocab_size, size=4)
        left, right = native.step(actions), sync.step(actions.copy())
        same(left, right, f"step {step}")
        terminated = left[2]
        ended_alone += int(terminated.any() and not terminated.all())
    assert ended_alone > 0


@pytest.mark.parametrize("same_step", [False, True])
@pytest.mark.parametrize("on_target", [False, True])
def test_native_matches_sync_with_reset_options(same_step: bool, on_target: bool, same: Any, run_lockstep: Any) -> None:
    native, sync = make_pair("seqreward/Process-v0", 3, same_step=same_step)
    task = native.unwrapped.task
    context = task.test_contexts(1)[0]
    prefix = task.targets(context[None])[0, :2].copy()
    if not on_target:
        prefix[1] = (prefix[1] + 1) % task.vocab_size

    def options() -> dict[str, Any]:
        return {"context": context.copy(), "prefix": prefix.copy()}

    for step, left, right in run_lockstep(native, sync, task, seed=4, steps=1, reset_options=options):
        same(left, right, f"step {step}")
        obs = left[0]
        np.testing.assert_array_equal(obs["context"], np.broadcast_to(context, (3, task.context_dim)))
        if step == 0:
            np.testing.assert_array_equal(obs["tokens"][:, :2], np.broadcast_to(prefix, (3, 2)))
            np.testing.assert_array_equal(obs["position"], [2, 2, 2])
        else:
            rewards = left[1]
            if not on_target:  # once off y*, every later process verdict is low
                np.testing.assert_array_equal(rewards, task.reward_low)
    # The episodes continue (and autoreset) identically after the re-asked question.
    seen = compare_run(native, sync, same, run_lockstep, seed=9, steps=2 * (task.seq_len + 1), reset_options=options)
    assert seen["terminated"] == 2 * 3


def test_native_matches_sync_with_margin(tiny_task_kwargs: dict[str, Any], same: Any, run_lockstep: Any) -> None:
    """Rejection sampling for the margin condition redraws each row from that row's own generator."""
    free = SequenceTask(**tiny_task_kwargs)
    gamma = float(np.quantile(free.margins(free.test_contexts(2000)), 0.6))
    native, sync = make_pair("seqreward/Outcome-v0", 6, margin=gamma, **tiny_task_kwargs)
    assert native.unwrapped.task.margin_condition == gamma
    seen = compare_run(native, sync, same, run_lockstep, seed=21, steps=6 * (3 + 1))
    assert seen["terminated"] == 6 * 6
    # Without the margin, the same seeds draw contexts below it: the comparison exercised redraws.
    free_env = gym.make_vec("seqreward/Outcome-v0", num_envs=6, **tiny_task_kwargs)
    obs, _ = free_env.reset(seed=21)
    assert free.margins(obs["context"]).min() < gamma


def test_async_matches_native(tiny_task_kwargs: dict[str, Any], same: Any, run_lockstep: Any) -> None:
    """The async env builds its single envs in spawned processes, so this also proves they pickle."""
    native = gym.make_vec("seqreward/Process-v0", num_envs=2, **tiny_task_kwargs)
    async_env = gym.make_vec(
        "seqreward/Process-v0",
        num_envs=2,
        vectorization_mode="async",
        vector_kwargs={"context": "spawn"},
        **tiny_task_kwargs,
    )
    try:
        assert isinstance(async_env, gym.vector.AsyncVectorEnv)
        seen = compare_run(native, async_env, same, run_lockstep, seed=2, steps=3 * (3 + 1))
        assert seen["terminated"] == 3 * 2
    finally:
        async_env.close()


def test_single_env_pickle_round_trip(tiny_task_kwargs: dict[str, Any], same: Any) -> None:
    env = gym.make("seqreward/Process-v0", **tiny_task_kwargs).unwrapped
    env.reset(seed=5)
    env.step(0)
    copy = pickle.loads(pickle.dumps(env))
    assert copy.total_reward_queries == env.total_reward_queries == 1
    np.testing.assert_array_equal(copy.task.teacher_w1, env.task.teacher_w1)
    for action in [1, 2, 0, 1, 2, 2, 0]:
        left, right = env.step(action), copy.step(action)
        same(left, right, f"step with action {action}")
        if left[2]:
            same(env.reset(), copy.reset(), "reset")  # the generator state travelled too


def test_vector_env_pickle_round_trip(tiny_task_kwargs: dict[str, Any], same: Any) -> None:
    env = gym.make_vec("seqreward/Outcome-v0", num_envs=4, **tiny_task_kwargs)
    env.reset(seed=8)
    env.step(np.array([0, 1, 2, 0]))
    copy = pickle.loads(pickle.dumps(env))
    rng = np.random.default_rng(0)
    for step in range(10):
        actions = rng.integers(0, 3, size=4)
        same(env.step(actions), copy.step(actions.copy()), f"step {step}")
    assert copy.unwrapped.total_reward_queries == env.unwrapped.total_reward_queries > 0
