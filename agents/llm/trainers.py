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

from typing import Any

import torch
from trl import GRPOConfig, GRPOTrainer

from agents.llm.rewards import TaskReward
from agents.rules.advantages import paper_advantages


def task_grpo_config(seq_len: int, output_dir: str, **overrides: Any) -> GRPOConfig:
    """A ``GRPOConfig`` for a seqreward task: completions of exactly ``seq_len`` tokens, float32 throughout
    (TRL's default bf16 autocast would score tokens in bfloat16, about 1e-3 off the float32 policy that
    samples them), no gradient checkpointing (tiny models), no saving or reporting; ``overrides`` win."""
    settings: dict[str, Any] = {
        "output_dir": output_dir,
        "max_completion_length": seq_len,
        "bf16": False,
        "activation_checkpointing": False,
        "report_to": "none",
        "save_strategy": "no",
        "disable_tqdm": True,
        **overrides,
    }
    return GRPOConfig(**settings)


def process_reward_of(reward_funcs: Any) -> TaskReward:
    """The one process ``TaskReward`` among a trainer's reward functions (ValueError if none or several)."""
    funcs = reward_funcs if isinstance(reward_funcs, (list, tuple)) else [reward_funcs]
    found = [f for f in funcs if isinstance(f, TaskReward) and f.reward == "process"]
    if len(found) != 1:
        raise ValueError(
            f"reward_funcs must hold exactly one process reward (agents.llm.process_reward_func), got {funcs!r}"
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


class ProcessGRPOTrainer(GRPOTrainer):
    """``GRPOTrainer`` whose advantages are the process reward's per-token A_i = r_i.

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
