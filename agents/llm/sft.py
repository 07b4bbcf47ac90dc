"""A base model of chosen weakness: supervised fine-tuning on (prompt, y*) pairs with TRL's SFTTrainer, stopped
at the first evaluation whose exact test error reaches a target.

The base model barrier of "Post-Training with Policy Gradients: Optimality and the Base Model Barrier"
(arXiv 2603.06957) needs a weak base, not a random one: fine-tuning on the contexts of a *support* set leaves
the others (off-support contexts) with the likelihood the model's generalisation gives them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from transformers import PreTrainedModel, PreTrainedTokenizerFast
from transformers.trainer_callback import PrinterCallback
from trl import SFTConfig, SFTTrainer

from agents.llm.data import sft_dataset
from agents.llm.encoding import PromptEncoding
from agents.llm.evaluation import ExactEvalCallback
from agents.llm.models import release_from_trainer
from seqreward_env import SequenceTask


def sft_base_model(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerFast,
    task: SequenceTask,
    encoding: PromptEncoding,
    contexts: np.ndarray,
    output_dir: str,
    target_test_error: float | None = None,
    max_steps: int = 500,
    eval_every: int = 10,
    test_size: int = 1024,
    seed: int = 0,
    **overrides: Any,
) -> list[dict[str, Any]]:
    """Fine-tune ``model`` in place on y* of ``contexts`` until its test error is at most ``target_test_error``
    (checked every ``eval_every`` steps) or ``max_steps``; returns the evaluation records (``eval/...``).

    ``overrides`` are ``SFTConfig`` fields (defaults: batch 32, Adam lr 3e-3, float32, no saving or reporting).
    """
    settings: dict[str, Any] = {
        "output_dir": output_dir,
        "max_steps": max_steps,
        "per_device_train_batch_size": 32,
        "learning_rate": 3e-3,
        "lr_scheduler_type": "constant",
        "completion_only_loss": True,
        "bf16": False,
        "activation_checkpointing": False,
        "report_to": "none",
        "save_strategy": "no",
        "disable_tqdm": True,
        "logging_steps": eval_every,
        "use_cpu": True,
        "seed": seed,
        "data_seed": seed,
        **overrides,
    }
    callback = ExactEvalCallback(
        task, encoding, eval_every=eval_every, test_size=test_size, stop_at_test_error=target_test_error
    )
    trainer = SFTTrainer(
        model=model,
        args=SFTConfig(**settings),
        train_dataset=sft_dataset(task, encoding, contexts),
        processing_class=tokenizer,
        callbacks=[callback],
    )
    trainer.remove_callback(PrinterCallback)  # the exact evaluations are the record; no printed log dictionaries
    trainer.train()
    release_from_trainer(model)
    return callback.records
