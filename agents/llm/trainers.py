"""TRL's GRPOTrainer with the process reward's per-token credit: the paper's PRM policy gradient inside TRL.

"Post-Training with Policy Gradients: Optimality and the Base Model Barrier" (arXiv 2603.06957), section 6: the
PRM PG weights the score of token i by A_i = r_i, the reward of the prefix y_1..y_i (no reward-to-go, no
baseline by default). TRL's GRPOTrainer takes one scalar per completion and spreads its group-normalised value
over every token. ``ProcessGRPOTrainer`` keeps TRL's generation, batching, loss and logging, and replaces the
advantages that ``_generate_and_score_completions`` returns by the ``(B, T)`` per-token ones of
``agents.rules.advantages.paper_advantages`` (TRL's ``_compute_loss`` takes ``(B, T)`` advantages as they are).
With one optimisation step per generation and no KL term (``beta=0``, TRL's default), TRL's loss then has
the gradient -(1 / (B N)) sum_{b,i} r_bi grad log p(y_bi | x_b, y_b,<i) of the paper's PRM PG, for
responses of N tokens (the answer head never ends them early).
"""

from __future__ import annotations

from os import PathLike
from typing import Any

import torch
from trl import GRPOConfig, RLOOConfig

from agents.llm.rewards import TaskReward
from agents.llm.task_trainers import TaskGRPOTrainer
from agents.rules.advantages import paper_advantages


def task_settings(seq_len: int, output_dir: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """The settings that ``task_grpo_config`` and ``task_rloo_config`` share, checked where they enter."""
    if isinstance(seq_len, bool) or not isinstance(seq_len, int) or seq_len < 1:
        shown = repr(seq_len) if isinstance(seq_len, (int, float, str)) else f"a {type(seq_len).__name__}"
        raise ValueError(
            f"seq_len must be the task's response length N, a positive integer (task.seq_len), got {shown}"
        )
    if not isinstance(output_dir, (str, PathLike)):
        raise ValueError(f"output_dir must be a folder path, got {output_dir!r}")
    if overrides.get("mask_truncated_completions"):
        # The answer head gives the end-of-sequence token no probability, so every completion stops at
        # max_completion_length and TRL counts it as truncated: masking them would zero every gradient.
        raise ValueError(
            "mask_truncated_completions=True is not allowed: completions are exactly seq_len answer tokens with no "
            "end-of-sequence token, so TRL would count every one as truncated and mask the whole batch"
        )
    if overrides.get("max_completion_length", seq_len) != seq_len:
        raise ValueError(
            f"max_completion_length must equal seq_len={seq_len} (the task's N), "
            f"got {overrides['max_completion_length']!r}"
        )
    return {
        "output_dir": str(output_dir),
        "max_completion_length": seq_len,
        "bf16": False,
        "activation_checkpointing": False,
        "report_to": "none",
        "save_strategy": "no",
        "disable_tqdm": True,
        **overrides,
    }


def task_grpo_config(seq_len: int, output_dir: str, **overrides: Any) -> GRPOConfig:
    """A ``GRPOConfig`` for a seqreward task: completions of exactly ``seq_len`` tokens, float32 throughout
    (TRL's default bf16 autocast would score tokens in bfloat16, about 1e-3 off the float32 policy that
    samples them), no gradient checkpointing (tiny models), no saving or reporting; ``overrides`` win.
    ``mask_truncated_completions=True`` is refused (every completion ends at ``seq_len`` without an end token)."""
    return GRPOConfig(**task_settings(seq_len, output_dir, overrides))


def task_rloo_config(seq_len: int, output_dir: str, **overrides: Any) -> RLOOConfig:
    """An ``RLOOConfig`` for a seqreward task, with the settings of ``task_grpo_config``. RLOO's own default
    ``beta=0.05`` (a KL to the reference model) is kept: use ``TaskRLOOTrainer`` (or a saved model's path), which
    builds a reference restricted to the answer tokens."""
    return RLOOConfig(**task_settings(seq_len, output_dir, overrides))


def process_reward_of(reward_funcs: Any) -> TaskReward:
    """The one process ``TaskReward`` among a trainer's reward functions (ValueError if none or several)."""
    funcs = reward_funcs if isinstance(reward_funcs, (list, tuple)) else [reward_funcs]
    found = [f for f in funcs if isinstance(f, TaskReward) and f.reward == "process"]
    if len(found) != 1:
        names = [getattr(f, "__name__", type(f).__name__) for f in funcs]
        raise ValueError(
            f"reward_funcs must hold exactly one process reward (agents.llm.process_reward_func), got {len(found)} "
            f"among {names}"
        )
    return found[0]


def per_token_advantages(token_rewards: torch.Tensor, completion_mask: torch.Tensor, baseline: bool) -> torch.Tensor:
    """The paper's PRM advantages on TRL's ``(B, T)`` completion layout: A_bi = r_bi (minus the batch mean at
    position i with ``baseline``) where the completion has token i, else 0.

    Args:
        token_rewards: ``(B, N)`` per-position rewards r_i (``TaskReward.last_token_rewards``).
        completion_mask: ``(B, T)`` TRL's mask of completion tokens.
        baseline: subtract the per-position batch mean (the paper's PRM PG has none).
    """
    batch, length = token_rewards.shape
    width = completion_mask.shape[1]
    generated = torch.zeros(batch, length, dtype=torch.bool)
    generated[:, : min(length, width)] = completion_mask[:, :length].bool().cpu()
    advantages = paper_advantages(token_rewards.float().cpu(), generated, "process", baseline)  # (B, N)
    out = torch.zeros(completion_mask.shape, dtype=torch.float32)
    out[:, : min(length, width)] = advantages[:, :width]
    return out.to(completion_mask.device)


class ProcessGRPOTrainer(TaskGRPOTrainer):
    """``GRPOTrainer`` whose advantages are the process reward's per-token A_i = r_i (a ``TaskGRPOTrainer``: the
    policy and any reference model are restricted to the answer tokens).

    Takes GRPOTrainer's arguments; ``reward_funcs`` must hold one ``agents.llm.process_reward_func`` (others may
    be given for logging; they do not enter the advantages). ``process_baseline=True`` subtracts the
    per-position batch mean of r_i.
    """

    def __init__(self, *args: Any, process_baseline: bool = False, **kwargs: Any) -> None:
        if not isinstance(process_baseline, bool):
            raise ValueError(f"process_baseline must be a bool, got {process_baseline!r}")
        super().__init__(*args, **kwargs)
        self.process_reward = process_reward_of(self.reward_funcs)
        self.process_baseline = process_baseline

    def _generate_and_score_completions(self, inputs: list[dict[str, Any]]) -> dict[str, Any]:
        output = super()._generate_and_score_completions(inputs)
        rewards = torch.as_tensor(self.process_reward.last_token_rewards)
        mask = output["completion_mask"]
        if rewards.shape[0] != mask.shape[0]:
            raise RuntimeError(
                f"the process reward scored {rewards.shape[0]} completions but the batch holds {mask.shape[0]} "
                "(ProcessGRPOTrainer runs on one process)"
            )
        output["advantages"] = per_token_advantages(rewards, mask, self.process_baseline)
        return output
