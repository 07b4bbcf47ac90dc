"""The bridge from seqreward's tasks to the LLM post-training stack (Hugging Face transformers, datasets, TRL):
a prompt encoding, a tokenizer and tiny causal LM built locally, prompt datasets, the task's rewards as TRL
reward functions, the paper's per-token PRM policy gradient and OBLR-PO as GRPOTrainers, GRPO and RLOO trainers whose
policy and reference model keep the answer restriction, and exact evaluation.

The task as a reasoning-gym dataset and as a verifiers taskset lives in ``agents.llm.reasoning_gym_tasks`` and
``agents.llm.verifiers_tasks``, imported on their own (verifiers takes seconds to import).

Needs the ``llm`` extra (``pip install seqreward[llm]``); nothing else in ``agents`` imports this package.
"""

from agents.llm.data import prompt_dataset, sft_dataset, test_dataset, training_contexts
from agents.llm.encoding import PromptEncoding, encoding_ceiling
from agents.llm.evaluation import CausalLMPolicy, ExactEvalCallback, lm_evaluate
from agents.llm.models import (
    AnswerHeadLlamaForCausalLM,
    answer_log_probs,
    check_answer_head,
    constrain_to_answers,
    load_answer_model,
    make_tokenizer,
    release_from_trainer,
    tiny_causal_lm,
)
from agents.llm.oblr_po import OBLRPOTrainer, oblr_po_config
from agents.llm.rewards import TaskReward, outcome_reward_func, process_reward_func
from agents.llm.sft import sft_base_model
from agents.llm.task_trainers import TaskGRPOTrainer, TaskRLOOTrainer
from agents.llm.trainers import ProcessGRPOTrainer, per_token_advantages, task_grpo_config, task_rloo_config

__all__ = [
    "AnswerHeadLlamaForCausalLM",
    "CausalLMPolicy",
    "ExactEvalCallback",
    "OBLRPOTrainer",
    "ProcessGRPOTrainer",
    "PromptEncoding",
    "TaskGRPOTrainer",
    "TaskRLOOTrainer",
    "TaskReward",
    "answer_log_probs",
    "check_answer_head",
    "constrain_to_answers",
    "encoding_ceiling",
    "lm_evaluate",
    "load_answer_model",
    "make_tokenizer",
    "oblr_po_config",
    "outcome_reward_func",
    "per_token_advantages",
    "process_reward_func",
    "release_from_trainer",
    "sft_base_model",
    "prompt_dataset",
    "sft_dataset",
    "task_grpo_config",
    "task_rloo_config",
    "test_dataset",
    "tiny_causal_lm",
    "training_contexts",
]
