"""Difficulty control for the group PG and the paper's PG: dynamic sampling, a difficulty filter and a
curriculum, every query they spend counted through the env.

- **Dynamic sampling** (DAPO, arXiv 2503.14476): a group whose rewards are all equal teaches nothing under a
  group baseline; it is dropped and a fresh batch of B contexts drawn, up to ``max_refill_batches`` extra
  batches per update (verl's ``max_num_gen_batches``). The queries spent on dropped groups count. The paper's
  PG asks each context once and subtracts the batch mean, so there the whole batch is the group.
- **Difficulty filter**: keep a context whose estimated pass rate lies in ``filter_band`` (PRIME's 0.2 to
  0.8). ``filter_estimate="group"`` estimates it from the group's own G responses (after their queries are
  spent: filtered groups cost as much as kept ones); ``"oracle"`` uses the exact likelihood of the policy's
  completing y*, before any query: an oracle a practitioner does not have, labelled so in every output.
- **Curriculum**: one axis of ``seqreward_env.curriculum`` (hint, N, margin, sigma, the base model's
  likelihood floor) with a ladder from easy to hard, moved by a fixed schedule (``schedule_steps`` updates
  per level) or adaptively by the running success rate (harder at ``target_pass_rate``, easier below
  ``retreat_pass_rate``). Its state is part of the learner's ``state_dict``; every update logs the level.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from agents.common.config_checks import ConfigError, check_choice, check_interval, check_types
from agents.common.seeding import stream
from agents.learners.group_sampling import GroupBatch
from agents.learners.training import env_query_count
from agents.policy.evaluation import policy_token_log_probs
from agents.policy.rollout import Rollout, rollout
from agents.rules.difficulty import curriculum_move, group_pass_rates, in_band, informative_groups, suffix_pass_rates
from seqreward_env import SequenceVectorEnv
from seqreward_env.curriculum import AXES, TASK_AXES, Curriculum, contexts_above_floor, hint_prefixes, task_at

SCHEDULES = ("none", "fixed", "adaptive")
ESTIMATES = ("group", "oracle")


@dataclass(frozen=True)
class DifficultyConfig:
    """Dynamic sampling, a difficulty filter and a curriculum (all off by default)."""

    dynamic_sampling: bool = False
    """Drop groups whose rewards are all equal and draw fresh ones (DAPO)."""
    filter_band: tuple[float, float] | None = None
    """Keep contexts whose estimated pass rate lies in [lo, hi] (PRIME: (0.2, 0.8)); None: no filter."""
    filter_estimate: str = "group"
    """'group' (the group's own share of right responses) or 'oracle' (the exact likelihood; not available
    to a practitioner)."""
    max_refill_batches: int = 4
    """Extra batches of B contexts drawn at most per update to replace dropped or filtered ones (then the
    batch is completed with the best of the rest)."""
    curriculum: str = "none"
    """'none', 'fixed' (a schedule) or 'adaptive' (the running success rate)."""
    curriculum_axis: str = "hint"
    """The axis moved: one of hint, seq_len, margin, sigma, likelihood_floor (seqreward_env.curriculum)."""
    curriculum_ladder: tuple[float, ...] = ()
    """The axis's values from easy (level 0) to hard, e.g. hints (5, 4, 3, 2, 1, 0)."""
    start_level: int = 0
    """The level the run starts at."""
    schedule_steps: int = 100
    """'fixed': updates per level."""
    target_pass_rate: float = 0.5
    """'adaptive': one level harder once the running success rate reaches it."""
    retreat_pass_rate: float = 0.0
    """'adaptive': one level easier when the running success rate falls below it (0: never)."""
    window: int = 10
    """'adaptive': updates in the running success rate (and the fewest updates spent at a level)."""

    def __post_init__(self) -> None:
        check_types(self)
        check_choice(self, "filter_estimate", ESTIMATES)
        check_choice(self, "curriculum", SCHEDULES)
        check_choice(self, "curriculum_axis", AXES)
        if self.filter_band is not None:
            low, high = self.filter_band
            if not 0.0 <= low < high <= 1.0:
                raise ConfigError(
                    f"filter_band (--filter-band) must be (lo, hi) with 0 <= lo < hi <= 1, got {self.filter_band!r}",
                    "filter_band",
                )
        if self.max_refill_batches < 0:
            raise ConfigError(
                f"max_refill_batches (--max-refill-batches) must be >= 0, got {self.max_refill_batches!r}",
                "max_refill_batches",
            )
        for name in ("schedule_steps", "window"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)!r}", name)
        check_interval(self, "target_pass_rate", 0.0, 1.0)
        check_interval(self, "retreat_pass_rate", 0.0, 1.0)
        if self.retreat_pass_rate >= self.target_pass_rate > 0:
            raise ConfigError(
                f"retreat_pass_rate must be below target_pass_rate, got {self.retreat_pass_rate!r} >= "
                f"{self.target_pass_rate!r}",
                "retreat_pass_rate",
            )
        if self.curriculum != "none":
            if not self.curriculum_ladder:
                raise ConfigError(
                    "curriculum_ladder must hold the axis's values when a curriculum is on", "curriculum_ladder"
                )
            try:
                self.make_curriculum()
            except ValueError as error:
                raise ConfigError(
                    str(error), "curriculum_ladder" if "ladder" in str(error) else "start_level"
                ) from None

    @property
    def active(self) -> bool:
        return self.dynamic_sampling or self.filter_band is not None or self.curriculum != "none"

    def make_curriculum(self) -> Curriculum | None:
        if self.curriculum == "none":
            return None
        ladder = tuple(
            int(v) if self.curriculum_axis in ("hint", "seq_len") and float(v).is_integer() else v
            for v in self.curriculum_ladder
        )
        return Curriculum({self.curriculum_axis: ladder}, {self.curriculum_axis: self.start_level})


def difficulty_summary(envs: Any, difficulty: Difficulty | None) -> dict[str, Any]:
    """A learner's ``summary()`` with its difficulty: the env's query count over every env it asked (the
    curriculum's level envs included); without one, the default ``{}`` (the job counts the learner's env)."""
    if difficulty is None:
        return {}
    return {"env_reward_queries": env_query_count(envs) + difficulty.extra_env_queries()}


def shares_parameters_across_lengths(policy: Any) -> bool:
    """Whether one set of parameters serves every length N (a policy that reads the prefix only through the
    last token, as the linear policy and the MLP do; not a transformer with learned positions)."""
    return hasattr(policy, "transition_table") and bool(getattr(policy, "is_markov", True))


class CurriculumSchedule:
    """Moves the one axis of a ``DifficultyConfig``'s curriculum after each update: every ``schedule_steps``
    updates ('fixed'), or by the running success rate over ``window`` updates ('adaptive': harder at
    ``target_pass_rate``, easier below ``retreat_pass_rate``, at most once per ``window`` updates)."""

    def __init__(self, config: DifficultyConfig, curriculum: Curriculum) -> None:
        self.config, self.curriculum = config, curriculum
        self.axis = config.curriculum_axis
        self.recent: deque[float] = deque(maxlen=config.window)
        self.steps_at_level = 0
        self.level_changes = 0

    def update(self, success_rate: float) -> dict[str, Any]:
        """Record an update's success rate, move the level if due; the metrics of the level now in force."""
        config, curriculum, axis = self.config, self.curriculum, self.axis
        self.recent.append(float(success_rate))
        self.steps_at_level += 1
        moved = 0
        if config.curriculum == "fixed" and self.steps_at_level >= config.schedule_steps:
            moved = 1 if curriculum.increment(axis) else 0
        elif config.curriculum == "adaptive" and self.steps_at_level >= config.window:
            step = curriculum_move(float(np.mean(self.recent)), config.target_pass_rate, config.retreat_pass_rate)
            if step > 0 and curriculum.increment(axis):
                moved = 1
            elif step < 0 and curriculum.decrement(axis):
                moved = -1
        running = float(np.mean(self.recent))
        if moved:
            self.steps_at_level = 0
            self.recent.clear()
            self.level_changes += 1
        return {
            "curriculum/level": curriculum.levels[axis],
            f"curriculum/{axis}": float(curriculum.settings()[axis]),
            "curriculum/moved": moved,
            "curriculum/changes": self.level_changes,
            "curriculum/running_success_rate": running,
        }

    def state_dict(self) -> dict[str, Any]:
        return {
            "curriculum": self.curriculum.state_dict(),
            "recent": list(self.recent),
            "steps_at_level": self.steps_at_level,
            "level_changes": self.level_changes,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.curriculum.load_state_dict(state["curriculum"])
        self.recent = deque((float(v) for v in state["recent"]), maxlen=self.config.window)
        self.steps_at_level = int(state["steps_at_level"])
        self.level_changes = int(state["level_changes"])


class Difficulty:
    """The runtime of a ``DifficultyConfig`` inside a learner: draws the contexts of each update (at the
    curriculum's level, through the level's env), drops or filters groups, moves the curriculum.

    Args:
        config: the settings.
        envs: the learner's native vector env (the task at the target difficulty).
        policy: the learner's policy (its starting copy is the base model of the likelihood floor).
        seed: the run's seed (the contexts' stream is keyed ``"difficulty"``).
        group_size: G, the responses per context (1: the paper's PG, whose whole batch is one group).
    """

    def __init__(self, config: DifficultyConfig, envs: Any, policy: Any, seed: int, *, group_size: int) -> None:
        self.config, self.envs = config, envs
        self.task = envs.unwrapped.task
        if group_size == 1 and config.filter_band is not None and config.filter_estimate == "group":
            raise ConfigError(
                "filter_estimate='group' needs G >= 2 responses per context; this learner asks each context once "
                "(use filter_estimate='oracle')",
                "filter_estimate",
            )
        self.curriculum = config.make_curriculum()
        if self.curriculum is not None:
            self.curriculum.check_task(self.task)
            if config.curriculum_axis == "seq_len" and not shares_parameters_across_lengths(policy):
                raise ConfigError(
                    f"curriculum_axis='seq_len' needs a policy that shares its parameters across lengths (linear or "
                    f"MLP); {type(policy).__name__} does not",
                    "curriculum_axis",
                )
            if config.curriculum_axis == "seq_len" and max(self.curriculum.ladders["seq_len"]) > self.task.seq_len:
                raise ConfigError(
                    f"curriculum_ladder for seq_len must not exceed the task's N={self.task.seq_len}, got "
                    f"{config.curriculum_ladder}",
                    "curriculum_ladder",
                )
            if config.curriculum_axis in TASK_AXES:  # every level's task is built once here: a bad rung fails now
                for value in self.curriculum.ladders[config.curriculum_axis]:
                    try:
                        task_at(self.task, {config.curriculum_axis: value})
                    except ValueError as error:
                        raise ConfigError(
                            f"curriculum_ladder value {value!r} of {config.curriculum_axis!r}: {error}",
                            "curriculum_ladder",
                        ) from None
        self.base = policy.copy() if config.curriculum_axis == "likelihood_floor" else None
        self.context_rng = np.random.default_rng(stream(seed, "difficulty", "contexts"))
        self.level_envs: dict[tuple[Any, ...], SequenceVectorEnv] = {}
        self.level_env_queries: dict[str, int] = {}
        self.schedule = None if self.curriculum is None else CurriculumSchedule(config, self.curriculum)
        self.counts = {"drawn_groups": 0, "dropped_groups": 0, "filtered_contexts": 0, "refill_batches": 0}

    # ----- the level's task and env -------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        return {} if self.curriculum is None else self.curriculum.settings()

    def env_for_level(self) -> Any:
        """The env of the current level: the learner's own unless a task axis differs from its task."""
        settings = self.settings()
        key = tuple(settings.get(axis) for axis in TASK_AXES)
        if all(value is None for value in key):
            return self.envs
        if (
            settings.get("seq_len") == self.task.seq_len
            and settings.get("margin") is None
            and settings.get("sigma") is None
        ):
            return self.envs
        if key not in self.level_envs:
            env = SequenceVectorEnv(
                num_envs=self.envs.num_envs, task=task_at(self.task, settings), copy=False, autoreset_mode="disabled"
            )
            env.total_reward_queries = self.level_env_queries.get(repr(key), 0)
            self.level_envs[key] = env
        return self.level_envs[key]

    def extra_env_queries(self) -> int:
        """Reward queries answered by the level envs other than the learner's own."""
        counts = dict(self.level_env_queries)
        counts.update({repr(key): env.total_reward_queries for key, env in self.level_envs.items()})
        return int(sum(counts.values()))

    # ----- contexts --------------------------------------------------------------------------------------
    def _draw_contexts(self, task: Any, policy: Any, n: int, hint: int) -> np.ndarray:
        """``n`` contexts of ``task`` above the level's likelihood floor and, under the oracle filter, with an
        exact pass rate in the band (extra candidates drawn up to ``max_refill_batches`` times; no query)."""
        floor = self.settings().get("likelihood_floor")
        base = self.base

        def base_likelihood(x: np.ndarray) -> np.ndarray:
            assert base is not None
            return np.exp(policy_token_log_probs(base, x, task.targets(x)).sum(axis=1))

        contexts, _ = contexts_above_floor(task, self.context_rng, n, base_likelihood, floor)
        if self.config.filter_band is None or self.config.filter_estimate != "oracle":
            return contexts
        low, high = self.config.filter_band
        kept, rest = [], []
        for draw in range(self.config.max_refill_batches + 1):
            if draw:
                contexts, _ = contexts_above_floor(task, self.context_rng, n, base_likelihood, floor)
                self.counts["refill_batches"] += 1
            rates = suffix_pass_rates(
                torch.from_numpy(policy_token_log_probs(policy, contexts, task.targets(contexts))), hint
            )
            keep = in_band(rates, low, high).numpy()
            kept.append(contexts[keep])
            rest.append((contexts[~keep], rates.numpy()[~keep]))
            self.counts["filtered_contexts"] += int((~keep).sum())
            if sum(len(block) for block in kept) >= n:
                break
        chosen = np.concatenate(kept)[:n]
        if len(chosen) < n:  # too few in the band: complete with the rejected ones nearest to it
            others = np.concatenate([block for block, _ in rest])
            rates_rest = np.concatenate([rate for _, rate in rest])
            distance = np.maximum(low - rates_rest, rates_rest - high)
            chosen = np.concatenate([chosen, others[np.argsort(distance, kind="stable")[: n - len(chosen)]]])
        return chosen

    # ----- one update's batch ------------------------------------------------------------------------
    def sample(
        self, policy: Any, generator: torch.Generator, num_contexts: int, group_size: int
    ) -> tuple[GroupBatch, dict[str, Any]]:
        """B groups of G responses at the current level, with dropped or filtered groups replaced; the batch's
        ``reward_queries`` is every query spent on it, dropped groups included. ``group_size`` 1 (the paper's
        PG) treats the whole batch as the group of dynamic sampling."""
        config, envs = self.config, self.env_for_level()
        task = envs.unwrapped.task
        hint = int(self.settings().get("hint") or 0)
        whole_batch = group_size == 1
        kept: list[tuple[Rollout, torch.Tensor]] = []
        spare: list[tuple[Rollout, torch.Tensor]] = []
        have, queries, drawn, dropped, successes, episodes = 0, 0, 0, 0, 0.0, 0
        for draw in range(config.max_refill_batches + 1):
            if draw:
                self.counts["refill_batches"] += 1
            contexts = self._draw_contexts(task, policy, num_contexts, hint)
            prefixes = hint_prefixes(task, contexts, hint)
            batch = rollout(
                envs,
                policy,
                generator,
                contexts=np.repeat(contexts, group_size, axis=0),
                prefixes=None if prefixes is None else np.repeat(prefixes, group_size, axis=0),
            )
            queries += batch.reward_queries
            drawn += num_contexts
            successes += float(batch.success.double().sum())
            episodes += len(batch.success)
            rewards = batch.returns.double().view(num_contexts, group_size)
            keep = torch.ones(num_contexts, dtype=torch.bool)
            if config.dynamic_sampling:
                keep &= (
                    informative_groups(rewards.view(1, -1)).expand(num_contexts)
                    if whole_batch
                    else informative_groups(rewards)
                )
            if config.filter_band is not None and config.filter_estimate == "group":
                keep &= in_band(group_pass_rates(batch.success.view(num_contexts, group_size)), *config.filter_band)
            dropped += int((~keep).sum())
            rows = torch.repeat_interleave(keep, group_size)
            kept.append((batch, rows))
            spare.append((batch, ~rows))
            have += int(keep.sum())
            if have >= num_contexts:
                break
        rollouts = [(b, r) for b, r in kept] + [(b, r) for b, r in spare]
        merged = take_rows(rollouts, num_contexts * group_size, queries)
        self.counts["drawn_groups"] += drawn
        self.counts["dropped_groups"] += dropped
        metrics = {
            "difficulty/drawn_groups": drawn,
            "difficulty/dropped_groups": dropped,
            "difficulty/kept_share": max(0.0, min(1.0, have / num_contexts)),
            "difficulty/drawn_success_rate": successes / max(1, episodes),
            **{f"difficulty/total_{name}": value for name, value in self.counts.items()},
        }
        if config.filter_band is not None:
            metrics["difficulty/filter_is_oracle"] = float(config.filter_estimate == "oracle")
        return GroupBatch(merged, num_contexts, group_size), metrics

    # ----- the curriculum ------------------------------------------------------------------------------
    def after_update(self, success_rate: float) -> dict[str, Any]:
        """Move the curriculum after an update whose episodes (all drawn, dropped ones included) succeeded at
        ``success_rate``; the level and settings in force for the next update, as metrics."""
        return {} if self.schedule is None else self.schedule.update(success_rate)

    # ----- persistence ------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "schedule": None if self.schedule is None else self.schedule.state_dict(),
            "context_rng": self.context_rng.bit_generator.state,
            "counts": dict(self.counts),
            "level_env_queries": {
                **self.level_env_queries,
                **{repr(key): env.total_reward_queries for key, env in self.level_envs.items()},
            },
            "base": None if self.base is None else self.base.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self.schedule is not None:
            self.schedule.load_state_dict(state["schedule"])
        self.context_rng.bit_generator.state = state["context_rng"]
        self.counts = {name: int(value) for name, value in state["counts"].items()}
        self.level_env_queries = {key: int(value) for key, value in state["level_env_queries"].items()}
        for key, env in self.level_envs.items():
            env.total_reward_queries = self.level_env_queries.get(repr(key), 0)
        if self.base is not None and state["base"] is not None:
            self.base.load_state_dict(state["base"])


def take_rows(parts: list[tuple[Rollout, torch.Tensor]], rows: int, reward_queries: int) -> Rollout:
    """The first ``rows`` selected rows of several rollouts (in order: each part's mask picks its rows) as one
    rollout whose ``reward_queries`` is ``reward_queries`` (every query spent, dropped rows included)."""
    picks = [(batch, mask.nonzero(as_tuple=True)[0]) for batch, mask in parts]
    tables = all(batch.table is not None for batch, _ in picks)

    def gather(read: Any) -> torch.Tensor:
        return torch.cat([read(batch).index_select(0, index.to(read(batch).device)) for batch, index in picks])[:rows]

    return Rollout(
        contexts=gather(lambda b: b.contexts),
        tokens=gather(lambda b: b.tokens),
        rewards=gather(lambda b: b.rewards),
        probs=None if tables else gather(lambda b: b.probs),
        generated=gather(lambda b: b.generated),
        success=gather(lambda b: b.success),
        reward_queries=reward_queries,
        table=gather(lambda b: b.table) if tables else None,
    )
