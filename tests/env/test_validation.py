"""Every bad argument, reset option and action fails at once with a ValueError that names it."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from seqreward_env import SequenceEnv, SequenceTask, SequenceVectorEnv

TASK: dict[str, Any] = {"seq_len": 3, "vocab_size": 4, "context_dim": 2}

BAD_ARGUMENTS = [
    ({"seq_len": 0}, "seq_len"),
    ({"seq_len": 2.0}, "seq_len"),
    ({"seq_len": True}, "seq_len"),
    ({"vocab_size": 1}, "vocab_size"),
    ({"context_dim": 0}, "context_dim"),
    ({"contexts": "foo"}, "contexts"),
    ({"contexts": np.zeros((5, 3))}, "contexts"),
    ({"contexts": np.zeros((0, 2))}, "contexts"),
    ({"contexts": np.zeros(2)}, "contexts"),
    ({"contexts": np.array([[0.0, np.inf]])}, "contexts"),
    ({"sigma": -1}, "sigma"),
    ({"sigma": float("nan")}, "sigma"),
    ({"num_components": 0}, "num_components"),
    ({"teacher": (np.zeros((4, 3)), np.zeros((4, 4)))}, r"teacher\[0\]"),
    ({"teacher": (np.zeros((4, 2)), np.zeros((4, 3)))}, r"teacher\[1\]"),
    ({"teacher": (np.zeros((4, 2)),)}, "teacher"),
    ({"teacher": np.zeros((4, 2))}, "teacher"),
    ({"margin": -0.1}, "margin"),
    ({"reward": "foo"}, "reward"),
    ({"reward_values": (1, 0)}, "reward_values"),
    ({"reward_values": (1, 1)}, "reward_values"),
    ({"reward_values": (0, 1, 2)}, "reward_values"),
    ({"reward_values": (0, float("inf"))}, "reward_values"),
    ({"task_seed": -1}, "task_seed"),
    ({"task_seed": 1.5}, "task_seed"),
]


@pytest.mark.parametrize(("kwargs", "name"), BAD_ARGUMENTS)
def test_bad_task_arguments(kwargs: dict[str, Any], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        SequenceTask(**{**TASK, **kwargs})
    with pytest.raises(ValueError, match=name):
        SequenceEnv(**{**TASK, **kwargs})
    with pytest.raises(ValueError, match=name):
        SequenceVectorEnv(2, **{**TASK, **kwargs})


@pytest.mark.parametrize(("kwargs", "name"), BAD_ARGUMENTS[:6])
def test_bad_arguments_through_make(kwargs: dict[str, Any], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        gym.make("seqreward/Outcome-v0", **kwargs)
    with pytest.raises(ValueError, match=name):
        gym.make_vec("seqreward/Outcome-v0", num_envs=2, **kwargs)


def test_bad_render_mode() -> None:
    with pytest.raises(ValueError, match="render_mode"):
        SequenceEnv(**TASK, render_mode="human")
    with pytest.raises(ValueError, match="render_mode"):
        SequenceVectorEnv(2, **TASK, render_mode="human")


@pytest.mark.parametrize("num_envs", [0, -1, 1.5])
def test_bad_num_envs(num_envs: Any) -> None:
    with pytest.raises(ValueError, match="num_envs"):
        SequenceVectorEnv(num_envs, **TASK)
    with pytest.raises(ValueError, match="num_envs"):
        gym.make_vec("seqreward/Outcome-v0", num_envs=num_envs)


@pytest.mark.parametrize("mode", ["x", "NEXT", 3])
def test_bad_autoreset_mode(mode: Any) -> None:
    with pytest.raises(ValueError, match="autoreset_mode"):
        SequenceVectorEnv(2, **TASK, autoreset_mode=mode)
    with pytest.raises(ValueError, match="autoreset_mode"):
        gym.make_vec("seqreward/Outcome-v0", num_envs=2, autoreset_mode=mode)


@pytest.mark.parametrize("mode", ["next_step", "same_step", "disabled", "NextStep", gym.vector.AutoresetMode.SAME_STEP])
def test_autoreset_mode_by_name_or_value(mode: Any) -> None:
    envs = SequenceVectorEnv(2, **TASK, autoreset_mode=mode)
    assert isinstance(envs.autoreset_mode, gym.vector.AutoresetMode)
    assert envs.metadata["autoreset_mode"] == envs.autoreset_mode


def test_task_and_task_arguments_together_are_refused() -> None:
    with pytest.raises(ValueError, match="task"):
        SequenceEnv(task=SequenceTask(**TASK), seq_len=3)
    with pytest.raises(ValueError, match="task"):
        SequenceEnv(task="outcome")


BAD_OPTIONS = [
    ({"contxt": [0.0, 0.0]}, "unknown keys"),
    ({"context": [0.0, 0.0, 0.0]}, r"options\['context'\]"),
    ({"context": [[0.0, 0.0]]}, r"options\['context'\]"),
    ({"context": 0.5}, r"options\['context'\]"),
    ({"context": [0.0, 99.0]}, r"options\['context'\]"),
    ({"context": [0.0, np.nan]}, r"options\['context'\]"),
    ({"context": ["a", "b"]}, r"options\['context'\]"),
    ({"prefix": [0, 4]}, r"options\['prefix'\]"),
    ({"prefix": [-1]}, r"options\['prefix'\]"),
    ({"prefix": [0, 1, 2]}, r"options\['prefix'\]"),
    ({"prefix": [0.0, 1.0]}, r"options\['prefix'\]"),
    ({"prefix": [[0, 1]]}, r"options\['prefix'\]"),
    ({"prefix": np.array([True])}, r"options\['prefix'\]"),
]


@pytest.mark.parametrize(("options", "name"), BAD_OPTIONS)
def test_bad_reset_options_single(options: dict[str, Any], name: str) -> None:
    env = SequenceEnv(**TASK)
    with pytest.raises(ValueError, match=name):
        env.reset(seed=0, options=options)


@pytest.mark.parametrize(("options", "name"), [item for item in BAD_OPTIONS if item[0] != {"context": [[0.0, 0.0]]}])
def test_bad_reset_options_vector(options: dict[str, Any], name: str) -> None:
    envs = SequenceVectorEnv(2, **TASK)
    with pytest.raises(ValueError, match=name):
        envs.reset(seed=0, options=options)


def test_bad_batched_reset_options() -> None:
    envs = SequenceVectorEnv(3, **TASK)
    with pytest.raises(ValueError, match=r"options\['context'\].*3 rows"):
        envs.reset(options={"context": np.zeros((2, 2))})
    with pytest.raises(ValueError, match=r"options\['prefix'\].*3 prefixes"):
        envs.reset(options={"prefix": [np.array([0]), np.array([1])]})
    with pytest.raises(ValueError, match=r"options\['reset_mask'\]"):
        envs.reset(options={"reset_mask": np.array([False, False, False])})
    with pytest.raises(ValueError, match=r"options\['reset_mask'\]"):
        envs.reset(options={"reset_mask": np.array([1, 0, 1])})
    with pytest.raises(ValueError, match="options"):
        envs.reset(options=["context"])  # type: ignore[arg-type]


def test_reset_mask_is_a_vector_option_only() -> None:
    with pytest.raises(ValueError, match="reset_mask"):
        SequenceEnv(**TASK).reset(options={"reset_mask": np.array([True])})


@pytest.mark.parametrize("action", [4, -1, 1.0, np.float32(2), "1", [1], True, None])
def test_bad_single_actions(action: Any) -> None:
    env = SequenceEnv(**TASK)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action"):
        env.step(action)
    # A refused action changes nothing: the episode goes on from where it was.
    obs, *_ = env.step(np.int64(3))
    assert obs["position"] == 1 and obs["tokens"][0] == 3


@pytest.mark.parametrize(
    "actions",
    [np.array([0, 1]), np.array([[0, 1, 2]]), np.array([0, 1, 4]), np.array([0, -1, 0]), np.array([0.0, 1.0, 2.0]), 1],
)
def test_bad_vector_actions(actions: Any) -> None:
    envs = SequenceVectorEnv(3, **TASK)
    envs.reset(seed=0)
    with pytest.raises(ValueError, match="actions"):
        envs.step(actions)
    obs, *_ = envs.step(np.array([3, 2, 1]))
    np.testing.assert_array_equal(obs["position"], 1)
    np.testing.assert_array_equal(obs["tokens"][:, 0], [3, 2, 1])


def test_bad_evaluation_arguments() -> None:
    task = SequenceTask(**TASK)
    with pytest.raises(ValueError, match="n"):
        task.test_contexts(0)
    with pytest.raises(ValueError, match="centres"):
        _ = SequenceTask(**TASK, contexts="rademacher").centres


RADEMACHER_IDS = ("seqreward/RademacherOutcome-v0", "seqreward/RademacherProcess-v0")
MIXTURE_ONLY = [
    ({"sigma": float("nan")}, "sigma=nan"),
    ({"sigma": -0.1}, "sigma=-0.1"),
    ({"sigma": float("inf")}, "sigma=inf"),
    ({"sigma": 0.2}, "sigma=0.2"),
    ({"num_components": 0}, "num_components=0"),
    ({"num_components": 16}, "num_components=16"),
]


@pytest.mark.parametrize("env_id", RADEMACHER_IDS)
@pytest.mark.parametrize(("kwargs", "shown"), MIXTURE_ONLY)
def test_a_mixture_setting_is_refused_for_rademacher_contexts(env_id: str, kwargs: dict[str, Any], shown: str) -> None:
    with pytest.raises(ValueError, match=f"^{shown} does not apply to 'rademacher' contexts") as error:
        gym.make(env_id, **kwargs)
    assert "\n" not in str(error.value)
    gym.make(env_id)  # the id itself has no mixture setting


@pytest.mark.parametrize(("kwargs", "shown"), MIXTURE_ONLY)
def test_a_mixture_setting_is_refused_for_a_pool_of_contexts(kwargs: dict[str, Any], shown: str) -> None:
    with pytest.raises(ValueError, match=f"^{shown} does not apply to a pool of contexts"):
        SequenceTask(**TASK, contexts=np.ones((3, 2)), **kwargs)
