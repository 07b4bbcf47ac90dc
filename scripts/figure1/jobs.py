"""Figure 1's jobs: the task (the official code's draw, a numpy draw or a given file), pre-training the base
model, which contexts are off-support, one PaperPG job per (PG seed, reward), and reading the runs back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from agents.analysis.collapse import collapse_flags
from agents.analysis.paper_task import PaperTaskArrays, draw_paper_task, load_task_arrays, save_task_arrays
from agents.common.seeding import derive_seed
from agents.experiment.jobs import FINAL_MODEL, Evaluation, Job, TaskSpec, run_job
from agents.experiment.settings import task_keywords
from agents.learners.paper_pg import PaperPGConfig
from agents.learners.pretrain import PretrainConfig
from agents.policy.choice import PolicyChoice, load_policy
from agents.policy.coverage import PASS_AT_K_GRID, pass_at_k
from agents.policy.evaluation import LinearEvaluator
from agents.policy.network_policy import Policy
from agents.runs.folder import RunFolderError, read_metrics
from scripts.figure1 import analysis
from scripts.figure1.settings import Figure1Config
from seqreward_env import SequenceTask

REWARDS = {"orm": ("seqreward/PaperOutcome-v1", "outcome"), "prm": ("seqreward/PaperProcess-v1", "process")}


def learning_rates(config: Figure1Config) -> dict[str, float]:
    """The rates the run uses: ``learning_rate`` for both stages where given, else the policy's defaults
    (``agents.policy.choice.DEFAULT_LEARNING_RATES``): its pre-training rate, its PG rate under the optimiser."""
    choice = PolicyChoice.of(config)
    return {
        "pretrain": choice.learning_rate(config.learning_rate, "pretrain"),
        "pg": choice.learning_rate(config.learning_rate, config.optimizer),
    }


def task_kwargs(config: Figure1Config) -> dict[str, Any]:
    """The env keyword arguments of the task's shape (the teacher and test set come from the task file)."""
    return task_keywords(config, teacher=None)  # the teacher comes from the task file


def task_arrays(config: Figure1Config) -> PaperTaskArrays:
    """The teacher and test set of the run: a given task file, the official code's draw, or numpy's."""
    if config.task_file is not None:
        arrays = load_task_arrays(config.task_file)
    elif config.teacher == "paper":
        arrays = draw_paper_task(
            config.task_seed,
            vocab_size=config.vocab_size,
            context_dim=config.context_dim,
            num_components=config.num_components,
            sigma=config.sigma,
            test_size=config.test_size,
        )
    else:
        task = SequenceTask(**task_kwargs(config))
        arrays = PaperTaskArrays(
            task.teacher_w1.astype(np.float32), task.teacher_w2.astype(np.float32), task.test_contexts(config.test_size)
        )
    if arrays.teacher_w1.shape != (config.vocab_size, config.context_dim):
        raise ValueError(
            f"the task file's teacher has shape {arrays.teacher_w1.shape}; "
            f"vocab_size={config.vocab_size} and context_dim={config.context_dim} need ({config.vocab_size}, {config.context_dim})"
        )
    if len(arrays.test_contexts) < config.test_size:
        raise ValueError(
            f"test_size={config.test_size} exceeds the {len(arrays.test_contexts)} contexts of the task's test set"
        )
    return arrays


def build_task(config: Figure1Config, arrays: PaperTaskArrays) -> SequenceTask:
    return SequenceTask(
        **{**task_kwargs(config), "teacher": (arrays.teacher_w1, arrays.teacher_w2)},
        test_set=arrays.test_contexts[: config.test_size],
        reward_values=(-1.0, 1.0),
    )


def keep_task_file(path: Path, arrays: PaperTaskArrays) -> Path:
    """Write the run's task file, or check that the one already there holds the same task: a run folder
    never has its task replaced under runs that were trained on it."""
    if path.exists():
        held = load_task_arrays(path)
        if not all(np.array_equal(a, b) for a, b in zip(held, arrays, strict=True)):
            raise RunFolderError(
                f"run folder {path.parent} holds runs of another task ({path.name} differs); "
                "use another folder, or the same settings to resume or reuse it"
            )
        return path
    return save_task_arrays(path, arrays)


def pretrain_job(config: Figure1Config, task_file: Path, path: Path, *, show_progress: bool) -> Job:
    """Supervised pre-training of the base model (Adagrad, token-level cross-entropy, from a uniform policy)
    on the task of ``task_file``, in the folder ``path``."""
    return Job(
        learner="pretrain",
        config=PretrainConfig(batch_size=config.pretrain_batch_size, learning_rate=learning_rates(config)["pretrain"]),
        task=TaskSpec({**task_kwargs(config), "reward_values": (-1.0, 1.0)}, task_file=str(task_file)),
        budget=config.pretrain_steps,
        seed=derive_seed(config.seed, "pretrain"),
        run_dir=str(path),
        policy=PolicyChoice.of(config),
        policy_seed=derive_seed(config.seed, "initial weights"),
        evaluation=Evaluation(every=max(1, config.pretrain_steps // 10), test_size=config.test_size),
        device=config.device,
        show_progress=show_progress,
        description="pre-train",
    )


def pretrain_base_model(config: Figure1Config, task_file: Path, path: Path, *, show_progress: bool) -> Path:
    """Run (or reuse) the pre-training job; returns the base model's file."""
    run_job(pretrain_job(config, task_file, path, show_progress=show_progress))
    return path / FINAL_MODEL


def off_support_contexts(
    config: Figure1Config, task: SequenceTask, evaluator: LinearEvaluator, base: Policy
) -> dict[str, Any]:
    """Which contexts to track and which of them are off-support.

    Tracked: the centres, then the off-support test contexts. Off-support: a centre or test context whose
    base likelihood is below ``off_support_threshold``; if none is, the lowest quarter of the centres
    stands in (the summary and the figure's title say so). Returns ``tracked`` ``(T, d)``, ``indices``
    (positions in ``tracked`` of the off-support contexts), their ``labels`` and ``base_likelihoods``, the
    centres' base likelihoods, the ``threshold`` used and whether the ``fallback`` was taken.
    """
    centres = task.centres
    centre_likelihoods = LinearEvaluator(task, 1, tracked=centres).tracked_likelihoods(base)
    test_likelihoods = np.exp(evaluator.token_log_probs(base).sum(axis=1))
    threshold = config.off_support_threshold
    low_centres = analysis.off_support(centre_likelihoods, threshold)
    low_tests = analysis.off_support(test_likelihoods, threshold)
    fallback = not low_centres.size and not low_tests.size
    if fallback:
        low_centres = analysis.lowest_fallback(centre_likelihoods, max(1, len(centres) // 4))
        threshold = float(np.nextafter(centre_likelihoods[low_centres].max(), np.inf))
    return {
        "tracked": np.concatenate([centres, evaluator.test_contexts[low_tests]]),
        "indices": [*low_centres.tolist(), *range(len(centres), len(centres) + len(low_tests))],
        "labels": [f"centre {j}" for j in low_centres] + [f"test {j}" for j in low_tests],
        "base_likelihoods": np.concatenate([centre_likelihoods[low_centres], test_likelihoods[low_tests]]),
        "centre_likelihoods": centre_likelihoods,
        "threshold": threshold,
        "fallback": fallback,
    }


def pg_jobs(
    config: Figure1Config,
    run_dir: Path,
    task_file: Path,
    base_model: Path,
    support: dict[str, Any],
    show_progress: bool,
) -> list[Job]:
    """One PaperPG job per (PG seed, reward). Each PG seed's streams derive from (root seed, "pg", index);
    ORM and PRM of one PG seed share them, so they see the same contexts (common random numbers)."""
    jobs = []
    for index in range(config.seeds):
        for name, (env_id, _) in REWARDS.items():
            jobs.append(
                Job(
                    learner="paper_pg",
                    config=PaperPGConfig(learning_rate=learning_rates(config)["pg"], optimizer=config.optimizer),
                    task=TaskSpec(task_kwargs(config), env_id=env_id, task_file=str(task_file)),
                    budget=config.pg_steps,
                    seed=derive_seed(config.seed, "pg", index),
                    run_dir=str(run_dir / "pg" / f"seed{index}" / name),
                    rows=config.batch_size,
                    base_model=str(base_model),
                    evaluation=Evaluation(
                        every=config.eval_every,
                        test_size=config.test_size,
                        tracked=support["tracked"],
                        off_support=tuple(support["indices"]),
                    ),
                    device=config.device,
                    show_progress=show_progress,
                    progress_position=len(jobs) % config.workers,
                    description=f"PG {name.upper()} seed {index}",
                )
            )
    return jobs


def read_curves(run_dir: Path, config: Figure1Config) -> dict[str, list[dict[str, Any]]]:
    """Per reward, per PG seed: the evaluation steps, test errors and tracked likelihoods the run logged,
    and the collapse guard's flags of the run (``collapsed``, ``collapse_reasons``)."""
    curves: dict[str, list[dict[str, Any]]] = {name: [] for name in REWARDS}
    for index in range(config.seeds):
        for name in REWARDS:
            records = [r for r in read_metrics(run_dir / "pg" / f"seed{index}" / name) if "eval/test_error" in r]
            curves[name].append(
                {
                    **collapse_flags(records),
                    "step": [r["step"] for r in records],
                    "test_error": [r["eval/test_error"] for r in records],
                    "tracked_likelihood": [r["eval/tracked_likelihood"] for r in records],
                }
            )
    return curves


def final_pass_at_k(
    run_dir: Path, config: Figure1Config, evaluator: LinearEvaluator, base: Policy, ks: tuple[int, ...] = PASS_AT_K_GRID
) -> dict[str, Any]:
    """Exact pass@k on the test set, at k = ``ks`` (1 to 2^30), of the base model and of every PG seed's final
    model (``final_model.pt`` of each run), recomputed from the saved models: ``{"k", "base": (K,), "orm":
    (seeds, K), "prm": (seeds, K)}`` as lists."""

    def curve(policy: Policy) -> list[float]:
        return pass_at_k(evaluator.token_log_probs(policy).sum(axis=1), ks).tolist()

    result: dict[str, Any] = {"k": list(ks), "base": curve(base)}
    for name in REWARDS:
        result[name] = [
            curve(load_policy(run_dir / "pg" / f"seed{index}" / name / FINAL_MODEL, device=config.device))
            for index in range(config.seeds)
        ]
    return result
