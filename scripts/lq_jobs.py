"""The LQ experiment's run: supervised pre-training with an evaluation every ``checkpoint_every`` steps
that keeps, per checkpoint, the model and the log10 likelihoods of every evaluation context at sequence
and token level, and reading them back.

This run goes through the training loop (``agents.experiment.runs.train``) with its own evaluator rather
than through ``agents.experiment.jobs.run_job``: the figure and ``lq.csv`` need, at every checkpoint, every
context's likelihood (the CDFs, the quantiles on a fine eps grid) and the model itself, while a job's
evaluation logs only scalars (the LQ at one eps) and keeps only the final model.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from agents.experiment.runs import Run, read_metrics, train
from agents.experiment.settings import task_keywords
from agents.learners.pretrain import PretrainConfig, Pretrainer
from agents.policy.evaluation import PolicyEvaluator
from agents.policy.networks import PolicyChoice
from agents.policy.policy_grad import Policy
from scripts.lq_analysis import LEVELS, LOG10, log10_quantile
from seqreward_env import SequenceTask

if TYPE_CHECKING:
    from scripts.lq import LQConfig


def make_task(config: LQConfig) -> SequenceTask:
    return SequenceTask(**task_keywords(config))


class LikelihoodRecorder(PolicyEvaluator):
    """Exact metrics on ``num_contexts`` contexts: test error and log10 LQ(eps) at both levels; keeps the
    last evaluation's log10 likelihoods ``(n,)`` per level in ``latest`` for the caller to save."""

    def __init__(self, task: SequenceTask, num_contexts: int, eps: list[float]) -> None:
        super().__init__(task, num_contexts)
        self.eps = eps
        self.latest: dict[str, np.ndarray] = {}

    def __call__(self, policy: Policy) -> dict[str, Any]:
        token_log_probs = self.token_log_probs(policy)  # (n, N), natural log, never underflows
        self.latest = {"sequence": token_log_probs.sum(axis=1) / LOG10, "token": token_log_probs.min(axis=1) / LOG10}
        metrics: dict[str, Any] = {"eval/test_error": float(1.0 - np.exp(token_log_probs.sum(axis=1)).mean())}
        for level in LEVELS:
            for eps in self.eps:
                metrics[f"lq/log10_{level}_lq@eps={eps:g}"] = log10_quantile(self.latest[level], eps)
        return metrics


def likelihood_file(run_dir: Path, step: int) -> Path:
    """The saved log10 likelihoods ``sequence`` and ``token`` ``(n,)`` of the checkpoint at ``step``."""
    return run_dir / "likelihoods" / f"step{step:06d}.npz"


def checkpoint_steps(config: LQConfig) -> list[int]:
    """0, ``checkpoint_every``, 2 ``checkpoint_every``, ... and the last step."""
    steps = list(range(0, config.steps + 1, config.checkpoint_every))
    return steps if steps[-1] == config.steps else [*steps, config.steps]


def run_record(config: LQConfig) -> dict[str, Any]:
    """The pre-training run's identity: the settings, less the policy fields (recorded only for a network,
    so run folders of the linear policy made before networks existed still resume), threads and device."""
    record = {key: value for key, value in asdict(config).items() if key not in ("policy", "hidden", "layers", "heads")}
    return {**record, "threads": None, "device": None, **PolicyChoice.of(config).record()}


def pretrain_with_checkpoints(config: LQConfig, run_dir: Path, *, show_progress: bool) -> None:
    """Pre-train in ``run_dir/pretrain`` (resuming) unless every checkpoint's likelihoods are saved; at each
    checkpoint save the likelihoods, the model (``models/step<n>.pt``) and their histograms."""
    (run_dir / "likelihoods").mkdir(parents=True, exist_ok=True)
    (run_dir / "models").mkdir(exist_ok=True)
    task = make_task(config)
    settings = PretrainConfig(batch_size=config.batch_size, learning_rate=config.learning_rate)
    run = Run(run_dir / "pretrain", run_record(config))
    try:
        if all(likelihood_file(run_dir, step).exists() for step in checkpoint_steps(config)):
            return
        policy = PolicyChoice.of(config).make(task, device=config.device, seed=config.seed)
        recorder = LikelihoodRecorder(task, config.num_contexts, [float(eps) for eps in config.eps])
        trainer = Pretrainer(task, policy, settings, config.seed, recorder)

        def save_checkpoint(step: int, metrics: dict[str, Any]) -> None:
            latest = recorder.latest
            np.savez_compressed(likelihood_file(run_dir, step), sequence=latest["sequence"], token=latest["token"])
            policy.save(run_dir / "models" / f"step{step:06d}.pt")
            for level, values in recorder.latest.items():
                run.writer.add_histogram(f"likelihood/log10_{level}", values, step)

        train(
            run,
            trainer,
            config.steps,
            eval_every=config.checkpoint_every,
            description="pre-train",
            show_progress=show_progress,
            on_eval=save_checkpoint,
        )
    finally:
        run.close()


def read_likelihoods(run_dir: Path, steps: list[int]) -> dict[int, dict[str, np.ndarray]]:
    """Per checkpoint step, the saved log10 likelihoods per level ``(n,)``."""
    return {step: dict(np.load(likelihood_file(run_dir, step))) for step in steps}


def read_test_errors(run_dir: Path) -> dict[int, float]:
    """The pre-training run's test error at each evaluated step."""
    return {r["step"]: r["eval/test_error"] for r in read_metrics(run_dir / "pretrain") if "eval/test_error" in r}
