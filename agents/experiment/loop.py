"""The one training loop: ``train`` drives any learner (a ``Trainable``, ``agents.learners.contract``) in a run folder
(``agents.runs.folder.Run``), evaluating, logging and checkpointing as it goes, and resumes it."""

from __future__ import annotations

import math
from collections.abc import Callable, Collection
from typing import Any

from tqdm.auto import tqdm

from agents.common.config_checks import check_count
from agents.learners.contract import Trainable
from agents.runs.folder import EVENTS, Run
from agents.runs.tensorboard import log_hparams


def train(
    run: Run,
    agent: Trainable,
    total_steps: int,
    *,
    eval_every: int,
    log_every: int = 1,
    description: str = "train",
    show_progress: bool = True,
    progress_position: int = 0,
    stop_after: int | None = None,
    on_eval: Callable[[int, dict[str, Any]], None] | None = None,
    eval_steps: Collection[int] = (),
    stop_when: Callable[[dict[str, Any]], bool] | None = None,
) -> None:
    """Run ``agent`` for ``total_steps`` updates in ``run``, resuming from its checkpoint if any.

    Evaluates at step 0 and every ``eval_every`` steps (and at the end), checkpointing right after each
    evaluation, so an interrupted run loses at most ``eval_every`` updates of work and nothing logged.
    ``stop_after`` ends the call early after that many updates (used to test resume). ``eval_steps``
    adds evaluations at the given steps (e.g. a log-spaced grid); ``stop_when`` ends the run after an
    evaluation whose metrics satisfy it (e.g. a target test error reached), the one at step 0 included;
    a run resumed after such an evaluation stays stopped.
    """
    check_count("total_steps", total_steps, minimum=0)
    check_count("eval_every", eval_every, minimum=1)
    check_count("log_every", log_every, minimum=1)
    if stop_after is not None:
        check_count("stop_after", stop_after, minimum=0)
    stopped = False
    if run.resumed_state is not None:
        agent.load_state_dict(run.resumed_state)
        stopped = run.resumed_stopped
    else:
        first = _evaluate(run, agent, 0, on_eval)
        stopped = stop_when is not None and bool(stop_when(first))
        run.save_checkpoint(0, agent.state_dict(), stopped=stopped)
    step = run.start_step
    progress = tqdm(
        total=total_steps,
        initial=min(step, total_steps),
        desc=description,
        disable=not show_progress,
        dynamic_ncols=True,
        position=progress_position,
    )
    done = 0
    eval_steps = frozenset(eval_steps)
    while step < total_steps and not stopped and (stop_after is None or done < stop_after):
        metrics = agent.train_step(step)
        step += 1
        done += 1
        if step % log_every == 0:
            run.log(step, metrics)
        if step % eval_every == 0 or step == total_steps or step in eval_steps:
            last_eval = _evaluate(run, agent, step, on_eval)
            stopped = stop_when is not None and bool(stop_when(last_eval))
            run.save_checkpoint(step, agent.state_dict(), stopped=stopped)
            error = last_eval.get("eval/test_error")
            if isinstance(error, float) and math.isfinite(error):
                progress.set_postfix(test_error=f"{error:.4f}")
        progress.update(1)
    progress.close()
    if run._writer is not None:
        run._writer.flush()
    if step >= total_steps or stopped:  # finished: the run's config and final metrics for the HParams table
        log_hparams(run.path / EVENTS, run.config, run.metrics())


def _evaluate(
    run: Run, agent: Trainable, step: int, on_eval: Callable[[int, dict[str, Any]], None] | None
) -> dict[str, Any]:
    metrics = agent.evaluate()
    run.log(step, metrics)
    if on_eval is not None:
        on_eval(step, metrics)
    return metrics
