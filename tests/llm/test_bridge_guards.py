"""The bridge's failure modes made loud or correct: the answer restriction survives saving, loading and TRL's
reference model; evaluation refuses a model that is not the encoding's policy; reward queries reach TRL's logs
exactly; settings and inputs that would break silently are refused naming the argument; a used log folder is
refused; TRL runs show a progress bar, not printed log dictionaries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from transformers import AutoModelForCausalLM, GPT2Config, GPT2LMHeadModel
from transformers.trainer_callback import PrinterCallback, ProgressCallback
from trl import GRPOTrainer

from agents.llm import (
    ExactEvalCallback,
    ProcessGRPOTrainer,
    PromptEncoding,
    TaskGRPOTrainer,
    TaskRLOOTrainer,
    answer_log_probs,
    check_answer_head,
    constrain_to_answers,
    lm_evaluate,
    load_answer_model,
    outcome_reward_func,
    process_reward_func,
    prompt_dataset,
    task_grpo_config,
    task_rloo_config,
    tiny_causal_lm,
)
from agents.llm.trainers import process_reward_of
from agents.policy.evaluation import PolicyEvaluator
from seqreward_env import SequenceTask
from tests.llm.conftest import grpo_config


def sample_ids(model: Any, encoding: PromptEncoding, task: SequenceTask, count: int = 32) -> torch.Tensor:
    prompts = torch.as_tensor(encoding.prompt_ids(task.test_contexts(count)))
    torch.manual_seed(0)
    out = model.generate(prompts, do_sample=True, max_new_tokens=task.seq_len, min_new_tokens=task.seq_len)
    return out[:, prompts.shape[1] :]


def test_the_restriction_survives_save_and_load(task: SequenceTask, encoding: PromptEncoding, tmp_path: Path) -> None:
    model = tiny_causal_lm(encoding, seed=3)
    model.save_pretrained(tmp_path / "saved")
    loaded = AutoModelForCausalLM.from_pretrained(tmp_path / "saved")
    assert set(sample_ids(loaded, encoding, task).unique().tolist()) <= set(encoding.answer_ids)
    x = task.test_contexts(16)
    np.testing.assert_allclose(
        answer_log_probs(loaded, encoding, x, task.targets(x)), answer_log_probs(model, encoding, x, task.targets(x))
    )
    assert not loaded.get_output_embeddings().bias.requires_grad  # the mask is not trained
    check_answer_head(loaded, encoding)


def test_another_architecture_is_reloaded_restricted(encoding: PromptEncoding, tmp_path: Path) -> None:
    config = GPT2Config(vocab_size=len(encoding.vocabulary), n_embd=16, n_layer=1, n_head=2, n_positions=32)
    model = constrain_to_answers(GPT2LMHeadModel(config), encoding.answer_ids)
    model.save_pretrained(tmp_path / "gpt2")
    with pytest.raises(ValueError, match="does not restrict to the encoding's answer tokens"):
        check_answer_head(AutoModelForCausalLM.from_pretrained(tmp_path / "gpt2"), encoding)  # transformers drops it
    check_answer_head(load_answer_model(str(tmp_path / "gpt2")), encoding)


def test_trl_loads_a_path_restricted(
    task: SequenceTask, encoding: PromptEncoding, tokenizer: Any, tmp_path: Path
) -> None:
    tiny_causal_lm(encoding, seed=3).save_pretrained(tmp_path / "saved")
    trainer = GRPOTrainer(
        model=str(tmp_path / "saved"),
        reward_funcs=[outcome_reward_func(task, encoding)],
        args=grpo_config(tmp_path / "out", task.seq_len, beta=0.1),
        train_dataset=prompt_dataset(task, encoding, 8),
        processing_class=tokenizer,
    )
    check_answer_head(trainer.model, encoding)
    check_answer_head(trainer.ref_model, encoding, "the reference model")


def test_evaluation_refuses_a_model_that_is_not_the_encodings_policy(
    task: SequenceTask, encoding: PromptEncoding
) -> None:
    evaluator = PolicyEvaluator(task, test_size=16)
    with pytest.raises(ValueError, match="does not restrict to the encoding's answer tokens"):
        lm_evaluate(evaluator, tiny_causal_lm(encoding, answer_head=False), encoding)
    wider = PromptEncoding(encoding.levels, encoding.vocab_size + 2, encoding.context_dim, lossless=True)
    callback = ExactEvalCallback(task, encoding, test_size=16)
    with pytest.raises(ValueError, match="its LM head has 10 outputs but the encoding .* has 8 tokens"):
        callback.evaluate(tiny_causal_lm(wider), step=0)  # built for another encoding
    partial = constrain_to_answers(tiny_causal_lm(encoding, answer_head=False), encoding.answer_ids[:2])
    with pytest.raises(ValueError, match="masks some of the encoding's answer tokens"):
        callback.evaluate(partial, step=0)
    assert callback.records == []


@pytest.mark.parametrize("trainer_class", [TaskGRPOTrainer, TaskRLOOTrainer])
def test_kl_to_a_config_built_model_uses_a_restricted_reference(
    trainer_class: Any, task: SequenceTask, encoding: PromptEncoding, tokenizer: Any, tmp_path: Path
) -> None:
    make_config = task_grpo_config if trainer_class is TaskGRPOTrainer else task_rloo_config
    args = make_config(
        task.seq_len,
        str(tmp_path),
        per_device_train_batch_size=8,
        num_generations=4,
        max_steps=1,
        learning_rate=1e-2,
        use_cpu=True,
        beta=0.1,
    )
    model = tiny_causal_lm(encoding, seed=4)
    x = task.test_contexts(8)
    before = answer_log_probs(model, encoding, x, task.targets(x))
    trainer = trainer_class(
        model=model,
        reward_funcs=[process_reward_func(task, encoding)],
        args=args,
        train_dataset=prompt_dataset(task, encoding, 16),
        processing_class=tokenizer,
        show_progress=False,
    )
    check_answer_head(trainer.ref_model, encoding, "the reference model")
    np.testing.assert_allclose(answer_log_probs(trainer.ref_model, encoding, x, task.targets(x)), before, atol=1e-6)
    trainer.train()
    assert any("kl" in record for record in trainer.state.log_history)
    np.testing.assert_allclose(answer_log_probs(trainer.ref_model, encoding, x, task.targets(x)), before, atol=1e-6)


def test_reward_queries_are_logged_exactly(
    task: SequenceTask, encoding: PromptEncoding, tokenizer: Any, tmp_path: Path
) -> None:
    reward = outcome_reward_func(task, encoding)
    trainer = TaskGRPOTrainer(
        model=tiny_causal_lm(encoding),
        reward_funcs=[reward],
        args=grpo_config(tmp_path, task.seq_len, max_steps=6, logging_steps=3),
        train_dataset=prompt_dataset(task, encoding, 48),
        processing_class=tokenizer,
        callbacks=[ExactEvalCallback(task, encoding, eval_every=3, test_size=16, reward_funcs=[reward])],
        show_progress=False,
    )
    trainer.train()
    logged = [r for r in trainer.state.log_history if "loss" in r]
    assert [r["reward_queries/outcome"] for r in logged] == [3 * 8, 6 * 8]  # 8 completions per step
    assert [r["reward_queries/outcome_per_step"] for r in logged] == [8, 8]


def test_settings_that_break_silently_are_refused(task: SequenceTask, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="mask_truncated_completions=True is not allowed"):
        task_grpo_config(task.seq_len, str(tmp_path), mask_truncated_completions=True)
    with pytest.raises(ValueError, match="mask_truncated_completions=True is not allowed"):
        task_rloo_config(task.seq_len, str(tmp_path), mask_truncated_completions=True)
    with pytest.raises(ValueError, match=r"seq_len must be .* got a SequenceTask"):
        task_grpo_config(task, str(tmp_path))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="seq_len must be .* got 0"):
        task_grpo_config(0, str(tmp_path))
    with pytest.raises(ValueError, match="max_completion_length must equal seq_len=4"):
        task_grpo_config(task.seq_len, str(tmp_path), max_completion_length=8)
    assert task_rloo_config(task.seq_len, str(tmp_path)).max_completion_length == task.seq_len


def test_reward_inputs_that_break_silently_are_refused(task: SequenceTask, encoding: PromptEncoding) -> None:
    reward = outcome_reward_func(task, encoding)
    x = task.test_contexts(2)
    ids = encoding.response_ids(task.targets(x)).tolist()
    with pytest.raises(ValueError, match="needs a 'context' column"):
        reward(prompts=["", ""], completions=["", ""], completion_ids=ids)
    with pytest.raises(ValueError, match=r"context must have shape \(completions, d\) = \(2, 8\)"):
        reward(prompts=["", ""], completions=["", ""], completion_ids=ids, context=x[:, :4].tolist())
    with pytest.raises(ValueError, match=r"context must have shape .* got shape \(1, 8\)"):
        reward(prompts=["", ""], completions=["", ""], completion_ids=ids, context=x[:1].tolist())
    assert reward.reward_queries == 0
    with pytest.raises(ValueError, match=r"got 0 among \['outcome_reward'\]$"):
        process_reward_of([reward])


def test_a_used_log_dir_is_refused(task: SequenceTask, encoding: PromptEncoding, tmp_path: Path) -> None:
    first = ExactEvalCallback(task, encoding, test_size=16, log_dir=tmp_path)
    first.evaluate(tiny_causal_lm(encoding), step=0)
    with pytest.raises(ValueError, match="log_dir .* already holds a run's metrics.jsonl"):
        ExactEvalCallback(task, encoding, test_size=16, log_dir=tmp_path)
    assert len((tmp_path / "metrics.jsonl").read_text().splitlines()) == 1


def test_task_trainers_show_a_progress_bar_not_log_dictionaries(
    task: SequenceTask, encoding: PromptEncoding, tokenizer: Any, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    prm = process_reward_func(task, encoding)
    trainer = ProcessGRPOTrainer(
        model=tiny_causal_lm(encoding),
        reward_funcs=[prm],
        args=grpo_config(tmp_path, task.seq_len, max_steps=2),
        train_dataset=prompt_dataset(task, encoding, 16),
        processing_class=tokenizer,
        description="prm",
    )
    kinds = {type(c) for c in trainer.callback_handler.callbacks}
    assert PrinterCallback not in kinds and ProgressCallback not in kinds
    trainer.train()
    out = capsys.readouterr()
    assert "{'loss'" not in out.out and "'loss'" not in out.err
    assert "prm" in out.err and "2/2" in out.err


def test_a_model_without_the_answer_head_is_refused_by_the_task_trainers(
    task: SequenceTask, encoding: PromptEncoding, tokenizer: Any, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match="model is not a policy over the encoding's 4 answer tokens"):
        TaskGRPOTrainer(
            model=tiny_causal_lm(encoding, answer_head=False),
            reward_funcs=[outcome_reward_func(task, encoding)],
            args=grpo_config(tmp_path, task.seq_len),
            train_dataset=prompt_dataset(task, encoding, 8),
            processing_class=tokenizer,
        )
