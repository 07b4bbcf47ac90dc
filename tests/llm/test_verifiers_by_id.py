"""verifiers 0.4 finds seqreward's taskset by id, as ``vf-eval`` does (``--env.taskset.id seqreward-tasks``), and
scores a trace offline: y* earns the outcome reward, a reply wrong from its second token the process share."""

from __future__ import annotations

import asyncio

import pytest

pytest.importorskip("verifiers")
reasoning_gym = pytest.importorskip("reasoning_gym")

import verifiers.v1 as vf  # noqa: E402
from verifiers.v1.trace import AgentInfo, TraceTask  # noqa: E402
from verifiers.v1.utils.loaders import load_environment, load_taskset, taskset_config_type  # noqa: E402

from agents.llm.verifiers_tasks import SeqrewardTaskset, SeqrewardTasksetConfig  # noqa: E402


@pytest.mark.parametrize("taskset_id", ["seqreward-tasks", "someone/seqreward-tasks@0.3.0"])
def test_the_taskset_loads_by_id(taskset_id: str) -> None:
    assert taskset_config_type(taskset_id) is SeqrewardTasksetConfig
    taskset = load_taskset(SeqrewardTasksetConfig(id=taskset_id, size=3, seed=3))
    assert isinstance(taskset, SeqrewardTaskset)
    items = list(reasoning_gym.create_dataset("seqreward", size=3, seed=3))
    assert [task.data.prompt for task in taskset] == [item["question"] for item in items]


def test_an_env_by_taskset_id_scores_a_trace_offline() -> None:
    config = vf.SingleAgentEnvConfig(
        taskset={"id": "seqreward-tasks", "size": 2, "seed": 5, "env_id": "seqreward/RademacherProcess-v0"}
    )
    assert (
        isinstance(config.taskset, SeqrewardTasksetConfig) and config.taskset.env_id == "seqreward/RademacherProcess-v0"
    )
    env = load_environment(config)
    task = next(iter(env.taskset))
    target = task.data.target

    def scored(reply: str) -> vf.Trace:
        trace = vf.Trace(
            task=TraceTask(type="SeqrewardTask", data=task.data),
            agent=AgentInfo(config=vf.AgentConfig()),
            root_reply=reply,
        )
        asyncio.run(task.score(trace))
        return trace

    right = scored(" ".join(f"y{t}" for t in target))
    assert right.reward == 1.0 and right.metrics["process"] == 1.0
    wrong = [target[0], (target[1] + 1) % 4, *target[2:]]
    partial = scored(" ".join(f"y{t}" for t in wrong))
    assert partial.reward == 0.0 and partial.metrics["process"] == 0.25
    with pytest.raises(ModuleNotFoundError, match="not found"):
        taskset_config_type("seqreward-nothing")
