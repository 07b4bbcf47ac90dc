"""Policy gradient as the paper's experiment runs it (arXiv 2603.06957, section 6): on-policy through the env,
fresh contexts each step, loss -mean(A log p) over batch and tokens, Adagrad lr 0.1.

Outcome reward (ORM): A_i = R - mean(R) for every token, R the episode's reward (batch-mean baseline).
Process reward (PRM): A_i = r_i, the prefix reward itself (not a reward-to-go), no baseline.
Either baseline can be switched on or off for either reward.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch

from agents.common.config_checks import check_choice, check_positive, check_types
from agents.common.seeding import derive_seed, row_seeds
from agents.learners.contract import Trainable
from agents.learners.difficulty import Difficulty, DifficultyConfig, difficulty_summary
from agents.learners.training import (
    OPTIMIZERS,
    check_policy_fits,
    env_query_count,
    env_random_state,
    make_optimizer,
    set_env_query_count,
    set_env_random_state,
    set_gradient,
)
from agents.policy.choice import learning_rate_for
from agents.policy.evaluation import LinearEvaluator
from agents.policy.network_policy import Policy
from agents.policy.rollout import rollout
from agents.rules.adaptive import grad_norm
from agents.rules.advantages import paper_advantages


@dataclass(frozen=True)
class PaperPGConfig:
    """Settings of the paper's PG experiment."""

    learning_rate: float | None = None
    """Optimiser learning rate (paper: Adagrad, 0.1); None: the policy's default under the optimiser
    (``agents.policy.choice.DEFAULT_LEARNING_RATES``: the linear policy's Adagrad rate is the paper's 0.1)."""
    optimizer: str = "adagrad"
    """'adagrad' (paper), 'sgd' or 'adam'."""
    baseline: bool | None = None
    """Subtract the batch mean: None = the paper's choice (on for the outcome reward, off for the
    process reward, where it is the per-position batch mean of r_i)."""
    difficulty: DifficultyConfig = DifficultyConfig()
    """Dynamic sampling (the batch is the group), an oracle difficulty filter and a curriculum
    (``agents.learners.difficulty``; off by default)."""

    def __post_init__(self) -> None:
        check_types(self)
        check_positive(self, "learning_rate")
        check_choice(self, "optimizer", OPTIMIZERS)


class PaperPG(Trainable):
    """On-policy PG with a batch of ``envs.num_envs`` fresh contexts per step.

    Args:
        envs: a vector env over the task (its ``num_envs`` is the batch size; its reward kind decides ORM/PRM).
        policy: the policy, trained in place (start it from the base model).
        config: learning settings.
        seed: the run's seed; the env rows' context streams and the sampling generator are derived from it
            (``agents.common.seeding``), so runs with different seeds share no contexts.
        evaluator: exact metrics for ``evaluate``.
    """

    def __init__(self, envs: Any, policy: Policy, config: PaperPGConfig, seed: int, evaluator: LinearEvaluator) -> None:
        self.envs, self.policy, self.config, self.evaluator = envs, policy, config, evaluator
        self.task = envs.unwrapped.task
        check_policy_fits(policy, self.task)
        self.learning_rate = learning_rate_for(config.learning_rate, policy, config.optimizer)
        self.optimizer = make_optimizer(config.optimizer, policy.parameters(), self.learning_rate)
        self.generator = torch.Generator(device=policy.device).manual_seed(derive_seed(seed, "sampling"))
        self._env_seed: list[int] | None = row_seeds(seed, envs.num_envs, "env")
        self.reward_queries = 0
        self.difficulty = (
            Difficulty(config.difficulty, envs, policy, seed, group_size=1) if config.difficulty.active else None
        )

    def train_step(self, step: int) -> dict[str, Any]:
        shaping: dict[str, Any] = {}
        if self.difficulty is None:
            batch = rollout(self.envs, self.policy, self.generator, seed=self._env_seed)
            self._env_seed = None
        else:  # contexts from the difficulty's own stream; dropped batches' queries are in the count
            groups, shaping = self.difficulty.sample(self.policy, self.generator, self.envs.num_envs, 1)
            batch = groups.rollout
        self.reward_queries += batch.reward_queries
        advantages = paper_advantages(batch.rewards, batch.generated, self.task.reward, self.config.baseline)
        if batch.table is not None:  # on-policy: the behaviour's table is the policy's own
            grads = self.policy.score_from_table(batch.contexts, batch.tokens, batch.table, advantages, batch.generated)
        else:
            grads = self.policy.score(batch.contexts, batch.tokens, batch.probs, advantages)
        scale = 1.0 / batch.tokens.numel()
        set_gradient(self.policy, [-g * scale for g in grads])  # loss = -mean(A log p)
        self.optimizer.step()
        metrics = {
            "train/reward": float(batch.returns.mean()),
            "train/success_rate": float(batch.success.float().mean()),
            "train/reward_queries": self.reward_queries,
            "train/grad_norm": grad_norm(grads) * scale,
            "train/learning_rate": self.learning_rate,
        }
        if self.difficulty is not None:
            metrics.update(shaping)
            metrics.update(self.difficulty.after_update(shaping["difficulty/drawn_success_rate"]))
        return metrics

    def evaluate(self) -> dict[str, Any]:
        return {**self.evaluator(self.policy), "train/reward_queries": self.reward_queries}

    def state_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "generator": self.generator.get_state(),
            "env_random_state": env_random_state(self.envs),
            "env_seed": self._env_seed,
            "reward_queries": self.reward_queries,
            "env_reward_queries": env_query_count(self.envs),
            "config": asdict(self.config),
            "difficulty": None if self.difficulty is None else self.difficulty.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.policy.load_state_dict(state["policy"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.generator.set_state(state["generator"])
        set_env_random_state(self.envs, state["env_random_state"])
        self._env_seed = state["env_seed"]
        self.reward_queries = int(state["reward_queries"])
        set_env_query_count(self.envs, state["env_reward_queries"])
        if self.difficulty is not None:
            self.difficulty.load_state_dict(state["difficulty"])

    def summary(self) -> dict[str, Any]:
        """``difficulty_summary``: the env queries of the curriculum's level envs too, where there are any."""
        return difficulty_summary(self.envs, self.difficulty)
