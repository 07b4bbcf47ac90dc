"""The task's outcome and process rewards as TRL reward functions, scoring each completion against the exact
context of its row and counting reward queries as the env counts them.

TRL calls a reward function as ``func(prompts=..., completions=..., completion_ids=..., **columns)`` with the
dataset's other columns (here ``context``), and takes one float per completion. The scores
come from the env's own rule (``SequenceTask.step_rewards``, position by position): the outcome reward pays
``reward_high`` when the whole response is y*, else ``reward_low``, and answers 1 query per completion; the
process reward pays r_i = ``reward_high`` while the prefix y_1..y_i equals y*'s, else ``reward_low``, answers
1 query per token, and returns the episode's return sum_i r_i (the per-token r_i are kept in
``last_token_rewards`` for ``ProcessGRPOTrainer``, which credits each token with its own r_i).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np

from agents.llm.encoding import PromptEncoding
from seqreward_env import SequenceTask
from seqreward_env.task import REWARDS


class TaskReward:
    """A reward function in TRL's signature for one reward kind of the task.

    Args:
        task: the task (its teacher and reward values; its own reward kind is not used).
        encoding: how completion token ids map to task tokens.
        reward: "outcome" or "process".

    Attributes:
        reward_queries: queries answered so far (the env's count).
        last_token_rewards: ``(B, N)`` float64 per-position rewards of the last call (0 mid-response under the
            outcome reward, as the env pays).
    """

    def __init__(self, task: SequenceTask, encoding: PromptEncoding, reward: str) -> None:
        if reward not in REWARDS:
            raise ValueError(f"reward must be one of {REWARDS}, got {reward!r}")
        if (encoding.vocab_size, encoding.context_dim) != (task.vocab_size, task.context_dim):
            raise ValueError(
                f"encoding is for k={encoding.vocab_size}, d={encoding.context_dim} but the task has "
                f"k={task.vocab_size}, d={task.context_dim}"
            )
        self.task = copy.copy(task)  # the same teacher and arrays, paying this reward kind
        self.task.reward = reward
        self.encoding, self.reward = encoding, reward
        self.__name__ = f"{reward}_reward"  # TRL names the logged reward after it
        self.reward_queries = 0
        self.last_token_rewards = np.zeros((0, task.seq_len))

    def check_contexts(self, completion_ids: Sequence[Sequence[int]], contexts: Any) -> np.ndarray:
        """``contexts`` as ``(B, d)`` float32, one row per completion; ValueError naming ``context`` otherwise (a
        missing column, another width, or fewer rows than completions, which would broadcast silently)."""
        if contexts is None:
            raise ValueError(
                f"{self.__name__} needs a 'context' column in the dataset (each row's exact context, d="
                f"{self.task.context_dim} floats): build it with agents.llm.prompt_dataset or contexts_dataset"
            )
        try:
            x = np.asarray(contexts, dtype=np.float32)
        except (TypeError, ValueError) as error:
            raise ValueError(f"context must be one list of {self.task.context_dim} floats per row ({error})") from None
        expected = (len(completion_ids), self.task.context_dim)
        if x.shape != expected:
            raise ValueError(
                f"context must have shape (completions, d) = {expected}, one context of d={self.task.context_dim} "
                f"floats per completion, got shape {x.shape}"
            )
        return x

    def token_rewards(self, completion_ids: Sequence[Sequence[int]], contexts: Any) -> tuple[np.ndarray, int]:
        """Per-position rewards ``(B, N)`` of completions for ``(B, d)`` contexts, and the queries they cost."""
        x = self.check_contexts(completion_ids, contexts)
        targets = self.task.targets(x)
        answers = self.encoding.answers(completion_ids, self.task.seq_len)
        correct_prefix = np.cumprod(answers == targets, axis=1).astype(bool)
        rewards = np.empty(answers.shape)
        queries = 0
        for i in range(self.task.seq_len):
            rewards[:, i], answered = self.task.step_rewards(correct_prefix[:, i], i + 1)
            queries += int(answered.sum())
        return rewards, queries

    def __call__(
        self,
        prompts: Sequence[Any],
        completions: Sequence[Any],
        completion_ids: Sequence[Sequence[int]],
        context: Sequence[Sequence[float]] | None = None,
        **kwargs: Any,
    ) -> list[float]:
        # Queries are not passed to TRL's ``log_metric`` (it averages over the logging window); the exact counts
        # reach the logs through ``ExactEvalCallback`` (``agents.llm.evaluation.reward_queries_log``).
        rewards, queries = self.token_rewards(completion_ids, context)
        self.last_token_rewards = rewards
        self.reward_queries += queries
        return rewards.sum(axis=1).tolist()


def outcome_reward_func(task: SequenceTask, encoding: PromptEncoding) -> TaskReward:
    """The outcome reward in TRL's reward-function signature (1 query per completion)."""
    return TaskReward(task, encoding, "outcome")


def process_reward_func(task: SequenceTask, encoding: PromptEncoding) -> TaskReward:
    """The process reward in TRL's signature: returns sum_i r_i per completion (1 query per token)."""
    return TaskReward(task, encoding, "process")
