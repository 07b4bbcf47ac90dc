"""The bridge from seqreward's tasks to the LLM post-training stack (Hugging Face transformers, datasets, TRL):
a prompt encoding, a tokenizer and tiny causal LM built locally, prompt datasets, the task's rewards as TRL
reward functions, the paper's per-token PRM policy gradient as a GRPOTrainer, and exact evaluation.

The task as a reasoning-gym dataset and as a verifiers taskset lives in ``agents.llm.reasoning_gym_tasks`` and
``agents.llm.verifiers_tasks``, imported on their own (verifiers takes seconds to import).

Needs the ``llm`` extra (``pip install seqreward[llm]``); nothing else in ``agents`` imports this package.
"""

from agents.llm.data import prompt_dataset, sft_dataset, test_dataset, training_contexts
from agents.llm.encoding import PromptEncoding, encoding_ceiling
from agents.llm.evaluation import CausalLMPolicy, ExactEvalCallback, lm_evaluate
from agents.llm.models import (
    answer_log_probs,
    constrain_to_answers,
    make_tokenizer,
    release_from_trainer,
    tiny_causal_lm,
)
from agents.llm.rewards import TaskReward, outcome_reward_func, process_reward_func
from agents.llm.sft import sft_base_model
from agents.llm.trainers import ProcessGRPOTrainer, per_token_advantages, task_grpo_config

__all__ = [
    "CausalLMPolicy",
    "ExactEvalCallback",
    "ProcessGRPOTrainer",
    "PromptEncoding",
    "TaskReward",
    "answer_log_probs",
    "constrain_to_answers",
    "encoding_ceiling",
    "lm_evaluate",
    "make_tokenizer",
    "outcome_reward_func",
    "per_token_advantages",
    "process_reward_func",
    "release_from_trainer",
    "sft_base_model",
    "prompt_dataset",
    "sft_dataset",
    "task_grpo_config",
    "test_dataset",
    "tiny_causal_lm",
    "training_contexts",
]
