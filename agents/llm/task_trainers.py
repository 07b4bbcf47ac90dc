"""TRL's GRPOTrainer and RLOOTrainer for a seqreward task: the policy and the reference model both restricted to
the task's answer tokens, whatever way the model was given.

TRL builds the reference model of the KL term (``beta > 0``; RLOOTrainer's default is 0.05) by loading the policy's
``config._name_or_path`` again. A model built from a config has no such path (TRL then fails with an unrelated
``OSError``), and a model whose answer head transformers does not restore on loading (GPT-2 or Qwen2 restricted by
``constrain_to_answers``) would give an unrestricted reference, a KL to another distribution. These trainers:

- refuse a policy whose head does not restrict to the encoding of the reward functions (``check_answer_head``);
- save a policy with no loadable path to ``<output_dir>/reference_model`` and point its config there, so that TRL
  builds the reference from the very weights it starts from;
- put the answer head back on a loaded policy or reference that lost it (from ``config.answer_ids``);
- show one progress bar per run, with the last exact test error, as the package's runs do, instead of TRL's
  printed log dictionaries (``show_progress=False``: nothing at all; the logs stay in ``state.log_history``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tqdm.auto import tqdm
from transformers import PreTrainedModel, TrainerCallback, TrainerControl, TrainerState, TrainingArguments
from transformers.trainer_callback import PrinterCallback, ProgressCallback
from trl import GRPOTrainer, RLOOTrainer

from agents.llm.encoding import PromptEncoding
from agents.llm.models import (
    ANSWER_IDS,
    answer_head_problem,
    check_answer_head,
    constrain_to_answers,
    release_from_trainer,
)
from agents.llm.rewards import TaskReward

REFERENCE_FOLDER = "reference_model"


def task_encoding(reward_funcs: Any) -> PromptEncoding | None:
    """The encoding of the first ``TaskReward`` among ``reward_funcs`` (None when there is none)."""
    funcs = reward_funcs if isinstance(reward_funcs, (list, tuple)) else [reward_funcs]
    for func in funcs:
        if isinstance(func, TaskReward):
            return func.encoding
    return None


def restore_answer_head(model: Any, encoding: PromptEncoding, name: str) -> None:
    """Put the answer head back on a loaded ``model`` that lost it (from ``config.answer_ids``), then check it."""
    if model is None:
        return
    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    inner = getattr(inner, "module", inner)  # a model wrapped by accelerate
    if answer_head_problem(inner, encoding) is not None and getattr(inner.config, ANSWER_IDS, None):
        constrain_to_answers(inner, inner.config.answer_ids)
    check_answer_head(inner, encoding, name)


class TaskTrainerMixin:
    """The answer-head checks and the reference model of a task trainer (see the module docstring); mixed in
    before a TRL trainer class."""

    def __init__(
        self,
        model: Any,
        reward_funcs: Any,
        args: Any = None,
        *rest: Any,
        show_progress: bool = True,
        description: str | None = None,
        **kwargs: Any,
    ) -> None:
        encoding = task_encoding(reward_funcs)
        if isinstance(model, PreTrainedModel) and encoding is not None:
            check_answer_head(model, encoding)
            if args is not None and getattr(args, "beta", 0.0) > 0 and not loadable(model):
                folder = Path(args.output_dir) / REFERENCE_FOLDER
                release_from_trainer(model).save_pretrained(folder)
                model.config._name_or_path = str(folder)
        super().__init__(model, reward_funcs, args, *rest, **kwargs)  # type: ignore[call-arg]
        if encoding is not None:
            restore_answer_head(self.model, encoding, "model")  # type: ignore[attr-defined]
            restore_answer_head(getattr(self, "ref_model", None), encoding, "the reference model")
        self.remove_callback(PrinterCallback)  # type: ignore[attr-defined]
        self.remove_callback(ProgressCallback)  # type: ignore[attr-defined]
        if show_progress:
            self.add_callback(RunProgressCallback(description or type(self).__name__))  # type: ignore[attr-defined]


class RunProgressCallback(TrainerCallback):
    """A tqdm bar over the run's optimiser steps, showing the last ``eval/test_error`` in the trainer's log
    history (``ExactEvalCallback`` puts it there), like the package's training loop."""

    def __init__(self, description: str) -> None:
        self.description = description
        self.bar: Any = None

    def on_train_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        self.bar = tqdm(total=state.max_steps, initial=state.global_step, desc=self.description, dynamic_ncols=True)

    def on_step_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any) -> None:
        if self.bar is None:
            return
        self.bar.update(state.global_step - self.bar.n)
        last = next((r for r in reversed(state.log_history) if "eval/test_error" in r), None)
        if last is not None and last.get("step") == state.global_step:  # a new evaluation this step
            self.bar.set_postfix(test_error=f"{last['eval/test_error']:.4f}")

    def on_train_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def loadable(model: PreTrainedModel) -> bool:
    """Whether TRL can load ``model`` again from its config's ``_name_or_path`` (a local folder with a config)."""
    path = Path(str(getattr(model.config, "_name_or_path", "") or ""))
    return str(path) not in ("", ".") and (path / "config.json").is_file()


class TaskGRPOTrainer(TaskTrainerMixin, GRPOTrainer):
    """``GRPOTrainer`` for a task: takes GRPOTrainer's arguments; the policy and the reference model (``beta >
    0``, from a model instance or a path) are restricted to the answer tokens of the reward functions'
    encoding."""


class TaskRLOOTrainer(TaskTrainerMixin, RLOOTrainer):
    """``RLOOTrainer`` for a task, with the same guarantees as ``TaskGRPOTrainer`` (RLOO's default ``beta`` is
    0.05, so the reference model is built unless ``beta=0``)."""
