"""Group policy gradient: REINFORCE, RLOO, GRPO, Dr. GRPO and OBLR-PO on B contexts x G responses per step.

One learning rule, one estimator per method (``METHODS``): every method samples the same way
(``agents.learners.group_sampling``), forms its advantages A_bi (``agents.rules.group_advantages``) and ascends
g = 1/(B G) sum_{b,i} A_bi s_bi, s_bi the score of response i to context b, computed in closed form per
context so that the spread of the B per-context estimates g_b gives the gradient's trace variance and
SNR at no extra cost. Choices shared by every method:

- No length normalisation: every response has exactly N tokens here, so GRPO's 1/|y| is the constant
  1/N and would only rescale the learning rate, which is tuned per method anyway.
- Plain SGD by default for every method, so that the comparison isolates the estimators and OBLR-PO's
  learning-rate rule (Adam would rescale each coordinate by the gradient's own noise).
- Options for any method (GRPO's usual settings): the clipped importance ratio of PPO with several
  epochs per batch, and a KL penalty to the base model with the k3 estimator
  p_ref/p - log(p_ref/p) - 1 per token, whose score-function gradient is (1 - p_ref/p) grad log p.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from agents.common.config_checks import check_choice, check_interval, check_positive, check_types
from agents.learners.contract import Trainable
from agents.learners.difficulty import Difficulty, DifficultyConfig, difficulty_summary
from agents.learners.group_sampling import GroupBatch, sample_groups, token_entropy
from agents.learners.training import (
    OPTIMIZERS,
    check_policy_fits,
    env_query_count,
    make_optimizer,
    set_env_query_count,
    set_gradient,
)
from agents.policy.choice import learning_rate_for
from agents.policy.evaluation import LinearEvaluator
from agents.policy.linear import LinearPolicy
from agents.policy.network_policy import Policy, unflatten
from agents.rules.group_advantages import BASELINE_WEIGHTS, baseline_weights, group_advantages
from agents.rules.snr import SNR_ESTIMATORS, SNRLearningRate, gradient_statistics
from agents.rules.surrogates import clipped_ratio_weights, kl_penalty_weights

# method -> the estimator of its advantages (agents.rules.group_advantages); OBLR-PO's is set by ``oblr_baseline``.
METHODS: dict[str, str] = {
    "reinforce": "reinforce",
    "reinforce_mean": "batch_mean",
    "rloo": "rloo",
    "grpo": "grpo",
    "dr_grpo": "dr_grpo",
    "oblr_po": "weighted_leave_one_out",
    "oblr_baseline": "weighted_leave_one_out",  # ablation: OBLR-PO's baseline at a fixed learning rate
}
SNR_RATE_METHODS = ("oblr_po",)
OBLR_BASELINES = {"leave_one_out": "weighted_leave_one_out", "self_including": "weighted_self_including"}
# Unbiased estimators whose trace variance is also measured on every batch, at the same policy and on
# the same samples (a paired comparison, free of the trajectories' differences).
PAIRED_ESTIMATORS = ("reinforce", "rloo", "weighted_leave_one_out")


@dataclass(frozen=True)
class GroupPGConfig:
    """Settings of a group policy-gradient method."""

    method: str = "oblr_po"
    """One of reinforce, reinforce_mean, rloo, grpo, dr_grpo, oblr_po, oblr_baseline."""
    learning_rate: float | None = None
    """Learning rate (for oblr_po: eta_max, the rate at infinite SNR); None: the policy's default under the
    optimiser (``agents.policy.choice.DEFAULT_LEARNING_RATES``)."""
    num_contexts: int = 16
    """B, contexts per step."""
    group_size: int = 8
    """G, responses per context."""
    optimizer: str = "sgd"
    """'sgd' (default for every method, OBLR-PO's choice), 'adagrad' or 'adam'."""
    epochs: int = 1
    """Updates per batch; after the first the clipped importance ratio is used."""
    clip_epsilon: float = 0.0
    """PPO/GRPO ratio clipping to [1 - eps, 1 + eps] (0: no clipping)."""
    kl_coef: float = 0.0
    """beta of the KL penalty to the base model (k3 estimator; 0: none)."""
    std_epsilon: float = 1e-4
    """GRPO's eps in (r - mean) / (std + eps)."""
    oblr_baseline: str = "leave_one_out"
    """OBLR-PO's baseline: 'leave_one_out' (unbiased) or 'self_including' (the response itself counted)."""
    baseline_weights: str = "score_norm"
    """OBLR-PO's weights: 'score_norm' (exact ||s||^2) or 'logit_residual' (cheaper proxy)."""
    eta_min_fraction: float = 0.01
    """OBLR-PO: eta_min = eta_min_fraction * eta_max."""
    snr_smoothing: float = 0.9
    """OBLR-PO: beta of the SNR's exponential average."""
    snr_estimator: str = "plain"
    """OBLR-PO: 'plain' (||g||^2 / (tr Cov / B)) or 'debiased' (tr Cov / B subtracted from the numerator)."""
    paired_diagnostics: bool = True
    """Also log the trace variance of REINFORCE, RLOO and OBLR-PO's estimator on every batch."""
    difficulty: DifficultyConfig = DifficultyConfig()
    """Dynamic sampling, a difficulty filter and a curriculum (``agents.learners.difficulty``; off by default)."""

    def __post_init__(self) -> None:
        choices = {
            "method": METHODS,
            "optimizer": OPTIMIZERS,
            "oblr_baseline": OBLR_BASELINES,
            "baseline_weights": BASELINE_WEIGHTS,
            "snr_estimator": SNR_ESTIMATORS,
        }
        check_types(self)
        for name, allowed in choices.items():
            check_choice(self, name, allowed)
        check_positive(self, "learning_rate", "std_epsilon")
        check_interval(self, "snr_smoothing", 0.0, 1.0, high_open=True)
        if self.num_contexts < 2:
            raise ValueError(
                f"num_contexts must be >= 2 (the gradient's spread across contexts), got {self.num_contexts!r}"
            )
        if self.group_size < 2:
            raise ValueError(f"group_size must be >= 2 (group baselines), got {self.group_size!r}")
        if self.epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs!r}")
        if not 0 <= self.clip_epsilon < 1 or self.kl_coef < 0 or not 0 < self.eta_min_fraction <= 1:
            raise ValueError(
                "need 0 <= clip_epsilon < 1, kl_coef >= 0 and 0 < eta_min_fraction <= 1, got "
                f"{self.clip_epsilon!r}, {self.kl_coef!r}, {self.eta_min_fraction!r}"
            )

    @property
    def estimator(self) -> str:
        """The advantage estimator of ``agents.rules.group_advantages`` this method uses."""
        if self.method in ("oblr_po", "oblr_baseline"):
            return OBLR_BASELINES[self.oblr_baseline]
        return METHODS[self.method]


class GroupPG(Trainable):
    """Trains ``policy`` in place with one group method; ``envs.num_envs`` must be B * G.

    Args:
        envs: the native vector env over the task (its reward kind decides ORM / PRM).
        policy: the policy, started from the base model (also the KL penalty's reference).
        config: the method and its settings.
        seed: seeds the contexts (numpy) and the token sampling (torch).
        evaluator: exact metrics for ``evaluate``.
    """

    def __init__(self, envs: Any, policy: Policy, config: GroupPGConfig, seed: int, evaluator: LinearEvaluator) -> None:
        check_policy_fits(policy, envs.unwrapped.task if hasattr(envs, "unwrapped") else envs.task)
        self.envs, self.policy, self.config, self.evaluator = envs, policy, config, evaluator
        self.reference = policy.copy()
        context_seed, sampling_seed = np.random.SeedSequence(seed).spawn(2)
        self.context_rng = np.random.default_rng(context_seed)
        self.generator = torch.Generator(device=policy.device).manual_seed(int(sampling_seed.generate_state(1)[0]))
        self.learning_rate = learning_rate_for(config.learning_rate, policy, config.optimizer)
        self.optimizer = make_optimizer(config.optimizer, policy.parameters(), self.learning_rate)
        self.rate = SNRLearningRate(
            eta_max=self.learning_rate,
            eta_min=config.eta_min_fraction * self.learning_rate,
            smoothing=config.snr_smoothing,
            estimator=config.snr_estimator,
        )
        self.reward_queries = 0
        self.skipped_updates = 0
        self.difficulty = (
            Difficulty(config.difficulty, envs, policy, seed, group_size=config.group_size)
            if config.difficulty.active
            else None
        )

    def train_step(self, step: int) -> dict[str, Any]:
        config = self.config
        shaping: dict[str, Any] = {}
        if self.difficulty is None:
            groups = sample_groups(
                self.envs, self.policy, self.generator, self.context_rng, config.num_contexts, config.group_size
            )
        else:  # dropped or filtered groups' queries are in the batch's count
            groups, shaping = self.difficulty.sample(
                self.policy, self.generator, config.num_contexts, config.group_size
            )
        batch = groups.rollout
        self.reward_queries += batch.reward_queries
        rewards = groups.sequence_rewards
        weights = (
            baseline_weights(
                self.policy, batch.contexts, batch.tokens, batch.probs, batch.generated, config.baseline_weights
            )
            if "weighted" in config.estimator
            else None
        )
        advantages, baselines = group_advantages(
            rewards, config.estimator, weights.view_as(rewards) if weights is not None else None, config.std_epsilon
        )
        mask = batch.generated.double()
        old_log_probs = torch.log(
            batch.probs.double().gather(-1, batch.tokens.unsqueeze(-1)).squeeze(-1).clamp_min(1e-300)
        )
        reference_log_probs = self.reference.token_log_probs(batch.contexts, batch.tokens).double()
        kl_weights = kl_penalty_weights(old_log_probs, reference_log_probs, config.kl_coef)
        token_weights = (advantages.reshape(-1, 1) + kl_weights) * mask
        per_context = self._per_context_gradients(groups, token_weights)
        statistics = gradient_statistics(per_context)
        rate = self.rate(statistics) if config.method in SNR_RATE_METHODS else self.learning_rate
        for group in self.optimizer.param_groups:
            group["lr"] = rate
        update = per_context.mean(dim=0)
        self._ascend(update)
        clip_fraction = [
            self._ratio_epoch(groups, advantages, old_log_probs, reference_log_probs) for _ in range(config.epochs - 1)
        ]
        metrics: dict[str, Any] = {
            "train/reward": float(rewards.mean()),
            "train/success_rate": float(batch.success.double().mean()),
            "train/reward_queries": self.reward_queries,
            "train/skipped_updates": self.skipped_updates,
            "train/learning_rate": rate,
            "train/grad_norm": statistics.sq_norm**0.5,
            "diag/trace_variance": statistics.trace_variance,
            "diag/snr": statistics.snr,
            "diag/snr_debiased": statistics.debiased_snr,
            "diag/baseline": float(baselines.mean()),
            "diag/advantage_abs": float(advantages.abs().mean()),
            "diag/equal_reward_groups": groups.equal_reward_fraction,
            "diag/entropy": token_entropy(batch),
            "diag/kl_to_base": float(_k3(old_log_probs, reference_log_probs, mask)),
        }
        if config.method in SNR_RATE_METHODS:
            metrics["diag/snr_smoothed"] = self.rate.smoothed_snr
        if clip_fraction:
            metrics["diag/clip_fraction"] = float(np.mean(clip_fraction))
        if config.paired_diagnostics:
            metrics.update(self._paired_diagnostics(groups, rewards, weights, mask))
        if self.difficulty is not None:
            metrics.update(shaping)
            metrics.update(self.difficulty.after_update(shaping["difficulty/drawn_success_rate"]))
        return metrics

    # ----- the pieces of a step -------------------------------------------------------------------
    def _per_context_gradients(self, groups: GroupBatch, token_weights: torch.Tensor) -> torch.Tensor:
        """g_b = 1/G sum_i (token-weighted score of response i): ``(B, D)`` float64, D the number of parameters
        (closed form for the linear policy, ``torch.func`` per group for a network)."""
        batch = groups.rollout
        if isinstance(self.policy, LinearPolicy):
            probs = batch.probs.double()
            per_group = self.policy.group_scores(
                batch.contexts, batch.tokens, probs, token_weights, groups.num_contexts
            )
        else:
            per_group = self.policy.group_scores(batch.contexts, batch.tokens, None, token_weights, groups.num_contexts)
        return per_group.double() / groups.group_size

    def _ascend(self, update: torch.Tensor) -> None:
        """One optimiser step along the flattened ascent direction ``update``.

        A step that would leave a parameter non-finite (a learning rate far too large, e.g. in a grid
        search) is undone and counted in ``train/skipped_updates`` instead of poisoning the run.
        """
        ascent = unflatten(self.policy, update)
        before = [parameter.detach().clone() for parameter in self.policy.parameters()]
        set_gradient(self.policy, [-block for block in ascent])  # optimisers minimise -J
        self.optimizer.step()
        if not all(bool(torch.isfinite(parameter).all()) for parameter in self.policy.parameters()):
            for parameter, saved in zip(self.policy.parameters(), before, strict=True):
                parameter.data.copy_(saved)
            self.skipped_updates += 1

    def _ratio_epoch(
        self,
        groups: GroupBatch,
        advantages: torch.Tensor,
        old_log_probs: torch.Tensor,
        reference_log_probs: torch.Tensor,
    ) -> float:
        """A further update on the same batch with PPO's clipped ratio per token; returns the clipped share."""
        batch, epsilon = groups.rollout, self.config.clip_epsilon
        mask = batch.generated.double()
        probs = self.policy.token_probs(batch.contexts, batch.tokens).double()
        log_probs = torch.log(probs.gather(-1, batch.tokens.unsqueeze(-1)).squeeze(-1).clamp_min(1e-300))
        advantage = advantages.reshape(-1, 1).expand_as(log_probs)
        weights, active = clipped_ratio_weights(log_probs, old_log_probs, advantage, epsilon)
        weights = (weights + kl_penalty_weights(log_probs, reference_log_probs, self.config.kl_coef)) * mask
        grads = self.policy.score(batch.contexts, batch.tokens, probs, weights)  # type: ignore[arg-type]
        rows = groups.num_contexts * groups.group_size
        self._ascend(torch.cat([g.reshape(-1) for g in grads]) / rows)
        return float(((~active).double() * mask).sum() / mask.sum())

    def _paired_diagnostics(
        self, groups: GroupBatch, rewards: torch.Tensor, weights: torch.Tensor | None, mask: torch.Tensor
    ) -> dict[str, float]:
        """Trace variance and SNR of each unbiased estimator on this very batch (exact score-norm weights)."""
        if weights is None or self.config.baseline_weights != "score_norm":
            batch = groups.rollout
            weights = baseline_weights(self.policy, batch.contexts, batch.tokens, batch.probs, batch.generated)
        out: dict[str, float] = {}
        for estimator in PAIRED_ESTIMATORS:
            advantages = group_advantages(rewards, estimator, weights.view_as(rewards)).advantages
            statistics = gradient_statistics(self._per_context_gradients(groups, advantages.reshape(-1, 1) * mask))
            out[f"paired/trace_variance/{estimator}"] = statistics.trace_variance
            out[f"paired/snr/{estimator}"] = statistics.snr
        return out

    # ----- evaluation and persistence -------------------------------------------------------------
    def evaluate(self) -> dict[str, Any]:
        return {**self.evaluator(self.policy), "train/reward_queries": self.reward_queries}

    def state_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy.state_dict(),
            "reference": self.reference.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "generator": self.generator.get_state(),
            "context_rng": self.context_rng.bit_generator.state,
            "rate": self.rate.state_dict(),
            "reward_queries": self.reward_queries,
            "env_reward_queries": env_query_count(self.envs),
            "skipped_updates": self.skipped_updates,
            "config": asdict(self.config),
            "difficulty": None if self.difficulty is None else self.difficulty.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.policy.load_state_dict(state["policy"])
        self.reference.load_state_dict(state["reference"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.generator.set_state(state["generator"])
        self.context_rng.bit_generator.state = state["context_rng"]
        self.rate.load_state_dict(state["rate"])
        self.reward_queries = int(state["reward_queries"])
        set_env_query_count(self.envs, state["env_reward_queries"])
        self.skipped_updates = int(state["skipped_updates"])
        if self.difficulty is not None:
            self.difficulty.load_state_dict(state["difficulty"])

    def summary(self) -> dict[str, Any]:
        """``difficulty_summary``: the env queries of the curriculum's level envs too, where there are any."""
        return difficulty_summary(self.envs, self.difficulty)


def _k3(log_probs: torch.Tensor, reference_log_probs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean per-token k3 estimate of KL(p || p_ref) over the generated positions."""
    log_ratio = reference_log_probs - log_probs
    return ((torch.exp(log_ratio) - log_ratio - 1.0) * mask).sum() / mask.sum().clamp_min(1.0)
