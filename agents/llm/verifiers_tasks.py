"""A seqreward task as a verifiers ``Taskset``: the reasoning-gym items of ``agents.llm.reasoning_gym_tasks`` as
verifiers tasks whose ``@vf.reward`` scores the reply (``trace.last_reply``) by the outcome score, with the process
score as a ``@vf.metric``; scoring needs no served model (``await task.score(trace)`` on a trace holding a reply).

verifiers finds it by the id ``seqreward-tasks``: it imports the plugin module ``seqreward_tasks`` (verifiers'
convention: an installed module named after the id), which re-exports the one ``Taskset`` subclass in
``__all__`` here; ``SeqrewardTasksetConfig`` is its config.
"""

from __future__ import annotations

from typing import Any

import verifiers.v1 as vf

from agents.llm.encoding import PromptEncoding
from agents.llm.reasoning_gym_tasks import SeqrewardConfig, SeqrewardDataset, reply_score, task_of

# verifiers' loader takes the single Taskset subclass a plugin module exports here.
__all__ = ["SeqrewardTaskset"]


class SeqrewardTaskData(vf.TaskData):
    """A verifiers task's data: the prompt, the exact context and y*."""

    context: list[float]
    target: list[int]


class SeqrewardTaskConfig(vf.TaskConfig):
    env_id: str = "seqreward/RademacherOutcome-v0"
    task_seed: int = 0


class SeqrewardTask(vf.Task[SeqrewardTaskData, vf.State, SeqrewardTaskConfig]):
    """Rewards the reply (``trace.last_reply``) with the outcome score; records the process score as a metric."""

    def _score(self, trace: vf.Trace, score: str) -> float:
        task = task_of(self.config.env_id, self.config.task_seed)
        return reply_score(task, PromptEncoding.for_task(task), trace.last_reply, self.data.context, score)

    @vf.reward
    async def outcome(self, trace: vf.Trace) -> float:
        return self._score(trace, "outcome")

    @vf.metric
    async def process(self, trace: vf.Trace) -> float:
        return self._score(trace, "process")


class SeqrewardTasksetConfig(vf.TasksetConfig):
    """Which id and teacher draw, how many tasks, and the seed their contexts derive from."""

    env_id: str = "seqreward/RademacherOutcome-v0"
    task_seed: int = 0
    size: int = 100
    seed: int = 0


class SeqrewardTaskset(vf.Taskset[SeqrewardTask, SeqrewardTasksetConfig]):
    """The reasoning-gym dataset's items as verifiers tasks (the same contexts for the same seed)."""

    def load(self) -> Any:
        config = self.config
        items = SeqrewardDataset(SeqrewardConfig(config.env_id, config.task_seed, "outcome", config.seed, config.size))
        task_config = SeqrewardTaskConfig(env_id=config.env_id, task_seed=config.task_seed)
        for item in items:
            data = SeqrewardTaskData(
                prompt=item["question"], context=item["metadata"]["context"], target=item["metadata"]["target"]
            )
            yield SeqrewardTask(data, task_config)
