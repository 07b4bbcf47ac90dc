"""Gymnasium registration of the seqreward environments (done on import of ``seqreward_env``)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym

# Small defaults that a tabular or SB3 agent learns in minutes.
SMALL_TASK: dict[str, Any] = {
    "seq_len": 6,
    "vocab_size": 4,
    "context_dim": 8,
    "contexts": "mixture",
    "num_components": 8,
}
# The paper's Figure-1 task: N = 128, d = k = 32, mixture of 32, sigma 0.05, rewards -1/+1, with the
# teacher and test set the official code draws for seed 0 (shipped as arrays, see seqreward_env.paper).
PAPER_TASK: dict[str, Any] = {
    "seq_len": 128,
    "vocab_size": 32,
    "context_dim": 32,
    "contexts": "mixture",
    "num_components": 32,
    "sigma": 0.05,
    "reward_values": (-1.0, 1.0),
    "teacher": "paper",
}
# Version 0 of the paper's ids: the same shapes with a teacher and test set drawn by numpy from task_seed.
PAPER_SHAPED_TASK: dict[str, Any] = {**PAPER_TASK, "teacher": None}
# Contexts a prompt carries exactly (for language models, see agents.llm): Rademacher vectors in {-1, +1}^8 (256
# contexts), N = 4, k = 4, every context with margin >= 0.02 (the paper's margin condition), rewards -1/+1.
RADEMACHER_TASK: dict[str, Any] = {
    "seq_len": 4,
    "vocab_size": 4,
    "context_dim": 8,
    "contexts": "rademacher",
    "margin": 0.02,
    "reward_values": (-1.0, 1.0),
}

ENV_IDS: dict[str, dict[str, Any]] = {
    "seqreward/Outcome-v0": {**SMALL_TASK, "reward": "outcome"},
    "seqreward/Process-v0": {**SMALL_TASK, "reward": "process"},
    "seqreward/PaperOutcome-v1": {**PAPER_TASK, "reward": "outcome"},
    "seqreward/PaperProcess-v1": {**PAPER_TASK, "reward": "process"},
    "seqreward/PaperOutcome-v0": {**PAPER_SHAPED_TASK, "reward": "outcome"},
    "seqreward/PaperProcess-v0": {**PAPER_SHAPED_TASK, "reward": "process"},
    "seqreward/RademacherOutcome-v0": {**RADEMACHER_TASK, "reward": "outcome"},
    "seqreward/RademacherProcess-v0": {**RADEMACHER_TASK, "reward": "process"},
}

# The newest version of each environment name (Gymnasium warns that the older ones are out of date).
LATEST_ENV_IDS: tuple[str, ...] = tuple(
    env_id
    for env_id in ENV_IDS
    if not any(other.rsplit("-v", 1)[0] == env_id.rsplit("-v", 1)[0] and other > env_id for other in ENV_IDS)
)


def register_envs() -> None:
    """Register every id with a single entry point and the native vector entry point."""
    for env_id, kwargs in ENV_IDS.items():
        if env_id in gym.registry:
            continue
        gym.register(
            id=env_id,
            entry_point="seqreward_env.env:SequenceEnv",
            vector_entry_point="seqreward_env.vector_env:SequenceVectorEnv",
            kwargs=dict(kwargs),
        )
