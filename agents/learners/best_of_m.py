"""Algorithm 1 of the paper, best-of-m exploration with the outcome reward (arXiv 2603.06957).

For a context x: draw y from the current policy p_w and query the outcome reward; while the response is
wrong and fewer than m extra tries were spent, draw a whole response from the behaviour mixture
1/2 q0 + 1/2 uniform (q0 the frozen base model) for the same context and query again; update with the
adaptive step w <- w + g / (4 + 2 ||g||^2) on the first correct response (g the score of log p_w(y|x)),
and not at all if none was found. m defaults to the paper's choice from the base model's likelihood
quantile (``exploration.best_of_m_tries``).

Every query is one env episode: ``reset(options={"context": x, "prefix": y[:N-1]})`` and one step
writing y_N, which the outcome reward answers for the whole response. The env's ``num_envs`` rows each
hold one context's search: every train step asks one query per row, applies the updates of the searches
that ended (from the current iterate) and gives those rows fresh contexts, whose first response is
drawn from the updated policy. With one row this is the paper's sequential algorithm; with R rows, R
searches run side by side and no query is spent on a row with nothing to ask.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from agents.learners.exploration import ExplorationConfig, sample_responses, sample_sequence_mixture
from agents.learners.theory_agent import ExploringAgent
from agents.rules.adaptive import adaptive_update


@dataclass(frozen=True)
class BestOfMConfig(ExplorationConfig):
    """Settings of Algorithm 1: m extra whole responses per context at most; the paper's m is
    ceil(2 ln(1/delta) / (LQ(lq_eps) + k^-N)), at most 2 ln(1/delta) k^N."""


class BestOfM(ExploringAgent):
    """Algorithm 1 over the rows of a native vector env with the outcome reward. Built like every learner,
    ``BestOfM(envs, policy, config, seed, evaluator, base=None)`` (see ``ExploringAgent``)."""

    algorithm, needs_reward = "best_of_m", "outcome"
    config: BestOfMConfig

    def _setup(self) -> None:
        policy = self.policy
        task = self.task
        rows, length = self.rows, task.seq_len
        self.first_response = torch.zeros(rows, length, dtype=torch.int64, device=policy.device)
        self.searching = torch.zeros(rows, dtype=torch.bool, device=policy.device)  # past the on-policy try
        self.extra_tries = torch.zeros(rows, dtype=torch.int64, device=policy.device)
        self.searches_failed = 0
        self.on_policy_correct = 0
        self.on_policy_asked = 0
        self.max_context_queries = 0
        self._start(torch.arange(rows, device=policy.device))

    def _start(self, rows: torch.Tensor) -> None:
        """Fresh contexts on ``rows``, each with its first response drawn from the current policy."""
        if rows.numel() == 0:
            return
        index = rows.cpu().numpy()
        self.contexts[index] = self.fresh_contexts(len(index))
        contexts = self.tensor(self.contexts[index])
        self.first_response[rows] = sample_responses(self.policy, contexts, self.task.seq_len, self.generator)
        self.searching[rows] = False
        self.extra_tries[rows] = 0

    def train_step(self, step: int) -> dict[str, Any]:
        contexts = self.tensor(self.contexts)
        candidates = sample_sequence_mixture(self.base, contexts, self.task.seq_len, self.generator)
        responses = torch.where(self.searching.unsqueeze(1), candidates, self.first_response)
        tokens = responses.cpu().numpy()
        correct = self.tensor(self.query(self.contexts, tokens[:, :-1], tokens[:, -1]))
        self.on_policy_correct += int((correct & ~self.searching).sum())
        self.on_policy_asked += int((~self.searching).sum())
        self.extra_tries += self.searching.long()
        exhausted = ~correct & (self.extra_tries >= self.tries)
        done = correct | exhausted
        metrics: dict[str, Any] = {}
        found = torch.nonzero(correct).squeeze(1)
        if found.numel():
            weights = torch.ones(found.numel(), self.task.seq_len, device=contexts.device)
            step_sizes = adaptive_update(self.policy, contexts[found], responses[found], weights)
            self.updates += found.numel()
            metrics["train/step_size"] = float(step_sizes.mean())
        finished = torch.nonzero(done).squeeze(1)
        if finished.numel():
            self.max_context_queries = max(self.max_context_queries, 1 + int(self.extra_tries[finished].max()))
        self.searches_failed += int(exhausted.sum())
        self.searching |= ~done
        self._start(finished)
        return {
            **metrics,
            "train/reward_queries": self.reward_queries,
            "train/updates": self.updates,
            "train/searches_failed": self.searches_failed,
            "train/on_policy_success_rate": self.on_policy_correct / max(1, self.on_policy_asked),
            "train/max_context_queries": self.max_context_queries,
            "train/tries": self.tries,
        }

    def state_dict(self) -> dict[str, Any]:
        return {
            **super().state_dict(),
            "contexts": torch.from_numpy(self.contexts.copy()),  # a tensor: loadable with weights_only=True
            "first_response": self.first_response.cpu().clone(),
            "searching": self.searching.cpu().clone(),
            "extra_tries": self.extra_tries.cpu().clone(),
            "counters": (self.searches_failed, self.on_policy_correct, self.on_policy_asked, self.max_context_queries),
            "tries": self.tries,
            "config": asdict(self.config),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.contexts[:] = np.asarray(state["contexts"])
        self.first_response.copy_(state["first_response"])
        self.searching.copy_(state["searching"])
        self.extra_tries.copy_(state["extra_tries"])
        self.searches_failed, self.on_policy_correct, self.on_policy_asked, self.max_context_queries = state["counters"]
        self.tries = int(state["tries"])
