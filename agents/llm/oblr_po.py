"""OBLR-PO inside TRL: GRPOTrainer with the score-norm weighted leave-one-out baseline and the SNR-governed
learning rate, by the package's own rules (``agents.rules.group_advantages``, ``agents.rules.snr``).

"OBLR-PO: A Theoretical Framework for Stable Reinforcement Learning" (Huang, Sheng and Zheng, arXiv 2511.23310),
read as ``agents.learners.group_pg`` reads it: with G completions per prompt and B prompts per step,
- the baseline of completion i is b_i = sum_{j != i} r_j w_j / sum_{j != i} w_j with w_j = ||s_j||^2, s_j the
  score grad_theta log p(y_j | x) of completion j (``weighted_leave_one_out``), and A_i = r_i - b_i, with no std or
  length normalisation;
- the update is theta + eta g, g = 1/(B G) sum_{b,i} A_bi s_bi, by plain SGD, at the rate eta = eta_max S / (1 + S)
  clipped to [eta_min, eta_max], S the smoothed SNR of the B per-prompt estimates g_b = 1/G sum_i A_bi s_bi
  (``SNRLearningRate``, ``gradient_statistics``).

TRL's generation, batching and logging stay; ``_generate_and_score_completions`` replaces the advantages and sets
the optimiser's rate for the step. TRL's ``dr_grpo`` loss divides by (B G) * max_completion_length, so its gradient
is -g / N for completions of N tokens: the SGD rate is set to eta * N, and the step is exactly theta + eta g.

The cost is the per-completion scores: one forward and backward pass per completion (B G of them per step, on
top of TRL's batched pass), and a ``(B G, D)`` buffer for a model of D trainable parameters.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from transformers.trainer_utils import get_last_checkpoint

from agents.llm.rewards import TaskReward
from agents.llm.task_trainers import TaskGRPOTrainer
from agents.llm.trainers import task_grpo_config
from agents.rules.group_advantages import group_advantages
from agents.rules.snr import SNR_ESTIMATORS, SNRLearningRate, gradient_statistics

# The SNR's running average, saved in each checkpoint folder.
RATE_FILE = "oblr_po_rate.json"
# TRL settings OBLR-PO needs: name -> (required value, why).
REQUIRED: dict[str, tuple[Any, str]] = {
    "optim": ("sgd", "OBLR-PO's update is plain SGD at the SNR rate"),
    "loss_type": ("dr_grpo", "its constant normaliser (B G N) makes the step exactly theta + eta g"),
    "num_iterations": (1, "one update per generated batch (the scores are those of the sampling policy)"),
    "steps_per_generation": (1, "one generated batch per optimiser step"),
    "gradient_accumulation_steps": (1, "the SNR is that of the whole step's batch"),
    "beta": (0.0, "the package's OBLR-PO has no KL term here"),
}


def oblr_po_config(seq_len: int, output_dir: str, **overrides: Any) -> Any:
    """``task_grpo_config`` with the settings ``OBLRPOTrainer`` needs: SGD, the ``dr_grpo`` loss, no gradient
    clipping (``max_grad_norm=0``), a constant schedule, one update per generation, no KL. ``learning_rate`` is
    eta_max, the rate at infinite SNR (the package's ``GroupPGConfig.learning_rate``)."""
    settings: dict[str, Any] = {name: value for name, (value, _) in REQUIRED.items()}
    settings.update({"max_grad_norm": 0.0, "lr_scheduler_type": "constant", **overrides})
    return task_grpo_config(seq_len, output_dir, **settings)


def sequence_reward_of(reward_funcs: Any) -> TaskReward:
    """The one ``TaskReward`` among a trainer's reward functions (ValueError if none or several)."""
    funcs = reward_funcs if isinstance(reward_funcs, (list, tuple)) else [reward_funcs]
    found = [f for f in funcs if isinstance(f, TaskReward)]
    if len(found) != 1 or len(funcs) != 1:
        names = [getattr(f, "__name__", type(f).__name__) for f in funcs]
        raise ValueError(
            "reward_funcs must be exactly one agents.llm reward (outcome_reward_func or process_reward_func), "
            f"got {names}"
        )
    return found[0]


class OBLRPOTrainer(TaskGRPOTrainer):
    """GRPOTrainer with OBLR-PO's advantages and learning rate (module docstring). Build ``args`` with
    ``oblr_po_config``; other settings are refused where they would change the update. Takes GRPOTrainer's
    arguments (and ``TaskGRPOTrainer``'s ``show_progress`` and ``description``) and these:

    Args:
        eta_min_fraction: eta_min = eta_min_fraction * eta_max (``GroupPGConfig.eta_min_fraction``).
        snr_smoothing: beta of the SNR's exponential average (``GroupPGConfig.snr_smoothing``).
        snr_estimator: "plain" or "debiased" (``agents.rules.snr``).

    Attributes:
        last_step: the last step's ``rewards`` ``(B, G)``, ``weights`` (||s||^2, ``(B, G)``), ``advantages``,
            ``baselines`` (``(B, G)``), ``per_prompt`` gradients ``(B, D)``, ``statistics`` and ``rate`` (eta).
    """

    def __init__(
        self,
        *args: Any,
        eta_min_fraction: float = 0.01,
        snr_smoothing: float = 0.9,
        snr_estimator: str = "plain",
        **kwargs: Any,
    ) -> None:
        if not 0 < eta_min_fraction <= 1:
            raise ValueError(f"eta_min_fraction must lie in (0, 1], got {eta_min_fraction!r}")
        if snr_estimator not in SNR_ESTIMATORS:
            raise ValueError(f"snr_estimator must be one of {SNR_ESTIMATORS}, got {snr_estimator!r}")
        config = kwargs.get("args", args[2] if len(args) > 2 else None)
        if config is None:
            raise ValueError("args must be a GRPOConfig built by agents.llm.oblr_po_config")
        for name, (value, why) in REQUIRED.items():
            if getattr(config, name) != value:
                raise ValueError(f"{name} must be {value!r} for OBLR-PO ({why}), got {getattr(config, name)!r}")
        if config.max_grad_norm:
            raise ValueError(
                f"max_grad_norm must be 0 for OBLR-PO (clipping changes the step), got {config.max_grad_norm!r}"
            )
        super().__init__(*args, **kwargs)
        self.task_reward = sequence_reward_of(self.reward_funcs)
        self.rate = SNRLearningRate(
            eta_max=config.learning_rate,
            eta_min=eta_min_fraction * config.learning_rate,
            smoothing=snr_smoothing,
            estimator=snr_estimator,
        )
        self.last_step: dict[str, Any] = {}

    def _save_rng_state(self, output_dir: str) -> None:
        """Trainer saves a checkpoint's RNG state here; the SNR's running average goes beside it (a resumed run
        continues the same rate schedule)."""
        super()._save_rng_state(output_dir)
        (Path(output_dir) / RATE_FILE).write_text(json.dumps(self.rate.state_dict()))

    def train(self, resume_from_checkpoint: str | bool | None = None, *args: Any, **kwargs: Any) -> Any:
        """``Trainer.train``; resuming from a checkpoint also restores the SNR's running average saved with it."""
        checkpoint = resume_from_checkpoint
        if checkpoint is True:
            checkpoint = get_last_checkpoint(self.args.output_dir)
        if isinstance(checkpoint, (str, Path)):
            saved = Path(checkpoint) / RATE_FILE
            if not saved.is_file():
                raise ValueError(
                    f"resume_from_checkpoint {str(checkpoint)!r} holds no {RATE_FILE} (saved with save_only_model, or "
                    "not an OBLRPOTrainer checkpoint): the SNR-governed rate cannot resume"
                )
            self.rate.load_state_dict(json.loads(saved.read_text()))
        return super().train(resume_from_checkpoint, *args, **kwargs)

    def completion_scores(self, batch: dict[str, Any]) -> torch.Tensor:
        """s_i = grad_theta sum_t log p(y_it | x_i, y_i,<t) of every completion, over the trainable parameters in
        ``model.parameters()`` order: ``(B G, D)`` float64 (one forward and backward pass per completion)."""
        model = cast(torch.nn.Module, self.model)  # set by Trainer's __init__
        params = [p for p in model.parameters() if p.requires_grad]
        rows = []
        was_training = model.training
        model.eval()  # dropout off: the score of the policy that sampled
        for prompt, prompt_mask, completion, completion_mask in zip(
            batch["prompt_ids"], batch["prompt_mask"], batch["completion_ids"], batch["completion_mask"], strict=True
        ):
            answer = completion[completion_mask.bool()]
            ids = torch.cat([prompt[prompt_mask.bool()], answer]).unsqueeze(0)
            logits = model(input_ids=ids).logits[0, -len(answer) - 1 : -1].float()
            log_prob = torch.log_softmax(logits, dim=-1).gather(-1, answer.unsqueeze(-1)).sum()
            grads = torch.autograd.grad(log_prob, params)
            rows.append(torch.cat([g.reshape(-1) for g in grads]).double())
        model.train(was_training)
        return torch.stack(rows)

    def _generate_and_score_completions(self, inputs: list[dict[str, Any]]) -> dict[str, Any]:
        output = super()._generate_and_score_completions(inputs)
        group = cast(int, self.num_generations)  # GRPOConfig always sets it
        returns = torch.as_tensor(self.task_reward.last_token_rewards.sum(axis=1))
        if returns.numel() != output["completion_ids"].shape[0] or returns.numel() % group:
            raise RuntimeError(
                f"the reward scored {returns.numel()} completions but the batch holds "
                f"{output['completion_ids'].shape[0]} in groups of {group} (OBLRPOTrainer runs on one process)"
            )
        rewards = returns.double().view(-1, group)
        scores = self.completion_scores(output)
        weights = scores.pow(2).sum(dim=1).view_as(rewards)
        advantages, baselines = group_advantages(rewards, "weighted_leave_one_out", weights)
        per_prompt = (advantages.reshape(-1, 1) * scores).view(rewards.shape[0], group, -1).mean(dim=1)
        statistics = gradient_statistics(per_prompt)
        rate = self.rate(statistics)
        if self.optimizer is not None:  # None outside ``train`` (a batch scored on its own)
            for param_group in self.optimizer.param_groups:
                param_group["lr"] = rate * cast(int, self.max_completion_length)  # the dr_grpo loss's 1/N undone
        output["advantages"] = advantages.reshape(-1).to(output["completion_ids"].device, torch.float32)
        self.last_step = {
            "rewards": rewards,
            "weights": weights,
            "advantages": advantages,
            "baselines": baselines,
            "per_prompt": per_prompt,
            "statistics": statistics,
            "rate": rate,
        }
        metrics = self._metrics["train"]
        metrics["oblr/learning_rate"].append(rate)
        metrics["oblr/snr"].append(min(statistics.snr, 1e6))
        metrics["oblr/snr_smoothed"].append(self.rate.smoothed_snr)
        metrics["oblr/baseline"].append(float(baselines.mean()))
        metrics["oblr/score_sq_norm"].append(float(np.mean(weights.numpy())))
        return output
