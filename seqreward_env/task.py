"""The task: a teacher, its greedy target, margins, rewards and exact evaluation, as batched numpy functions.

A ``SequenceTask`` is fixed at construction from its own seed (teacher, test set, margin check); the
per-episode randomness (which contexts are asked) belongs to the environments. Both envs call the same
methods here, so the task logic exists once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from seqreward_env import evaluation
from seqreward_env._checks import check_array, check_int, check_memory, check_real
from seqreward_env.contexts import (
    MIXTURE_COMPONENTS,
    MIXTURE_SIGMA,
    ContextDistribution,
    MixtureContexts,
    PoolContexts,
    make_distribution,
)
from seqreward_env.paper import paper_task_arrays
from seqreward_env.targets import greedy_targets

REWARDS = ("outcome", "process")

# How many contexts the margin check at construction draws, and the smallest acceptance rate it allows:
# below 1%, rejection sampling would spend more than 100 draws per emitted context.
MARGIN_PROBE_SIZE = 4096
MARGIN_MIN_ACCEPTANCE = 0.01
MARGIN_MAX_REDRAWS = 10_000
# Entries of the (contexts, N, k) scores computed at once in `margins`.
MARGIN_CHUNK_ENTRIES = 1 << 20


class SequenceTask:
    """A length-N sequence task over a vocabulary of k tokens with contexts in R^d.

    Args:
        seq_len: N >= 1, the response length.
        vocab_size: k >= 2.
        context_dim: d >= 1.
        contexts: "mixture" (the paper's default), "rademacher", or an array ``(num_contexts, d)`` pool.
        num_components: M, the mixture's number of components.
        sigma: the mixture's noise scale.
        teacher: optional ``(W1*, W2*)`` with shapes ``(k, d)`` and ``(k, k)``; drawn i.i.d. N(0, 1)
            from ``task_seed`` when absent; ``"paper"`` for the official code's seed-0 teacher of the
            paper's Figure 1 (needs k = d = 32), whose test set then becomes the task's test set.
        task_seed: seed of everything fixed about the task (teacher, test sets, the margin probe).
        test_set: optional ``(n, d)`` contexts that ``test_contexts`` returns (its first rows) instead of
            drawing them from ``task_seed``.
        margin: optional gamma > 0: every context the task emits then has margin >= gamma.
        reward: "outcome" or "process".
        reward_values: ``(low, high)`` with low < high; the paper's experiments use (-1, 1).
    """

    def __init__(
        self,
        seq_len: int = 6,
        vocab_size: int = 4,
        context_dim: int = 8,
        contexts: Any = "mixture",
        num_components: int = MIXTURE_COMPONENTS,
        sigma: float = MIXTURE_SIGMA,
        teacher: tuple[Any, Any] | None = None,
        task_seed: int = 0,
        margin: float | None = None,
        reward: str = "outcome",
        reward_values: tuple[float, float] = (0.0, 1.0),
        test_set: Any = None,
    ) -> None:
        self.seq_len = check_int("seq_len", seq_len, 1)
        self.vocab_size = check_int("vocab_size", vocab_size, 2)
        self.context_dim = check_int("context_dim", context_dim, 1)
        _check_task_memory(self.seq_len, self.vocab_size, self.context_dim)
        self.task_seed = check_int("task_seed", task_seed, 0)
        if reward not in REWARDS:
            raise ValueError(f"reward must be one of {REWARDS}, got {reward!r}")
        self.reward = reward
        self.reward_low, self.reward_high = _check_reward_values(reward_values)
        self.distribution: ContextDistribution = make_distribution(contexts, self.context_dim, num_components, sigma)
        seeds = np.random.SeedSequence(self.task_seed).spawn(3)
        self._test_seed, probe_seed = seeds[1], seeds[2]
        k, d = self.vocab_size, self.context_dim
        if isinstance(teacher, str):
            if teacher != "paper" or (k, d) != (32, 32):
                raise ValueError(
                    f"teacher must be None, a pair (W1*, W2*) or 'paper' (with vocab_size=32 and context_dim=32), "
                    f"got {teacher!r} with vocab_size={k}, context_dim={d}"
                )
            arrays = paper_task_arrays()
            teacher = (arrays.teacher_w1, arrays.teacher_w2)
            if test_set is None:
                test_set = arrays.test_contexts
        if teacher is None:
            rng = np.random.default_rng(seeds[0])
            self.teacher_w1 = rng.standard_normal((k, d))
            self.teacher_w2 = rng.standard_normal((k, k))
        else:
            if not isinstance(teacher, (tuple, list)) or len(teacher) != 2:
                raise ValueError(
                    f"teacher must be a pair (W1*, W2*) of shapes ({k}, {d}) and ({k}, {k}), got {teacher!r}"
                )
            self.teacher_w1 = check_array("teacher[0] (W1*)", teacher[0], (k, d))
            self.teacher_w2 = check_array("teacher[1] (W2*)", teacher[1], (k, k))
        self.margin_condition: float | None = None
        if margin is not None:
            self._impose_margin(check_real("margin", margin, 0.0, strict=True), probe_seed)
        self.test_set: np.ndarray | None = None
        if test_set is not None:
            self.test_set = self.check_context("test_set", test_set).reshape(-1, d)

    # ----- contexts -------------------------------------------------------------------------------
    @property
    def context_bound(self) -> float:
        """Every coordinate of every context lies in [-context_bound, context_bound]."""
        return self.distribution.bound

    @property
    def centres(self) -> np.ndarray:
        """The mixture's noise-free centres ``(M, d)`` float32 (the contexts tracked in Figure 1)."""
        if not isinstance(self.distribution, MixtureContexts):
            raise ValueError(f"centres exist only for contexts='mixture', this task uses {self.distribution.name!r}")
        return self.distribution.centres

    def sample_contexts(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` contexts with one generator, honouring the margin condition: ``(n, d)`` float32."""
        return self._accept(self.distribution.sample(rng, n), lambda rows: self.distribution.sample(rng, len(rows)))

    def sample_context_rows(self, rngs: list[np.random.Generator]) -> np.ndarray:
        """Draw row i from ``rngs[i]`` (as independent single envs would), honouring the margin condition."""
        return self._accept(
            self.distribution.sample_rows(rngs), lambda rows: self.distribution.sample_rows([rngs[i] for i in rows])
        )

    def test_contexts(self, n: int = 1024) -> np.ndarray:
        """A fixed test set of ``n`` contexts: the first ``n`` of the given ``test_set``, else drawn from
        ``task_seed``: ``(n, d)`` float32."""
        n = check_int("n", n, 1)
        if self.test_set is not None:
            if n > len(self.test_set):
                raise ValueError(f"n must be at most {len(self.test_set)}, the size of this task's test_set, got {n}")
            return self.test_set[:n].copy()
        return self.sample_contexts(np.random.default_rng(self._test_seed), n)

    def check_context(self, name: str, value: Any) -> np.ndarray:
        """Validate a user-given context (or ``(n, d)`` batch): shape, finiteness, bounds, margin."""
        array = np.asarray(value)
        shape: tuple[int | None, ...] = (self.context_dim,) if array.ndim <= 1 else (None, self.context_dim)
        x = check_array(name, value, shape).astype(np.float32)
        if np.abs(x).max(initial=0.0) > self.context_bound:
            raise ValueError(
                f"{name} entries must lie in [-{self.context_bound:g}, {self.context_bound:g}], got {value!r}"
            )
        if self.margin_condition is not None:
            low = self.margins(x.reshape(-1, self.context_dim)).min()
            if low < self.margin_condition:
                raise ValueError(
                    f"{name} has margin {low:.3g} < margin={self.margin_condition:g} that this task guarantees"
                )
        return x

    def _accept(self, x: np.ndarray, redraw: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """Rejection sampling for the margin condition: redraw rows below it, each from its own stream."""
        if self.margin_condition is None:
            return x
        for _ in range(MARGIN_MAX_REDRAWS):
            rejected = np.flatnonzero(self.margins(x) < self.margin_condition)
            if rejected.size == 0:
                return x
            x[rejected] = redraw(rejected)
        raise RuntimeError(f"margin={self.margin_condition:g}: no acceptable context in {MARGIN_MAX_REDRAWS} draws")

    def _impose_margin(self, gamma: float, probe_seed: np.random.SeedSequence) -> None:
        if isinstance(self.distribution, PoolContexts):
            margins = self.margins(self.distribution.pool)
            keep = margins >= gamma
            if not keep.any():
                raise ValueError(
                    f"margin={gamma:g} is not reachable: the largest margin in the contexts pool is {margins.max():.4g}"
                )
            self.distribution = self.distribution.restricted_to(keep)
        else:
            probe = self.distribution.sample(np.random.default_rng(probe_seed), MARGIN_PROBE_SIZE)
            margins = np.sort(self.margins(probe))
            acceptance = np.mean(margins >= gamma)
            if acceptance < MARGIN_MIN_ACCEPTANCE:
                reachable = margins[int((1 - MARGIN_MIN_ACCEPTANCE) * len(margins))]
                raise ValueError(
                    f"margin={gamma:g} is not reachable efficiently for seq_len={self.seq_len}, "
                    f"vocab_size={self.vocab_size}, context_dim={self.context_dim}, contexts={self.distribution.name!r}: "
                    f"only {acceptance:.2%} of {MARGIN_PROBE_SIZE} draws reach it (largest margin seen "
                    f"{margins[-1]:.4g}); margins up to {reachable:.4g} are accepted in at least "
                    f"{MARGIN_MIN_ACCEPTANCE:.0%} of draws"
                )
        self.margin_condition = gamma

    # ----- teacher --------------------------------------------------------------------------------
    def teacher_scores(self, x: np.ndarray) -> np.ndarray:
        """The teacher's context scores W1* x: ``(n, k)`` float64 for ``(n, d)`` contexts."""
        return np.asarray(x, dtype=np.float64) @ self.teacher_w1.T

    def targets(self, x: np.ndarray) -> np.ndarray:
        """The greedy target y*(x): ``(n, N)`` int64 tokens in [0, k) for ``(n, d)`` contexts."""
        return np.ascontiguousarray(self.targets_by_position(x).T)

    def targets_by_position(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """``targets`` transposed: ``(N, n)``, row i holding token i of every context's y* (written into
        ``out``, a C-ordered ``(N, n)`` int64 array, when given); see ``seqreward_env.targets``."""
        return greedy_targets(self.teacher_scores(x), self.teacher_w2, self.seq_len, out)

    def margins(self, x: np.ndarray) -> np.ndarray:
        """The normalised margin of each context: ``(n,)`` float64.

        The smallest gap over positions i and wrong tokens j between the teacher's score of y*_i and of j
        given the correct prefix, divided by ||w*|| * max ||phi||, where ||phi||^2 = ||x||^2 + 1 at i >= 2
        and ||x||^2 at i = 1 (arXiv 2603.06957).
        """
        x = np.asarray(x, dtype=np.float64)
        rows = max(1, MARGIN_CHUNK_ENTRIES // (self.seq_len * self.vocab_size))  # bounded (rows, N, k) scores
        if len(x) > rows:
            return np.concatenate([self.margins(x[start : start + rows]) for start in range(0, len(x), rows)])
        base = self.teacher_scores(x)
        y = self.targets(x)
        scores = np.repeat(base[:, None, :], self.seq_len, axis=1)
        scores[:, 1:, :] += np.moveaxis(self.teacher_w2[:, y[:, :-1]], 0, -1)
        best = np.take_along_axis(scores, y[..., None], axis=-1)
        np.put_along_axis(scores, y[..., None], -np.inf, axis=-1)
        gap = (best[..., 0] - scores.max(axis=-1)).min(axis=1)
        w_norm = np.sqrt(np.sum(self.teacher_w1**2) + np.sum(self.teacher_w2**2))
        phi_norm = np.sqrt(np.sum(x**2, axis=1) + (1.0 if self.seq_len > 1 else 0.0))
        return gap / (w_norm * phi_norm)

    # ----- rewards --------------------------------------------------------------------------------
    def step_rewards(self, correct: np.ndarray, positions: np.ndarray | int) -> tuple[np.ndarray, np.ndarray]:
        """Score one step for a batch of rows.

        Args:
            correct: ``(n,)`` bool, whether the prefix written so far (new token included) equals y*'s.
            positions: ``(n,)`` number of tokens written after this step, in [1, N], or one int that holds
                for every row.

        Returns:
            rewards ``(n,)`` float64 and the reward queries ``(n,)`` int64 this step answered.
        """
        n = len(correct)
        if self.reward == "outcome" and isinstance(positions, int) and positions != self.seq_len:
            return np.zeros(n), np.zeros(n, dtype=np.int64)  # mid-episode: no row is scored
        verdict = np.where(correct, self.reward_high, self.reward_low)
        if self.reward == "process":
            return verdict, np.ones(n, dtype=np.int64)
        done = np.broadcast_to(np.asarray(positions) == self.seq_len, (n,))
        return np.where(done, verdict, 0.0), done.astype(np.int64)

    # ----- exact evaluation -----------------------------------------------------------------------
    def log_likelihood(self, w1: np.ndarray, w2: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Teacher-forced log p_w(y*|x) of the linear policy ``W1 (d, k)``, ``W2 (k, k)``: ``(n,)``."""
        return evaluation.linear_token_log_probs(w1, w2, x, self.targets(x)).sum(axis=1)

    def likelihood(self, w1: np.ndarray, w2: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Teacher-forced p_w(y*|x) of the linear policy: ``(n,)`` in [0, 1]."""
        return np.exp(self.log_likelihood(w1, w2, x))

    def token_min_probability(self, w1: np.ndarray, w2: np.ndarray, x: np.ndarray) -> np.ndarray:
        """min_i p_w(y*_i | x, y*_<i) of the linear policy: ``(n,)``."""
        return np.exp(evaluation.linear_token_log_probs(w1, w2, x, self.targets(x)).min(axis=1))

    def policy_token_probabilities(
        self, policy: Callable[[dict[str, np.ndarray]], np.ndarray], x: np.ndarray
    ) -> np.ndarray:
        """p(y*_i | x, y*_<i) of any policy given as ``observations -> (n, k) next-token probabilities``.

        The policy is called once per position with a batch of teacher-forced observations (the env's
        observation dict, batched). Returns ``(n, N)``.
        """
        return evaluation.policy_token_probs(policy, np.asarray(x, dtype=np.float32), self.targets(x), self.vocab_size)

    def test_error(self, likelihoods: np.ndarray) -> float:
        """1 - mean p(y*|x) over a set of contexts, from their likelihoods."""
        return float(1.0 - np.mean(likelihoods))


def _check_task_memory(seq_len: int, vocab_size: int, context_dim: int) -> None:
    """Refuse sizes whose fixed arrays would not fit, before any is allocated (float64 throughout)."""
    k = vocab_size
    check_memory(
        {"vocab_size": k, "context_dim": context_dim},
        8 * (k * context_dim + 2 * k * k),
        "the teacher (W1* (k, d), W2* (k, k)) and one context's (k, k) successor scores",
    )
    # The margin of one context holds its (N, k) scores three times over (scores, W2* columns, a copy).
    check_memory({"seq_len": seq_len, "vocab_size": k}, 3 * 8 * seq_len * k, "one context's (N, k) margin scores")


def _check_reward_values(values: Any) -> tuple[float, float]:
    if not isinstance(values, (tuple, list, np.ndarray)) or len(values) != 2:
        raise ValueError(f"reward_values must be a pair (low, high) with low < high, got {values!r}")
    low = check_real("reward_values[0] (low)", values[0])
    high = check_real("reward_values[1] (high)", values[1])
    if not low < high:
        raise ValueError(f"reward_values must be a pair (low, high) with low < high, got {values!r}")
    return low, high
