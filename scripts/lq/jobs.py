"""The LQ experiment's run and what it keeps: one pre-training job (``agents.experiment.jobs``) evaluated every
``checkpoint_every`` steps that saves its model at each evaluation; then, per checkpoint, the log10
likelihoods of every evaluation context at sequence and token level, computed from the saved model, with
their quantiles and histograms in TensorBoard; and reading them back."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from torch.utils.tensorboard import SummaryWriter

from agents.experiment.jobs import Evaluation, Job, TaskSpec, model_file, run_job
from agents.experiment.settings import task_keywords
from agents.learners.pretrain import PretrainConfig
from agents.policy.choice import PolicyChoice, load_policy
from agents.policy.evaluation import PolicyEvaluator
from agents.runs.folder import read_metrics
from agents.runs.inputs import read_npz, read_policy_file
from agents.runs.problems import file_problem
from scripts.lq.analysis import LEVELS, LOG10, log10_quantile
from scripts.lq.settings import LQConfig

PRETRAIN = "pretrain"
EVENTS = "tb_lq"  # the quantiles and histograms of the saved likelihoods, one step per checkpoint


def pretrain_job(config: LQConfig, run_dir: Path, *, show_progress: bool) -> Job:
    """Adagrad pre-training from the uniform policy, evaluated (and its model kept) every ``checkpoint_every``
    steps on the ``num_contexts`` test contexts."""
    return Job(
        learner="pretrain",
        config=PretrainConfig(batch_size=config.batch_size, learning_rate=config.learning_rate),
        task=TaskSpec(task_keywords(config)),
        budget=config.steps,
        seed=config.seed,
        run_dir=str(run_dir / PRETRAIN),
        policy=PolicyChoice.of(config),
        evaluation=Evaluation(every=config.checkpoint_every, test_size=config.num_contexts, keep_models=True),
        device=config.device,
        threads=config.threads,
        show_progress=show_progress,
        description="pre-train",
    )


def likelihood_file(run_dir: Path, step: int) -> Path:
    """The saved log10 likelihoods ``sequence`` and ``token`` ``(n,)`` of the checkpoint at ``step``."""
    return run_dir / "likelihoods" / f"step{step:06d}.npz"


def checkpoint_steps(config: LQConfig) -> list[int]:
    """0, ``checkpoint_every``, 2 ``checkpoint_every``, ... and the last step."""
    steps = list(range(0, config.steps + 1, config.checkpoint_every))
    return steps if steps[-1] == config.steps else [*steps, config.steps]


def log10_likelihoods(evaluator: PolicyEvaluator, model: Path) -> dict[str, np.ndarray]:
    """The saved model's log10 p(y*|x) and log10 min_i p(y*_i | x, y*_<i) on the evaluator's contexts ``(n,)``
    (summed in natural log first, so neither underflows)."""
    read_policy_file(model, "delete the pre-training run to train it again (or start over with --fresh)")
    token_log_probs = evaluator.token_log_probs(load_policy(model))
    return {"sequence": token_log_probs.sum(axis=1) / LOG10, "token": token_log_probs.min(axis=1) / LOG10}


def pretrain_with_checkpoints(config: LQConfig, run_dir: Path, *, show_progress: bool) -> None:
    """Run (or reuse) the pre-training job, then save each checkpoint's likelihoods that are not saved yet and
    redraw their TensorBoard quantiles and histograms."""
    job = pretrain_job(config, run_dir, show_progress=show_progress)
    run_job(job)
    steps = checkpoint_steps(config)
    evaluator = PolicyEvaluator(job.task.build(), config.num_contexts)
    (run_dir / "likelihoods").mkdir(parents=True, exist_ok=True)
    for step in steps:
        if not likelihood_file(run_dir, step).exists():
            values = log10_likelihoods(evaluator, model_file(job.run_dir, step))
            np.savez_compressed(likelihood_file(run_dir, step), sequence=values["sequence"], token=values["token"])
    shutil.rmtree(run_dir / EVENTS, ignore_errors=True)  # redrawn from the saved likelihoods
    with SummaryWriter(str(run_dir / EVENTS)) as events:
        for step, values in read_likelihoods(run_dir, steps).items():
            for level in LEVELS:
                events.add_histogram(f"likelihood/log10_{level}", values[level], step)
                for eps in config.eps:
                    events.add_scalar(f"lq/log10_{level}_lq@eps={eps:g}", log10_quantile(values[level], eps), step)


def read_likelihoods(run_dir: Path, steps: list[int]) -> dict[int, dict[str, np.ndarray]]:
    """Per checkpoint step, the saved log10 likelihoods per level ``(n,)`` (each file checked: its arrays,
    bounded before loading, one-dimensional and of one length)."""
    likelihoods = {}
    for step in steps:
        path = likelihood_file(run_dir, step)
        remedy = "delete it: it is computed again from the kept model"
        arrays = read_npz(path, LEVELS, remedy, max_bytes=2**28)
        if len({array.shape for array in arrays.values()}) != 1 or arrays[LEVELS[0]].ndim != 1:
            raise file_problem(
                path, f"holds arrays of shapes {[a.shape for a in arrays.values()]}, not (n,) each", remedy
            )
        likelihoods[step] = arrays
    return likelihoods


def read_test_errors(run_dir: Path) -> dict[int, float]:
    """The pre-training run's test error at each evaluated step."""
    return {r["step"]: r["eval/test_error"] for r in read_metrics(run_dir / PRETRAIN) if "eval/test_error" in r}
