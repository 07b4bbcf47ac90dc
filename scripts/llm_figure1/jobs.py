"""The LLM Figure 1's runs: the tiny Llama's SFT base, TRL GRPO with the outcome reward and ProcessGRPOTrainer
with the per-token process reward per seed, and the package's linear base with PaperPG and GroupPG (GRPO) on the
same task. Each run writes ``metrics.jsonl`` (the package's records: ``eval/...`` and ``train/reward_queries``)
in its own folder; a folder holding ``done.json`` is reused, so the same command resumes."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from trl import GRPOTrainer

from agents.common.seeding import derive_seed
from agents.experiment.jobs import FINAL_MODEL, Evaluation, Job, StopRule, TaskSpec, run_job
from agents.learners.group_pg import GroupPGConfig
from agents.learners.paper_pg import PaperPGConfig
from agents.learners.pretrain import PretrainConfig
from agents.llm import (
    ExactEvalCallback,
    ProcessGRPOTrainer,
    PromptEncoding,
    answer_log_probs,
    make_tokenizer,
    outcome_reward_func,
    process_reward_func,
    prompt_dataset,
    sft_base_model,
    task_grpo_config,
    tiny_causal_lm,
)
from agents.policy.choice import load_policy
from agents.policy.evaluation import PolicyEvaluator
from agents.runs.folder import read_metrics
from scripts.llm_figure1.settings import LLMFigure1Config
from seqreward_env import SequenceTask

ENV_IDS = {"outcome": "seqreward/RademacherOutcome-v0", "process": "seqreward/RademacherProcess-v0"}
DONE = "done.json"
# The runs of the figure: (name, stack, reward). "process_sum" is TRL's GRPOTrainer given the process reward as
# one scalar per completion (sum_i r_i, group-normalised): the per-token credit lost, as plain TRL would have it.
METHODS: tuple[tuple[str, str, str], ...] = (
    ("TRL GRPO (outcome)", "llm", "outcome"),
    ("TRL GRPO (process, summed)", "llm", "process_sum"),
    ("TRL per-token PRM", "llm", "process"),
    ("PaperPG ORM", "linear", "outcome"),
    ("PaperPG PRM", "linear", "process"),
    ("GroupPG GRPO (outcome)", "linear", "group"),
)


def hf_seed(seed: int, *keys: str | int) -> int:
    """A seed for Hugging Face's ``set_seed`` (which needs [0, 2^32)) from the run's stream named by ``keys``."""
    return derive_seed(seed, *keys) >> 31


def build_task(config: LLMFigure1Config) -> SequenceTask:
    return gym.make(ENV_IDS["process"], task_seed=config.task_seed).unwrapped.task  # type: ignore[attr-defined]


def every_context(task: SequenceTask) -> np.ndarray:
    """The task's whole context set: every Rademacher vector with the margin the task guarantees, ``(n, d)``."""
    grid = np.array(list(itertools.product([-1.0, 1.0], repeat=task.context_dim)), dtype=np.float32)
    margin = task.margin_condition or 0.0
    return grid[task.margins(grid) >= margin]


def support_contexts(contexts: np.ndarray) -> np.ndarray:
    """The SFT data: the contexts whose first coordinate is +1 (the others are left to generalisation)."""
    return contexts[contexts[:, 0] > 0]


def model_sizes(config: LLMFigure1Config) -> dict[str, int]:
    return {"hidden_size": config.hidden_size, "num_layers": config.num_layers, "num_heads": config.num_heads}


def llm_base(config: LLMFigure1Config, task: SequenceTask, folder: Path) -> tuple[dict[str, torch.Tensor], list]:
    """The SFT base's weights and its SFT evaluation records (trained once, then read from ``folder``)."""
    weights = folder / "model.pt"
    if (folder / DONE).exists():
        return torch.load(weights, weights_only=True), read_metrics(folder)
    encoding = PromptEncoding.for_task(task)
    model = tiny_causal_lm(encoding, seed=hf_seed(config.seed, "llm_init"), **model_sizes(config))
    records = sft_base_model(
        model,
        make_tokenizer(encoding),
        task,
        encoding,
        support_contexts(every_context(task)),
        str(folder / "trainer"),
        target_test_error=config.base_test_error,
        max_steps=config.sft_max_steps,
        eval_every=config.sft_eval_every,
        test_size=config.test_size,
        seed=hf_seed(config.seed, "sft"),
    )
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), weights)
    (folder / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (folder / DONE).write_text(json.dumps({"test_error": records[-1]["eval/test_error"]}))
    return model.state_dict(), records


def llm_likelihoods(config: LLMFigure1Config, task: SequenceTask, weights: dict, contexts: np.ndarray) -> np.ndarray:
    """p(y*|x) of the LLM with ``weights`` on ``contexts``: ``(n,)``."""
    encoding = PromptEncoding.for_task(task)
    model = tiny_causal_lm(encoding, **model_sizes(config))
    model.load_state_dict(weights)
    return np.exp(answer_log_probs(model, encoding, contexts, task.targets(contexts)).sum(axis=1))


def llm_run(
    config: LLMFigure1Config,
    task: SequenceTask,
    weights: dict,
    reward: str,
    seed: int,
    off_support: np.ndarray,
    folder: Path,
) -> list[dict[str, Any]]:
    """One TRL run from the SFT base: GRPOTrainer with the outcome reward ("outcome") or the summed process reward
    ("process_sum"), or ProcessGRPOTrainer with the per-token process reward ("process"); its exact evaluations
    (all contexts tracked) are written to ``folder``."""
    if (folder / DONE).exists():
        return read_metrics(folder)
    for stale in ("metrics.jsonl", "tb"):  # an interrupted run starts over
        path = folder / stale
        if path.is_file():
            path.unlink()
    encoding = PromptEncoding.for_task(task)
    model = tiny_causal_lm(encoding, **model_sizes(config))
    model.load_state_dict(weights)
    func = outcome_reward_func(task, encoding) if reward == "outcome" else process_reward_func(task, encoding)
    callback = ExactEvalCallback(
        task,
        encoding,
        eval_every=config.eval_every,
        test_size=config.test_size,
        tracked=every_context(task),
        off_support=off_support,
        reward_funcs=[func],
        log_dir=folder,
    )
    completions = config.prompts_per_step * config.group_size
    args = task_grpo_config(
        task.seq_len,
        str(folder / "trainer"),
        per_device_train_batch_size=completions,
        num_generations=config.group_size,
        max_steps=config.steps,
        learning_rate=config.llm_learning_rate,
        lr_scheduler_type="constant",
        logging_steps=config.eval_every,
        use_cpu=True,
        seed=hf_seed(config.seed, "trl", seed),
        data_seed=hf_seed(config.seed, "trl_data", seed),
    )
    trainer_class = ProcessGRPOTrainer if reward == "process" else GRPOTrainer
    trainer = trainer_class(
        model=model,
        reward_funcs=[func],
        args=args,
        train_dataset=prompt_dataset(
            task, encoding, config.prompts_per_step * config.steps, seed=derive_seed(config.seed, "prompts", seed)
        ),
        processing_class=make_tokenizer(encoding),
        callbacks=[callback],
    )
    trainer.train()
    (folder / DONE).write_text(json.dumps({"final": callback.records[-1]["eval/test_error"]}))
    return callback.records


def linear_base_job(config: LLMFigure1Config, folder: Path, base_test_error: float) -> Job:
    """The package's pre-training of the linear policy on the task, stopped at the LLM base's test error."""
    return Job(
        learner="pretrain",
        config=PretrainConfig(batch_size=config.pretrain_batch_size, learning_rate=config.pretrain_learning_rate),
        task=TaskSpec({"task_seed": config.task_seed}, env_id=ENV_IDS["process"]),
        budget=config.pretrain_max_steps,
        seed=derive_seed(config.seed, "linear_base"),
        run_dir=str(folder),
        evaluation=Evaluation(
            every=1, test_size=config.test_size, stop=StopRule("eval/test_error", at_most=base_test_error)
        ),
        description="linear base",
    )


def linear_likelihoods(task: SequenceTask, base_file: Path, contexts: np.ndarray) -> np.ndarray:
    evaluator = PolicyEvaluator(task, test_size=1, tracked=contexts)
    return evaluator.tracked_likelihoods(load_policy(base_file))


def linear_jobs(
    config: LLMFigure1Config, task: SequenceTask, base_file: Path, off_support: np.ndarray, folder: Path
) -> dict[tuple[str, int], Job]:
    """PaperPG with each reward and GroupPG (GRPO, outcome reward) per seed, from the linear base, with as many
    responses per step as the TRL runs (``prompts_per_step * group_size``)."""
    responses = config.prompts_per_step * config.group_size
    evaluation = Evaluation(
        every=config.eval_every,
        test_size=config.test_size,
        tracked=every_context(task),
        off_support=tuple(int(i) for i in off_support),
    )
    jobs: dict[tuple[str, int], Job] = {}
    for (name, stack, reward), seed in itertools.product(METHODS, range(config.seeds)):
        if stack != "linear":
            continue
        common = {
            "budget": config.steps,
            "seed": derive_seed(config.seed, name, seed),
            "base_model": str(base_file),
            "evaluation": evaluation,
            "description": name,
        }
        slug = f"{reward}/seed{seed}"
        if reward == "group":
            group = GroupPGConfig(
                method="grpo",
                num_contexts=config.prompts_per_step,
                group_size=config.group_size,
                learning_rate=config.group_learning_rate,
            )
            jobs[name, seed] = Job(
                learner="group_pg",
                config=group,
                task=TaskSpec({"task_seed": config.task_seed}, ENV_IDS["outcome"]),
                run_dir=str(folder / "group_grpo" / slug),
                **common,
            )
        else:
            jobs[name, seed] = Job(
                learner="paper_pg",
                config=PaperPGConfig(),
                rows=responses,
                task=TaskSpec({"task_seed": config.task_seed}, ENV_IDS[reward]),
                run_dir=str(folder / "paper_pg" / slug),
                **common,
            )
    return jobs


def run_linear(jobs: dict[tuple[str, int], Job]) -> dict[tuple[str, int], list[dict[str, Any]]]:
    """Run (or reuse) the package's jobs; their evaluation records."""
    out = {}
    for key, job in jobs.items():
        run_job(job)
        out[key] = [r for r in read_metrics(job.run_dir) if "eval/test_error" in r]
    return out


def linear_base_file(folder: Path) -> Path:
    return folder / FINAL_MODEL
