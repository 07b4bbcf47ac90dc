"""``render_mode="rgb_array"``: frames of the right shape and type that show the context and tokens, nothing more."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from seqreward_env import SequenceEnv, SequenceVectorEnv
from seqreward_env.frames import frame_shape, token_colours

SMALL: dict[str, Any] = {"seq_len": 6, "vocab_size": 4, "context_dim": 8, "num_components": 8}


def frame_after(env: SequenceEnv, context: np.ndarray, tokens: list[int]) -> np.ndarray:
    env.reset(options={"context": context})
    for token in tokens:
        env.step(token)
    frame = env.render()
    assert isinstance(frame, np.ndarray)
    return frame


@pytest.mark.parametrize(
    ("env_id", "shape"),
    [("seqreward/Process-v0", (34, 128, 3)), ("seqreward/PaperOutcome-v0", (26, 512, 3))],
)
def test_frames_have_even_sides_and_the_stated_shape(env_id: str, shape: tuple[int, int, int]) -> None:
    env = gym.make(env_id, render_mode="rgb_array")
    env.reset(seed=0)
    frame = env.render()
    assert isinstance(frame, np.ndarray) and frame.dtype == np.uint8
    assert frame.shape == shape == frame_shape(env.unwrapped.task)
    assert shape[0] % 2 == 0 and shape[1] % 2 == 0  # as video encoders want


@pytest.mark.parametrize("reward", ["outcome", "process"])
def test_a_frame_reveals_neither_the_target_nor_correctness(reward: str) -> None:
    """Two teachers, the same context and tokens: the same picture, although y* (and the verdicts) differ."""
    one = SequenceEnv(**SMALL, task_seed=1, reward=reward, render_mode="rgb_array")
    other = SequenceEnv(**SMALL, task_seed=2, reward=reward, render_mode="rgb_array")
    contexts = one.task.test_contexts(64)
    differ = np.flatnonzero((one.task.targets(contexts) != other.task.targets(contexts)).any(axis=1))
    context = contexts[differ[0]]  # a question the two teachers answer differently
    y_one, y_other = one.task.targets(context[None])[0], other.task.targets(context[None])[0]
    for written in (list(y_one[:3]), list(y_other[:5]), [0, 1, 2, 3, 0, 1]):
        np.testing.assert_array_equal(frame_after(one, context, written), frame_after(other, context, written))


def test_frames_change_with_the_context_and_every_written_token() -> None:
    env = SequenceEnv(**SMALL, render_mode="rgb_array")
    contexts = env.task.test_contexts(2)
    blank = frame_after(env, contexts[0], [])
    assert not np.array_equal(blank, frame_after(env, contexts[1], []))
    frames = [frame_after(env, contexts[0], [2] * n) for n in range(1, 7)]
    for before, after in zip([blank, *frames[:-1]], frames, strict=True):
        assert not np.array_equal(before, after)
    assert not np.array_equal(frame_after(env, contexts[0], [1]), frame_after(env, contexts[0], [2]))
    # Each token has its own colour, and the colour of a written token is in its cell.
    colours = token_colours(np.arange(4))
    assert len({tuple(c) for c in colours}) == 4
    assert (frames[0] == colours[2]).all(axis=-1).any()


def test_vector_frames_are_a_tuple_equal_to_the_single_envs_frames() -> None:
    envs = SequenceVectorEnv(3, **SMALL, render_mode="rgb_array")
    obs, _ = envs.reset(seed=5)
    envs.step(np.array([0, 1, 3]))
    frames = envs.render()
    assert isinstance(frames, tuple) and len(frames) == 3
    single = SequenceEnv(**SMALL, render_mode="rgb_array")
    for row, frame in enumerate(frames):
        np.testing.assert_array_equal(frame, frame_after(single, obs["context"][row], [[0, 1, 3][row]]))
    assert SequenceVectorEnv(2, **SMALL).render() is None


def test_action_masks_allow_every_token() -> None:
    env = SequenceEnv(**SMALL)
    np.testing.assert_array_equal(env.action_masks(), np.ones(4, dtype=bool))
    assert env.action_masks().dtype == np.bool_
    envs = SequenceVectorEnv(5, **SMALL)
    assert envs.action_masks().shape == (5, 4) and envs.action_masks().all()
