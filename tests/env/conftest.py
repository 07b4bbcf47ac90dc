"""Shared helpers for the environment tests: exact comparison of nested env outputs and lockstep drivers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from seqreward_env import SequenceTask

# A task small enough that an episode takes three steps and random play succeeds often.
TINY_TASK: dict[str, Any] = {"seq_len": 3, "vocab_size": 3, "context_dim": 4, "num_components": 6, "sigma": 0.5}


def assert_same(left: Any, right: Any, where: str = "output") -> None:
    """Assert that two env outputs are identical: same dict keys, same array dtypes, shapes and values."""
    if isinstance(left, dict) or isinstance(right, dict):
        assert isinstance(left, dict) and isinstance(right, dict), f"{where}: {type(left)} vs {type(right)}"
        assert set(left) == set(right), f"{where}: keys {sorted(left)} vs {sorted(right)}"
        for key in left:
            assert_same(left[key], right[key], f"{where}[{key!r}]")
        return
    if isinstance(left, (tuple, list)) or isinstance(right, (tuple, list)):
        assert type(left) is type(right), f"{where}: {type(left)} vs {type(right)}"
        assert len(left) == len(right), f"{where}: lengths {len(left)} vs {len(right)}"
        for i, (left_item, right_item) in enumerate(zip(left, right, strict=True)):
            assert_same(left_item, right_item, f"{where}[{i}]")
        return
    if left is None or right is None:
        assert left is None and right is None, f"{where}: {left!r} vs {right!r}"
        return
    left_array, right_array = np.asarray(left), np.asarray(right)
    assert left_array.shape == right_array.shape, f"{where}: shape {left_array.shape} vs {right_array.shape}"
    if left_array.dtype == object or right_array.dtype == object:
        assert left_array.dtype == right_array.dtype, f"{where}: dtype {left_array.dtype} vs {right_array.dtype}"
        for index in np.ndindex(left_array.shape):
            assert_same(left_array[index], right_array[index], f"{where}{list(index)}")
        return
    assert left_array.dtype == right_array.dtype, f"{where}: dtype {left_array.dtype} vs {right_array.dtype}"
    np.testing.assert_array_equal(left_array, right_array, err_msg=where)


def mostly_correct_actions(
    task: SequenceTask, obs: dict[str, np.ndarray], rng: np.random.Generator, p_correct: float = 0.7
) -> np.ndarray:
    """Batched actions that follow y* with probability ``p_correct`` per token, else a uniform token.

    Following y* often makes both successes and failures appear within a few episodes.
    """
    n = len(obs["position"])
    targets = task.targets(obs["context"])
    next_target = targets[np.arange(n), np.minimum(obs["position"], task.seq_len - 1)]
    random_tokens = rng.integers(0, task.vocab_size, size=n)
    return np.where(rng.random(n) < p_correct, next_target, random_tokens).astype(np.int64)


def lockstep(
    left: gym.vector.VectorEnv,
    right: gym.vector.VectorEnv,
    task: SequenceTask,
    *,
    seed: int,
    steps: int,
    reset_options: Callable[[], dict[str, Any] | None] = lambda: None,
    action_seed: int = 123,
) -> Iterator[tuple[int, tuple[Any, ...], tuple[Any, ...]]]:
    """Reset two vector envs with the same seed, then step both with the same actions.

    Asserts identical reset outputs and yields ``(step, left_outputs, right_outputs)`` after each step
    (the caller compares them; step 0 is the reset). ``reset_options`` is called once per env, since
    Gymnasium's sync env pops ``reset_mask`` out of the dict it is given.
    """
    rng = np.random.default_rng(action_seed)
    left_reset = left.reset(seed=seed, options=reset_options())
    right_reset = right.reset(seed=seed, options=reset_options())
    yield 0, left_reset, right_reset
    obs = left_reset[0]
    for step in range(1, steps + 1):
        actions = mostly_correct_actions(task, obs, rng)
        left_out = left.step(actions.copy())
        right_out = right.step(actions.copy())
        yield step, left_out, right_out
        obs = left_out[0]


@pytest.fixture
def tiny_task_kwargs() -> dict[str, Any]:
    """Keyword arguments of a three-token task over three words, for fast exact tests."""
    return dict(TINY_TASK)


@pytest.fixture
def same() -> Callable[..., None]:
    """``same(left, right, where)``: assert two env outputs are identical (see ``assert_same``)."""
    return assert_same


@pytest.fixture
def run_lockstep() -> Callable[..., Iterator[tuple[int, tuple[Any, ...], tuple[Any, ...]]]]:
    """``run_lockstep(left, right, task, seed=..., steps=...)``: drive two vector envs with the same actions."""
    return lockstep


@pytest.fixture
def policy_actions() -> Callable[..., np.ndarray]:
    """``policy_actions(task, obs, rng)``: batched actions that follow y* most of the time."""
    return mostly_correct_actions
