"""The adaptive-step experiment's jobs: per (policy, N, seed) the barrier experiment's pre-training of a base
model to a fixed quality per token, and per (policy, step scale c, N, seed) a run of Algorithm 2 (process
repair) from it with the step c / (4 + 2 ||g||^2), until the target test error or the query budget."""

from __future__ import annotations

from pathlib import Path

from agents.experiment.jobs import Job
from agents.learners.process_repair import ProcessRepairConfig
from scripts.adaptive_step.settings import AdaptiveStepConfig, barrier_settings
from scripts.barrier.jobs import base_model_file, pretrain_jobs, task_spec
from scripts.common.query_jobs import query_job

Variant = tuple[str, float]
"""(policy, step scale c) of a run."""
Key = tuple[str, float, int, int]
"""(policy, step scale c, N, seed) of a run."""


def variants(config: AdaptiveStepConfig) -> list[Variant]:
    """Every (policy, c) the experiment runs: the linear policy's scales, then the transformer's."""
    return [("linear", float(c)) for c in config.linear_step_scales] + [
        ("transformer", float(c)) for c in config.transformer_step_scales
    ]


def pretraining(config: AdaptiveStepConfig, run_dir: Path) -> dict[tuple[str, int, int], Job]:
    """Per (policy, N, seed): the barrier experiment's pre-training job, in ``run_dir/runs/pretrain/<policy>``."""
    policies = sorted({policy for policy, _ in variants(config)})
    return {
        (policy, seq_len, seed): job
        for policy in policies
        for (seq_len, seed), job in pretrain_jobs(barrier_settings(config, policy), run_dir / "runs" / policy).items()
    }


def repair_jobs(config: AdaptiveStepConfig, run_dir: Path, bases: dict[tuple[str, int, int], Job]) -> dict[Key, Job]:
    """Per (policy, c, N, seed): Algorithm 2 with the step per verified token scaled by c, from the (policy,
    N, seed) base model, ``rows`` contexts side by side, until the target or the budget. Longest N first."""
    jobs = {}
    for policy, scale in variants(config):
        settings = barrier_settings(config, policy)
        algorithm = ProcessRepairConfig(
            lq_eps=settings.lq_eps, delta=settings.delta, step_per_token=True, step_scale=scale
        )
        for seq_len in config.seq_lens:
            for seed in range(config.seeds):
                jobs[policy, scale, seq_len, seed] = query_job(
                    settings,
                    "process_repair",
                    algorithm,
                    task_spec(settings, seq_len),
                    seed,
                    str(run_dir / "runs" / policy / f"scale{scale:g}" / f"N{seq_len}" / f"seed{seed}"),
                    base_model=base_model_file(bases[policy, seq_len, seed]),
                    description=f"{policy} c={scale:g} N={seq_len}",
                )
    return dict(sorted(jobs.items(), key=lambda item: (-item[0][2], item[0][0] == "linear")))
