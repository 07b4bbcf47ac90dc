"""PG with the theory's adaptive learning rate (arXiv 2603.06957): one response per context,
rewards read as r in {0, 1}, w <- w + r g / (4 + 2 ||g||^2) with g the score of the sampled response.

With the outcome reward g_A = r * grad log p_w(y|x); with the process reward the advantages are the
prefix rewards, A_i = r_i, and g_A = sum_i r_i grad log p_w(y_i | x, y_<i); in both cases the step is
g_A / (4 + 2 ||g_A||^2). The theory's output is a uniformly drawn iterate: the agent keeps one by
reservoir sampling over w_0, ..., w_t and reports its test error beside the last iterate's. A train
step rolls out ``num_envs`` fresh contexts through the env and takes their per-sample steps from the
same iterate (one context per step, ``num_envs = 1``, is the paper's algorithm). Under the outcome
reward every wrong response is an online-learning mistake, counted in ``train/mistakes``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from agents.common.config_checks import check_types
from agents.learners.theory_agent import TheoryAgent
from agents.policy.evaluation import LinearEvaluator
from agents.policy.network_policy import Policy
from agents.policy.rollout import rollout
from agents.rules.adaptive import adaptive_update
from agents.rules.advantages import theory_advantages


@dataclass(frozen=True)
class AdaptivePGConfig:
    """Settings of PG with the adaptive learning rate."""

    uniform_iterate: bool = True
    """Keep a uniformly drawn iterate (reservoir sampling) and report its test error too."""

    def __post_init__(self) -> None:
        check_types(self)


class AdaptivePG(TheoryAgent):
    """On-policy PG with the adaptive step, through a native vector env with either reward.

    Args:
        envs: ``SequenceVectorEnv``; ``num_envs`` fresh contexts per train step.
        policy: p_w, trained in place.
        config: settings.
        seed: seeds contexts, sampling and the uniformly drawn iterate.
        evaluator: exact metrics for ``evaluate``.
    """

    def __init__(
        self, envs: Any, policy: Policy, config: AdaptivePGConfig, seed: int, evaluator: LinearEvaluator
    ) -> None:
        super().__init__(envs, policy, seed, evaluator, reward=None)
        self.config = config
        self.mistakes = 0
        self.iterates = 1  # w_0 .. w_t seen so far
        self.drawn_iterate = policy.copy()
        self.drawn_step = 0

    def train_step(self, step: int) -> dict[str, Any]:
        contexts = self.fresh_contexts(self.rows)
        batch = rollout(self.envs, self.policy, self.generator, contexts=contexts)
        self.reward_queries += batch.reward_queries
        advantages = theory_advantages(
            batch.rewards, batch.success, batch.generated, self.task.reward, self.task.reward_high
        )
        rewarded = advantages.sum(dim=1) > 0
        step_sizes = adaptive_update(self.policy, batch.contexts, batch.tokens, advantages, probs=batch.probs)
        self.updates += int(rewarded.sum())
        self.mistakes += int((~batch.success).sum())
        self._draw_iterate(step + 1)
        return {
            "train/reward": float(batch.returns.mean()),
            "train/success_rate": float(batch.success.float().mean()),
            "train/reward_queries": self.reward_queries,
            "train/updates": self.updates,
            "train/mistakes": self.mistakes,
            "train/step_size": float(step_sizes[rewarded].mean()) if rewarded.any() else 0.0,
        }

    def _draw_iterate(self, step: int) -> None:
        """Reservoir sampling: after w_t, the kept iterate is uniform over w_0, ..., w_t."""
        self.iterates += 1
        if self.config.uniform_iterate and self.aux_rng.random() < 1.0 / self.iterates:
            self.drawn_iterate.load_state_dict(self.policy.state_dict())
            self.drawn_step = step

    def evaluate(self) -> dict[str, Any]:
        metrics = {**super().evaluate(), "train/mistakes": self.mistakes}
        if self.config.uniform_iterate:
            drawn = self.evaluator(self.drawn_iterate)
            metrics["eval/uniform_iterate_test_error"] = drawn["eval/test_error"]
            metrics["eval/uniform_iterate_step"] = self.drawn_step
        return metrics

    def state_dict(self) -> dict[str, Any]:
        return {
            **super().state_dict(),
            "mistakes": self.mistakes,
            "iterates": self.iterates,
            "drawn_iterate": self.drawn_iterate.state_dict(),
            "drawn_step": self.drawn_step,
            "config": asdict(self.config),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.mistakes = int(state["mistakes"])
        self.iterates = int(state["iterates"])
        self.drawn_iterate.load_state_dict(state["drawn_iterate"])
        self.drawn_step = int(state["drawn_step"])
