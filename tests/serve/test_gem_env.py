"""GEM by id: ``gem.make("seqreward/...")`` plays the Gymnasium env's episodes as text.

``gem-llm`` 0.1.0 pins reasoning-gym 0.1.23 (the llm extra has 0.1.25), so this runs in an environment of its
own: ``make test-gem``. Elsewhere it is skipped.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

gem = pytest.importorskip("gem")

import seqreward_env  # noqa: E402,F401
import seqreward_serve.gem_env  # noqa: E402,F401  (registers the ids with GEM)


@pytest.mark.parametrize("env_id", sorted(seqreward_env.ENV_IDS))
def test_every_id_is_a_gem_env_with_the_gymnasium_rewards(env_id: str) -> None:
    text_env, env = gem.make(env_id), gym.make(env_id)
    task = env.unwrapped.task
    rng = np.random.default_rng(0)
    for seed in range(3):
        prompt, info = text_env.reset(seed=seed)
        obs, _ = env.reset(seed=seed)
        assert info["context"] == obs["context"].tolist() and f"Write {task.seq_len} tokens" in prompt
        target = task.targets(obs["context"][None])[0]
        tokens = target.copy() if seed == 0 else rng.integers(0, task.vocab_size, task.seq_len)
        if seed == 1:
            tokens[: task.seq_len // 2] = target[: task.seq_len // 2]
        for i, token in enumerate(tokens.tolist()):
            action = f"I pick \\boxed{{{token}}}" if i % 2 else str(token)
            _, reward, terminated, truncated, text_info = text_env.step(action)
            _, expected, expected_end, _, expected_info = env.step(token)
            assert (reward, terminated, truncated) == (expected, expected_end, False)
            assert text_info["reward_queries"] == expected_info["reward_queries"]
            assert text_info["is_success"] == expected_info["is_success"]
        assert terminated and text_info["is_success"] == (seed == 0)


def test_an_action_without_a_token_ends_the_episode_as_a_format_error() -> None:
    text_env = gem.make("seqreward/Process-v0")
    low = text_env.task.reward_low
    for bad in ("no token here", "\\boxed{4}", "\\boxed{-1}", "1 2"):
        text_env.reset(seed=0)
        _, reward, terminated, _, info = text_env.step(bad)
        assert (reward, terminated, info["format_error"], info["reward_queries"]) == (low, True, True, 0)
        with pytest.raises(RuntimeError, match="after the episode ended"):
            text_env.step("\\boxed{0}")


def test_gem_vector_env_runs_the_ids() -> None:
    envs = gem.make_vec(["seqreward/Outcome-v0"] * 2, seed=3)
    observations, _ = envs.reset()
    assert len(observations) == 2 and observations[0] != observations[1]  # seeds 3 and 4: two contexts
    _, rewards, terminated, _, _ = envs.step(["\\boxed{0}", "\\boxed{1}"])
    assert list(rewards) == [0.0, 0.0] and not any(terminated)
