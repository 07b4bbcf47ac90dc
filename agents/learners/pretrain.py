"""Supervised pre-training of the base model on (x, y*) pairs: the paper's Adagrad experiment and the
theory's SGD with the adaptive step 1/(4 + 2 ||g||^2) (arXiv 2603.06957)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import torch

from agents.common.config_checks import check_at_least, check_positive, check_types
from agents.learners.contract import Trainable
from agents.learners.training import check_policy_fits, make_optimizer, set_gradient, task_of
from agents.policy.choice import learning_rate_for
from agents.policy.evaluation import LinearEvaluator
from agents.policy.network_policy import NetworkPolicy, Policy
from agents.rules.adaptive import adaptive_step, grad_norm


@dataclass(frozen=True)
class PretrainConfig:
    """Settings of supervised pre-training."""

    batch_size: int = 256
    """Fresh (x, y*) pairs per update (the adaptive SGD uses one pair per update and ignores this)."""
    learning_rate: float | None = None
    """Adagrad's learning rate (paper: 0.1); None: the policy's pre-training default
    (``agents.policy.choice.DEFAULT_LEARNING_RATES``: 0.1, the paper's, for every policy kind)."""
    method: Literal["adagrad", "adaptive_sgd"] = "adagrad"
    """'adagrad': token-level cross-entropy averaged over batch and tokens (the paper's experiment);
    'adaptive_sgd': one pair per step, w <- w + g / (4 + 2 ||g||^2), g the score of log p(y*|x)."""

    def __post_init__(self) -> None:
        check_types(self)
        check_at_least(self, 1, "batch_size")
        check_positive(self, "learning_rate")


class Pretrainer(Trainable):
    """Trains ``policy`` in place on fresh contexts from the task labelled with the teacher's y* (the number
    of updates is the caller's budget: ``agents.experiment.jobs.Job`` or ``train``'s ``total_steps``).

    Args:
        envs: a vector env over the task, or the ``SequenceTask`` itself (pre-training asks no reward).
        policy: the policy, trained in place.
        config: its settings.
        seed: seeds the contexts.
        evaluator: exact metrics for ``evaluate``.
    """

    def __init__(
        self, envs: Any, policy: Policy, config: PretrainConfig, seed: int, evaluator: LinearEvaluator
    ) -> None:
        task = task_of(envs)
        check_policy_fits(policy, task)
        self.task, self.policy, self.config, self.evaluator = task, policy, config, evaluator
        self.rng = np.random.default_rng(np.random.SeedSequence(seed))
        self.learning_rate = learning_rate_for(config.learning_rate, policy, "pretrain")
        self.optimizer = make_optimizer("adagrad", policy.parameters(), self.learning_rate)
        self.reward_queries = 0  # pre-training learns from the teacher's labels and asks no reward

    def train_step(self, step: int) -> dict[str, Any]:
        batch = 1 if self.config.method == "adaptive_sgd" else self.config.batch_size
        x_np = self.task.sample_contexts(self.rng, batch)
        contexts = torch.as_tensor(x_np, device=self.policy.device)
        targets = torch.as_tensor(self.task.targets(x_np), device=self.policy.device)
        ones = torch.ones(targets.shape, device=self.policy.device)
        # Teacher forcing on y*: position i's distribution depends on (x, y*_(i-1)) only, so one
        # (B, k + 1, k) transition table serves every position (N / (k + 1) times less than (B, N, k)).
        if isinstance(self.policy, NetworkPolicy) and not self.policy.is_markov:  # the whole prefix matters
            grads = self.policy.score(contexts, targets, None, ones)
            with torch.no_grad():
                loss = -self.policy.token_log_probs(contexts, targets).mean()
        else:
            table = self.policy.transition_table(self.policy.begin(contexts))
            grads = self.policy.score_from_table(contexts, targets, table, ones, ones.bool())
            batch, length = targets.shape
            previous = torch.cat([torch.full_like(targets[:, :1], self.task.vocab_size), targets[:, :-1]], dim=1)
            chosen = table[torch.arange(batch, device=targets.device).unsqueeze(1), previous, targets]
            loss = -torch.log(chosen.clamp_min(1e-30)).mean()
        if self.config.method == "adaptive_sgd":
            rate = adaptive_step(self.policy, grads, scale=1.0)
        else:
            scale = 1.0 / targets.numel()
            set_gradient(self.policy, [-g * scale for g in grads])  # loss = -mean log p
            self.optimizer.step()
            rate = self.learning_rate
        return {
            "train/loss": float(loss),
            "train/grad_norm": grad_norm(grads) / targets.numel(),
            "train/learning_rate": rate,
        }

    def evaluate(self) -> dict[str, Any]:
        return self.evaluator(self.policy)

    def state_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "rng": self.rng.bit_generator.state,
            "config": asdict(self.config),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.policy.load_state_dict(state["policy"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.rng.bit_generator.state = state["rng"]
