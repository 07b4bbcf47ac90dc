"""Every registered id passes Gymnasium's and stable-baselines3's environment checkers without a warning."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import seqreward_env
from seqreward_env import SequenceEnv, SequenceVectorEnv

ENV_IDS = list(seqreward_env.ENV_IDS)
# Gymnasium warns that an id whose newer version is registered is out of date: that is the one warning
# the old paper ids give, on purpose.
OUT_OF_DATE = {"seqreward/PaperOutcome-v0", "seqreward/PaperProcess-v0"}


def no_warnings_but_out_of_date(env_id: str) -> None:
    warnings.simplefilter("error")
    if env_id in OUT_OF_DATE:
        warnings.filterwarnings("ignore", message=".*is out of date", category=DeprecationWarning)


def test_old_paper_ids_warn_that_they_are_out_of_date() -> None:
    for env_id in OUT_OF_DATE:
        with pytest.warns(DeprecationWarning, match="out of date"):
            gym.make(env_id)


def test_ids_are_registered_with_both_entry_points() -> None:
    assert set(ENV_IDS) == {
        "seqreward/Outcome-v0",
        "seqreward/Process-v0",
        "seqreward/PaperOutcome-v0",
        "seqreward/PaperProcess-v0",
        "seqreward/PaperOutcome-v1",
        "seqreward/PaperProcess-v1",
        "seqreward/RademacherOutcome-v0",
        "seqreward/RademacherProcess-v0",
    }
    for env_id in ENV_IDS:
        spec = gym.spec(env_id)
        assert spec.entry_point == "seqreward_env.env:SequenceEnv"
        assert spec.vector_entry_point == "seqreward_env.vector_env:SequenceVectorEnv"


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_gymnasium_check_env(env_id: str) -> None:
    env = gym.make(env_id)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gym_check_env(env.unwrapped)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_sb3_check_env(env_id: str) -> None:
    env = gym.make(env_id)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sb3_check_env(env.unwrapped, warn=True)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_make_and_random_steps_without_warnings(env_id: str) -> None:
    with warnings.catch_warnings():
        no_warnings_but_out_of_date(env_id)
        env = gym.make(env_id)  # wrapped in Gymnasium's passive checker and order enforcer
        assert isinstance(env.unwrapped, SequenceEnv)
        env.action_space.seed(0)
        obs, info = env.reset(seed=0)
        assert info == {}
        episodes, steps = 0, 0
        while episodes < 2:
            obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
            steps += 1
            assert env.observation_space.contains(obs)
            assert not truncated
            if terminated:
                episodes += 1
                obs, info = env.reset()
                assert env.observation_space.contains(obs)
        assert steps == 2 * env.unwrapped.task.seq_len
        env.close()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_make_vec_and_random_steps_without_warnings(env_id: str) -> None:
    with warnings.catch_warnings():
        no_warnings_but_out_of_date(env_id)
        envs = gym.make_vec(env_id, num_envs=4)
        assert isinstance(envs, SequenceVectorEnv)
        envs.action_space.seed(0)
        obs, _ = envs.reset(seed=0)
        assert envs.observation_space.contains(obs)
        for _ in range(envs.task.seq_len + 1):
            obs, rewards, terminated, truncated, _ = envs.step(envs.action_space.sample())
            assert envs.observation_space.contains(obs)
            assert rewards.dtype == np.float64 and terminated.dtype == truncated.dtype == np.bool_
        envs.close()


@pytest.mark.parametrize("version", ["v0", "v1"])
def test_paper_task_is_the_figure_one_setting(version: str) -> None:
    task = gym.make(f"seqreward/PaperOutcome-{version}").unwrapped.task
    assert (task.seq_len, task.vocab_size, task.context_dim) == (128, 32, 32)
    assert task.distribution.name == "mixture"
    assert task.distribution.num_components == 32 and task.distribution.sigma == 0.05
    assert (task.reward_low, task.reward_high) == (-1.0, 1.0)
    assert task.reward == "outcome"
    assert gym.make(f"seqreward/PaperProcess-{version}").unwrapped.task.reward == "process"


def test_render_ansi() -> None:
    env = SequenceEnv(seq_len=3, vocab_size=4, context_dim=2, render_mode="ansi")
    env.reset(seed=0)
    env.step(2)
    assert env.render() == "position 1/3 | 2 . ."
    assert SequenceEnv(seq_len=3, vocab_size=4, context_dim=2).render() is None
    envs = SequenceVectorEnv(2, seq_len=2, vocab_size=4, context_dim=2, render_mode="ansi")
    envs.reset(seed=0)
    envs.step(np.array([1, 3]))
    assert envs.render() == ("position 1/2 | 1 .", "position 1/2 | 3 .")
