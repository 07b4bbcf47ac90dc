"""Outcome and process rewards, reward-query counting, and that no step output leaks the correct answer."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from seqreward_env import SequenceEnv, SequenceVectorEnv

TASK: dict[str, Any] = {"seq_len": 4, "vocab_size": 3, "context_dim": 4, "num_components": 8, "sigma": 0.3}


def play(env: SequenceEnv, tokens: list[int] | np.ndarray) -> list[tuple[Any, ...]]:
    return [env.step(int(token)) for token in tokens]


def target_of(env: SequenceEnv, obs: dict[str, np.ndarray]) -> np.ndarray:
    return env.task.targets(obs["context"][None])[0]


def wrong(token: int, vocab_size: int) -> int:
    return (int(token) + 1) % vocab_size


@pytest.mark.parametrize("reward_values", [(0.0, 1.0), (-1.0, 1.0), (-2.5, 0.5)])
def test_outcome_reward_pays_only_at_the_end(reward_values: tuple[float, float]) -> None:
    low, high = reward_values
    env = SequenceEnv(**TASK, reward="outcome", reward_values=reward_values)
    for seed in range(6):
        obs, _ = env.reset(seed=seed)
        y = target_of(env, obs)
        for wrong_at in (None, 0, 2, 3):
            env.reset(options={"context": obs["context"]})
            tokens = y.copy()
            if wrong_at is not None:
                tokens[wrong_at] = wrong(tokens[wrong_at], 3)
            outputs = play(env, tokens)
            rewards = [out[1] for out in outputs]
            assert rewards[:-1] == [0.0, 0.0, 0.0]
            assert rewards[-1] == (high if wrong_at is None else low)
            assert [out[2] for out in outputs] == [False, False, False, True]
            assert not any(out[3] for out in outputs)
            assert [out[4]["is_success"] for out in outputs] == [False, False, False, wrong_at is None]


@pytest.mark.parametrize("reward_values", [(0.0, 1.0), (-1.0, 1.0)])
def test_process_reward_judges_every_prefix(reward_values: tuple[float, float]) -> None:
    low, high = reward_values
    env = SequenceEnv(**TASK, reward="process", reward_values=reward_values)
    for seed in range(6):
        obs, _ = env.reset(seed=seed)
        y = target_of(env, obs)
        for wrong_at in (None, 0, 1, 3):
            env.reset(options={"context": obs["context"]})
            tokens = y.copy()
            if wrong_at is not None:
                tokens[wrong_at] = wrong(tokens[wrong_at], 3)
            rewards = [out[1] for out in play(env, tokens)]
            # A prefix is right until its first wrong token, and wrong forever after, even if later tokens match y*.
            expected = [high if wrong_at is None or i < wrong_at else low for i in range(4)]
            assert rewards == expected


def test_vector_env_rewards_match_the_verdicts() -> None:
    envs = SequenceVectorEnv(6, **TASK, reward="process", reward_values=(-1.0, 1.0))
    obs, _ = envs.reset(seed=0)
    y = envs.task.targets(obs["context"])
    actions = y.copy()
    actions[np.arange(6), [0, 1, 2, 3, 0, 1]] += 1
    actions %= 3
    actions[5] = y[5]  # row 5 stays right all the way
    rewards = np.array([envs.step(actions[:, i])[1] for i in range(4)]).T
    expected = np.where(np.arange(4)[None, :] < np.array([0, 1, 2, 3, 0, 4])[:, None], 1.0, -1.0)
    np.testing.assert_array_equal(rewards, expected)


@pytest.mark.parametrize("reward", ["outcome", "process"])
@pytest.mark.parametrize("prefix_length", [0, 1, 3])
def test_reward_queries_are_counted(reward: str, prefix_length: int) -> None:
    env = SequenceEnv(**TASK, reward=reward)
    total = 0
    for seed in range(5):
        obs, _ = env.reset(seed=seed)
        prefix = target_of(env, obs)[:prefix_length]
        obs, info = env.reset(options={"context": obs["context"], "prefix": prefix})
        assert info == {} and obs["position"] == prefix_length
        rng = np.random.default_rng(seed)
        queries = [out[4]["reward_queries"] for out in play(env, rng.integers(0, 3, size=4 - prefix_length))]
        if reward == "outcome":
            assert queries == [0] * (3 - prefix_length) + [1]
        else:
            assert queries == [1] * (4 - prefix_length)
        total += sum(queries)
        assert env.total_reward_queries == total
    assert total == (5 if reward == "outcome" else 5 * (4 - prefix_length))


@pytest.mark.parametrize("reward", ["outcome", "process"])
def test_vector_env_reward_queries_are_counted(reward: str) -> None:
    envs = SequenceVectorEnv(5, **TASK, reward=reward)
    envs.reset(seed=1)
    rng = np.random.default_rng(0)
    per_row = np.zeros(5, dtype=np.int64)
    steps = 3 * (4 + 1)  # three episodes and their autoreset steps
    for _ in range(steps):
        _, _, _, _, info = envs.step(rng.integers(0, 3, size=5))
        if "reward_queries" in info:
            per_row += np.where(info["_reward_queries"], info["reward_queries"], 0)
            assert info["reward_queries"].dtype == np.int64
    np.testing.assert_array_equal(per_row, 3 * (1 if reward == "outcome" else 4))
    assert envs.total_reward_queries == per_row.sum()


def test_success_is_false_on_every_row_until_its_last_step() -> None:
    envs = SequenceVectorEnv(4, **TASK)
    obs, _ = envs.reset(seed=2)
    y = envs.task.targets(obs["context"])
    y[1:3, 2] = (y[1:3, 2] + 1) % 3
    for i in range(4):
        _, _, terminated, _, info = envs.step(y[:, i])
        if i < 3:  # rows on and off target alike
            np.testing.assert_array_equal(info["is_success"], False)
            np.testing.assert_array_equal(info["_is_success"], True)
            assert info["is_success"].dtype == np.bool_ and not terminated.any()
        else:
            assert terminated.all()
            np.testing.assert_array_equal(info["is_success"], [True, False, False, True])
            np.testing.assert_array_equal(info["_is_success"], True)


@pytest.mark.parametrize("autoreset_mode", ["next_step", "same_step", "disabled"])
def test_every_stepped_row_reports_success_in_every_autoreset_mode(autoreset_mode: str) -> None:
    """``_is_success`` is True on each row that stepped (not on a row restarting, nor on a row whose
    verdict moved to ``final_info``); the verdict is False until the row's last step."""
    envs = SequenceVectorEnv(3, **TASK, reward="outcome", autoreset_mode=autoreset_mode)
    obs, _ = envs.reset(seed=4)
    y = envs.task.targets(obs["context"])
    y[1, 1] = (y[1, 1] + 1) % 3  # row 1 goes wrong; rows 0 and 2 are right
    for _ in range(2):  # two episodes
        for i in range(4):
            obs, _, _, _, info = envs.step(y[:, i])
            if i < 3:
                np.testing.assert_array_equal(info["_is_success"], True)
                np.testing.assert_array_equal(info["is_success"], False)
            elif autoreset_mode == "same_step":
                assert "is_success" not in info  # every row ended and restarted in this very step
                np.testing.assert_array_equal(info["final_info"]["is_success"], [True, False, True])
            else:
                np.testing.assert_array_equal(info["is_success"], [True, False, True])
        if autoreset_mode == "next_step":
            obs, _, _, _, info = envs.step(np.zeros(3, dtype=np.int64))  # the restart step: no verdicts
            assert "is_success" not in info
        elif autoreset_mode == "disabled":
            obs, _ = envs.reset(options={"reset_mask": np.ones(3, dtype=bool)})
        np.testing.assert_array_equal(obs["position"], 0)  # the second episode starts
        y = envs.task.targets(obs["context"])
        y[1, 1] = (y[1, 1] + 1) % 3


@pytest.mark.parametrize("reward", ["outcome", "process"])
def test_info_keys_are_exactly_the_documented_ones(reward: str) -> None:
    env = SequenceEnv(**TASK, reward=reward)
    obs, info = env.reset(seed=0)
    assert info == {}
    assert set(obs) == {"context", "tokens", "position"}
    for step, (obs, _, terminated, _, info) in enumerate(play(env, [0, 1, 2, 0])):
        assert set(obs) == {"context", "tokens", "position"}
        assert set(info) == {"reward_queries", "is_success"}, step
        assert isinstance(info["is_success"], bool) and (terminated or not info["is_success"])
    envs = SequenceVectorEnv(3, **TASK, reward=reward)
    _, info = envs.reset(seed=0)
    assert info == {}
    keys_seen = set()
    for _ in range(2 * 5):
        obs, _, _, _, info = envs.step(np.array([0, 1, 2]))
        assert set(obs) == {"context", "tokens", "position"}
        keys_seen |= set(info)
    assert keys_seen == {"reward_queries", "_reward_queries", "is_success", "_is_success"}


def test_outcome_steps_before_the_last_do_not_reveal_correctness() -> None:
    """Under the outcome reward, a right and a wrong token give the same step outputs (bar the token itself)."""
    env = SequenceEnv(**TASK, reward="outcome")
    compared = 0
    for seed in range(10):
        obs, _ = env.reset(seed=seed)
        y = target_of(env, obs)
        for position in range(3):
            outputs = []
            for token in (y[position], wrong(y[position], 3)):
                env.reset(options={"context": obs["context"], "prefix": y[:position]})
                outputs.append(env.step(int(token)))
            (obs_right, *rest_right), (obs_wrong, *rest_wrong) = outputs
            assert rest_right == rest_wrong
            np.testing.assert_array_equal(obs_right["context"], obs_wrong["context"])
            assert obs_right["position"] == obs_wrong["position"] == position + 1
            np.testing.assert_array_equal(obs_right["tokens"][:position], obs_wrong["tokens"][:position])
            np.testing.assert_array_equal(obs_right["tokens"][position + 1 :], obs_wrong["tokens"][position + 1 :])
            assert obs_right["tokens"][position] == y[position] != obs_wrong["tokens"][position]
            compared += 1
    assert compared == 30


def test_observation_never_holds_the_target() -> None:
    """The observation is the context, the tokens written (``k`` where not yet written) and the position."""
    envs = SequenceVectorEnv(8, **TASK)
    obs, _ = envs.reset(seed=3)
    np.testing.assert_array_equal(obs["tokens"], 3)
    np.testing.assert_array_equal(obs["position"], 0)
    actions = np.random.default_rng(0).integers(0, 3, size=(8, 2))
    for i in range(2):
        obs, *_ = envs.step(actions[:, i])
    np.testing.assert_array_equal(obs["tokens"][:, :2], actions)
    np.testing.assert_array_equal(obs["tokens"][:, 2:], 3)
    np.testing.assert_array_equal(obs["position"], 2)
    # Returned arrays are copies: writing to them changes nothing inside the env.
    obs["tokens"][:] = 0
    assert envs.step(np.zeros(8, dtype=np.int64))[0]["tokens"][0, 1] == actions[0, 1]


def test_step_before_reset_is_refused() -> None:
    with pytest.raises(RuntimeError, match="reset"):
        SequenceEnv(**TASK).step(0)
    with pytest.raises(RuntimeError, match="reset"):
        SequenceVectorEnv(2, **TASK).step(np.array([0, 0]))
    env = SequenceEnv(**TASK)
    env.reset(seed=0)
    play(env, [0, 0, 0, 0])
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)
