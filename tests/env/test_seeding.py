"""One seed makes a whole trajectory reproducible; different seeds ask different questions."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from seqreward_env import SequenceEnv, SequenceTask, SequenceVectorEnv


def single_trajectory(env_id: str, seed: int, episodes: int, **kwargs: Any) -> list[Any]:
    """Every output of ``episodes`` episodes of a fixed action sequence, resetting with ``seed`` once."""
    env = gym.make(env_id, **kwargs)
    outputs: list[Any] = [env.reset(seed=seed)]
    actions = np.random.default_rng(99).integers(0, env.action_space.n, size=10_000)
    step = 0
    for _ in range(episodes):
        terminated = False
        while not terminated:
            output = env.step(int(actions[step]))
            outputs.append(output)
            terminated = output[2]
            step += 1
        outputs.append(env.reset())
    return outputs


def vector_trajectory(env_id: str, seed: int, steps: int, num_envs: int = 4, **kwargs: Any) -> list[Any]:
    envs = gym.make_vec(env_id, num_envs=num_envs, **kwargs)
    outputs: list[Any] = [envs.reset(seed=seed)]
    rng = np.random.default_rng(99)
    for _ in range(steps):
        outputs.append(envs.step(rng.integers(0, envs.single_action_space.n, size=num_envs)))
    return outputs


@pytest.mark.parametrize("env_id", ["seqreward/Outcome-v0", "seqreward/Process-v0"])
def test_single_env_same_seed_same_trajectory(env_id: str, same: Any) -> None:
    same(single_trajectory(env_id, 3, 4), single_trajectory(env_id, 3, 4))


@pytest.mark.parametrize("env_id", ["seqreward/Outcome-v0", "seqreward/Process-v0"])
def test_vector_env_same_seed_same_trajectory(env_id: str, same: Any) -> None:
    same(vector_trajectory(env_id, 3, 30), vector_trajectory(env_id, 3, 30))


def test_single_env_different_seeds_differ() -> None:
    first, second = single_trajectory("seqreward/Outcome-v0", 0, 3), single_trajectory("seqreward/Outcome-v0", 1, 3)
    contexts_first = np.array([out[0]["context"] for out in first if len(out) == 2])
    contexts_second = np.array([out[0]["context"] for out in second if len(out) == 2])
    assert len(contexts_first) == len(contexts_second) == 4
    assert not np.any(np.all(contexts_first == contexts_second, axis=1))


def test_vector_env_different_seeds_differ() -> None:
    first, second = vector_trajectory("seqreward/Outcome-v0", 0, 1), vector_trajectory("seqreward/Outcome-v0", 100, 1)
    assert not np.any(np.all(first[0][0]["context"] == second[0][0]["context"], axis=1))


def test_vector_rows_are_seeded_with_consecutive_seeds() -> None:
    """Row i of a vector env reset with seed s asks what a single env reset with seed s + i asks."""
    envs = SequenceVectorEnv(5, seq_len=2, vocab_size=3, context_dim=4)
    obs, _ = envs.reset(seed=40)
    for i in range(5):
        single_obs, _ = SequenceEnv(seq_len=2, vocab_size=3, context_dim=4).reset(seed=40 + i)
        np.testing.assert_array_equal(obs["context"][i], single_obs["context"])
    assert len({row.tobytes() for row in obs["context"]}) == 5
    # A list of seeds seeds row by row; None leaves a row's generator as it was.
    listed, _ = envs.reset(seed=[44, 43, 42, 41, 40])
    np.testing.assert_array_equal(listed["context"], obs["context"][::-1])
    with pytest.raises(ValueError, match="seed"):
        envs.reset(seed=[1, 2])


def test_reset_without_seed_continues_the_stream() -> None:
    env = SequenceEnv(seq_len=2, vocab_size=3, context_dim=4)
    first, _ = env.reset(seed=5)
    second, _ = env.reset()
    again_first, _ = env.reset(seed=5)
    again_second, _ = env.reset()
    assert not np.array_equal(first["context"], second["context"])
    np.testing.assert_array_equal(first["context"], again_first["context"])
    np.testing.assert_array_equal(second["context"], again_second["context"])


def test_task_seed_fixes_the_task_and_not_the_episodes() -> None:
    one, other = SequenceTask(task_seed=1), SequenceTask(task_seed=2)
    np.testing.assert_array_equal(one.teacher_w1, SequenceTask(task_seed=1).teacher_w1)
    np.testing.assert_array_equal(one.test_contexts(16), SequenceTask(task_seed=1).test_contexts(16))
    assert not np.array_equal(one.teacher_w1, other.teacher_w1)
    assert not np.array_equal(one.test_contexts(16), other.test_contexts(16))
    # The episode seed, not the task seed, picks the contexts: two tasks, same reset seed, same question.
    first, _ = SequenceEnv(task=one).reset(seed=3)
    second, _ = SequenceEnv(task=other).reset(seed=3)
    np.testing.assert_array_equal(first["context"], second["context"])
