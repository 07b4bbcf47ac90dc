"""SB3 callbacks: the task's exact metrics and the reward queries spent, logged to SB3's logger (TensorBoard); a progress bar.

Scalars, beside SB3's own (``rollout/``, ``train/``, ``time/``):
    ``seqreward/test_error``                   1 - mean p(y*|x) over the test contexts
    ``seqreward/likelihood_mean``              mean p(y*|x)
    ``seqreward/token_min_probability_mean``   mean over contexts of min_i p(y*_i | x, y*_<i)
    ``seqreward/greedy_exact_match``           fraction of test contexts on which greedy decoding writes y*
    ``seqreward/pass@k``                       exact pass@k, 1 - mean (1 - p(y*|x))^k, for the configured k
    ``seqreward/cover@tau``                    share of test contexts with p(y*|x) >= tau (Cover@tau)
    ``seqreward/reward_queries``               reward queries the training env has answered so far
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import VecEnv
from tqdm.auto import tqdm

from agents.learners.sb3.evaluation import evaluate_sb3_policy
from agents.policy.coverage import COVER_TAUS, PASS_AT_K, check_ks, check_taus, coverage_metrics
from seqreward_env import SequenceTask

NAMESPACE = "seqreward"


class SB3Evaluator:
    """The task's exact metrics of an SB3 model on a fixed set of test contexts (what ``ExactMetricsCallback``
    logs and ``SB3Learner.evaluate`` returns).

    Args:
        task: the task whose exact metrics to compute.
        test_size: number of contexts taken from the task's fixed test set (ignored with ``test_contexts``).
        test_contexts: optional ``(n, d)`` contexts to evaluate on instead.
        pass_at_k: the k of the exact ``pass@k``.
        cover_taus: the tau of ``cover@tau``.

    ``metrics(model)`` gives the scalars by name (``test_error``, ``likelihood_mean``,
    ``token_min_probability_mean``, ``greedy_exact_match``, ``pass@k``, ``cover@tau``); calling the evaluator
    gives them under ``eval/``, the namespace of every learner's evaluation.
    """

    def __init__(
        self,
        task: SequenceTask,
        test_size: int = 1024,
        test_contexts: np.ndarray | None = None,
        pass_at_k: Sequence[int] = PASS_AT_K,
        cover_taus: Sequence[float] = COVER_TAUS,
    ) -> None:
        self.task = task
        self.pass_at_k, self.cover_taus = check_ks(pass_at_k, "pass_at_k"), check_taus(cover_taus, "cover_taus")
        self.test_contexts = (
            task.test_contexts(test_size) if test_contexts is None else np.asarray(test_contexts, dtype=np.float32)
        )

    def metrics(self, model: BaseAlgorithm) -> dict[str, float]:
        """The exact metrics of ``model``'s policy, unprefixed."""
        exact = evaluate_sb3_policy(model, self.task, self.test_contexts)
        with np.errstate(divide="ignore"):  # a token of probability 0: log p(y*|x) = -inf, pass@k = 0
            log_likelihoods = np.log(exact.token_probabilities).sum(axis=1)
        coverage = coverage_metrics(log_likelihoods, self.pass_at_k, self.cover_taus, strict=False)
        return {**exact.as_dict(), **{name.removeprefix("eval/"): value for name, value in coverage.items()}}

    def __call__(self, model: BaseAlgorithm) -> dict[str, float]:
        return {f"eval/{key}": value for key, value in self.metrics(model).items()}


def reward_queries(env: VecEnv) -> int:
    """Reward queries answered by every row of an SB3 vector env so far (the rows' ``total_reward_queries``)."""
    return int(sum(env.get_attr("total_reward_queries")))


class ExactMetricsCallback(BaseCallback):
    """Evaluate the policy exactly every ``eval_freq`` environment steps and log the results.

    On-policy algorithms change their policy only between rollouts, so the evaluation runs at the end of
    the first rollout at or past each multiple of ``eval_freq`` (there SB3 dumps its logs with the same
    step), once before training (step 0) and once at the end, after the last update (the saved policy).
    An evaluation at the end of a rollout sees the policy that collected it, before that rollout's update:
    the record labelled step t is the policy trained on t - n_steps * n_envs steps (``SB3Learner`` in the
    training loop evaluates after the update instead).

    Args:
        task: the task whose exact metrics to compute (default: the training env's, ``get_attr("task")``).
        eval_freq: environment steps (summed over rows) between evaluations.
        test_contexts: ``(n, d)`` contexts to evaluate on (default: ``task.test_contexts(1024)``).
        verbose: 1 prints a line per evaluation.

    ``history`` holds one record per evaluation: step, reward queries, wall time and the metrics.
    """

    def __init__(
        self,
        task: SequenceTask | None = None,
        eval_freq: int = 10_000,
        test_contexts: np.ndarray | None = None,
        verbose: int = 0,
    ) -> None:
        super().__init__(verbose)
        if isinstance(eval_freq, bool) or not isinstance(eval_freq, int) or eval_freq < 1:
            raise ValueError(f"eval_freq must be a positive int (environment steps), got {eval_freq!r}")
        self.task = task
        self.eval_freq = eval_freq
        self.test_contexts = test_contexts
        self.evaluator: SB3Evaluator | None = None
        self.history: list[dict[str, Any]] = []
        self._next_eval = 0
        self._total_timesteps = 0
        self._start_time = 0.0

    def _init_callback(self) -> None:
        if self.task is None:
            self.task = self.training_env.get_attr("task", indices=[0])[0]
        self.evaluator = SB3Evaluator(self.task, test_contexts=self.test_contexts)
        self.test_contexts = self.evaluator.test_contexts

    def _on_training_start(self) -> None:
        self._start_time = time.perf_counter()
        self._next_eval = self.model.num_timesteps
        self._total_timesteps = int(self.locals.get("total_timesteps", 0))
        if not self.history or self.history[-1]["step"] != self.model.num_timesteps:
            self._evaluate()
            self.logger.dump(self.model.num_timesteps)

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        self.logger.record(f"{NAMESPACE}/reward_queries", self.reward_queries())
        # The last rollout is followed by a last update: its evaluation waits for the end of training.
        if self._next_eval <= self.model.num_timesteps < self._total_timesteps:
            self._evaluate()

    def _on_training_end(self) -> None:
        self._evaluate()
        self.logger.dump(self.model.num_timesteps)

    def reward_queries(self) -> int:
        """Reward queries answered by every row of the training env so far."""
        return reward_queries(self.training_env)

    def _evaluate(self) -> None:
        assert self.evaluator is not None
        metrics = self.evaluator.metrics(self.model)
        step = self.model.num_timesteps
        record = {
            "step": step,
            "reward_queries": self.reward_queries(),
            "wall_time_s": time.perf_counter() - self._start_time,
            **metrics,
        }
        self.history.append(record)
        for key, value in metrics.items():
            self.logger.record(f"{NAMESPACE}/{key}", value)
        self.logger.record(f"{NAMESPACE}/reward_queries", record["reward_queries"])
        while self._next_eval <= step:
            self._next_eval += self.eval_freq
        if self.verbose >= 1:
            print(
                f"step {step}: test error {metrics['test_error']:.4f}, greedy exact match "
                f"{metrics['greedy_exact_match']:.3f}, reward queries {record['reward_queries']}"
            )


class TqdmProgressCallback(BaseCallback):
    """A tqdm progress bar over environment steps (SB3's own ``progress_bar=True`` needs the ``rich`` package)."""

    def __init__(self, description: str = "sb3", position: int = 0) -> None:
        super().__init__()
        self.description, self.position = description, position
        self._bar: Any = None

    def _on_training_start(self) -> None:
        total = int(self.locals.get("total_timesteps", 0)) or None
        self._bar = tqdm(
            total=total,
            initial=self.model.num_timesteps,
            desc=self.description,
            dynamic_ncols=True,
            position=self.position,
        )

    def _on_step(self) -> bool:
        self._bar.update(self.model.num_timesteps - self._bar.n)
        return True

    def _on_training_end(self) -> None:
        self._bar.close()
