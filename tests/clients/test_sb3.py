"""stable-baselines3 as it is used: ``make_vec_env`` on the plain ids, the project's fast adapter, videos.

``make_vec_env`` asks for ``render_mode="rgb_array"`` (and falls back only on a TypeError), so the
envs must take it; PPO then trains on either env without a warning.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecVideoRecorder

from agents.learners.sb3 import make_sb3_vec_env

ENV_ID = "seqreward/Process-v0"
N_STEPS = 16  # x 8 envs = 128 steps per rollout: 21 whole episodes and a part


def train_a_little(env: VecEnv) -> PPO:
    """Two PPO rollouts and updates, every warning an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = PPO("MultiInputPolicy", env, n_steps=N_STEPS, batch_size=64, n_epochs=2, seed=0, device="cpu")
        model.learn(total_timesteps=2 * 8 * N_STEPS)
    return model


def test_make_vec_env_builds_rgb_envs_and_ppo_trains_on_them() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env = make_vec_env(ENV_ID, n_envs=8, seed=0)
    assert isinstance(env, DummyVecEnv)
    assert env.get_attr("render_mode") == ["rgb_array"] * 8
    env.reset()
    frames = env.get_images()
    assert len(frames) == 8 and all(f is not None and f.dtype == np.uint8 and f.shape[2] == 3 for f in frames)
    model = train_a_little(env)
    assert model.num_timesteps == 2 * 8 * N_STEPS
    # Monitor closed an episode every 6 steps of each env: 8 envs x 32 steps / 6 = 40 episodes.
    episodes = model.ep_info_buffer
    assert len(episodes) == 40 and all(info["l"] == 6 for info in episodes)
    assert all(0.0 <= info["r"] <= 6.0 for info in episodes)


def test_every_step_reports_is_success_in_make_vec_env_infos() -> None:
    env = make_vec_env(ENV_ID, n_envs=8, seed=1)
    env.reset()
    for step in range(1, 7):
        _, _, dones, infos = env.step(np.zeros(8, dtype=np.int64))
        assert all(isinstance(info["is_success"], bool) for info in infos)
        if step < 6:
            assert not dones.any() and not any(info["is_success"] for info in infos)
        else:
            assert dones.all() and all("terminal_observation" in info for info in infos)


def test_ppo_trains_on_the_adapter_without_warnings() -> None:
    env = make_sb3_vec_env(ENV_ID, 8, seed=0)
    model = train_a_little(env)
    assert model.num_timesteps == 2 * 8 * N_STEPS
    assert env.row_reward_queries.sum() == 2 * 8 * N_STEPS  # the process reward: one query per token


def test_the_adapter_renders_frames_for_video_recorders() -> None:
    env = make_sb3_vec_env(ENV_ID, 4, seed=0, render_mode="rgb_array")
    env.reset()
    frames = env.get_images()
    assert len(frames) == 4 and all(frame is not None and frame.shape == (34, 128, 3) for frame in frames)
    picture = env.render()
    assert picture.dtype == np.uint8 and picture.shape == (2 * 34, 2 * 128, 3)  # SB3 tiles 4 frames 2 x 2
    assert make_sb3_vec_env(ENV_ID, 2).render() is None


@pytest.mark.parametrize("make", ["make_vec_env", "adapter"])
def test_vec_video_recorder_writes_a_video(make: str, tmp_path: Path) -> None:
    pytest.importorskip("moviepy")  # SB3's video writer, installed with the clients extra (rl_zoo3)
    env = (
        make_vec_env(ENV_ID, n_envs=4, seed=0)
        if make == "make_vec_env"
        else make_sb3_vec_env(ENV_ID, 4, seed=0, render_mode="rgb_array")
    )
    recorder = VecVideoRecorder(env, str(tmp_path), record_video_trigger=lambda step: step == 0, video_length=12)
    recorder.reset()
    for _ in range(13):
        recorder.step(np.zeros(4, dtype=np.int64))
    recorder.close()
    videos = list(tmp_path.glob("*.mp4"))
    assert len(videos) == 1 and videos[0].stat().st_size > 1000
