"""Exact metrics of an SB3 policy on a seqreward task: teacher-forced likelihood of y*, test error, greedy exact match.

SB3's policies define a distribution over the next token given an observation. The metrics here read
that distribution (``policy.get_distribution(obs).distribution.probs``) on teacher-forced observations,
so p(y*|x) is exact, never estimated by sampling, and comparable with every other agent of the project
(exact, as on the task object).

Recurrent policies (sb3-contrib's RecurrentPPO) carry an LSTM state along the episode. The task calls
the policy once per position, in order, on the same batch of contexts; the probability function built
here starts from a zero state at position 0 and carries the state from each teacher-forced observation to
the next, so the LSTM runs along y*'s prefix exactly as it would in an episode that wrote y*.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple, cast

import numpy as np
import torch as th
from sb3_contrib.common.recurrent.policies import RecurrentActorCriticPolicy
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.policies import BasePolicy

from seqreward_env import SequenceTask
from seqreward_env.evaluation import teacher_forced_observation

Observation = dict[str, np.ndarray]


class ExactMetrics(NamedTuple):
    """Exact metrics of a policy on a set of contexts.

    Attributes:
        likelihoods: ``(n,)`` p(y*|x) per context (product of the next-token probabilities along y*).
        token_probabilities: ``(n, N)`` p(y*_i | x, y*_<i).
        greedy_exact_match: ``(n,)`` bool, whether decoding the most probable token at every step writes y*.
    """

    likelihoods: np.ndarray
    token_probabilities: np.ndarray
    greedy_exact_match: np.ndarray

    @property
    def likelihood_mean(self) -> float:
        """Mean p(y*|x): the expected exact-match rate of sampling from the policy."""
        return float(np.mean(self.likelihoods))

    @property
    def test_error(self) -> float:
        """1 - mean p(y*|x) (the task's test error)."""
        return float(1.0 - np.mean(self.likelihoods))

    @property
    def token_min_probability_mean(self) -> float:
        """Mean over contexts of min_i p(y*_i | x, y*_<i)."""
        return float(np.mean(self.token_probabilities.min(axis=1)))

    @property
    def greedy_exact_match_rate(self) -> float:
        """Fraction of contexts on which greedy decoding writes y* exactly."""
        return float(np.mean(self.greedy_exact_match))

    def as_dict(self) -> dict[str, float]:
        """The scalar metrics by name (the keys logged under ``seqreward/``)."""
        return {
            "test_error": self.test_error,
            "likelihood_mean": self.likelihood_mean,
            "token_min_probability_mean": self.token_min_probability_mean,
            "greedy_exact_match": self.greedy_exact_match_rate,
        }


def sb3_next_token_probabilities(policy: BasePolicy | BaseAlgorithm) -> Callable[[Observation], np.ndarray]:
    """A function from batched env observations to ``(n, k)`` float64 next-token probabilities.

    Args:
        policy: an SB3 or sb3-contrib model (PPO, A2C, MaskablePPO, RecurrentPPO) or its ``.policy``.

    For a recurrent policy the function is stateful: it must be called with positions 0, 1, ..., in order,
    on the same contexts (as ``SequenceTask.policy_token_probabilities`` and ``greedy_decode`` do); each
    call at position 0 starts a fresh LSTM state.
    """
    net: BasePolicy = policy.policy if isinstance(policy, BaseAlgorithm) else policy
    if isinstance(net, RecurrentActorCriticPolicy):
        return _recurrent_probabilities(net)

    def probabilities(obs: Observation) -> np.ndarray:
        net.set_training_mode(False)
        obs_tensor, _ = net.obs_to_tensor(obs)
        with th.no_grad():
            # MaskablePPO's policy takes optional masks; without them every token is allowed, as in the env.
            distribution = cast(Any, net).get_distribution(obs_tensor)
        return distribution.distribution.probs.cpu().numpy().astype(np.float64)

    return probabilities


def _recurrent_probabilities(net: RecurrentActorCriticPolicy) -> Callable[[Observation], np.ndarray]:
    state: dict[str, Any] = {"lstm": None, "position": -1}

    def probabilities(obs: Observation) -> np.ndarray:
        positions = np.asarray(obs["position"]).reshape(-1)
        position = int(positions[0])
        if not np.all(positions == position):
            raise ValueError("a recurrent policy is evaluated on a batch at one position; got mixed positions")
        n = len(positions)
        if position == 0 or state["lstm"] is None:
            layers, _, hidden = net.lstm_hidden_state_shape
            zeros = th.zeros((layers, n, hidden), device=net.device)
            state["lstm"] = (zeros, zeros.clone())
        elif position != state["position"] + 1:
            raise ValueError(
                f"a recurrent policy must be called at positions 0, 1, ... in order; got {position} "
                f"after {state['position']}"
            )
        net.set_training_mode(False)
        obs_tensor, _ = net.obs_to_tensor(obs)
        starts = th.full((n,), float(position == 0), device=net.device)
        with th.no_grad():
            distribution, state["lstm"] = cast(Any, net).get_distribution(obs_tensor, state["lstm"], starts)
        state["position"] = position
        return distribution.distribution.probs.cpu().numpy().astype(np.float64)

    return probabilities


def greedy_decode(policy: Callable[[Observation], np.ndarray], task: SequenceTask, x: np.ndarray) -> np.ndarray:
    """Write each context's response with the most probable token at every step: ``(n, N)`` int64.

    The observations are the env's (context, tokens written so far with k for "not yet", position).
    """
    x = np.asarray(x, dtype=np.float32)
    tokens = np.full((len(x), task.seq_len), task.vocab_size, dtype=np.int64)
    for i in range(task.seq_len):
        probabilities = np.asarray(policy(teacher_forced_observation(x, tokens, i, task.vocab_size)))
        tokens[:, i] = probabilities.argmax(axis=1)
    return tokens


def evaluate_sb3_policy(
    policy: BasePolicy | BaseAlgorithm, task: SequenceTask, x: np.ndarray | None = None
) -> ExactMetrics:
    """Exact metrics of an SB3 policy on contexts ``x`` ``(n, d)`` (default: the task's 1024 test contexts)."""
    contexts = task.test_contexts(1024) if x is None else np.asarray(x, dtype=np.float32)
    probabilities = sb3_next_token_probabilities(policy)
    token_probabilities = task.policy_token_probabilities(probabilities, contexts)
    greedy = greedy_decode(probabilities, task, contexts)
    return ExactMetrics(
        likelihoods=np.prod(token_probabilities, axis=1),
        token_probabilities=token_probabilities,
        greedy_exact_match=np.all(greedy == task.targets(contexts), axis=1),
    )
