"""Exact evaluation of a Hugging Face causal LM on a task, by the package's own evaluator: teacher-forced
p(y* | x), test error, likelihood quantiles, off-support contexts' likelihoods, exact pass@k, Cover@tau and
greedy exact match, under the same ``eval/...``
names as the package's runs (``agents.policy.evaluation.PolicyEvaluator``), during TRL training as a
``TrainerCallback``."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from torch.utils.tensorboard import SummaryWriter
from transformers import PreTrainedModel, TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from agents.llm.encoding import PromptEncoding
from agents.llm.models import answer_distributions, answer_log_probs, check_answer_head
from agents.llm.rewards import TaskReward
from agents.policy.coverage import COVER_TAUS, PASS_AT_K
from agents.policy.evaluation import PolicyEvaluator
from agents.policy.network_policy import Policy
from agents.runs.tensorboard import QUERIES_KEY
from seqreward_env import SequenceTask


class CausalLMPolicy:
    """A causal LM seen as the package's policy: teacher-forced ``token_log_probs`` and ``token_probs``, so that
    ``PolicyEvaluator`` evaluates it; ``next_token_probs(observations)`` is the policy as a function of the env's
    (batched) observations, from the model's next-token distribution over the answer tokens."""

    def __init__(self, model: PreTrainedModel, encoding: PromptEncoding) -> None:
        self.model, self.encoding = model, encoding

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def token_log_probs(self, contexts: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """log p(y_i | x, y_<i): ``(n, N)`` for ``(n, d)`` contexts and ``(n, N)`` tokens."""
        return torch.as_tensor(
            answer_log_probs(self.model, self.encoding, contexts.cpu().numpy(), tokens.cpu().numpy())
        )

    def token_probs(self, contexts: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """Teacher-forced next-token probabilities over the k answer tokens at every position: ``(n, N, k)``."""
        log_probs = answer_distributions(self.model, self.encoding, contexts.cpu().numpy(), tokens.cpu().numpy())
        return torch.as_tensor(np.exp(log_probs))

    def next_token_probs(self, observations: dict[str, np.ndarray]) -> np.ndarray:
        """``(n, k)`` next-token probabilities after the written tokens of batched env observations (all rows
        at one position)."""
        position = int(np.asarray(observations["position"]).reshape(-1)[0])
        prompts = torch.as_tensor(self.encoding.prompt_ids(observations["context"]))
        written = torch.as_tensor(self.encoding.response_ids(np.asarray(observations["tokens"])[:, :position]))
        ids = torch.cat([prompts, written.reshape(len(prompts), position)], dim=1).to(self.device)
        with torch.no_grad():
            logits = self.model(input_ids=ids).logits[:, -1].float()
        return torch.softmax(logits, dim=-1)[:, self.encoding.answer_ids].double().cpu().numpy()


def lm_evaluate(evaluator: PolicyEvaluator, model: PreTrainedModel, encoding: PromptEncoding) -> dict[str, Any]:
    """The evaluator's ``eval/...`` metrics of ``model`` (in eval mode; its training mode restored).

    Raises ValueError when ``model``'s head does not restrict to ``encoding``'s answer tokens or was built for
    another encoding: its exact metrics would describe a policy other than the one that samples.
    """
    check_answer_head(model, encoding)
    return evaluator(cast(Policy, CausalLMPolicy(model, encoding)))


class ExactEvalCallback(TrainerCallback):
    """Exact metrics of the model being trained, every ``eval_every`` optimiser steps and at the start and end.

    Each evaluation is a record ``{"step", "train/reward_queries", "eval/test_error", "eval/likelihood_quantile",
    "eval/token_likelihood_quantile", "eval/mean_token_probability", "eval/confidently_wrong",
    "eval/greedy_exact_match", "eval/pass@k" per k, "eval/cover@tau" per tau[, "eval/tracked_likelihood",
    "eval/tracked_likelihood_mean", "eval/off_support_likelihood"]}`` appended to ``records``, to the trainer's
    ``state.log_history``, to ``<log_dir>/metrics.jsonl`` and, as scalars, to TensorBoard under ``<log_dir>/tb``
    (the layout of the package's run folders), when ``log_dir`` is given.

    Args:
        task: the task.
        encoding: its prompt encoding.
        eval_every: optimiser steps between evaluations.
        test_size: test contexts (the task's fixed test set).
        tracked: contexts whose likelihoods are logged one by one (as ``PolicyEvaluator`` takes them).
        off_support: the indices among ``tracked`` whose mean is ``eval/off_support_likelihood``.
        reward_funcs: the ``TaskReward`` functions whose queries are summed into ``train/reward_queries``.
        log_dir: where to write ``metrics.jsonl`` and ``tb/`` (None: keep the records in memory only); a folder
            that already holds a ``metrics.jsonl`` is refused (a rerun would append to the old run's records).
        stop_at_test_error: stop training at the first evaluation whose test error is at most this (a base model
            of chosen weakness); None: never.
        pass_at_k: the k of the exact ``eval/pass@k``.
        cover_taus: the tau of ``eval/cover@tau``.

    With ``reward_funcs``, every TRL log record also gets the exact reward queries (``reward_queries_log``).
    """

    def __init__(
        self,
        task: SequenceTask,
        encoding: PromptEncoding,
        eval_every: int = 10,
        test_size: int = 1024,
        tracked: np.ndarray | None = None,
        off_support: np.ndarray | None = None,
        reward_funcs: list[TaskReward] | None = None,
        log_dir: str | Path | None = None,
        stop_at_test_error: float | None = None,
        pass_at_k: Sequence[int] = PASS_AT_K,
        cover_taus: Sequence[float] = COVER_TAUS,
    ) -> None:
        if isinstance(eval_every, bool) or not isinstance(eval_every, int) or eval_every < 1:
            raise ValueError(f"eval_every must be a positive integer, got {eval_every!r}")
        self.evaluator = PolicyEvaluator(
            task,
            test_size=test_size,
            tracked=tracked,
            off_support=off_support,
            pass_at_k=pass_at_k,
            cover_taus=cover_taus,
        )
        self.encoding, self.eval_every = encoding, eval_every
        self.reward_funcs = list(reward_funcs or [])
        self.log_dir = None if log_dir is None else Path(log_dir)
        if self.log_dir is not None and (self.log_dir / "metrics.jsonl").exists():
            raise ValueError(
                f"log_dir {str(self.log_dir)!r} already holds a run's metrics.jsonl: give a new folder or remove it "
                "(a rerun would append to its records)"
            )
        if stop_at_test_error is not None and not 0.0 <= stop_at_test_error <= 1.0:
            raise ValueError(f"stop_at_test_error must lie in [0, 1] or be None, got {stop_at_test_error!r}")
        self.stop_at_test_error = stop_at_test_error
        self.records: list[dict[str, Any]] = []
        self._writer: SummaryWriter | None = None
        self._logged_queries: tuple[int, dict[str, int]] = (0, {})

    @property
    def reward_queries(self) -> int:
        return sum(func.reward_queries for func in self.reward_funcs)

    def evaluate(self, model: PreTrainedModel, step: int) -> dict[str, Any]:
        """Evaluate ``model`` now and log the record at ``step``."""
        record = {"step": step, QUERIES_KEY: self.reward_queries, **lm_evaluate(self.evaluator, model, self.encoding)}
        self.records.append(record)
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            with open(self.log_dir / "metrics.jsonl", "a") as file:
                file.write(json.dumps(record) + "\n")
            if self._writer is None:
                self._writer = SummaryWriter(str(self.log_dir / "tb"))
            for key, value in record.items():
                if key != "step" and isinstance(value, (int, float)) and math.isfinite(value):
                    self._writer.add_scalar(key, value, step)
            self._writer.flush()
        return record

    def _due(self, state: TrainerState) -> bool:
        return not self.records or self.records[-1]["step"] != state.global_step

    def on_train_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        if self._due(state):
            self.evaluate(kwargs["model"], state.global_step)

    def on_step_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any) -> None:
        if state.global_step % self.eval_every == 0 and self._due(state):
            record = self.evaluate(kwargs["model"], state.global_step)
            state.log_history.append(dict(record))
            if self.stop_at_test_error is not None and record["eval/test_error"] <= self.stop_at_test_error:
                control.should_training_stop = True

    def on_log(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        logs: dict[str, float] | None = None,
        **kwargs: Any,
    ) -> None:
        if not self.reward_funcs or logs is None:
            return
        exact = reward_queries_log(self.reward_funcs, state.global_step, self._logged_queries)
        self._logged_queries = (state.global_step, {f.reward: f.reward_queries for f in self.reward_funcs})
        logs.update(exact)
        if state.log_history and state.log_history[-1].get("step") == state.global_step:
            state.log_history[-1].update(exact)  # the record Trainer.log stored before calling back

    def on_train_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        if self._due(state):
            state.log_history.append(dict(self.evaluate(kwargs["model"], state.global_step)))
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def reward_queries_log(
    reward_funcs: list[TaskReward], step: int, previous: tuple[int, dict[str, int]]
) -> dict[str, float]:
    """Exact reward queries for a TRL log record at optimiser step ``step``: ``reward_queries/<kind>`` (the total
    answered so far) and ``reward_queries/<kind>_per_step`` (those answered since the ``previous`` record, given
    as ``(step, {kind: total})``, divided by the steps between them).

    TRL averages every value a reward function logs through ``log_metric`` over its logging window
    (``GRPOTrainer.log``: sum / count of the values gathered since the last log), so a running total logged there
    comes out as the window's mean total, not the total; these are read from the reward functions at log time.
    """
    last_step, last_totals = previous
    out: dict[str, float] = {}
    for func in reward_funcs:
        out[f"reward_queries/{func.reward}"] = float(func.reward_queries)
        if step > last_step:
            spent = func.reward_queries - last_totals.get(func.reward, 0)
            out[f"reward_queries/{func.reward}_per_step"] = spent / (step - last_step)
    return out
