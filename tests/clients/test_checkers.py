"""Gymnasium's and stable-baselines3's environment checkers pass on every id in every render mode, warning-free.

The checkers render: Gymnasium's asks the registered spec for each mode in ``metadata["render_modes"]``
and checks the frames' type, dtype and shape; SB3's warns on a render mode it cannot use.
"""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import seqreward_env
from seqreward_env.registration import LATEST_ENV_IDS

ENV_IDS = sorted(seqreward_env.ENV_IDS)
# Gymnasium warns, on purpose, that an id with a newer version registered is out of date.
OUT_OF_DATE = set(ENV_IDS) - set(LATEST_ENV_IDS)
RENDER_MODES = ["ansi", "rgb_array"]


def test_both_envs_declare_both_render_modes() -> None:
    for env_class in (seqreward_env.SequenceEnv, seqreward_env.SequenceVectorEnv):
        assert env_class.metadata["render_modes"] == RENDER_MODES


@pytest.mark.parametrize("render_mode", RENDER_MODES)
@pytest.mark.parametrize("env_id", ENV_IDS)
def test_checkers_pass_in_each_render_mode(env_id: str, render_mode: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        if env_id in OUT_OF_DATE:
            warnings.filterwarnings("ignore", message=".*is out of date", category=DeprecationWarning)
        env = gym.make(env_id, render_mode=render_mode)
        gym_check_env(env.unwrapped)
        sb3_check_env(env.unwrapped, warn=True)
        env.reset(seed=0)
        env.step(0)
        picture = env.render()
    if render_mode == "ansi":
        assert isinstance(picture, str) and picture.startswith("position 1/")
    else:
        assert isinstance(picture, np.ndarray) and picture.dtype == np.uint8 and picture.ndim == 3
        assert picture.shape[2] == 3
