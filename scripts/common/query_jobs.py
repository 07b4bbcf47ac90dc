"""The run every query experiment (barrier, margin) makes: a theory learner from a base model (or w = 0)
until the test error reaches the target or the query budget is spent, evaluated so that the queries at
which it reached the target are known to 5%."""

from __future__ import annotations

from typing import Any

from agents.experiment.jobs import Evaluation, Job, StopRule, TaskSpec


def query_evaluation(steps: int, test_size: int, target_error: float) -> Evaluation:
    """Every 1% of the ``steps`` (at least every 1000) and on a grid growing 5% a step, on ``test_size``
    test contexts; training metrics every 100 steps; the run stops at test error ``target_error``."""
    return Evaluation(
        every=max(1000, steps // 100),
        growth=0.05,
        log_every=100,
        test_size=test_size,
        stop=StopRule("eval/test_error", at_most=target_error),
    )


def query_job(
    settings: Any,
    learner: str,
    config: Any,
    task: TaskSpec,
    seed: int,
    run_dir: str,
    *,
    base_model: str | None = None,
    description: str = "",
) -> Job:
    """``learner`` with ``config`` on ``task``, ``settings.rows`` contexts side by side, for
    ``settings.query_budget`` reward queries at most (one per row and step), until test error
    ``settings.target_error`` (``settings``: the experiment's config, which has these fields, ``test_size``
    and ``device``)."""
    steps = settings.query_budget // settings.rows
    return Job(
        learner=learner,
        config=config,
        task=task,
        budget=steps,
        seed=seed,
        run_dir=run_dir,
        rows=settings.rows,
        base_model=base_model,
        evaluation=query_evaluation(steps, settings.test_size, settings.target_error),
        device=settings.device,
        description=description,
    )
