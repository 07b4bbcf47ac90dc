"""Where a PG step's time goes: ``scripts/bench_pg.py``'s ``PaperPG`` step (Figure-1 setting) split into its
parts, each timed where the step calls it, for repeated steps taken alone and then interleaved with the
official-code reference step (which, as in the benchmark, pushes our arrays out of the cache).

The parts: the env's reset (drawing every row's context from its generator, and y*), building the policy's
transition table, drawing the tokens from it (``agents.policy.kernels``), the env's N steps, the
advantages, the closed-form score, the optimiser step, and the rest of the step (the rollout's and the
learner's bookkeeping: the total less the parts). Prints, per part, the median and fastest milliseconds
of each way, and the reference step's median in the same run.

Usage: ``python scripts/bench_pg_parts.py [--env-id ID] [--repeats 30]``
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import gymnasium as gym

import seqreward_env  # noqa: F401  (registers the ids)
from agents.common.threads import limit_threads
from agents.experiment.cli import Script, parse_command_line
from agents.experiment.settings import check_env_rows
from agents.learners import paper_pg
from agents.learners.paper_pg import PaperPG, PaperPGConfig
from agents.policy import rollout as rollout_module
from agents.policy.evaluation import LinearEvaluator
from agents.policy.linear import LinearPolicy
from scripts.bench_pg import ReferencePG
from scripts.common.settings import EnvChoice

PARTS = (
    "env reset: contexts",
    "env reset: y*",
    "transition table",
    "tokens from the table",
    "env steps",
    "advantages",
    "closed-form score",
    "optimiser step",
)


@contextmanager
def timed_parts(agent: PaperPG, spent: dict[str, float]) -> Iterator[None]:
    """While open, each part's seconds in one step accumulate in ``spent`` (functions wrapped where the step
    looks them up; the originals are put back on exit)."""
    envs, policy, task = agent.envs.unwrapped, agent.policy, agent.task
    patches: list[tuple[Any, str, Any]] = []

    def wrap(owner: Any, name: str, part: str) -> None:
        original = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent[part] += time.perf_counter() - start

        patches.append((owner, name, vars(owner).get(name, _ABSENT)))
        setattr(owner, name, timed)

    wrap(task, "sample_context_rows", "env reset: contexts")
    wrap(task, "targets_by_position", "env reset: y*")
    wrap(policy, "transition_table", "transition table")
    wrap(rollout_module, "_sample_from_table", "tokens from the table")
    wrap(envs, "step", "env steps")
    wrap(paper_pg, "paper_advantages", "advantages")
    wrap(policy, "score_from_table", "closed-form score")
    wrap(agent.optimizer, "step", "optimiser step")
    try:
        yield
    finally:
        for owner, name, original in reversed(patches):
            if original is _ABSENT:
                delattr(owner, name)
            else:
                setattr(owner, name, original)


_ABSENT = object()


def profile(agent: PaperPG, repeats: int, between: Callable[[], object] | None) -> dict[str, list[float]]:
    """Per part (and ``total``, ``rest``), the milliseconds of each of ``repeats`` steps; ``between`` runs
    untimed before each step."""
    times: dict[str, list[float]] = defaultdict(list)
    steps = iter(range(10**9))
    agent.train_step(next(steps))  # warm-up (compiles the kernels)
    for _ in range(repeats):
        if between is not None:
            between()
        spent: dict[str, float] = defaultdict(float)
        with timed_parts(agent, spent):
            start = time.perf_counter()
            agent.train_step(next(steps))
            total = time.perf_counter() - start
        for part in PARTS:
            times[part].append(spent[part] * 1e3)
        times["rest"].append((total - sum(spent[part] for part in PARTS)) * 1e3)
        times["total"].append(total * 1e3)
    return times


@dataclass(frozen=True)
class BenchPGPartsSettings(EnvChoice):
    """Settings of the PG step's profile."""

    batch_size: int = 1024
    """Contexts per PG step."""
    repeats: int = 30
    """Timed steps each way."""

    def check(self) -> None:
        super().check()
        check_env_rows(self.env_id, self.batch_size, "batch_size")


SCRIPT = Script("bench_pg_parts", __doc__ or "", BenchPGPartsSettings)


def main(argv: list[str] | None = None) -> None:
    args = parse_command_line(SCRIPT, argv)[0]
    limit_threads(1)
    envs = gym.make_vec(args.env_id, num_envs=args.batch_size, copy=False)
    task = envs.unwrapped.task
    agent = PaperPG(envs, LinearPolicy.for_task(task), PaperPGConfig(), 0, LinearEvaluator(task, test_size=8))
    reference = ReferencePG(task, args.batch_size, 0)
    reference_times: list[float] = []

    def reference_step() -> None:
        start = time.perf_counter()
        reference.step()
        reference_times.append((time.perf_counter() - start) * 1e3)

    alone = profile(agent, args.repeats, None)
    interleaved = profile(agent, args.repeats, reference_step)
    print(
        f"task {args.env_id}: batch {args.batch_size}, N={task.seq_len}, 1 torch thread, {args.repeats} steps each way"
    )
    print(f"{'part (ms)':<24} {'alone: median':>14} {'fastest':>8} {'interleaved: median':>20} {'fastest':>8}")
    for part in (*PARTS, "rest", "total"):
        a, b = alone[part], interleaved[part]
        print(f"{part:<24} {statistics.median(a):14.2f} {min(a):8.2f} {statistics.median(b):20.2f} {min(b):8.2f}")
    print(f"official-code reference step (interleaved): median {statistics.median(reference_times):.1f} ms")


if __name__ == "__main__":
    main()
