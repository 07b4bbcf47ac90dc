"""stable-baselines3 on the seqreward envs: conformance, adapter = DummyVecEnv, exact metrics, training script, learning."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from sb3_contrib import MaskablePPO, RecurrentPPO
from sb3_contrib.common.recurrent.type_aliases import RNNStates
from stable_baselines3 import A2C, PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.env_checker import check_env
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import seqreward_env
from agents.learners.sb3 import (
    ExactMetricsCallback,
    SB3VecEnv,
    evaluate_sb3_policy,
    make_dummy_vec_env,
    make_sb3_vec_env,
    sequence_policy_kwargs,
)
from agents.learners.sb3.config import ALGORITHMS
from agents.runs.folder import read_metrics, without_seal
from scripts import train_sb3

TINY = {"seq_len": 3, "vocab_size": 3, "context_dim": 4, "num_components": 4}


def assert_same(left: Any, right: Any, where: str) -> None:
    """Equal values, dtypes and types, recursively through dicts and lists."""
    assert type(left) is type(right), f"{where}: {type(left).__name__} != {type(right).__name__}"
    if isinstance(left, dict):
        assert set(left) == set(right), f"{where}: keys {sorted(left)} != {sorted(right)}"
        for key in left:
            assert_same(left[key], right[key], f"{where}[{key!r}]")
    elif isinstance(left, list):
        assert len(left) == len(right), f"{where}: lengths {len(left)} != {len(right)}"
        for i, (a, b) in enumerate(zip(left, right, strict=True)):
            assert_same(a, b, f"{where}[{i}]")
    elif isinstance(left, (np.ndarray, np.generic)):
        assert left.dtype == right.dtype, f"{where}: dtype {left.dtype} != {right.dtype}"
        assert np.array_equal(left, right), f"{where}: {left} != {right}"
    else:
        assert left == right, f"{where}: {left!r} != {right!r}"


# ----- conformance ----------------------------------------------------------------------------------
@pytest.mark.parametrize("env_id", sorted(seqreward_env.LATEST_ENV_IDS))
def test_sb3_check_env_passes_without_warnings_and_the_adapter_has_the_same_spaces(env_id: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env = gym.make(env_id)
        check_env(env)
        adapter = make_sb3_vec_env(env_id, 2)
        PPO("MultiInputPolicy", adapter, n_steps=4, batch_size=8, device="cpu")  # SB3 accepts the adapter as is
    assert adapter.observation_space == env.observation_space
    assert adapter.action_space == env.action_space
    assert isinstance(adapter.venv, seqreward_env.SequenceVectorEnv)


def test_adapter_refuses_a_vector_env_that_resets_on_the_next_step() -> None:
    with pytest.raises(ValueError, match="same_step"):
        SB3VecEnv(gym.make_vec("seqreward/Process-v0", num_envs=2))
    with pytest.raises(ValueError, match="SequenceVectorEnv"):
        SB3VecEnv(gym.make_vec("seqreward/Process-v0", num_envs=2, vectorization_mode="sync"))


# ----- adapter = DummyVecEnv -------------------------------------------------------------------------
@pytest.mark.parametrize("env_id", sorted(seqreward_env.ENV_IDS))
def test_adapter_gives_the_trajectories_of_dummy_vec_env(env_id: str) -> None:
    num_envs, seq_len = 3, seqreward_env.ENV_IDS[env_id]["seq_len"]
    vocab_size = seqreward_env.ENV_IDS[env_id]["vocab_size"]
    adapter, dummy = make_sb3_vec_env(env_id, num_envs), make_dummy_vec_env(env_id, num_envs)
    rng = np.random.default_rng(11)
    for episode_seed in (5, None, 123):  # seeded, drawn on from the row generators, re-seeded
        if episode_seed is not None:
            assert adapter.seed(episode_seed) == dummy.seed(episode_seed)
        assert_same(adapter.reset(), dummy.reset(), "reset obs")
        assert_same(adapter.reset_infos, dummy.reset_infos, "reset infos")
        # Two episodes and a bit: terminal observations and the auto-reset inside step are compared.
        terminal_steps = 0
        for t in range(2 * seq_len + 2):
            actions = rng.integers(0, vocab_size, size=num_envs)
            got, want = adapter.step(actions), dummy.step(actions)
            for name, a, b in zip(("obs", "rewards", "dones", "infos"), got, want, strict=True):
                assert_same(a, b, f"{env_id} seed {episode_seed} step {t} {name}")
            terminal_steps += all("terminal_observation" in info for info in got[3])
        assert terminal_steps == 2
    assert adapter.get_attr("total_reward_queries") == dummy.get_attr("total_reward_queries")
    assert sum(adapter.get_attr("total_reward_queries")) == adapter.venv.total_reward_queries > 0


def test_adapter_terminal_observation_and_done_flags_follow_sb3() -> None:
    adapter = make_sb3_vec_env("seqreward/Process-v0", 4, seed=0)
    first = adapter.reset()
    seq_len = adapter.task.seq_len
    for _ in range(seq_len):
        obs, rewards, dones, infos = adapter.step(np.zeros(4, dtype=np.int64))
    assert dones.all() and rewards.dtype == np.float32
    for row, info in enumerate(infos):
        assert info["TimeLimit.truncated"] is False
        assert info["terminal_observation"]["position"] == seq_len
        assert np.array_equal(info["terminal_observation"]["context"], first["context"][row])
        assert isinstance(info["is_success"], bool)
    assert (obs["position"] == 0).all()  # the returned observation starts the next episode
    assert not np.array_equal(obs["context"], first["context"])


def test_adapter_reset_options_match_dummy_vec_env() -> None:
    adapter, dummy = make_sb3_vec_env("seqreward/Process-v0", 3), make_dummy_vec_env("seqreward/Process-v0", 3)
    context = adapter.task.test_contexts(1)[0]
    options = [{"context": context}, {}, {"prefix": np.array([1, 2])}]
    for vec in (adapter, dummy):
        vec.seed(3)
        vec.set_options(options)
    assert_same(adapter.reset(), dummy.reset(), "reset obs with options")
    for t in range(8):
        actions = np.full(3, t % 4)
        for name, a, b in zip(
            ("obs", "rewards", "dones", "infos"), adapter.step(actions), dummy.step(actions), strict=True
        ):
            assert_same(a, b, f"step {t} {name}")


def test_adapter_attributes_methods_and_masks() -> None:
    adapter = make_sb3_vec_env("seqreward/Outcome-v0", 3, seed=0, render_mode="ansi")
    adapter.reset()
    assert adapter.get_attr("task", indices=[0])[0] is adapter.task
    assert adapter.get_attr("total_reward_queries") == [0, 0, 0]
    masks = np.stack(adapter.env_method("action_masks"))
    assert masks.shape == (3, adapter.task.vocab_size) and masks.all()
    assert adapter.action_masks().shape == (3, adapter.task.vocab_size)
    assert adapter.has_attr("action_masks") and not adapter.has_attr("no_such_attribute")
    assert adapter.env_is_wrapped(gym.Wrapper) == [False, False, False]
    rows = adapter.env_method("render", indices=[1, 2])
    assert len(rows) == 2 and all(row.startswith("position 0/") for row in rows)
    with pytest.raises(ValueError, match="all 3 rows"):
        adapter.set_attr("render_mode", None, indices=[0])
    with pytest.raises(ValueError, match="all 3 rows"):
        adapter.env_method("reset", indices=[1])
    with pytest.raises(AttributeError):
        adapter.get_attr("no_such_attribute")


# ----- exact metrics against references -----------------------------------------------------------
def single_observation_probabilities(model: BaseAlgorithm, env: gym.Env, x: np.ndarray) -> np.ndarray:
    """Reference: p(y*_i | ...) from the policy's ``evaluate_actions`` on single env observations, one at a time."""
    task = env.unwrapped.task
    target = task.targets(x[None])[0]
    obs, _ = env.reset(options={"context": x})
    probabilities = []
    for token in target:
        obs_tensor, _ = model.policy.obs_to_tensor(obs)
        with th.no_grad():
            _, log_prob, _ = model.policy.evaluate_actions(obs_tensor, th.tensor([token]))
        probabilities.append(float(th.exp(log_prob)[0]))
        obs, *_ = env.step(np.int64(token))
    return np.array(probabilities)


@pytest.mark.parametrize("algo", [PPO, A2C, MaskablePPO])
def test_exact_metrics_equal_a_single_observation_reference(algo: type[BaseAlgorithm]) -> None:
    venv = make_sb3_vec_env("seqreward/Process-v0", 4, **TINY)
    batch = {} if algo is A2C else {"batch_size": 32}
    model = algo(
        "MultiInputPolicy", venv, seed=1, device="cpu", n_steps=8, policy_kwargs=sequence_policy_kwargs(), **batch
    )
    model.learn(total_timesteps=256)  # a policy that is no longer the initial one
    env = gym.make("seqreward/Process-v0", **TINY)
    contexts = venv.task.test_contexts(6)
    metrics = evaluate_sb3_policy(model, venv.task, contexts)
    reference = np.stack([single_observation_probabilities(model, env, x) for x in contexts])
    np.testing.assert_allclose(metrics.token_probabilities, reference, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(metrics.likelihoods, reference.prod(axis=1), rtol=1e-5)
    assert metrics.test_error == pytest.approx(1.0 - reference.prod(axis=1).mean(), rel=1e-5)


def test_recurrent_exact_metrics_run_the_lstm_along_y_star() -> None:
    venv = make_sb3_vec_env("seqreward/Process-v0", 4, **TINY)
    model = RecurrentPPO(
        "MultiInputLstmPolicy",
        venv,
        seed=2,
        device="cpu",
        n_steps=8,
        batch_size=32,
        policy_kwargs=sequence_policy_kwargs(lstm_hidden_size=16),
    )
    model.learn(total_timesteps=256)
    env = gym.make("seqreward/Process-v0", **TINY)
    contexts = venv.task.test_contexts(5)
    metrics = evaluate_sb3_policy(model, venv.task, contexts)
    policy = model.policy
    layers, _, hidden = policy.lstm_hidden_state_shape
    for x, probabilities in zip(contexts, metrics.token_probabilities, strict=True):
        # Reference: the episode that writes y*, fed to the policy as one sequence (the training code path).
        target = venv.task.targets(x[None])[0]
        obs, _ = env.reset(options={"context": x})
        episode = [obs]
        for token in target[:-1]:
            episode.append(env.step(np.int64(token))[0])
        stacked = {key: np.stack([o[key] for o in episode]) for key in obs}
        obs_tensor, _ = policy.obs_to_tensor(stacked)
        zeros = th.zeros((layers, 1, hidden))
        states = RNNStates((zeros, zeros), (zeros, zeros))
        starts = th.tensor([1.0] + [0.0] * (len(target) - 1))
        with th.no_grad():
            _, log_prob, _ = policy.evaluate_actions(obs_tensor, th.tensor(target), states, starts)
        np.testing.assert_allclose(probabilities, th.exp(log_prob).numpy(), rtol=1e-5, atol=1e-7)


def test_greedy_exact_match_equals_deterministic_rollouts_in_the_env() -> None:
    venv = make_sb3_vec_env("seqreward/Process-v0", 16, **TINY)
    model = PPO("MultiInputPolicy", venv, seed=0, device="cpu", n_steps=8, batch_size=64, learning_rate=3e-3)
    model.learn(total_timesteps=3072)
    contexts = venv.task.test_contexts(64)
    metrics = evaluate_sb3_policy(model, venv.task, contexts)
    env = gym.make("seqreward/Process-v0", **TINY)
    successes = []
    for x in contexts:
        obs, _ = env.reset(options={"context": x})
        terminated = False
        while not terminated:
            action, _ = model.predict(obs, deterministic=True)
            obs, _, terminated, _, info = env.step(np.int64(action))
        successes.append(info["is_success"])
    assert np.array_equal(metrics.greedy_exact_match, np.array(successes))
    assert 0.0 < metrics.greedy_exact_match_rate  # trained enough that the comparison is not all False


def test_callback_evaluates_at_start_every_eval_freq_and_after_the_last_update() -> None:
    venv = make_sb3_vec_env("seqreward/Outcome-v0", 8, **TINY)
    model = PPO("MultiInputPolicy", venv, seed=0, device="cpu", n_steps=12, batch_size=48)
    callback = ExactMetricsCallback(eval_freq=200, test_contexts=venv.task.test_contexts(32))
    model.learn(total_timesteps=960, callback=callback)
    steps = [record["step"] for record in callback.history]
    assert steps == [0, 288, 480, 672, 864, 960]  # rollouts of 96 steps; the last after the final update
    # Outcome reward: one query per episode of N = 3 steps.
    assert [record["reward_queries"] for record in callback.history] == [step // 3 for step in steps]
    final = evaluate_sb3_policy(model, venv.task, venv.task.test_contexts(32))
    assert callback.history[-1]["test_error"] == pytest.approx(final.test_error)
    with pytest.raises(ValueError, match="eval_freq"):
        ExactMetricsCallback(eval_freq=0)


# ----- training script ------------------------------------------------------------------------------
def script_args(run_dir: Path, algo: str = "ppo", **flags: str) -> list[str]:
    """A tiny train_sb3.py command line (TINY task, 8 rows, 512 steps, evaluated every 256)."""
    algo_kwargs = {"n_steps": 16, **({} if algo == "a2c" else {"batch_size": 64})}
    settings = {
        "algo": algo,
        "env-kwargs": json.dumps(TINY),
        "algo-kwargs": json.dumps(algo_kwargs),
        "num-envs": "8",
        "total-timesteps": "512",
        "eval-every": "256",
        "test-size": "64",
        "run-dir": str(run_dir),
        **flags,
    }
    return [*(part for name, value in settings.items() for part in (f"--{name}", value)), "--no-progress"]


@pytest.mark.parametrize("algo", ["ppo", "a2c", "maskable_ppo", "recurrent_ppo"])
def test_train_script_writes_model_metrics_and_tensorboard_events(algo: str, tmp_path: Path) -> None:
    run_dir = tmp_path / algo
    summary = train_sb3.main(script_args(run_dir, algo))
    assert (run_dir / "model.zip").is_file() and without_seal(run_dir / "done.json") == summary
    assert summary["final_env_steps"] == 512 and summary["final_step"] == 4  # 4 iterations of 16 x 8 steps
    assert summary["reward_queries"] == summary["env_reward_queries"] == 512  # process: one query per token
    evaluations = [r for r in read_metrics(run_dir) if "eval/test_error" in r]
    assert [r["train/env_steps"] for r in evaluations] == [0, 256, 512]
    (events_file,) = (run_dir / "tb").glob("events.out.tfevents.*")
    events = EventAccumulator(str(events_file))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {"eval/test_error", "eval/likelihood_mean", "train/reward_queries"} <= tags
    assert [event.step for event in events.Scalars("eval/test_error")] == [0, 2, 4]  # iterations
    (sb3_events,) = (run_dir / "sb3").glob("events.out.tfevents.*")
    events = EventAccumulator(str(sb3_events))
    events.Reload()
    assert "rollout/ep_rew_mean" in set(events.Tags()["scalars"])  # SB3's own scalars, in their own folder
    assert (run_dir / "sb3" / "progress.csv").read_text().count("\n") == 1 + 4  # header, one row an iteration
    model = ALGORITHMS[algo][0].load(run_dir / "model.zip", device="cpu")
    task = seqreward_env.SequenceTask(**TINY, reward="process")
    reloaded = evaluate_sb3_policy(model, task, task.test_contexts(64))
    assert reloaded.test_error == pytest.approx(summary["final_test_error"])


def test_train_script_validates_its_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for flags, message in (
        (["--num-envs", "0"], "--num-envs"),
        (["--env-kwargs", "[1, 2]"], "--env-kwargs"),
        (["--env-kwargs", '{"seq_len": 0}'], "seq_len"),
        (["--algo-kwargs", '{"n_step": 8}'], "n_step"),
        (["--algo", "dqn"], "--algo"),
        (["--env-id", "CartPole-v1"], "--env-id"),
    ):
        with pytest.raises(SystemExit):
            train_sb3.main([*flags, "--run-dir", str(tmp_path / "never")])
        assert message in capsys.readouterr().err, flags
    assert not (tmp_path / "never").exists()
    settings, flags = train_sb3.parse_args(["--algo", "a2c", "--seed", "3"])
    assert settings.algo == "a2c" and flags.run_dir == Path("runs/sb3/a2c-Process-v0-3")


def test_a_finished_run_is_not_trained_again_and_a_different_one_is_refused(tmp_path: Path) -> None:
    summary = train_sb3.main(script_args(tmp_path, "a2c", **{"total-timesteps": "128", "eval-every": "128"}))
    written = (tmp_path / "model.zip").stat().st_mtime_ns
    assert train_sb3.main(script_args(tmp_path, "a2c", **{"total-timesteps": "128", "eval-every": "128"})) == summary
    assert (tmp_path / "model.zip").stat().st_mtime_ns == written
    with pytest.raises(SystemExit, match="budget"):
        train_sb3.main(script_args(tmp_path, "a2c", **{"total-timesteps": "256", "eval-every": "128"}))
    (tmp_path / "notes.txt").write_text("mine")
    train_sb3.main([*script_args(tmp_path, "a2c", **{"total-timesteps": "256", "eval-every": "128"}), "--fresh"])
    assert json.loads((tmp_path / "done.json").read_text())["final_env_steps"] == 256
    assert (tmp_path / "notes.txt").read_text() == "mine"  # --fresh removed only what the run wrote


# ----- learning -------------------------------------------------------------------------------------
PROCESS_STEPS = 120_000
PROCESS_MIN_GREEDY_EXACT_MATCH = 0.90
PROCESS_MAX_TEST_ERROR = 0.10


@pytest.mark.slow
def test_ppo_on_the_adapter_learns_process_v0(tmp_path: Path) -> None:
    """SB3 PPO (train_sb3.py defaults, 64 envs) learns seqreward/Process-v0 within 120k steps.

    SB3 rounds 120,000 up to whole rollouts of 64 x 32 steps: 120,832 steps (as many reward queries). Measured
    on seeds 0-3: greedy exact match 0.9375 and test error 0.063-0.065 (seed 0: 0.0642), about 15 s of
    training on 2 cores (25 s on a loaded machine). 0.9375 is exactly the share of the 1024 test contexts whose y* is their mixture
    component's majority answer: PPO's MLP learns each component's answer but not the boundaries that
    split a few components by the noise.
    """
    final = train_sb3.main(
        [
            "--algo",
            "ppo",
            "--env-id",
            "seqreward/Process-v0",
            "--num-envs",
            "64",
            "--total-timesteps",
            str(PROCESS_STEPS),
            "--eval-every",
            "40000",
            "--seed",
            "0",
            "--run-dir",
            str(tmp_path),
            "--no-progress",
        ]
    )
    assert final["final_env_steps"] == final["reward_queries"] == 59 * 64 * 32
    assert final["final_greedy_exact_match"] >= PROCESS_MIN_GREEDY_EXACT_MATCH
    assert final["final_test_error"] <= PROCESS_MAX_TEST_ERROR
    assert final["base_test_error"] > 0.99  # it started from (nearly) the uniform policy
