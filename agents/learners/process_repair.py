"""Algorithm 2 of the paper, process repair with the process reward (arXiv 2603.06957).

For a context x: draw y from the current policy p_w; the process reward finds its first wrong position;
from there the verified prefix is extended token by token, trying at each position up to m candidate
tokens from the behaviour mixture 1/2 q0 + 1/2 uniform (mixed token by token, q0 the frozen base model)
and keeping the first one the process reward accepts. The update is the adaptive step on the repaired
(verified) sequence with advantages A_i = r_i: w <- w + g / (4 + 2 ||g||^2), g the score of the verified
prefix. m defaults to the paper's choice from the base model's token-level likelihood quantile
(``exploration.process_repair_tries``).

Every query is one env episode: ``reset(options={"context": x, "prefix": verified prefix})`` and one step
writing the candidate, which the process reward answers. The tokens of the policy's own response are
the first candidates: they are asked position by position until one is rejected (its first wrong
position), so no query is spent past it. A position never gets more than m queries, the rejected token
of the policy's response included. As in ``best_of_m``, each env row holds one context's repair, every
train step asks one query per row, and the rows whose repair ended are updated (from the current
iterate) and given fresh contexts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from agents.common.config_checks import check_positive
from agents.learners.exploration import ExplorationConfig, previous_tokens, sample_responses, sample_token_mixture
from agents.learners.theory_agent import ExploringAgent
from agents.rules.adaptive import adaptive_update, token_adaptive_update


@dataclass(frozen=True)
class ProcessRepairConfig(ExplorationConfig):
    """Settings of Algorithm 2: m queries per position at most; the paper's m is
    ceil(2 ln(N/delta) / (token-level LQ(lq_eps) + 1/k)), at most 2 k ln(N/delta)."""

    step_per_token: bool = False
    """Take the adaptive step per verified token (``exploration.token_adaptive_update``) instead of one step
    on the whole verified prefix (``exploration.adaptive_update``)."""
    step_scale: float = 1.0
    """c in the step c / (4 + 2 ||g||^2): 1 is the theory's; a larger c moves log p of the verified tokens by
    up to about c / 2 per update instead of 1 / 2."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_positive(self, "step_scale")


class ProcessRepair(ExploringAgent):
    """Algorithm 2 over the rows of a native vector env with the process reward. Built like every learner,
    ``ProcessRepair(envs, policy, config, seed, evaluator, base=None)`` (see ``ExploringAgent``)."""

    algorithm, needs_reward = "process_repair", "process"
    config: ProcessRepairConfig

    def _setup(self) -> None:
        policy = self.policy
        task = self.task
        rows, length, device = self.rows, task.seq_len, policy.device
        self.response = torch.zeros(rows, length, dtype=torch.int64, device=device)  # the policy's own
        self.on_response = torch.zeros(rows, dtype=torch.bool, device=device)  # no token of it rejected yet
        self.verified = torch.zeros(rows, length, dtype=torch.int64, device=device)
        self.lengths = torch.zeros(rows, dtype=torch.int64, device=device)  # verified prefix lengths
        self.position_queries = torch.zeros(rows, dtype=torch.int64, device=device)
        self.repairs_failed = 0
        self.repair_queries = 0
        self.max_position_queries = 0
        self._start(torch.arange(rows, device=device))

    def _start(self, rows: torch.Tensor) -> None:
        """Fresh contexts on ``rows``, each with a response drawn from the current policy."""
        if rows.numel() == 0:
            return
        index = rows.cpu().numpy()
        self.contexts[index] = self.fresh_contexts(len(index))
        contexts = self.tensor(self.contexts[index])
        self.response[rows] = sample_responses(self.policy, contexts, self.task.seq_len, self.generator)
        self.on_response[rows] = True
        self.lengths[rows] = 0
        self.position_queries[rows] = 0

    def train_step(self, step: int) -> dict[str, Any]:
        length = self.task.seq_len
        contexts = self.tensor(self.contexts)
        position = self.lengths.clamp(max=length - 1)
        own = self.response.gather(1, position.unsqueeze(1)).squeeze(1)
        previous = previous_tokens(self.verified, self.lengths)
        mixed = sample_token_mixture(
            self.base, contexts, previous, self.generator, prefixes=self.verified, lengths=self.lengths
        )
        candidates = torch.where(self.on_response, own, mixed)
        self.repair_queries += int((~self.on_response).sum())
        verified = self.verified.cpu().numpy()
        lengths = self.lengths.cpu().numpy()
        prefixes = np.split(verified[np.arange(length) < lengths[:, None]], np.cumsum(lengths)[:-1])
        accepted = self.tensor(self.query(self.contexts, prefixes, candidates.cpu().numpy()))
        self.position_queries += 1
        self.max_position_queries = max(self.max_position_queries, int(self.position_queries.max()))
        rows = torch.nonzero(accepted).squeeze(1)
        self.verified[rows, self.lengths[rows]] = candidates[rows]
        self.lengths += accepted.long()
        self.position_queries[accepted] = 0
        self.on_response &= accepted
        exhausted = ~accepted & (self.position_queries >= self.tries)
        done = (self.lengths == length) | exhausted
        metrics: dict[str, Any] = {}
        learn = torch.nonzero(done & (self.lengths > 0)).squeeze(1)
        if learn.numel():
            weights = (torch.arange(length, device=contexts.device) < self.lengths[learn].unsqueeze(1)).float()
            scale = self.config.step_scale
            if self.config.step_per_token:
                step_sizes = token_adaptive_update(self.policy, contexts[learn], self.verified[learn], weights, scale)
            else:
                rows_scale = torch.full((learn.numel(),), scale, dtype=weights.dtype, device=weights.device)
                step_sizes = scale * adaptive_update(
                    self.policy, contexts[learn], self.verified[learn], weights, rows_scale
                )
            self.updates += learn.numel()
            metrics["train/step_size"] = float(
                step_sizes[weights > 0].mean() if step_sizes.ndim == 2 else step_sizes.mean()
            )
        self.repairs_failed += int(exhausted.sum())
        self._start(torch.nonzero(done).squeeze(1))
        return {
            **metrics,
            "train/reward_queries": self.reward_queries,
            "train/updates": self.updates,
            "train/repairs_failed": self.repairs_failed,
            "train/repair_queries": self.repair_queries,
            "train/max_position_queries": self.max_position_queries,
            "train/tries": self.tries,
        }

    def state_dict(self) -> dict[str, Any]:
        tensors = ("response", "on_response", "verified", "lengths", "position_queries")
        return {
            **super().state_dict(),
            **{name: getattr(self, name).cpu().clone() for name in tensors},
            "contexts": torch.from_numpy(self.contexts.copy()),  # a tensor: loadable with weights_only=True
            "counters": (self.repairs_failed, self.repair_queries, self.max_position_queries),
            "tries": self.tries,
            "config": asdict(self.config),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        for name in ("response", "on_response", "verified", "lengths", "position_queries"):
            getattr(self, name).copy_(state[name])
        self.contexts[:] = np.asarray(state["contexts"])
        self.repairs_failed, self.repair_queries, self.max_position_queries = state["counters"]
        self.tries = int(state["tries"])
