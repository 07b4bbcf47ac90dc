"""The plumbing the theory's agents share: the env and its query count, seeds, exact evaluation, checkpoints."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from agents.learners.contract import Trainable
from agents.learners.exploration import ExplorationConfig, is_high, native_vector_env, paper_tries, query_rewards
from agents.policy.evaluation import LinearEvaluator
from agents.policy.network_policy import Policy
from seqreward_env import SequenceVectorEnv


class TheoryAgent(Trainable):
    """Base of the theory's agents: a native vector env, the trained policy and its evaluator.

    Every reward query goes through ``envs`` (``envs.total_reward_queries`` is the env's own count);
    ``reward_queries`` is the agent's tally of the queries the env reported in ``info``, so the two
    agree whenever the agent is the env's only user. Contexts come from the agent's own generator,
    seeded with ``seed`` (through ``numpy.random.SeedSequence``), and are passed to the env in ``reset``.

    Args:
        envs: a ``SequenceVectorEnv`` over the task; its ``num_envs`` is the number of rows the agent
            works on at once.
        policy: the policy p_w, trained in place.
        seed: one seed for everything random in the agent.
        evaluator: exact metrics of ``policy`` for ``evaluate``.
        reward: the reward the algorithm needs ("outcome" or "process"), or None for either.
    """

    def __init__(self, envs: Any, policy: Policy, seed: int, evaluator: LinearEvaluator, reward: str | None) -> None:
        self.envs: SequenceVectorEnv = native_vector_env(envs, reward)
        self.task = self.envs.task
        if (policy.context_dim, policy.vocab_size) != (self.task.context_dim, self.task.vocab_size):
            raise ValueError(
                f"policy has context_dim={policy.context_dim}, vocab_size={policy.vocab_size}; the task needs "
                f"{self.task.context_dim} and {self.task.vocab_size}"
            )
        self.policy, self.evaluator = policy, evaluator
        seeds = np.random.SeedSequence(seed).spawn(4)
        self.rng = np.random.default_rng(seeds[0])  # contexts
        self.generator = torch.Generator(device=policy.device).manual_seed(int(seeds[1].generate_state(1)[0]))
        self.aux_rng = np.random.default_rng(seeds[2])  # subclasses' own draws (e.g. the uniform iterate)
        self.setup_seed = seeds[3]  # one-off draws at construction (e.g. contexts that estimate the LQ)
        self.reward_queries = 0
        self.updates = 0

    @property
    def rows(self) -> int:
        """Contexts the agent works on at once (the env's ``num_envs``)."""
        return self.envs.num_envs

    def number_of_tries(self, algorithm: str, base: Policy, config: ExplorationConfig) -> int:
        """m for ``algorithm`` ("best_of_m" or "process_repair"): ``config.tries``, or the paper's choice from
        the likelihood quantile of the base model on ``config.lq_contexts`` contexts drawn once."""
        if config.tries is not None:
            return int(config.tries)
        sample = self.task.sample_contexts(np.random.default_rng(self.setup_seed), config.lq_contexts)
        return paper_tries(algorithm, self.task, base, sample, config.lq_eps, config.delta)

    def fresh_contexts(self, n: int) -> np.ndarray:
        """``n`` fresh contexts from the task's distribution: ``(n, d)`` float32."""
        return self.task.sample_contexts(self.rng, n)

    def query(self, contexts: np.ndarray, prefixes: np.ndarray | list[np.ndarray], tokens: np.ndarray) -> np.ndarray:
        """One reward query per row through the env (see ``exploration.query_rewards``): ``(rows,)`` bool,
        True where the env paid the high reward."""
        rewards, queries = query_rewards(self.envs, contexts, prefixes, tokens)
        self.reward_queries += queries
        return is_high(self.task, rewards)

    def tensor(self, array: np.ndarray) -> torch.Tensor:
        """A numpy array as a tensor on the policy's device (no copy on the CPU)."""
        return torch.as_tensor(array, device=self.policy.device)

    def evaluate(self) -> dict[str, Any]:
        return {
            **self.evaluator(self.policy),
            "train/reward_queries": self.reward_queries,
            "train/updates": self.updates,
        }

    def summary(self) -> dict[str, Any]:
        """What a finished run reports besides its metrics: the number of tries m of Algorithms 1 and 2."""
        return {"tries": getattr(self, "tries", None)}

    def state_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy.state_dict(),
            "generator": self.generator.get_state(),
            "rng": self.rng.bit_generator.state,
            "aux_rng": self.aux_rng.bit_generator.state,
            "reward_queries": self.reward_queries,
            "updates": self.updates,
            "env_reward_queries": self.envs.total_reward_queries,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.policy.load_state_dict(state["policy"])
        self.generator.set_state(state["generator"])
        self.rng.bit_generator.state = state["rng"]
        self.aux_rng.bit_generator.state = state["aux_rng"]
        self.reward_queries = int(state["reward_queries"])
        self.updates = int(state["updates"])
        self.envs.total_reward_queries = int(state["env_reward_queries"])  # the count survives a resume


class ExploringAgent(TheoryAgent):
    """What Algorithms 1 and 2 share: a frozen copy of the base model q0 of the behaviour mixture, the
    number of tries m, one context slot per env row; a subclass names its ``algorithm`` and the ``reward`` it
    needs, and sets up its own state in ``_setup``.

    Args:
        envs: ``SequenceVectorEnv`` with the algorithm's reward; ``num_envs`` searches run side by side.
        policy: p_w, trained in place (start it from the base model).
        config: the algorithm's settings (``ExplorationConfig`` or a subclass).
        seed: seeds contexts, sampling and the LQ estimate.
        evaluator: exact metrics for ``evaluate``.
        base: q0, the base model of the behaviour mixture (copied and frozen); None: ``policy`` as it is
            at construction, the usual case of a policy started from the base model.
    """

    algorithm: str
    needs_reward: str

    def __init__(
        self,
        envs: Any,
        policy: Policy,
        config: ExplorationConfig,
        seed: int,
        evaluator: LinearEvaluator,
        *,
        base: Policy | None = None,
    ) -> None:
        super().__init__(envs, policy, seed, evaluator, reward=self.needs_reward)
        self.config = config
        self.base = (policy if base is None else base).copy()
        self.tries = self.number_of_tries(self.algorithm, self.base, config)
        self.contexts = np.zeros((self.rows, self.task.context_dim), dtype=np.float32)
        self._setup()

    def _setup(self) -> None:
        """The algorithm's own state, made after the shared set-up."""
        raise NotImplementedError
