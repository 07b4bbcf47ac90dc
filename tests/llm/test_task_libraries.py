"""reasoning-gym's registered ``seqreward`` dataset and the verifiers taskset, scored offline: y* scores 1, a
reply right on its first tokens only gets the process score of its correct prefix, and bad settings fail."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

pytest.importorskip("reasoning_gym")
pytest.importorskip("verifiers")

import reasoning_gym  # noqa: E402

from agents.llm.reasoning_gym_tasks import SeqrewardDataset  # noqa: E402


def wrong_after(target: list[int], keep: int, vocab_size: int = 4) -> str:
    """A reply equal to y* on its first ``keep`` tokens and wrong on the next."""
    tokens = list(target)
    tokens[keep] = (tokens[keep] + 1) % vocab_size
    return " ".join(f"y{t}" for t in tokens)


def test_reasoning_gym_items_are_seeded_and_scored() -> None:
    data = reasoning_gym.create_dataset("seqreward", size=6, seed=3)
    assert isinstance(data, SeqrewardDataset)
    again = reasoning_gym.create_dataset("seqreward", size=6, seed=3)
    items = list(data)
    assert [i["question"] for i in items] == [i["question"] for i in again]
    item = items[0]
    task = data.task
    np.testing.assert_array_equal(
        task.targets(np.array([item["metadata"]["context"]], dtype=np.float32))[0], item["metadata"]["target"]
    )
    assert data.score_answer(item["answer"], item) == 1.0
    assert data.score_answer(wrong_after(item["metadata"]["target"], 2), item) == 0.0
    assert data.score_answer(None, item) == 0.0 and data.score_answer("no answer", item) == 0.0
    process = reasoning_gym.create_dataset("seqreward", size=6, seed=3, score="process")
    assert process.score_answer(wrong_after(item["metadata"]["target"], 2), item) == 0.5
    with pytest.raises(ValueError, match="score must be one of"):
        reasoning_gym.create_dataset("seqreward", score="dense")


def test_verifiers_tasks_reward_a_reply_offline() -> None:
    import verifiers.v1 as vf
    from verifiers.v1.trace import AgentInfo, TraceTask

    from agents.llm.verifiers_tasks import SeqrewardTaskset, SeqrewardTasksetConfig

    tasks = list(SeqrewardTaskset(SeqrewardTasksetConfig(size=3, seed=3)))
    assert len(tasks) == 3
    items = list(reasoning_gym.create_dataset("seqreward", size=3, seed=3))
    assert [t.data.prompt for t in tasks] == [i["question"] for i in items]

    def scored(reply: str) -> vf.Trace:
        trace = vf.Trace(
            task=TraceTask(type="SeqrewardTask", data=tasks[0].data),
            agent=AgentInfo(config=vf.AgentConfig()),
            root_reply=reply,
        )
        asyncio.run(tasks[0].score(trace))
        return trace

    right = scored(items[0]["answer"])
    assert right.reward == 1.0 and right.metrics["process"] == 1.0
    partial = scored(wrong_after(tasks[0].data.target, 1))
    assert partial.reward == 0.0 and partial.metrics["process"] == 0.25
