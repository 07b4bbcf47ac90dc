"""OpenEnv's own clients (the ``openenv`` package, 0.10) against the server over a real socket.

``openenv`` cannot be installed beside the llm extra (its fastmcp needs mcp<2, verifiers 0.4 pins mcp==2.0.0),
so this runs in an environment of its own: ``make test-openenv``. Elsewhere it is skipped.
"""

from __future__ import annotations

import gymnasium as gym
import pytest

pytest.importorskip("openenv")

from openenv.core.generic_client import GenericEnvClient  # noqa: E402

import seqreward_env  # noqa: E402,F401  (registers the ids)
from seqreward_serve.openenv_client import SeqRewardEnv, TokenAction  # noqa: E402
from seqreward_serve.process import serve_in_subprocess  # noqa: E402


@pytest.mark.parametrize("env_id", ["seqreward/Process-v0", "seqreward/Outcome-v0"])
def test_openenv_clients_play_the_in_process_episodes(env_id: str) -> None:
    env = gym.make(env_id)
    task = env.unwrapped.task
    with serve_in_subprocess(env_id) as (url, _):
        with SeqRewardEnv(base_url=url).sync() as typed, GenericEnvClient(base_url=url).sync() as generic:
            for seed in range(4):
                obs, _ = env.reset(seed=seed)
                target = task.targets(obs["context"][None])[0].tolist()
                tokens = target if seed % 2 == 0 else target[:-1] + [(target[-1] + 1) % task.vocab_size]
                first, second = typed.reset(seed=seed), generic.reset(seed=seed)
                assert first.observation.context == second.observation["context"] == obs["context"].tolist()
                for token in tokens:
                    obs, reward, terminated, _, info = env.step(token)
                    a, b = typed.step(TokenAction(token=token)), generic.step({"token": token})
                    assert a.reward == b.reward == reward and a.done == b.done == terminated
                    assert a.observation.tokens == b.observation["tokens"] == obs["tokens"].tolist()
                    assert a.metadata["reward_queries"] == b.metadata["reward_queries"] == info["reward_queries"]
                    assert a.metadata["is_success"] == b.metadata["is_success"] == info["is_success"]
            queries = 4 * task.seq_len if env_id.endswith("Process-v0") else 4
            assert typed.state()["total_reward_queries"] == generic.state()["total_reward_queries"] == queries
            with pytest.raises(RuntimeError, match="action.token must be an integer token"):
                typed.step(TokenAction(token=task.vocab_size))
