"""The LLM Figure 1's runs: the tiny Llama's SFT base; per method and seed, TRL GRPO with the outcome reward and
with the summed process reward, ProcessGRPOTrainer with the per-token process reward, RLOO and OBLR-PO with the
outcome reward; the package's linear base with PaperPG and GroupPG (GRPO) on the same task. Every method has a
learning-rate sweep on tuning seeds (streams keyed "tune", apart from the reported seeds' "report").
Each run writes ``metrics.jsonl`` (the package's records: ``eval/...`` and ``train/reward_queries``) in its own
folder; a folder holding ``done.json`` is reused, so the same command resumes."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from transformers import TrainerCallback

from agents.common.seeding import derive_seed
from agents.experiment.jobs import FINAL_MODEL, Evaluation, Job, StopRule, TaskSpec, run_job
from agents.experiment.sweep import run_sweep
from agents.learners.group_pg import GroupPGConfig
from agents.learners.paper_pg import PaperPGConfig
from agents.learners.pretrain import PretrainConfig
from agents.llm import (
    ExactEvalCallback,
    OBLRPOTrainer,
    ProcessGRPOTrainer,
    PromptEncoding,
    TaskGRPOTrainer,
    TaskRLOOTrainer,
    answer_log_probs,
    make_tokenizer,
    oblr_po_config,
    outcome_reward_func,
    process_reward_func,
    prompt_dataset,
    sft_base_model,
    task_grpo_config,
    task_rloo_config,
    tiny_causal_lm,
)
from agents.policy.choice import load_policy
from agents.policy.evaluation import PolicyEvaluator
from agents.runs.folder import read_metrics
from scripts.llm_figure1.analysis import settled_step
from scripts.llm_figure1.settings import LLMFigure1Config
from seqreward_env import SequenceTask

ENV_IDS = {"outcome": "seqreward/RademacherOutcome-v0", "process": "seqreward/RademacherProcess-v0"}
DONE = "done.json"
# The runs of the figure: (name, stack, kind). "process_sum" is TRL's GRPOTrainer given the process reward as
# one scalar per completion (sum_i r_i, group-normalised): the per-token credit lost, as plain TRL would have it.
METHODS: tuple[tuple[str, str, str], ...] = (
    ("TRL GRPO (outcome)", "llm", "outcome"),
    ("TRL GRPO (process, summed)", "llm", "process_sum"),
    ("TRL per-token PRM", "llm", "process"),
    ("TRL RLOO (outcome)", "llm", "rloo"),
    ("TRL OBLR-PO (outcome)", "llm", "oblr_po"),
    ("PaperPG ORM", "linear", "outcome"),
    ("PaperPG PRM", "linear", "process"),
    ("GroupPG GRPO (outcome)", "linear", "group"),
)
# The reward each kind is paid.
REWARD_OF = {
    "outcome": "outcome",
    "process_sum": "process",
    "process": "process",
    "rloo": "outcome",
    "oblr_po": "outcome",
    "group": "outcome",
}


def learning_rates(config: LLMFigure1Config, stack: str, kind: str) -> tuple[float, ...]:
    """The learning-rate sweep of a method: Adam rates for TRL's GRPO, PRM and RLOO, eta_max for OBLR-PO (SGD),
    Adagrad rates for PaperPG, SGD rates for GroupPG."""
    if stack == "linear":
        return config.group_learning_rates if kind == "group" else config.paper_learning_rates
    return config.oblr_learning_rates if kind == "oblr_po" else config.llm_learning_rates


class SettleCallback(TrainerCallback):
    """Stop a TRL run at the first evaluation where its test error has settled (``settled_step``), reading the
    records of its ``ExactEvalCallback``."""

    def __init__(self, evaluations: ExactEvalCallback, tolerance: float, min_steps: int) -> None:
        self.evaluations, self.tolerance, self.min_steps = evaluations, tolerance, min_steps

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        records = self.evaluations.records
        if records and records[-1]["step"] == state.global_step:
            if settled_step(records, self.tolerance, self.min_steps) is not None:
                control.should_training_stop = True


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


def clear_interrupted(folder: Path) -> None:
    """Remove what an interrupted TRL run left in ``folder`` (its metrics and TensorBoard events): it starts over."""
    for stale in ("metrics.jsonl", "tb"):
        path = folder / stale
        if path.is_file():
            path.unlink()
        elif path.is_dir():
            for item in sorted(path.rglob("*"), reverse=True):
                item.unlink() if item.is_file() else item.rmdir()
            path.rmdir()


def trainer_args(
    config: LLMFigure1Config, seq_len: int, kind: str, learning_rate: float, seed: int, steps: int, folder: Path
) -> Any:
    """The TRL config of one run of ``kind``: ``prompts_per_step`` x ``group_size`` completions per step, at most
    ``steps`` steps at a constant ``learning_rate`` (OBLR-PO's eta_max), seeds from the run's stream."""
    completions = config.prompts_per_step * config.group_size
    settings: dict[str, Any] = {
        "per_device_train_batch_size": completions,
        "num_generations": config.group_size,
        "max_steps": steps,
        "learning_rate": learning_rate,
        "logging_steps": config.eval_every,
        "use_cpu": True,
        "seed": hf_seed(seed, "trl"),
        "data_seed": hf_seed(seed, "trl_data"),
    }
    if kind == "oblr_po":
        return oblr_po_config(seq_len, str(folder / "trainer"), **settings)
    if kind == "rloo":
        return task_rloo_config(seq_len, str(folder / "trainer"), lr_scheduler_type="constant", beta=0.0, **settings)
    return task_grpo_config(seq_len, str(folder / "trainer"), lr_scheduler_type="constant", **settings)


def llm_run(
    config: LLMFigure1Config,
    task: SequenceTask,
    weights: dict,
    kind: str,
    learning_rate: float,
    seed: int,
    off_support: np.ndarray,
    folder: Path,
    steps: int,
    settle: bool,
    show_progress: bool = False,
) -> list[dict[str, Any]]:
    """One TRL run from the SFT base, its exact evaluations (all contexts tracked) written to ``folder``: kind
    "outcome" or "process_sum" (TaskGRPOTrainer with the outcome or the summed process reward), "process"
    (ProcessGRPOTrainer, per-token), "rloo" (TaskRLOOTrainer, outcome, no KL) or "oblr_po" (OBLRPOTrainer,
    outcome). ``seed`` is the run's own seed (from its keyed stream); at most ``steps`` steps, stopped where the
    test error settles when ``settle``."""
    if (folder / DONE).exists():
        return read_metrics(folder)
    clear_interrupted(folder)
    encoding = PromptEncoding.for_task(task)
    model = tiny_causal_lm(encoding, **model_sizes(config))
    model.load_state_dict(weights)
    reward = REWARD_OF[kind]
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
    callbacks: list[TrainerCallback] = [callback]
    if settle:
        callbacks.append(SettleCallback(callback, config.tolerance, config.min_steps))
    args = trainer_args(config, task.seq_len, kind, learning_rate, seed, steps, folder)
    trainer_class = {"process": ProcessGRPOTrainer, "rloo": TaskRLOOTrainer, "oblr_po": OBLRPOTrainer}.get(
        kind, TaskGRPOTrainer
    )
    trainer = trainer_class(
        model=model,
        reward_funcs=[func],
        args=args,
        train_dataset=prompt_dataset(
            task, encoding, config.prompts_per_step * steps, seed=derive_seed(seed, "prompts")
        ),
        processing_class=make_tokenizer(encoding),
        callbacks=callbacks,
        show_progress=show_progress,
        description=f"{kind} lr={learning_rate:g}",
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


def linear_job(
    config: LLMFigure1Config,
    task: SequenceTask,
    base_file: Path,
    off_support: np.ndarray,
    kind: str,
    learning_rate: float,
    seed: int,
    folder: Path,
    steps: int,
    show_progress: bool = False,
) -> Job:
    """PaperPG ("outcome", "process"; Adagrad) or GroupPG ("group": GRPO, outcome reward; SGD) from the linear
    base at ``learning_rate``, with as many responses per step as the TRL runs (``prompts_per_step *
    group_size``), for ``steps`` steps (the test error's settling is read afterwards, from its records)."""
    evaluation = Evaluation(
        every=config.eval_every,
        test_size=config.test_size,
        tracked=every_context(task),
        off_support=tuple(int(i) for i in off_support),
    )
    common: dict[str, Any] = {
        "budget": steps,
        "seed": seed,
        "base_model": str(base_file),
        "evaluation": evaluation,
        "run_dir": str(folder),
        "description": f"{kind} lr={learning_rate:g}",
        "show_progress": show_progress,
    }
    if kind == "group":
        group = GroupPGConfig(
            method="grpo",
            num_contexts=config.prompts_per_step,
            group_size=config.group_size,
            learning_rate=learning_rate,
        )
        task_spec = TaskSpec({"task_seed": config.task_seed}, ENV_IDS["outcome"])
        return Job(learner="group_pg", config=group, task=task_spec, **common)
    return Job(
        learner="paper_pg",
        config=PaperPGConfig(learning_rate=learning_rate),
        rows=config.prompts_per_step * config.group_size,
        task=TaskSpec({"task_seed": config.task_seed}, ENV_IDS[kind]),
        **common,
    )


@dataclass(frozen=True)
class RunSpec:
    """One run of the figure: which method (``stack``, ``kind``), at which learning rate and seed, where, for how
    many steps, and whether it stops where its test error settles (TRL runs; the linear runs are cut afterwards)."""

    stack: str
    kind: str
    learning_rate: float
    seed: int
    folder: str
    steps: int
    settle: bool


def run_one(item: tuple[LLMFigure1Config, dict[str, Any], RunSpec, bool]) -> list[dict[str, Any]]:
    """Run (or reuse) one ``RunSpec`` from its stack's base (``{"weights", "off"}`` for the LLM, ``{"file",
    "off"}`` for the linear policy); its evaluation records. Module-level, so that worker processes can run it."""
    config, base, spec, show_progress = item
    task = build_task(config)
    folder = Path(spec.folder)
    if spec.stack == "llm":
        return llm_run(
            config,
            task,
            base["weights"],
            spec.kind,
            spec.learning_rate,
            spec.seed,
            base["off"],
            folder,
            spec.steps,
            spec.settle,
            show_progress,
        )
    job = linear_job(
        config,
        task,
        Path(base["file"]),
        base["off"],
        spec.kind,
        spec.learning_rate,
        spec.seed,
        folder,
        spec.steps,
        show_progress,
    )
    return run_linear(job)


def run_linear(job: Job) -> list[dict[str, Any]]:
    """Run (or reuse) one of the package's jobs; its evaluation records."""
    run_job(job)
    return [r for r in read_metrics(job.run_dir) if "eval/test_error" in r]


def linear_base_file(folder: Path) -> Path:
    return folder / FINAL_MODEL


def tuning_specs(config: LLMFigure1Config, name: str, stack: str, kind: str, run_dir: Path) -> list[RunSpec]:
    """The learning-rate sweep of one method: every rate x tuning seed, ``tuning_steps`` each. Tuning and reported
    seeds come from streams keyed apart ("tune" / "report"): no reported run is tuned on."""
    return [
        RunSpec(
            stack,
            kind,
            rate,
            derive_seed(config.seed, "tune", name, index),
            str(run_dir / stack / kind / "tune" / f"lr{rate:g}" / f"seed{index}"),
            config.tuning_steps,
            False,
        )
        for rate in learning_rates(config, stack, kind)
        for index in range(config.tuning_seeds)
    ]


def reported_specs(
    config: LLMFigure1Config, name: str, stack: str, kind: str, rate: float, run_dir: Path
) -> list[RunSpec]:
    """The reported seeds of one method at its chosen rate, to their settling step or ``max_steps``."""
    return [
        RunSpec(
            stack,
            kind,
            rate,
            derive_seed(config.seed, "report", name, index),
            str(run_dir / stack / kind / f"seed{index}"),
            config.max_steps,
            True,
        )
        for index in range(config.seeds)
    ]


def run_specs(
    config: LLMFigure1Config,
    bases: dict[str, dict[str, Any]],
    specs: list[RunSpec],
    show_progress: bool,
    description: str,
) -> list[list[dict[str, Any]]]:
    """Every spec's records, in order, on the configured backend (``config.workers`` local processes, each with
    one torch thread, or Ray); a run's own progress bar shows only when the runs go one at a time here."""
    one_at_a_time = config.backend == "local" and config.workers == 1
    items = [(config, bases[spec.stack], spec, show_progress and one_at_a_time) for spec in specs]
    return run_sweep(
        run_one,
        items,
        backend=config.backend,
        workers=config.workers,
        ray_address=config.ray_address or None,
        description=description,
        show_progress=show_progress and not one_at_a_time,
    )
