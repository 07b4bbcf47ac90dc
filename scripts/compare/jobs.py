"""The comparison's jobs: the shared base model's pre-training, one group-PG job per (phase, reward, method,
rate, seed) at equal reward-query budgets, and the tuning of each method's rate, by local sweeps or as Ray
Tune searches. Every run is a ``Job`` run by ``run_job`` in its own folder, so a rerun reuses finished runs
and resumes interrupted ones."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from tqdm.auto import tqdm

from agents.experiment.jobs import FINAL_MODEL, Evaluation, Job, TaskSpec, run_job
from agents.experiment.settings import task_keywords
from agents.experiment.sweep import run_sweep
from agents.learners.group_pg import GroupPGConfig
from agents.learners.pretrain import PretrainConfig
from agents.policy.choice import PolicyChoice
from agents.runs.folder import final_test_error
from scripts.compare.settings import ENV_IDS, VARIANTS, CompareConfig, steps_for

TUNING_SEED_OFFSET = 1000  # tuning seeds 1000, 1001, ...; evaluation seeds 0, 1, ...: never the same
# Named settings of one method beyond its estimator: GRPO as usually run (clipped ratio, several epochs per
# batch, KL to the base model; DeepSeekMath's eps 0.2 and beta 0.04) and OBLR-PO with the debiased SNR.
Key = tuple[str, str, float, int]
"""(reward, method, learning rate, seed): one run of a phase."""


def tuning_seeds(config: CompareConfig) -> list[int]:
    return [TUNING_SEED_OFFSET + index for index in range(config.tuning_seeds)]


def pretrain_job(config: CompareConfig, path: Path, *, show_progress: bool) -> Job:
    """The shared base model: supervised pre-training (Adagrad on (x, y*)) from the policy drawn from the
    task seed, evaluated once at its end, in the folder ``path``."""
    return Job(
        learner="pretrain",
        config=PretrainConfig(
            batch_size=config.pretrain_batch_size,
            learning_rate=PolicyChoice.of(config).learning_rate(config.pretrain_learning_rate, "pretrain"),
        ),
        task=TaskSpec(task_keywords(config)),
        budget=config.pretrain_steps,
        seed=config.task_seed,
        run_dir=str(path),
        policy=PolicyChoice.of(config),
        evaluation=Evaluation(every=config.pretrain_steps, test_size=config.test_size),
        device=config.device,
        show_progress=show_progress,
        description="pre-train",
    )


def pretrain_base_model(config: CompareConfig, path: Path, *, show_progress: bool) -> tuple[Path, float]:
    """Run (or reuse) the pre-training job; returns the base model's file and its test error."""
    summary = run_job(pretrain_job(config, path, show_progress=show_progress))
    return path / FINAL_MODEL, float(summary["final_test_error"])


def group_job(config: CompareConfig, run_dir: Path, base_model: Path, phase: str, key: Key) -> Job:
    """One group-PG run of ``method`` at learning rate ``rate`` with ``seed`` under ``reward``, from the base
    model, for the reward's query budget, evaluated ``config.evaluations`` times, in
    ``<run_dir>/runs/<phase>/<reward>/<method>/lr<rate>/seed<seed>``."""
    reward, method, rate, seed = key
    steps = steps_for(config, reward)
    return Job(
        learner="group_pg",
        config=GroupPGConfig(
            **VARIANTS[method],
            learning_rate=rate,
            num_contexts=config.num_contexts,
            group_size=config.group_size,
            optimizer=config.optimizer,
        ),
        task=TaskSpec(task_keywords(config), env_id=ENV_IDS[reward]),
        budget=steps,
        seed=seed,
        run_dir=str(run_dir / "runs" / phase / reward / method / f"lr{rate:g}" / f"seed{seed}"),
        base_model=str(base_model),
        evaluation=Evaluation(every=max(1, steps // config.evaluations), test_size=config.test_size),
        device=config.device,
        description=f"{method} {reward}",
    )


def tuning_jobs(config: CompareConfig, run_dir: Path, base_model: Path) -> dict[Key, Job]:
    """Every (reward, method, rate, tuning seed) of the grid."""
    return {
        key: group_job(config, run_dir, base_model, "tune", key)
        for key in (
            (reward, method, float(rate), seed)
            for reward in config.rewards
            for method in config.methods
            for rate in config.learning_rates
            for seed in tuning_seeds(config)
        )
    }


def evaluation_jobs(
    config: CompareConfig, run_dir: Path, base_model: Path, chosen: dict[tuple[str, str], float]
) -> dict[Key, Job]:
    """Every (reward, method, evaluation seed) at the method's chosen rate."""
    return {
        key: group_job(config, run_dir, base_model, "eval", key)
        for key in (
            (reward, method, chosen[reward, method], seed)
            for reward in config.rewards
            for method in config.methods
            for seed in range(config.seeds)
        )
    }


def sweep(config: CompareConfig, jobs: Iterable[Job], description: str, show_progress: bool) -> None:
    """Run the jobs on the configured backend (each reuses its finished run folder)."""
    run_sweep(
        run_job,
        list(jobs),
        backend=config.backend,
        workers=config.workers,
        ray_address=config.ray_address or None,
        description=description,
        show_progress=show_progress,
    )


def tuning_errors(
    config: CompareConfig, tuning: dict[Key, Job], storage: Path, show_progress: bool
) -> dict[tuple[str, str], dict[float, list[float]]]:
    """Run the tuning grid and return ``{(reward, method): {rate: [final test error per tuning seed]}}``
    (inf for a diverged run): a local sweep, or on ``--backend ray`` one Tune search per (reward, method)."""
    if config.backend == "ray":
        return tuning_errors_on_ray(config, tuning, storage, show_progress)
    sweep(config, tuning.values(), "tuning runs", show_progress)
    errors: dict[tuple[str, str], dict[float, list[float]]] = {}
    for (reward, method, rate, _), job in tuning.items():  # seeds in increasing order within each rate
        errors.setdefault((reward, method), {}).setdefault(rate, []).append(final_test_error(job.run_dir))
    return errors


def tuning_errors_on_ray(
    config: CompareConfig, tuning: dict[Key, Job], storage: Path, show_progress: bool
) -> dict[tuple[str, str], dict[float, list[float]]]:
    """The tuning as Ray Tune searches, one per (reward, method), each a grid search over the rates and the
    tuning seeds under the storage path ``storage``; the final test errors per rate read from each search's
    ``ResultGrid``."""
    from agents.experiment.tune import run_tune_search

    progress = tqdm(total=len(tuning), desc="tuning runs", disable=not show_progress, dynamic_ncols=True)
    errors: dict[tuple[str, str], dict[float, list[float]]] = {}
    for reward, method in dict.fromkeys(key[:2] for key in tuning):
        jobs = {(rate, seed): job for (r, m, rate, seed), job in tuning.items() if (r, m) == (reward, method)}
        grid = run_tune_search(
            run_job,
            jobs,
            ("learning_rate", "seed"),
            final_test_error,
            storage_path=storage,
            name=f"tuning {reward} {method}",
            ray_address=config.ray_address or None,
            on_result=lambda: progress.update(1),
        )
        by_rate: dict[float, list[float]] = {}
        for result in sorted((grid[i] for i in range(len(grid))), key=lambda result: result.metrics["seed"]):
            by_rate.setdefault(float(result.metrics["learning_rate"]), []).append(float(result.metrics["metric"]))
        errors[reward, method] = by_rate
    progress.close()
    return errors
