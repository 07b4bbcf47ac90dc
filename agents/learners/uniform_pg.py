"""PG with a uniform behaviour policy, the online-learning (mistake-bound) regime, and its off-policy variant
with a clipped importance ratio (arXiv 2603.06957).

Each round a fresh context x arrives. The learner's answer is the mode of p_w, token by token; a wrong
answer is a mistake, counted from the task's ground truth (never from a reward query, and never shown to
the learner). The response that is rewarded comes from the uniform behaviour mu(y|x) = k^-N, and the
update is the theory's adaptive step on the importance-weighted policy-gradient estimate, its ratios
clipped to [1/zeta, zeta]:

    w <- w + g / (4 + 2 ||g||^2),   g = sum_i clip(rho_i, 1/zeta, zeta) A_i grad log p_w(y_i | x, y_<i),

with rewards read as {0, 1}: A_i = r on every token under the outcome reward and A_i = r_i, the prefix's
verdict, under the process reward. The ratio of a token is that of the part of the response its reward
depends on: the whole response under the outcome reward, rho = p_w(y|x) / k^-N, and the prefix y_(1:i)
under the process reward, rho_i = p_w(y_(1:i)|x) / k^-i (unbiased before clipping either way; the prefix
ratio does not let the tokens after a verified prefix scale its update). The ratio sits inside the
normalisation, as the score does in on-policy adaptive PG, so no step is longer than 1 / (2 sqrt(8))
whatever zeta; multiplying the normalised step by rho instead overshot on small tasks once rho was large.

zeta = 1 clips every ratio to 1: plain uniform-behaviour PG, which learns only from the responses a
uniform guess gets right (probability k^-N per round under the outcome reward) and so makes on the order
of k^N / gamma^2 mistakes; larger zeta moves the step towards on-policy PG's importance-weighted estimate.
A train step handles ``num_envs`` contexts from the same iterate (``num_envs = 1`` is online learning
proper: predict, query, update, one context at a time).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from agents.common.config_checks import check_at_least, check_types
from agents.learners.exploration import greedy_responses, is_high
from agents.learners.theory_agent import TheoryAgent
from agents.policy.evaluation import LinearEvaluator
from agents.policy.network_policy import Policy
from agents.rules.adaptive import adaptive_update


@dataclass(frozen=True)
class UniformPGConfig:
    """Settings of uniform-behaviour PG."""

    zeta: float = 1.0
    """Clip of the importance ratio to [1/zeta, zeta]; 1 gives plain uniform-behaviour PG."""

    def __post_init__(self) -> None:
        check_types(self)
        check_at_least(self, 1.0, "zeta")


def clipped_importance_ratio(log_target: torch.Tensor, log_behaviour: torch.Tensor, zeta: float) -> torch.Tensor:
    """exp(log_target - log_behaviour) clipped to [1/zeta, zeta], clipped in log space (no overflow)."""
    bound = math.log(zeta)
    return torch.exp((log_target - log_behaviour).clamp(min=-bound, max=bound))


def uniform_importance_ratios(token_log_probs: torch.Tensor, vocab_size: int, reward: str, zeta: float) -> torch.Tensor:
    """Clipped ratios p_w / k^-L against the uniform behaviour, one per token: ``(B, N)``.

    Args:
        token_log_probs: log p_w(y_i | x, y_<i) of the behaviour's ``(B, N)`` responses.
        vocab_size: k.
        reward: "outcome" (every token gets the whole response's ratio, L = N) or "process" (token i
            gets its prefix's ratio, L = i).
        zeta: the clip, >= 1.
    """
    if reward not in ("outcome", "process"):
        raise ValueError(f"reward must be 'outcome' or 'process', got {reward!r}")
    length = token_log_probs.shape[1]
    if reward == "outcome":
        log_target = token_log_probs.sum(dim=1, keepdim=True).expand(-1, length)
        tokens_counted = torch.full((length,), float(length), dtype=token_log_probs.dtype)
    else:
        log_target = token_log_probs.cumsum(dim=1)
        tokens_counted = torch.arange(1, length + 1, dtype=token_log_probs.dtype)
    log_behaviour = -tokens_counted.to(token_log_probs.device) * math.log(vocab_size)  # log k^-L
    return clipped_importance_ratio(log_target, log_behaviour.expand_as(log_target), zeta)


def importance_weighted_step(
    policy: Policy,
    contexts: torch.Tensor,
    tokens: torch.Tensor,
    advantages: torch.Tensor,
    zeta: float,
    reward: str,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The clipped-ratio adaptive step of the module docstring for each row, summed over rows.

    Args:
        contexts: ``(B, d)``; tokens: ``(B, N)`` int64 responses of the uniform behaviour; advantages:
            ``(B, N)`` in {0, 1}.

    Returns:
        the clipped ratios ``(B, N)`` and the step sizes 1 / (4 + 2 ||g||^2) ``(B,)``, both at the iterate
        before the step.
    """
    with torch.no_grad():
        probs = policy.token_probs(contexts, tokens)  # p_w's, computed once for the ratio and the score
        token_log_probs = probs.gather(-1, tokens.unsqueeze(-1)).squeeze(-1).log()
        ratios = uniform_importance_ratios(token_log_probs, policy.vocab_size, reward, zeta)
        step_sizes = adaptive_update(policy, contexts, tokens, advantages.to(probs.dtype) * ratios, probs=probs)
    return ratios, step_sizes


class UniformPG(TheoryAgent):
    """Uniform-behaviour PG through a native vector env with either reward, counting the learner's mistakes.

    Logs ``train/mistakes`` (rounds whose greedy answer was wrong), ``train/expected_mistakes`` (the sum of
    1 - p_w(y*|x) over rounds: the mistakes of a learner that answers with a sample of p_w),
    ``train/contexts`` (rounds so far) and, at evaluations, ``eval/greedy_test_error`` (the fraction of
    test contexts whose greedy answer is wrong).

    Args:
        envs: ``SequenceVectorEnv``; ``num_envs`` contexts per train step.
        policy: p_w, trained in place (w = 0 is the uniform start of online learning).
        config: settings.
        seed: seeds contexts and the behaviour's draws.
        evaluator: exact metrics for ``evaluate``.
    """

    def __init__(
        self, envs: Any, policy: Policy, config: UniformPGConfig, seed: int, evaluator: LinearEvaluator
    ) -> None:
        super().__init__(envs, policy, seed, evaluator, reward=None)
        self.config = config
        self.mistakes = 0
        self.expected_mistakes = 0.0
        self.contexts_seen = 0

    def train_step(self, step: int) -> dict[str, Any]:
        task, length = self.task, self.task.seq_len
        contexts = self.fresh_contexts(self.rows)
        x = self.tensor(contexts)
        targets = self.tensor(task.targets(contexts))
        # the learner answers first, from the iterate before this round's update
        answers = greedy_responses(self.policy, x, length)
        self.mistakes += int((answers != targets).any(dim=1).sum())
        with torch.no_grad():
            self.expected_mistakes += float((1.0 - self.policy.log_likelihood(x, targets).exp()).sum())
        self.contexts_seen += len(contexts)
        tokens = torch.randint(0, task.vocab_size, (self.rows, length), generator=self.generator, device=x.device)
        advantages = self.tensor(self.uniform_response_rewards(contexts, tokens.cpu().numpy()))
        ratios, step_sizes = importance_weighted_step(self.policy, x, tokens, advantages, self.config.zeta, task.reward)
        rewarded = advantages.sum(dim=1) > 0
        self.updates += int(rewarded.sum())
        metrics: dict[str, Any] = {
            "train/mistakes": self.mistakes,
            "train/expected_mistakes": self.expected_mistakes,
            "train/contexts": self.contexts_seen,
            "train/reward_queries": self.reward_queries,
            "train/updates": self.updates,
            "train/behaviour_success_rate": float(advantages[:, -1].mean()),
        }
        if rewarded.any():
            weights = advantages[rewarded]  # the ratios of the tokens that carried a reward
            metrics["train/importance_ratio"] = float((ratios[rewarded] * weights).sum() / weights.sum())
            metrics["train/step_size"] = float(step_sizes[rewarded].mean())
        return metrics

    def uniform_response_rewards(self, contexts: np.ndarray, tokens: np.ndarray) -> np.ndarray:
        """The env's verdicts on the behaviour's ``(rows, N)`` responses, read as {0, 1}: ``(rows, N)``.

        Outcome reward: the first N - 1 tokens are given as a prefix (no query) and the last one is
        stepped, one query per response, its verdict on every token. Process reward: the response is
        written token by token, one query per token, each token getting its prefix's verdict.
        """
        length = self.task.seq_len
        if self.task.reward == "outcome":
            right = self.query(contexts, tokens[:, :-1], tokens[:, -1])
            return np.repeat(right[:, None], length, axis=1).astype(np.float32)
        self.envs.reset(options={"context": contexts})
        verdicts = np.empty(tokens.shape, dtype=np.float32)
        for i in range(length):
            _, rewards, _, _, info = self.envs.step(tokens[:, i])
            verdicts[:, i] = is_high(self.task, rewards)
            self.reward_queries += int(np.sum(info.get("reward_queries", 0)))
        return verdicts

    def evaluate(self) -> dict[str, Any]:
        contexts = self.tensor(self.evaluator.test_contexts)
        answers = greedy_responses(self.policy, contexts, self.task.seq_len)
        wrong = (answers != self.tensor(self.evaluator.test_targets)).any(dim=1)
        return {
            **super().evaluate(),
            "eval/greedy_test_error": float(wrong.float().mean()),
            "train/mistakes": self.mistakes,
            "train/expected_mistakes": self.expected_mistakes,
            "train/contexts": self.contexts_seen,
        }

    def state_dict(self) -> dict[str, Any]:
        return {
            **super().state_dict(),
            "mistakes": self.mistakes,
            "expected_mistakes": self.expected_mistakes,
            "contexts_seen": self.contexts_seen,
            "config": asdict(self.config),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.mistakes = int(state["mistakes"])
        self.expected_mistakes = float(state["expected_mistakes"])
        self.contexts_seen = int(state["contexts_seen"])
