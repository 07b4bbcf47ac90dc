"""Re-asking a given context and starting from a given prefix through ``reset(options=...)``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from seqreward_env import SequenceEnv, SequenceVectorEnv

TASK: dict[str, Any] = {"seq_len": 5, "vocab_size": 3, "context_dim": 4, "num_components": 8, "sigma": 0.3}


def test_given_context_is_asked() -> None:
    env = SequenceEnv(**TASK)
    x = env.task.test_contexts(3)[2]
    obs, info = env.reset(seed=0, options={"context": x.astype(np.float64)})
    assert info == {}
    assert obs["context"].dtype == np.float32
    np.testing.assert_array_equal(obs["context"], x)
    np.testing.assert_array_equal(obs["tokens"], 3)
    assert obs["position"] == 0
    # The options hold for one episode only: the next plain reset draws a fresh context.
    obs, _ = env.reset()
    assert not np.array_equal(obs["context"], x)


@pytest.mark.parametrize("on_target", [True, False])
@pytest.mark.parametrize("prefix_type", [np.array, list, tuple])
def test_given_prefix_starts_the_episode(on_target: bool, prefix_type: Any) -> None:
    env = SequenceEnv(**TASK, reward="process")
    x = env.task.test_contexts(1)[0]
    y = env.task.targets(x[None])[0]
    prefix = y[:3].copy()
    if not on_target:
        prefix[0] = (prefix[0] + 1) % 3
    obs, _ = env.reset(options={"context": x, "prefix": prefix_type(prefix.tolist())})
    assert env.total_reward_queries == 0  # a given prefix costs no query
    assert obs["position"] == 3
    np.testing.assert_array_equal(obs["tokens"], [*prefix, 3, 3])
    outputs = [env.step(int(token)) for token in y[3:]]
    expected = env.task.reward_high if on_target else env.task.reward_low
    assert [out[1] for out in outputs] == [expected, expected]
    assert [out[2] for out in outputs] == [False, True]
    assert outputs[-1][4]["is_success"] is on_target
    assert env.total_reward_queries == 2


def test_empty_prefix_is_no_prefix() -> None:
    env = SequenceEnv(**TASK)
    first, _ = env.reset(seed=3)
    again, _ = env.reset(seed=3, options={"prefix": []})
    np.testing.assert_array_equal(first["context"], again["context"])
    assert again["position"] == 0


def test_repeated_queries_on_one_context() -> None:
    """Best-of-m: m responses to the same context, each one counted, one of them the right answer."""
    env = SequenceEnv(**TASK, reward="outcome")
    obs, _ = env.reset(seed=1)
    x, y = obs["context"], env.task.targets(obs["context"][None])[0]
    responses = [y, (y + 1) % 3, y]
    verdicts = []
    for response in responses:
        env.reset(options={"context": x})
        verdicts.append([env.step(int(token)) for token in response][-1][4]["is_success"])
    assert verdicts == [True, False, True]
    assert env.total_reward_queries == 3


def test_vector_env_per_row_contexts_and_prefixes() -> None:
    envs = SequenceVectorEnv(3, **TASK, reward="process")
    x = envs.task.test_contexts(3)
    y = envs.task.targets(x)
    prefixes = [y[0, :0], y[1, :2], np.array([(y[2, 0] + 1) % 3])]
    obs, _ = envs.reset(seed=0, options={"context": x, "prefix": prefixes})
    np.testing.assert_array_equal(obs["context"], x)
    np.testing.assert_array_equal(obs["position"], [0, 2, 1])
    np.testing.assert_array_equal(obs["tokens"][1, :2], y[1, :2])
    assert obs["tokens"][2, 0] != y[2, 0]
    rewards, ended_at = [], np.full(3, -1)
    for step in range(5):
        positions = np.minimum(obs["position"], 4)
        obs, reward, terminated, _, info = envs.step(y[np.arange(3), positions])
        rewards.append(reward)
        ended_at[terminated & (ended_at < 0)] = step
        if step == 3:
            # Row 1 restarts (no verdict); row 0 is mid-episode and row 2 ends off target: both False.
            np.testing.assert_array_equal(info["_is_success"], [True, False, True])
            np.testing.assert_array_equal(info["is_success"], [False, False, False])
    # Rows with longer prefixes finish sooner; the off-target row gets low rewards throughout.
    np.testing.assert_array_equal(ended_at, [4, 2, 3])
    np.testing.assert_array_equal(np.array(rewards)[:4, 2], envs.task.reward_low)
    np.testing.assert_array_equal(np.array(rewards)[:3, 1], envs.task.reward_high)


def test_vector_env_one_context_and_prefix_for_all_rows() -> None:
    envs = SequenceVectorEnv(4, **TASK)
    x = envs.task.test_contexts(1)[0]
    obs, _ = envs.reset(seed=0, options={"context": x, "prefix": np.array([2, 1])})
    np.testing.assert_array_equal(obs["context"], np.tile(x, (4, 1)))
    np.testing.assert_array_equal(obs["tokens"][:, :2], np.tile([2, 1], (4, 1)))
    np.testing.assert_array_equal(obs["position"], 2)
    batched, _ = envs.reset(seed=0, options={"prefix": np.array([[0, 1], [1, 2], [2, 0], [0, 0]])})
    np.testing.assert_array_equal(batched["tokens"][:, :2], [[0, 1], [1, 2], [2, 0], [0, 0]])


def test_vector_env_reset_mask_resets_only_some_rows() -> None:
    envs = SequenceVectorEnv(4, **TASK)
    before, _ = envs.reset(seed=0)
    envs.step(np.array([1, 1, 1, 1]))
    x = envs.task.test_contexts(1)[0]
    mask = np.array([False, True, False, True])
    after, info = envs.reset(options={"reset_mask": mask, "context": np.tile(x, (4, 1)), "prefix": [0]})
    assert info == {}
    np.testing.assert_array_equal(after["context"][~mask], before["context"][~mask])
    np.testing.assert_array_equal(after["position"], [1, 1, 1, 1])
    np.testing.assert_array_equal(after["tokens"][:, 0], [1, 0, 1, 0])
    np.testing.assert_array_equal(after["context"][mask], np.tile(x, (2, 1)))


def test_disabled_autoreset_needs_a_masked_reset() -> None:
    envs = SequenceVectorEnv(2, **TASK, autoreset_mode="disabled")
    envs.reset(seed=0)
    for _ in range(5):
        _, _, terminated, _, _ = envs.step(np.array([0, 1]))
    assert terminated.all()
    with pytest.raises(RuntimeError, match="reset_mask"):
        envs.step(np.array([0, 1]))
    obs, _ = envs.reset(options={"reset_mask": np.array([True, True])})
    np.testing.assert_array_equal(obs["position"], 0)
    _, rewards, terminated, _, info = envs.step(np.array([0, 1]))
    assert not terminated.any() and info["_reward_queries"].all()
