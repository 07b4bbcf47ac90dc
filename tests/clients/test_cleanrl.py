"""A CleanRL-style loop: ``gym.make_vec`` under Gymnasium's vector wrappers, a torch policy, on-policy updates.

CleanRL's PPO scripts flatten the observation (``FlattenObservation``) and read episode returns and
lengths from ``RecordEpisodeStatistics`` in ``info["episode"]``; both must see whole, correct episodes.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch
from gymnasium.wrappers.vector import FlattenObservation, RecordEpisodeStatistics
from torch import nn

import seqreward_env  # noqa: F401  (registers the ids)

NUM_ENVS = 4
SEQ_LEN = 6
ITERATIONS = 3


def test_cleanrl_style_loop_reports_every_episode() -> None:
    envs = RecordEpisodeStatistics(FlattenObservation(gym.make_vec("seqreward/Process-v0", num_envs=NUM_ENVS)))
    # Flattened: context (8) + one-hot tokens (6 x 5) + one-hot position (7).
    assert envs.single_observation_space.shape == (8 + 6 * 5 + 7,)
    torch.manual_seed(0)
    policy = nn.Sequential(nn.Linear(45, 32), nn.Tanh(), nn.Linear(32, 4))
    optimizer = torch.optim.Adam(policy.parameters(), lr=1e-2)
    obs, _ = envs.reset(seed=0)
    own_return = np.zeros(NUM_ENVS)
    own_length = np.zeros(NUM_ENVS, dtype=np.int64)
    restarting = np.zeros(NUM_ENVS, dtype=bool)
    reported = 0
    for _ in range(ITERATIONS):
        log_probs, rewards = [], []
        for _ in range(2 * SEQ_LEN + 2):  # next-step autoreset: an ended row spends a step restarting
            dist = torch.distributions.Categorical(logits=policy(torch.as_tensor(obs, dtype=torch.float32)))
            action = dist.sample()
            obs, reward, terminated, truncated, info = envs.step(action.numpy())
            log_probs.append(dist.log_prob(action))
            rewards.append(torch.as_tensor(reward, dtype=torch.float32))
            own_return[~restarting] += reward[~restarting]
            own_length[~restarting] += 1
            assert not truncated.any()
            if terminated.any():
                ended = info["_episode"]
                np.testing.assert_array_equal(ended, terminated)
                np.testing.assert_array_equal(info["episode"]["l"][ended], SEQ_LEN)
                np.testing.assert_allclose(info["episode"]["r"][ended], own_return[ended], rtol=1e-6)
                assert not info["is_success"][~terminated].any()
                reported += int(ended.sum())
                own_return[ended], own_length[ended] = 0.0, 0
            restarting = terminated
        # A REINFORCE step on the rollout: enough to prove the loop's tensors line up.
        returns = torch.stack(rewards).flip(0).cumsum(0).flip(0)
        loss = -(torch.stack(log_probs) * (returns - returns.mean())).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert reported == NUM_ENVS * (ITERATIONS * (2 * SEQ_LEN + 2) // (SEQ_LEN + 1))
