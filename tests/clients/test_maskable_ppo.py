"""sb3-contrib's MaskablePPO on plain ``gym.make`` and on ``make_vec_env``: the envs carry ``action_masks()``."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
from sb3_contrib import MaskablePPO
from sb3_contrib.common.maskable.utils import get_action_masks, is_masking_supported
from stable_baselines3.common.env_util import make_vec_env

ENV_ID = "seqreward/Process-v0"


def test_maskable_ppo_trains_on_gym_make() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = MaskablePPO("MultiInputPolicy", gym.make(ENV_ID), n_steps=32, batch_size=32, seed=0, device="cpu")
        assert is_masking_supported(model.get_env())
        model.learn(total_timesteps=64)
    assert model.num_timesteps == 64
    masks = get_action_masks(model.get_env())
    assert masks.shape == (1, 4) and masks.all()
    env = gym.make(ENV_ID)
    obs, _ = env.reset(seed=0)
    action, _ = model.predict(obs, action_masks=env.unwrapped.action_masks())
    assert env.action_space.contains(int(action))


def test_maskable_ppo_trains_on_make_vec_env() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env = make_vec_env(ENV_ID, n_envs=8, seed=0)
        np.testing.assert_array_equal(get_action_masks(env), np.ones((8, 4), dtype=bool))
        model = MaskablePPO("MultiInputPolicy", env, n_steps=16, batch_size=64, seed=0, device="cpu")
        model.learn(total_timesteps=128)
    assert model.num_timesteps == 128 and len(model.ep_info_buffer) == 8 * (16 // 6)
