"""A task built with ``margin=gamma`` never emits a context of smaller margin, and refuses unreachable gammas."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

from seqreward_env import SequenceEnv, SequenceTask, SequenceVectorEnv

SHAPE: dict[str, Any] = {"seq_len": 2, "vocab_size": 3, "context_dim": 4}
TASK: dict[str, Any] = {**SHAPE, "num_components": 8, "sigma": 0.5}  # the mixture's own settings


def task_for(contexts: Any) -> dict[str, Any]:
    """The task's arguments for ``contexts``: the mixture's settings only for the mixture."""
    return TASK if isinstance(contexts, str) and contexts == "mixture" else SHAPE


def gamma_rejecting(fraction: float, **kwargs: Any) -> float:
    """A margin that about ``fraction`` of the task's contexts fall below."""
    free = SequenceTask(**{**task_for(kwargs.get("contexts", "mixture")), **kwargs})
    return float(np.quantile(free.margins(free.test_contexts(4000)), fraction))


@pytest.mark.parametrize("contexts", ["mixture", "rademacher"])
def test_every_emitted_context_meets_the_margin(contexts: str) -> None:
    gamma = gamma_rejecting(0.5, contexts=contexts)
    task = SequenceTask(**task_for(contexts), contexts=contexts, margin=gamma)
    assert task.margin_condition == gamma
    assert task.margins(task.test_contexts(2000)).min() >= gamma
    envs = SequenceVectorEnv(64, task=task)
    obs, _ = envs.reset(seed=0)
    emitted = [obs["context"]]
    rng = np.random.default_rng(0)
    for _ in range(10 * (task.seq_len + 1)):  # autoresets draw fresh contexts too
        obs, *_ = envs.step(rng.integers(0, task.vocab_size, size=64))
        emitted.append(obs["context"])
    contexts_seen = np.unique(np.concatenate(emitted), axis=0)
    assert len(contexts_seen) > (300 if contexts == "mixture" else 4)  # {-1, +1}^4 has only 16 points
    assert task.margins(contexts_seen).min() >= gamma
    # The same draws without the condition fall below it: the rejection was exercised.
    free_obs, _ = SequenceVectorEnv(64, **task_for(contexts), contexts=contexts).reset(seed=0)
    assert SequenceTask(**task_for(contexts), contexts=contexts).margins(free_obs["context"]).min() < gamma


def test_single_env_meets_the_margin() -> None:
    gamma = gamma_rejecting(0.7)
    env = SequenceEnv(**TASK, margin=gamma)
    contexts = np.array([env.reset(seed=seed)[0]["context"] for seed in range(200)])
    assert env.task.margins(contexts).min() >= gamma


def test_unreachable_margin_is_refused_with_the_reachable_value() -> None:
    with pytest.raises(ValueError, match="margin") as refused:
        SequenceTask(**TASK, margin=1.5)
    found = re.search(r"margins up to ([0-9.eE+-]+)", str(refused.value))
    assert found, str(refused.value)
    reachable = float(found.group(1))
    assert 0 < reachable < 1.5
    # The value it names is indeed reachable (up to the four digits printed).
    task = SequenceTask(**TASK, margin=reachable * 0.999)
    assert task.margins(task.test_contexts(200)).min() >= reachable * 0.999


def test_margin_must_be_positive() -> None:
    for bad in (0.0, -0.1, float("nan"), "0.1"):
        with pytest.raises(ValueError, match="margin"):
            SequenceTask(**TASK, margin=bad)


def test_pool_keeps_only_contexts_meeting_the_margin() -> None:
    pool = SequenceTask(**TASK).test_contexts(40)
    margins = SequenceTask(**SHAPE, contexts=pool).margins(pool)
    gamma = float(np.median(margins))
    task = SequenceTask(**SHAPE, contexts=pool, margin=gamma)
    np.testing.assert_array_equal(task.distribution.pool, pool[margins >= gamma])
    drawn = task.sample_contexts(np.random.default_rng(0), 500)
    assert task.margins(drawn).min() >= gamma
    assert {row.tobytes() for row in drawn} == {row.tobytes() for row in pool[margins >= gamma]}


def test_pool_without_a_qualifying_context_is_refused() -> None:
    pool = SequenceTask(**TASK).test_contexts(10)
    largest = SequenceTask(**SHAPE, contexts=pool).margins(pool).max()
    with pytest.raises(ValueError, match="margin") as refused:
        SequenceTask(**SHAPE, contexts=pool, margin=largest * 1.01)
    assert f"{largest:.4g}" in str(refused.value)


def test_reset_refuses_a_context_below_the_margin() -> None:
    gamma = gamma_rejecting(0.5)
    env = SequenceEnv(**TASK, margin=gamma)
    free = SequenceTask(**TASK)
    contexts = free.test_contexts(200)
    margins = free.margins(contexts)
    below, above = contexts[margins < gamma][0], contexts[margins >= gamma][0]
    with pytest.raises(ValueError, match=r"options\['context'\].*margin"):
        env.reset(options={"context": below})
    obs, _ = env.reset(options={"context": above})
    np.testing.assert_array_equal(obs["context"], above)
