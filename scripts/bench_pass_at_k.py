"""Benchmark: what exact pass@k, Cover@tau and greedy exact match add to an evaluation and to a Figure 1 run
(d = k = 32, N = 128, 1024 test contexts; PG batch 1024 for 4000 steps, evaluated every 50), timed
interleaved in one run on one thread.

The added work: pass@k and Cover@tau from the log-likelihoods the evaluation already has, the argmax and the
all-positions test on the teacher-forced probabilities it already computes (for the share of confidently
wrong positions), and at the end of Figure 1 one teacher-forced pass per final model for the pass@k curve.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch

import seqreward_env  # noqa: F401  (registers the ids)
from agents.common.threads import limit_threads
from agents.experiment.cli import Script, parse_command_line
from agents.learners.paper_pg import PaperPG, PaperPGConfig
from agents.policy.coverage import COVER_TAUS, PASS_AT_K, PASS_AT_K_GRID, coverage_metrics, pass_at_k
from agents.policy.evaluation import CONFIDENT, PolicyEvaluator, teacher_forced_argmax
from agents.policy.linear import LinearPolicy
from scripts.common.settings import EnvChoice


@dataclass(frozen=True)
class BenchPassAtKSettings(EnvChoice):
    """Settings of the pass@k cost benchmark (``--env-id``, ``--seed``: ``EnvChoice``'s)."""

    env_id: str = "seqreward/PaperOutcome-v1"
    """Registered id (its task is used: the paper's d = k = 32, N = 128)."""
    batch_size: int = 1024
    """Contexts per PG step (Figure 1's)."""
    test_size: int = 1024
    """Test contexts per evaluation (Figure 1's)."""
    pg_steps: int = 4000
    """PG steps of a Figure 1 run."""
    eval_every: int = 50
    """PG steps between a Figure 1 run's evaluations."""
    final_models: int = 7
    """Models whose pass@k curve Figure 1 computes at its end (the base, then 3 seeds x ORM and PRM)."""
    repeats: int = 15
    """Timed calls of each part (alternating)."""
    threads: int = 1
    """Torch and BLAS threads."""
    seed: int = 0
    """Seed of the policy's weights and the PG step's contexts."""


SCRIPT = Script("bench_pass_at_k", __doc__ or "", BenchPassAtKSettings)


def confidently_wrong_only(policy: LinearPolicy, contexts: np.ndarray, targets: np.ndarray) -> float:
    """The teacher-forced pass as it was before greedy exact match shared it (max only)."""
    with torch.no_grad():
        probs = policy.token_probs(torch.as_tensor(contexts), torch.as_tensor(targets)).double()
        top, token = probs.max(dim=-1)
        return int(((top >= CONFIDENT) & (token != torch.as_tensor(targets))).sum()) / targets.size


def median_seconds(functions: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median seconds per call of each function, calls alternating so that drifts hit all alike."""
    for function in functions.values():
        function()  # warm-up
    times: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def main(argv: list[str] | None = None) -> dict[str, float]:
    """``python -m scripts.bench_pass_at_k [--repeats R] ...``: time each part, print them and the shares that
    the added metrics take; returns the two shares and every median in seconds."""
    args = parse_command_line(SCRIPT, argv)[0]
    limit_threads(args.threads)
    envs = gym.make_vec(args.env_id, num_envs=args.batch_size, copy=False)
    unwrapped: Any = envs.unwrapped
    task = unwrapped.task
    generator = torch.Generator().manual_seed(args.seed)
    policy = LinearPolicy.for_task(task)
    policy.w1.data.copy_(0.3 * torch.randn(policy.w1.shape, generator=generator))
    policy.w2.data.copy_(0.3 * torch.randn(policy.w2.shape, generator=generator))
    evaluator = PolicyEvaluator(task, args.test_size)
    agent = PaperPG(envs, policy, PaperPGConfig(), args.seed, PolicyEvaluator(task, test_size=8))
    x, y = evaluator.test_contexts, evaluator.test_targets
    log_likelihoods = evaluator.token_log_probs(policy).sum(axis=1)
    steps = iter(range(10**9))
    seconds = median_seconds(
        {
            "evaluation (all metrics)": lambda: evaluator(policy),
            "pass@k and cover@tau": lambda: coverage_metrics(log_likelihoods, PASS_AT_K, COVER_TAUS),
            "teacher-forced pass with greedy": lambda: teacher_forced_argmax(policy, x, y),
            "teacher-forced pass without": lambda: confidently_wrong_only(policy, x, y),
            "final pass@k curve of one model": lambda: pass_at_k(
                evaluator.token_log_probs(policy).sum(axis=1), PASS_AT_K_GRID
            ),
            "PG step": lambda: agent.train_step(next(steps)),
        },
        args.repeats,
    )
    extra = seconds["pass@k and cover@tau"] + max(
        0.0, seconds["teacher-forced pass with greedy"] - seconds["teacher-forced pass without"]
    )
    evaluation = seconds["evaluation (all metrics)"] - extra
    evaluations = args.pg_steps // args.eval_every + 1
    run = args.pg_steps * seconds["PG step"] + evaluations * evaluation
    run_extra = evaluations * extra + args.final_models * seconds["final pass@k curve of one model"]
    print(
        f"task {args.env_id}: N={task.seq_len}, k={task.vocab_size}, d={task.context_dim}, {args.test_size} test "
        f"contexts, {args.threads} thread(s), median of {args.repeats} calls"
    )
    for name, value in seconds.items():
        print(f"  {name:34s} {value * 1e3:9.3f} ms")
    print(f"added to one evaluation: {extra * 1e3:.3f} ms = {extra / evaluation:.2%} of the evaluation without it")
    print(
        f"added to a Figure 1 run ({args.pg_steps} PG steps, {evaluations} evaluations, {args.final_models} final "
        f"curves): {run_extra:.2f} s of {run:.0f} s = {run_extra / run:.3%}"
    )
    return {"evaluation_ratio": extra / evaluation, "run_ratio": run_extra / run, **seconds}


if __name__ == "__main__":
    main()
