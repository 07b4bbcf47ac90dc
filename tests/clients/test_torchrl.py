"""TorchRL's Gym wrappers on the seqreward ids: spec checks pass and rollouts carry ``is_success``.

TorchRL reads every ``info`` key into the tensordict with a spec it infers from the first steps, so a
key must come with every step: ``is_success`` is False until an episode's last step. Two limits are
TorchRL's own, for any Gymnasium env: batched envs need ``categorical_action_encoding=True`` when the
observation holds a ``Discrete`` entry (``position`` here), because TorchRL's final-observation reader
writes the raw integer into a one-hot buffer; and ``GymWrapper`` refuses ``autoreset_mode="next_step"``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import pytest

pytest.importorskip("torchrl")
import torch  # noqa: E402
from tensordict.nn import TensorDictModule  # noqa: E402
from torchrl.data import OneHot  # noqa: E402
from torchrl.envs import EnvBase, GymEnv, GymWrapper  # noqa: E402
from torchrl.envs.utils import check_env_specs  # noqa: E402

import seqreward_env  # noqa: E402  (registers the ids)
from seqreward_env import SequenceTask  # noqa: E402

ENV_ID = "seqreward/Process-v0"
SEQ_LEN = 6
ROOT = Path(__file__).resolve().parents[2]
USAGE = ROOT / "docs" / "usage.md"


def mostly_right(env: EnvBase) -> TensorDictModule:
    """A policy that writes y*'s next token with probability 0.85 (else a uniform token), so that rollouts
    hold both right and wrong responses; it reads the task's targets, as no agent could."""
    task = SequenceTask(**seqreward_env.SMALL_TASK)  # the ids' task: the same teacher (task_seed 0)
    generator = torch.Generator().manual_seed(0)
    one_hot_actions = isinstance(env.action_spec, OneHot)

    def act(context: torch.Tensor, position: torch.Tensor) -> torch.Tensor:
        if position.shape[-1:] == (SEQ_LEN + 1,) and position.ndim == context.ndim:
            position = position.argmax(-1)  # TorchRL's default one-hot encoding
        targets = torch.as_tensor(task.targets(context.reshape(-1, task.context_dim).numpy()))
        targets = targets.reshape(*position.shape, SEQ_LEN)
        right = targets.gather(-1, position.clamp(max=SEQ_LEN - 1).unsqueeze(-1)).squeeze(-1)
        uniform = torch.randint(0, task.vocab_size, right.shape, generator=generator)
        action = torch.where(torch.rand(right.shape, generator=generator) < 0.85, right, uniform)
        return torch.nn.functional.one_hot(action, task.vocab_size) if one_hot_actions else action

    return TensorDictModule(act, in_keys=["context", "position"], out_keys=["action"])


def check_and_roll_out(env: EnvBase, *, info: str = "verdicts", episodes: int = 3) -> None:
    """``check_env_specs``, then whole episodes on every row (seeded), each ending once.

    ``info`` says what TorchRL makes of the env's info: "verdicts" (``is_success`` True exactly where an
    episode ends with its whole response right, which under the process reward with values (0, 1) is
    when the last reward is 1), "zeroed at the end" (read, but TorchRL overwrites the last step's with
    zeros) or "unread".
    """
    check_env_specs(env)
    env.set_seed(0)
    data = env.rollout(episodes * SEQ_LEN, policy=mostly_right(env), break_when_any_done=False)
    done = data["next", "done"].squeeze(-1)
    reward = data["next", "reward"].squeeze(-1)
    rows = done.numel() // (episodes * SEQ_LEN)
    assert int(done.sum()) == episodes * rows and bool(done[..., SEQ_LEN - 1 :: SEQ_LEN].all())
    assert 0 < int((reward[done] == 1.0).sum()) < int(done.sum())  # right and wrong responses alike
    # The last step's reward is the env's in every mode: 1 exactly where the episode's six tokens are y*.
    actions = data["action"].argmax(-1) if isinstance(env.action_spec, OneHot) else data["action"]
    tokens = actions.reshape(-1, episodes, SEQ_LEN)
    contexts = data["context"].reshape(-1, episodes, SEQ_LEN, data["context"].shape[-1])[:, :, 0]
    task = SequenceTask(**seqreward_env.SMALL_TASK)
    targets = torch.as_tensor(task.targets(contexts.reshape(-1, task.context_dim).numpy())).reshape(tokens.shape)
    right = (tokens == targets).all(-1)
    assert torch.equal(reward[done].reshape(right.shape) == 1.0, right)
    if info == "unread":
        assert "is_success" not in data["next"].keys()
        return
    success, queries = data["next", "is_success"], data["next", "reward_queries"]
    assert success.dtype == torch.bool and success.shape == done.shape
    assert not success[~done].any() and torch.all(queries[~done] == 1)  # one query per token
    if info == "verdicts":
        assert torch.equal(success[done], reward[done] == 1.0) and torch.all(queries[done] == 1)
    else:
        assert not success[done].any() and not queries[done].any()


def test_gym_env() -> None:
    """A single env's info is not read by default (and TorchRL's reader wants numpy values, where the
    single env reports Python ``bool`` and ``int`` as Gymnasium's sync vectorizer expects)."""
    check_and_roll_out(GymEnv(ENV_ID), info="unread", episodes=12)


def test_gym_env_with_eight_async_envs() -> None:
    """``GymEnv(id, num_envs=8)`` builds Gymnasium's ``AsyncVectorEnv`` in next-step mode. Its workers start
    fresh interpreters, so the ``module:id`` form makes each import seqreward_env. TorchRL replaces the
    last step of every episode with its zero-filled final-observation buffer (there is no final
    observation in this mode): ``is_success`` and ``reward_queries`` read 0 there, the reward is kept."""
    env = GymEnv(f"seqreward_env:{ENV_ID}", num_envs=8, categorical_action_encoding=True)
    try:
        assert env.batch_size == torch.Size([8])
        check_and_roll_out(env, info="zeroed at the end")
    finally:
        env.close()


def test_gym_wrapper_over_the_native_vector_env_same_step() -> None:
    envs = gym.make_vec(ENV_ID, num_envs=4, autoreset_mode="same_step")
    check_and_roll_out(GymWrapper(envs, categorical_action_encoding=True))


def test_gym_wrapper_over_the_native_vector_env_disabled() -> None:
    """TorchRL resets the ended rows itself (``reset_mask``) and reads the info once asked to."""
    envs = gym.make_vec(ENV_ID, num_envs=4, autoreset_mode="disabled")
    env = GymWrapper(envs, categorical_action_encoding=True)
    check_and_roll_out(env, info="unread")
    check_and_roll_out(env.auto_register_info_dict())


def test_gym_wrapper_refuses_next_step_autoreset_for_any_env() -> None:
    with pytest.raises(RuntimeError, match="auto-reset mode must be one of SAME_STEP or DISABLED"):
        GymWrapper(gym.make_vec(ENV_ID, num_envs=4, autoreset_mode="next_step"))


def test_usage_page_async_example_runs_as_a_script(tmp_path: Path) -> None:
    """The usage page's ``GymEnv(id, num_envs=...)`` example, run as written as a script (its worker processes
    import it again, hence its ``__main__`` guard): the last rewards of random responses are -1, kept, and
    ``is_success`` reads False there."""
    [example] = [block for block in re.findall(r"^```python\n(.*?)^```", USAGE.read_text(), re.DOTALL | re.MULTILINE)
                 if "GymEnv(" in block and 'if __name__ == "__main__":' in block]  # fmt: skip
    assert "num_envs=" in example
    (tmp_path / "example.py").write_text(example)
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    ran = subprocess.run([sys.executable, "example.py"], cwd=tmp_path, capture_output=True, text=True, env=environment,
                         timeout=300)  # fmt: skip
    assert ran.returncode == 0, ran.stderr[-3000:]
    lines = dict(line.split(": ", 1) for line in ran.stdout.splitlines() if ": " in line)
    assert lines["last rewards"] == str([-1.0] * 4)  # 2 rows, 2 episodes each
    assert lines["is_success there"] == str([False] * 4)
