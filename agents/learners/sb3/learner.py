"""stable-baselines3 and sb3-contrib algorithms as learners of the project's training loop, so they checkpoint
and resume like every other learner (``agents.experiment.loop.train``).

One ``train_step`` is one SB3 iteration: a rollout of ``n_steps`` steps on every env row, then the
algorithm's update (``collect_rollouts`` then ``train``, as ``OnPolicyAlgorithm.learn`` does, without its
outer loop). ``evaluate`` returns the task's exact metrics of the policy. ``state_dict`` holds everything a
resumed run needs to continue exactly as an uninterrupted one, in tensors and plain containers only (it is
loaded with ``torch.load(weights_only=True)``): the network and optimiser, SB3's counters and last
observation, the LSTM states of RecurrentPPO, the env rows' episodes and generators, the global torch,
numpy and Python generators SB3 samples from, and the episode statistics SB3 logs.
"""

from __future__ import annotations

import math
import random
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch as th
from sb3_contrib.common.recurrent.type_aliases import RNNStates
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import Logger
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm
from stable_baselines3.common.vec_env import VecMonitor

from agents.common.seeding import check_seed, derive_seed
from agents.learners.contract import Trainable
from agents.learners.sb3.config import ALGORITHMS, SB3Config
from agents.learners.sb3.extractors import sequence_policy_kwargs
from agents.learners.sb3.logs import open_sb3_logger
from agents.learners.sb3.vec_env import SB3VecEnv
from agents.learners.training import env_random_state, set_env_random_state
from seqreward_env import SequenceVectorEnv

__all__ = ["SB3Config", "SB3Learner"]


class SB3Learner(Trainable):
    """An SB3 or sb3-contrib on-policy algorithm trained one iteration per ``train_step``.

    Args:
        envs: the native vector env (``SequenceVectorEnv`` built with ``autoreset_mode="same_step"`` and
            ``copy=True``, or ``gym.make_vec`` of a seqreward id with those settings); its ``num_envs`` rows
            are SB3's ``n_envs``. The learner puts ``SB3VecEnv`` and SB3's ``VecMonitor`` over it.
        policy: None (the argument every learner takes: SB3 builds its own network from the config).
        config: the algorithm and its keyword arguments.
        seed: the run's seed; SB3's seed (torch, numpy and Python generators, action space, env row i
            seeded with base + i) is derived from it with ``agents.common.seeding``.
        evaluator: exact metrics of the model, under ``eval/`` (``agents.learners.sb3.SB3Evaluator``).
        log_dir: folder for SB3's own scalars (``rollout/``, ``train/``, ``time/``) as TensorBoard events
            and ``progress.csv``, written after every update; None writes none. A resumed run drops the
            rows logged after its checkpoint and writes them again once.

    SB3 samples from the process's global torch and numpy generators, which building the learner seeds:
    one learner trains in a process at a time. ``model`` is the SB3 algorithm (``model.save(path)`` writes
    the usual ``.zip``).
    """

    def __init__(
        self,
        envs: SequenceVectorEnv,
        policy: None,
        config: SB3Config,
        seed: int,
        evaluator: Callable[[Any], dict[str, Any]],
        *,
        log_dir: str | Path | None = None,
    ) -> None:
        if policy is not None:
            raise ValueError(
                "policy must be None: an SB3 learner builds its own network from config.algo_kwargs "
                f"(e.g. 'policy_kwargs'), got {type(policy).__name__}"
            )
        if not isinstance(config, SB3Config):
            raise ValueError(f"config must be an SB3Config, got {type(config).__name__}")
        check_seed("seed", seed)
        if not callable(evaluator):
            raise ValueError(f"evaluator must be callable on the SB3 model, got {evaluator!r}")
        self.config, self.evaluator = config, evaluator
        self.log_dir = None if log_dir is None else Path(log_dir)
        self.adapter = SB3VecEnv(envs)  # refuses anything but the native env in same-step autoreset
        self.envs = self.adapter.venv
        self.task = self.envs.task
        self.monitor = VecMonitor(self.adapter, info_keywords=("is_success",))
        algo_class, policy_class = ALGORITHMS[config.algo]
        kwargs = config.algorithm_kwargs()
        kwargs["policy_kwargs"] = sequence_policy_kwargs(**kwargs.get("policy_kwargs", {}))
        # SB3 seeds numpy's legacy global generator, which takes seeds below 2**32.
        self.model = cast(
            OnPolicyAlgorithm,
            algo_class(
                policy_class,
                self.monitor,
                seed=derive_seed(seed, "sb3") % 2**32,
                device=config.device,
                verbose=0,
                **kwargs,
            ),
        )
        self.model.set_logger(Logger(folder=None, output_formats=[]))  # outputs open at the first update
        self._log_opened = False
        self._episodes = RolloutEpisodes()
        # What learn() does before its loop: reset the env (rows seeded), episode buffers, the callback.
        _, self._callback = self.model._setup_learn(self.env_steps_per_update, self._episodes)
        self._callback.on_training_start({}, {})

    def save_final(self, folder: str | Path) -> None:
        """The trained model as SB3's ``model.zip`` in ``folder`` (``<Algo>.load`` reads it)."""
        self.model.save(Path(folder) / "model.zip")

    @property
    def env_steps_per_update(self) -> int:
        """Environment steps (summed over rows) of one ``train_step``: ``n_steps * num_envs``."""
        return int(self.model.n_steps * self.model.n_envs)

    @property
    def reward_queries(self) -> int:
        """Reward queries the env rows have answered so far (counted by the adapter from each step's info)."""
        return int(self.adapter.row_reward_queries.sum())

    @reward_queries.setter
    def reward_queries(self, value: int) -> None:
        raise AttributeError("SB3Learner.reward_queries is counted from the env rows' reports and cannot be set")

    def train_step(self, step: int) -> dict[str, Any]:
        """One rollout of ``n_steps`` per row and one update. Returns SB3's ``train/`` scalars of the update
        (losses, ``train/n_updates``, ...) with the episodes that ended in the rollout: ``train/reward`` (mean
        return), ``train/success_rate``, ``train/episodes``; and ``train/reward_queries``, ``train/env_steps``."""
        model = self.model
        if self.log_dir is not None and not self._log_opened:
            model.set_logger(open_sb3_logger(self.log_dir, model.num_timesteps))
        self._log_opened = True
        self._episodes.clear()
        model.collect_rollouts(model.env, self._callback, model.rollout_buffer, model.n_steps)  # type: ignore[arg-type]
        model.train()
        metrics: dict[str, Any] = {
            key: value if isinstance(value, int) else float(value)
            for key, value in model.logger.name_to_value.items()
            if key.startswith("train/")
        }
        # SB3 reports NaN where a scalar is undefined (explained_variance of returns without variance, as at
        # N = 1): such a key is left out, so metrics.jsonl holds numbers only.
        metrics = {key: value for key, value in metrics.items() if isinstance(value, int) or math.isfinite(value)}
        if self._episodes.returns:
            metrics["train/reward"] = float(np.mean(self._episodes.returns))
            metrics["train/success_rate"] = float(np.mean(self._episodes.successes))
        metrics["train/episodes"] = len(self._episodes.returns)
        metrics["train/reward_queries"] = self.reward_queries
        metrics["train/env_steps"] = int(model.num_timesteps)
        model.dump_logs(step + 1)  # SB3's rollout/ and time/ scalars with the update's train/ ones
        return metrics

    def evaluate(self) -> dict[str, Any]:
        """The evaluator's exact metrics, ``train/reward_queries`` and ``train/env_steps``."""
        return {
            **self.evaluator(self.model),
            "train/reward_queries": self.reward_queries,
            "train/env_steps": int(self.model.num_timesteps),
        }

    def state_dict(self) -> dict[str, Any]:
        """Everything a resume needs, in tensors and plain containers."""
        model = self.model
        assert model.ep_info_buffer is not None and model.ep_success_buffer is not None
        assert model._last_obs is not None and model._last_episode_starts is not None
        last_obs = cast(dict[str, np.ndarray], model._last_obs)
        lstm = getattr(model, "_last_lstm_states", None)
        numpy_state = np.random.get_state(legacy=False)  # noqa: NPY002 (SB3 draws minibatches from it)
        return {
            "config": asdict(self.config),
            "policy": model.policy.state_dict(),
            "optimizer": model.policy.optimizer.state_dict(),
            "num_timesteps": int(model.num_timesteps),
            "n_updates": int(model._n_updates),
            "last_obs": {key: th.from_numpy(np.array(value)) for key, value in last_obs.items()},
            "last_episode_starts": th.from_numpy(np.array(model._last_episode_starts, dtype=bool)),
            "lstm_states": None if lstm is None else [t.detach().cpu().clone() for t in (*lstm.pi, *lstm.vf)],
            "episode_infos": [
                {
                    "r": float(info["r"]),
                    "l": int(info["l"]),
                    "t": float(info["t"]),
                    "is_success": bool(info["is_success"]),
                }
                for info in model.ep_info_buffer
            ],
            "episode_successes": [bool(success) for success in model.ep_success_buffer],
            "monitor": {
                "episode_returns": th.from_numpy(self.monitor.episode_returns.copy()),
                "episode_lengths": th.from_numpy(self.monitor.episode_lengths.copy()),
                "episode_count": int(self.monitor.episode_count),
            },
            "env": vector_env_state(self.envs),
            "row_reward_queries": th.from_numpy(self.adapter.row_reward_queries.copy()),
            "torch_rng": th.get_rng_state(),
            "cuda_rng": th.cuda.get_rng_state_all() if model.device.type == "cuda" else None,
            "numpy_rng": {
                "key": numpy_state["state"]["key"].tolist(),
                "pos": int(numpy_state["state"]["pos"]),
                "has_gauss": int(numpy_state["has_gauss"]),
                "gauss": float(numpy_state["gauss"]),
            },
            "python_rng": random.getstate(),
            "action_space_rng": dict(model.action_space.np_random.bit_generator.state),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a ``state_dict`` on a learner built with the same config and seed."""
        saved = state.get("config", {}).get("algo")
        if saved != self.config.algo:
            raise ValueError(f"the saved state is of algo {saved!r}; this learner runs {self.config.algo!r}")
        model = self.model
        model.policy.load_state_dict(state["policy"])
        model.policy.optimizer.load_state_dict(state["optimizer"])
        model.num_timesteps = int(state["num_timesteps"])
        model._num_timesteps_at_start = model.num_timesteps  # SB3's time/fps counts this process's steps
        model._n_updates = int(state["n_updates"])
        keys = list(cast(Any, model.observation_space).spaces)
        model._last_obs = OrderedDict((key, state["last_obs"][key].numpy().copy()) for key in keys)  # type: ignore[assignment]
        model._last_episode_starts = state["last_episode_starts"].numpy().copy()
        if state["lstm_states"] is not None:
            pi_h, pi_c, vf_h, vf_c = (tensor.to(model.device) for tensor in state["lstm_states"])
            cast(Any, model)._last_lstm_states = RNNStates((pi_h, pi_c), (vf_h, vf_c))
        window = model._stats_window_size
        model.ep_info_buffer = deque(
            ({**info, "r": np.float32(info["r"]), "l": np.int32(info["l"])} for info in state["episode_infos"]),
            maxlen=window,
        )
        model.ep_success_buffer = deque(state["episode_successes"], maxlen=window)
        monitor = state["monitor"]
        self.monitor.episode_returns = monitor["episode_returns"].numpy().copy()
        self.monitor.episode_lengths = monitor["episode_lengths"].numpy().copy()
        self.monitor.episode_count = int(monitor["episode_count"])
        set_vector_env_state(self.envs, state["env"])
        self.adapter.row_reward_queries = state["row_reward_queries"].numpy().copy()
        th.set_rng_state(state["torch_rng"])
        if state["cuda_rng"] is not None and model.device.type == "cuda":
            th.cuda.set_rng_state_all(state["cuda_rng"])
        rng = state["numpy_rng"]
        key = np.array(rng["key"], dtype=np.uint32)
        np.random.set_state(("MT19937", key, rng["pos"], rng["has_gauss"], rng["gauss"]))  # noqa: NPY002
        random.setstate(state["python_rng"])
        model.action_space.np_random.bit_generator.state = state["action_space_rng"]

    def close(self) -> None:
        """Flush and close SB3's log files (the env belongs to the caller)."""
        self.model.logger.close()


class RolloutEpisodes(BaseCallback):
    """Collects the return and success of every episode that ends during a rollout (from ``VecMonitor``'s
    ``info["episode"]``)."""

    def __init__(self) -> None:
        super().__init__()
        self.returns: list[float] = []
        self.successes: list[bool] = []

    def clear(self) -> None:
        self.returns, self.successes = [], []

    def _on_step(self) -> bool:
        for info in self.locals["infos"]:
            episode = info.get("episode")
            if episode is not None:
                self.returns.append(float(episode["r"]))
                self.successes.append(bool(episode["is_success"]))
        return True


# ----- the native vector env's episodes ---------------------------------------------------------------
def vector_env_state(envs: SequenceVectorEnv) -> dict[str, Any]:
    """The state of a native vector env's rows mid-episode: each row's generator, context, target, tokens
    written, position and whether it is still on y*'s prefix, which rows are due a reset, and the env's
    reward-query count. SB3's episodes run across updates, so a resume must restore them."""
    episodes = envs._episodes
    return {
        "random_state": env_random_state(envs),
        "episodes": {
            name: th.from_numpy(value) if isinstance(value, np.ndarray) else value
            for name, value in episodes.state().items()
        },
        "finished": th.from_numpy(envs._finished.copy()),
        "started": bool(envs._started),
        "total_reward_queries": int(envs.total_reward_queries),
    }


def set_vector_env_state(envs: SequenceVectorEnv, state: dict[str, Any]) -> None:
    """Restore a ``vector_env_state`` snapshot on an env with the same task and number of rows."""
    set_env_random_state(envs, state["random_state"])  # refuses another number of rows
    episodes = envs._episodes
    episodes.load_state(
        {name: value.numpy() if isinstance(value, th.Tensor) else value for name, value in state["episodes"].items()}
    )
    np.copyto(envs._finished, state["finished"].numpy())
    envs._started = bool(state["started"])
    envs.total_reward_queries = int(state["total_reward_queries"])
