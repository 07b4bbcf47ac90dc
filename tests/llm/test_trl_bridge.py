"""The bridge to TRL on one batch: the sampled and optimised policies are one distribution, the rewards and
their queries are the env's, the per-token PRM trainer's advantages and loss gradient are the package's rules,
and the callback's test error is the package's own evaluator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from trl import GRPOTrainer

from agents.llm import (
    CausalLMPolicy,
    ExactEvalCallback,
    ProcessGRPOTrainer,
    PromptEncoding,
    answer_log_probs,
    outcome_reward_func,
    process_reward_func,
    prompt_dataset,
    tiny_causal_lm,
)
from agents.policy.rollout import Rollout
from agents.rules.advantages import paper_advantages
from seqreward_env import SequenceTask
from tests.llm.conftest import ENV_ID, grpo_config

GROUP = 4


def trainer_and_batch(
    task: SequenceTask, encoding: PromptEncoding, tokenizer: Any, tmp_path: Path, answer_head: bool = True
) -> tuple[GRPOTrainer, dict[str, Any], list[dict[str, Any]]]:
    """A per-token PRM trainer on a tiny model, and one generated and scored batch of 2 prompts x 4."""
    model = tiny_causal_lm(encoding, seed=1, answer_head=answer_head)
    prm = process_reward_func(task, encoding)
    data = prompt_dataset(task, encoding, 8, seed=3)
    # the task trainers refuse a model without the answer head; plain TRL takes it
    trainer_class = ProcessGRPOTrainer if answer_head else GRPOTrainer
    trainer = trainer_class(
        model=model,
        reward_funcs=[prm],
        args=grpo_config(tmp_path, task.seq_len, num_generations=GROUP),
        train_dataset=data,
        processing_class=tokenizer,
    )
    inputs = [data[i] for i in (0, 1) for _ in range(GROUP)]
    torch.manual_seed(0)
    return trainer, trainer._generate_and_score_completions(inputs), inputs


def completion_log_probs(trainer: GRPOTrainer, batch: dict[str, Any]) -> torch.Tensor:
    ids = torch.cat([batch["prompt_ids"], batch["completion_ids"]], dim=1)
    mask = torch.cat([batch["prompt_mask"], batch["completion_mask"]], dim=1)
    width = batch["completion_ids"].shape[1]
    log_probs, _, _ = trainer._get_per_token_logps_and_entropies(trainer.model, ids, mask, width)
    return log_probs


def test_sampled_and_optimised_policies_are_one_distribution(
    task: SequenceTask, encoding: PromptEncoding, tokenizer: Any, tmp_path: Path
) -> None:
    trainer, batch, inputs = trainer_and_batch(task, encoding, tokenizer, tmp_path)
    completions = batch["completion_ids"]
    assert completions.shape == (2 * GROUP, task.seq_len)
    assert set(completions.unique().tolist()) <= set(encoding.answer_ids)  # generate writes answer tokens only
    with torch.no_grad():
        trl_log_probs = completion_log_probs(trainer, batch)
    # the sampling distribution: softmax over the k answer tokens of the logits generate samples from
    contexts = np.array([row["context"] for row in inputs])
    answers = encoding.answers(completions.tolist(), task.seq_len)
    sampling = answer_log_probs(trainer.model, encoding, contexts, answers)
    np.testing.assert_allclose(trl_log_probs.double().numpy(), sampling, atol=1e-5)


def test_without_the_answer_head_trl_optimises_another_distribution(
    task: SequenceTask, encoding: PromptEncoding, tokenizer: Any, tmp_path: Path
) -> None:
    # restricting sampling to the answer tokens (a logits processor) while TRL scores over the whole vocabulary
    trainer, _, _ = trainer_and_batch(task, encoding, tokenizer, tmp_path, answer_head=False)
    x = task.test_contexts(8)
    y = task.targets(x)
    prompts, responses = torch.as_tensor(encoding.prompt_ids(x)), torch.as_tensor(encoding.response_ids(y))
    batch = {
        "prompt_ids": prompts,
        "prompt_mask": torch.ones_like(prompts),
        "completion_ids": responses,
        "completion_mask": torch.ones_like(responses),
    }
    with torch.no_grad():
        trl_log_probs = completion_log_probs(trainer, batch).double().numpy()
    restricted = answer_log_probs(trainer.model, encoding, x, y)
    assert np.all(trl_log_probs < restricted - 0.1)


def env_rollout(task_id: str, contexts: np.ndarray, answers: np.ndarray) -> Rollout:
    """The completions written through the env (one vector env row per completion), as the package's batch."""
    envs = gym.make_vec(task_id, num_envs=len(contexts))
    envs.reset(options={"context": contexts})
    rewards = np.zeros(answers.shape, dtype=np.float32)
    for i in range(answers.shape[1]):
        _, reward, *_ = envs.step(answers[:, i])
        rewards[:, i] = reward
    queries = int(envs.unwrapped.total_reward_queries)  # type: ignore[attr-defined]
    envs.close()
    b, n = answers.shape
    return Rollout(
        torch.as_tensor(contexts),
        torch.as_tensor(answers),
        torch.as_tensor(rewards),
        torch.zeros(b, n, task_vocab(task_id)),
        torch.ones(b, n, dtype=torch.bool),
        torch.as_tensor(rewards[:, -1] > 0),
        queries,
    )


def task_vocab(task_id: str) -> int:
    return int(gym.spec(task_id).kwargs["vocab_size"])


def test_rewards_and_queries_are_the_envs(task: SequenceTask, encoding: PromptEncoding) -> None:
    x = task.test_contexts(64)
    rng = np.random.default_rng(0)
    answers = task.targets(x)
    answers[32:] = rng.integers(0, task.vocab_size, size=(32, task.seq_len))  # half right, half mostly wrong
    ids = encoding.response_ids(answers).tolist()
    for reward, func in (
        ("process", process_reward_func(task, encoding)),
        ("outcome", outcome_reward_func(task, encoding)),
    ):
        env_id = ENV_ID.replace("Process", reward.capitalize())
        batch = env_rollout(env_id, x, answers)
        paid = func(prompts=[""] * 64, completions=[""] * 64, completion_ids=ids, context=x.tolist())
        np.testing.assert_allclose(paid, batch.returns.numpy())
        np.testing.assert_allclose(func.last_token_rewards, batch.rewards.numpy())
        assert func.reward_queries == batch.reward_queries == (64 * task.seq_len if reward == "process" else 64)


def test_per_token_advantages_and_loss_are_the_paper_prm_rules(
    task: SequenceTask, encoding: PromptEncoding, tokenizer: Any, tmp_path: Path
) -> None:
    trainer, batch, inputs = trainer_and_batch(task, encoding, tokenizer, tmp_path)
    contexts = np.array([row["context"] for row in inputs], dtype=np.float32)
    answers = encoding.answers(batch["completion_ids"].tolist(), task.seq_len)
    played = env_rollout(ENV_ID, contexts, answers)
    rules = paper_advantages(played.rewards, played.generated, "process", None)
    assert rules.abs().sum() > 0 and (rules > 0).any() and (rules < 0).any()
    torch.testing.assert_close(batch["advantages"], rules)
    # TRL's loss on the batch has the gradient of the paper's PRM PG loss -(1 / BN) sum A_bi log p_bi
    model = trainer.model
    trainer.current_gradient_accumulation_steps = 1  # what the training loop sets for each step
    model.zero_grad()
    trainer.compute_loss(model, batch).backward()
    trl_grads = [p.grad.clone() for p in model.parameters() if p.requires_grad]
    model.zero_grad()
    log_probs = completion_log_probs(trainer, batch)
    (-(rules * log_probs).sum() / rules.numel()).backward()
    for trl_grad, p in zip(trl_grads, (p for p in model.parameters() if p.requires_grad), strict=True):
        torch.testing.assert_close(trl_grad, p.grad, atol=1e-6, rtol=1e-4)
    assert sum(float(g.abs().sum()) for g in trl_grads) > 0


def test_the_trainer_needs_a_process_reward(
    task: SequenceTask, encoding: PromptEncoding, tokenizer: Any, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match="exactly one process reward"):
        ProcessGRPOTrainer(
            model=tiny_causal_lm(encoding),
            reward_funcs=[outcome_reward_func(task, encoding)],
            args=grpo_config(tmp_path, task.seq_len),
            train_dataset=prompt_dataset(task, encoding, 8),
            processing_class=tokenizer,
        )


def test_callback_test_error_is_the_package_evaluator_on_the_env_observations(
    task: SequenceTask, encoding: PromptEncoding
) -> None:
    model = tiny_causal_lm(encoding, seed=2)
    x = task.test_contexts(128)
    tracked = x[:10]
    callback = ExactEvalCallback(task, encoding, test_size=128, tracked=tracked, off_support=np.array([1, 4]))
    record = callback.evaluate(model, step=0)
    # the policy as a function of the env's observations, one position at a time (the sampling path)
    probs = task.policy_token_probabilities(CausalLMPolicy(model, encoding).next_token_probs, x)
    assert record["eval/test_error"] == pytest.approx(task.test_error(probs.prod(axis=1)), abs=1e-6)
    tracked_probs = task.policy_token_probabilities(CausalLMPolicy(model, encoding).next_token_probs, tracked)
    assert record["eval/off_support_likelihood"] == pytest.approx(tracked_probs.prod(axis=1)[[1, 4]].mean(), rel=1e-5)
    assert 0.5 < record["eval/test_error"] < 1.0


def test_a_short_prm_run_logs_exact_metrics_and_queries(
    task: SequenceTask, encoding: PromptEncoding, tokenizer: Any, tmp_path: Path
) -> None:
    prm = process_reward_func(task, encoding)
    callback = ExactEvalCallback(
        task, encoding, eval_every=2, test_size=64, reward_funcs=[prm], log_dir=tmp_path / "run"
    )
    trainer = ProcessGRPOTrainer(
        model=tiny_causal_lm(encoding),
        reward_funcs=[prm],
        args=grpo_config(tmp_path, task.seq_len, max_steps=4),
        train_dataset=prompt_dataset(task, encoding, 64),
        processing_class=tokenizer,
        callbacks=[callback],
    )
    trainer.train()
    assert [r["step"] for r in callback.records] == [0, 2, 4]
    assert [r["train/reward_queries"] for r in callback.records] == [0, 2 * 8 * 4, 4 * 8 * 4]
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 3 and any((tmp_path / "run" / "tb").iterdir())
