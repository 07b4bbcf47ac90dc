"""Difficulty levels the task can be asked at: a curriculum over hints, the length N, the margin gamma, the
context spread sigma and the base model's likelihood band, read by the env (at reset) and by the learners.

A ``Curriculum`` has one ladder per axis, ordered from easy (level 0) to hard, and a current level per axis;
``increment()`` and ``decrement()`` move it (reasoning-gym's ``BaseCurriculum`` has the same shape, and
``agents.llm.reasoning_gym_tasks`` registers one built from these ladders). The axes:

- ``hint``: the number of y*'s first tokens given as a verified prefix through the env's ``prefix`` reset
  option (no reward query is spent on them). Shortening it as training goes is the reverse curriculum of
  arXiv 2511.07372: each level asks the policy for a few more tokens beyond what it already writes.
- ``seq_len``: the response length N of the task asked (one env per level; only a policy that shares its
  parameters across lengths, as the linear policy does, can learn over several).
- ``margin``: the margin gamma every context must have (larger is easier: the teacher is surer).
- ``sigma``: the mixture's context spread (smaller is easier: contexts sit at the centres).
- ``likelihood_floor``: contexts whose base-model likelihood p0(y*|x) is at least this value (contexts near
  the base model's support first); the floor 0 asks every context.

A level change takes effect at the next reset: episodes under way keep the settings they started with.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from seqreward_env.contexts import MixtureContexts, PoolContexts
from seqreward_env.task import SequenceTask

AXES = ("hint", "seq_len", "margin", "sigma", "likelihood_floor")
"""The axes a curriculum can move, each with a ladder of values from easy to hard."""
TASK_AXES = ("seq_len", "margin", "sigma")
"""The axes that change the task itself (one env per distinct setting)."""


def _check_value(axis: str, value: Any) -> float | int:
    """One rung of an axis's ladder, checked: a clear error naming the axis otherwise."""
    if axis in ("hint", "seq_len"):
        low = 0 if axis == "hint" else 1
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"curriculum ladder of {axis!r} must hold integers >= {low}, got {value!r}")
        return int(value)
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise ValueError(f"curriculum ladder of {axis!r} must hold numbers, got {value!r}")
    number = float(value)
    if axis == "likelihood_floor" and not 0.0 <= number < 1.0:
        raise ValueError(f"curriculum ladder of 'likelihood_floor' must hold floors in [0, 1), got {value!r}")
    if axis in ("margin", "sigma") and not (np.isfinite(number) and number > 0.0):
        raise ValueError(f"curriculum ladder of {axis!r} must hold finite numbers > 0, got {value!r}")
    return number


class Curriculum:
    """Levels of difficulty over some of ``AXES``.

    Args:
        ladders: axis -> its values from easy (level 0) to hard, e.g. ``{"hint": (5, 3, 1, 0)}``.
        levels: optional axis -> starting level (default 0 on every axis).

    ``settings()`` gives the current value of every axis (``None`` for an axis the curriculum does not move);
    ``increment(axis)`` / ``decrement(axis)`` move one axis (``axis=None``: every axis not yet at its end, as
    reasoning-gym's global level) and return whether anything moved.
    """

    def __init__(self, ladders: Mapping[str, Sequence[Any]], levels: Mapping[str, int] | None = None) -> None:
        if not isinstance(ladders, Mapping) or not ladders:
            raise ValueError(f"curriculum ladders must map some of {AXES} to sequences of values, got {ladders!r}")
        unknown = sorted(set(ladders) - set(AXES))
        if unknown:
            raise ValueError(f"curriculum axes {unknown} are unknown; the axes are {AXES}")
        self.ladders: dict[str, tuple[Any, ...]] = {}
        for axis in AXES:
            if axis not in ladders:
                continue
            ladder = ladders[axis]
            if isinstance(ladder, (str, bytes)) or not isinstance(ladder, Sequence) or len(ladder) == 0:
                raise ValueError(f"curriculum ladder of {axis!r} must be a non-empty sequence, got {ladder!r}")
            self.ladders[axis] = tuple(_check_value(axis, value) for value in ladder)
        self._levels = {axis: 0 for axis in self.ladders}
        for axis, level in (levels or {}).items():
            self.set_level(axis, level)

    # ----- levels ---------------------------------------------------------------------------------
    @property
    def levels(self) -> dict[str, int]:
        """axis -> current level (a copy)."""
        return dict(self._levels)

    def num_levels(self, axis: str) -> int:
        return len(self._ladder(axis))

    def set_level(self, axis: str, level: Any) -> None:
        """Put ``axis`` at ``level`` (an error naming the axis and the ladder's range if it is outside)."""
        ladder = self._ladder(axis)
        if isinstance(level, bool) or not isinstance(level, (int, np.integer)) or not 0 <= level < len(ladder):
            raise ValueError(
                f"curriculum level of {axis!r} must lie in [0, {len(ladder) - 1}] (its ladder {ladder}), got {level!r}"
            )
        self._levels[axis] = int(level)

    def increment(self, axis: str | None = None) -> bool:
        """One level harder on ``axis`` (None: every axis not at its hardest); whether anything moved."""
        axes = self._axes(axis)
        moved = [name for name in axes if self._levels[name] < len(self.ladders[name]) - 1]
        for name in moved:
            self._levels[name] += 1
        return bool(moved)

    def decrement(self, axis: str | None = None) -> bool:
        """One level easier on ``axis`` (None: every axis not at its easiest); whether anything moved."""
        axes = self._axes(axis)
        moved = [name for name in axes if self._levels[name] > 0]
        for name in moved:
            self._levels[name] -= 1
        return bool(moved)

    @property
    def at_hardest(self) -> bool:
        """Every axis at its last level."""
        return all(self._levels[axis] == len(ladder) - 1 for axis, ladder in self.ladders.items())

    def settings(self) -> dict[str, Any]:
        """The current value of every axis in ``AXES`` (None where the curriculum does not move it)."""
        return {axis: (self.ladders[axis][self._levels[axis]] if axis in self.ladders else None) for axis in AXES}

    def state_dict(self) -> dict[str, Any]:
        return {"ladders": {axis: list(ladder) for axis, ladder in self.ladders.items()}, "levels": self.levels}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore the levels of a ``state_dict`` of a curriculum with the same ladders."""
        ladders = {axis: tuple(values) for axis, values in state["ladders"].items()}
        if ladders != self.ladders:
            raise ValueError(f"the saved curriculum's ladders {ladders} differ from this one's {self.ladders}")
        for axis, level in state["levels"].items():
            self.set_level(axis, int(level))

    # ----- what the task needs ----------------------------------------------------------------------
    def check_task(self, task: SequenceTask) -> None:
        """Refuse a hint that does not fit the length it would be asked at (a prefix has fewer than N tokens)."""
        lengths = self.ladders.get("seq_len", (task.seq_len,))
        for hint in self.ladders.get("hint", ()):
            if hint >= min(lengths):
                raise ValueError(
                    f"curriculum hint of {hint} tokens is not shorter than N={min(lengths)}; a hint must leave at "
                    f"least one token to write (hints in [0, {min(lengths) - 1}])"
                )

    def _ladder(self, axis: str) -> tuple[Any, ...]:
        if axis not in self.ladders:
            raise ValueError(f"curriculum axis must be one of {sorted(self.ladders)}, got {axis!r}")
        return self.ladders[axis]

    def _axes(self, axis: str | None) -> list[str]:
        if axis is None:
            return list(self.ladders)
        self._ladder(axis)
        return [axis]


def task_at(task: SequenceTask, settings: Mapping[str, Any]) -> SequenceTask:
    """``task`` with the curriculum's task axes (``seq_len``, ``margin``, ``sigma``; None: unchanged): the same
    teacher, reward and context family, so a policy that shares its parameters across lengths learns one
    teacher at every level."""
    seq_len = settings.get("seq_len") or task.seq_len
    margin = settings.get("margin") or task.margin_condition
    sigma = settings.get("sigma")
    distribution = task.distribution
    contexts: Any
    keywords: dict[str, Any] = {}
    if isinstance(distribution, MixtureContexts):
        contexts = "mixture"
        keywords = {"num_components": distribution.num_components, "sigma": sigma or distribution.sigma}
    elif sigma is not None:
        raise ValueError(f"the curriculum axis 'sigma' needs contexts='mixture', this task uses {distribution.name!r}")
    elif isinstance(distribution, PoolContexts):
        contexts = distribution.pool
    else:
        contexts = distribution.name
    return SequenceTask(
        seq_len=int(seq_len),
        vocab_size=task.vocab_size,
        context_dim=task.context_dim,
        contexts=contexts,
        teacher=(task.teacher_w1, task.teacher_w2),
        task_seed=task.task_seed,
        margin=margin,
        reward=task.reward,
        reward_values=(task.reward_low, task.reward_high),
        test_set=task.test_set,
        **keywords,
    )


def hint_prefixes(task: SequenceTask, contexts: np.ndarray, hint: int | None) -> np.ndarray | None:
    """The first ``hint`` tokens of y* for each of ``(n, d)`` contexts, ``(n, hint)`` int64 (None for no hint),
    to pass as the env's ``prefix`` reset option."""
    if not hint:
        return None
    if hint >= task.seq_len:
        raise ValueError(f"hint must be shorter than N={task.seq_len} (at least one token to write), got {hint}")
    return np.ascontiguousarray(task.targets(contexts)[:, :hint])


def contexts_above_floor(
    task: SequenceTask,
    rng: np.random.Generator,
    n: int,
    base_likelihood: Callable[[np.ndarray], np.ndarray],
    floor: float | None,
    max_draws: int = 64,
) -> tuple[np.ndarray, int]:
    """``n`` contexts whose base-model likelihood ``base_likelihood(x)`` (``(m, d) -> (m,)``, exact) is at least
    ``floor``, by rejection from the task's distribution in batches of ``n``; returns them and the contexts
    drawn. After ``max_draws`` batches the rest are filled with the most likely of the contexts seen, so the
    floor bends rather than stalls (no reward query is spent either way)."""
    if not floor:
        return task.sample_contexts(rng, n), n
    xs: list[np.ndarray] = []
    likelihoods: list[np.ndarray] = []
    have = 0
    for _ in range(max_draws):
        x = task.sample_contexts(rng, n)
        likelihood = np.asarray(base_likelihood(x), dtype=np.float64)
        xs.append(x)
        likelihoods.append(likelihood)
        have += int((likelihood >= floor).sum())
        if have >= n:
            break
    every, values = np.concatenate(xs), np.concatenate(likelihoods)
    above = np.flatnonzero(values >= floor)
    rest = np.flatnonzero(values < floor)
    order = np.concatenate([above, rest[np.argsort(-values[rest], kind="stable")]])
    return every[np.sort(order[:n])], len(every)


class CurriculumWrapper(gym.Wrapper):
    """A single ``SequenceEnv`` asked at the curriculum's current hint: at each reset without a given prefix,
    the wrapper draws the context itself (from the env's own ``np_random``, as the env would) and starts
    the episode from y*'s first ``hint`` tokens through the env's ``prefix`` option. Changing the
    curriculum's level acts at the next reset. (Task axes such as N need a new env per level: ``task_at``.)"""

    def __init__(self, env: gym.Env, curriculum: Curriculum) -> None:
        super().__init__(env)
        self.curriculum = curriculum
        task: SequenceTask = env.unwrapped.task  # type: ignore[attr-defined]
        curriculum.check_task(task)
        self.task = task

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        hint = self.curriculum.settings()["hint"]
        options = dict(options or {})
        if hint and options.get("prefix") is None:
            if seed is not None:  # seed the env's generator first so that the drawn context follows the seed
                self.env.reset(seed=seed)
                seed = None
            if options.get("context") is None:
                options["context"] = self.task.sample_contexts(self.env.unwrapped.np_random, 1)[0]
            context = np.asarray(options["context"], dtype=np.float32).reshape(1, -1)
            options["prefix"] = hint_prefixes(self.task, context, hint)[0]  # type: ignore[index]
        observation, info = self.env.reset(seed=seed, options=options or None)
        return observation, {**info, "curriculum_levels": self.curriculum.levels}
