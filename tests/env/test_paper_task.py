"""The paper's own task: the shipped seed-0 arrays equal a fresh torch draw, and the v1 ids ask its questions."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import seqreward_env
from seqreward_env import SequenceTask, paper_task_arrays


def test_shipped_arrays_equal_a_torch_regeneration() -> None:
    torch = pytest.importorskip("torch")
    from agents.analysis.paper_task import draw_paper_task

    shipped = paper_task_arrays()
    fresh = draw_paper_task(0)
    for name, array in fresh._asdict().items():
        np.testing.assert_array_equal(getattr(shipped, name), array, err_msg=name)
    # The official code uses the global generator: the first draws after manual_seed(0) are the teacher.
    torch.manual_seed(0)
    np.testing.assert_array_equal(shipped.teacher_w1, torch.randn(32, 32).numpy())
    np.testing.assert_array_equal(shipped.teacher_w2, torch.randn(32, 32).numpy())


def test_paper_draw_follows_the_mixture_recipe() -> None:
    from agents.analysis.paper_task import draw_paper_task

    arrays = draw_paper_task(3, test_size=256)
    x = arrays.test_contexts.astype(np.float64)
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), np.sqrt(32), rtol=1e-6)
    # Each context sits within the noise scale (0.05, before rescaling) of its centre sqrt(d) e_j.
    nearest = np.abs(x).argmax(axis=1)
    centre = np.zeros_like(x)
    centre[np.arange(len(x)), nearest] = np.sqrt(32)
    assert np.linalg.norm(x - centre, axis=1).max() < 0.05 * np.sqrt(32) * 1.01
    assert not np.array_equal(arrays.teacher_w1, draw_paper_task(4, test_size=256).teacher_w1)


def test_v1_ids_use_the_paper_task_and_v0_the_numpy_draw() -> None:
    shipped = paper_task_arrays()
    task = gym.make("seqreward/PaperOutcome-v1").unwrapped.task
    np.testing.assert_array_equal(task.teacher_w1, shipped.teacher_w1)
    np.testing.assert_array_equal(task.test_contexts(1024), shipped.test_contexts)
    assert task.reward == "outcome" and (task.reward_low, task.reward_high) == (-1.0, 1.0)
    assert gym.make("seqreward/PaperProcess-v1").unwrapped.task.reward == "process"
    old = gym.make("seqreward/PaperOutcome-v0").unwrapped.task
    assert not np.array_equal(old.teacher_w1, shipped.teacher_w1)
    assert seqreward_env.PAPER_TASK["teacher"] == "paper"
    assert set(seqreward_env.LATEST_ENV_IDS) == {
        "seqreward/Outcome-v0",
        "seqreward/Process-v0",
        "seqreward/PaperOutcome-v1",
        "seqreward/PaperProcess-v1",
        "seqreward/RademacherOutcome-v0",
        "seqreward/RademacherProcess-v0",
    }


def test_given_test_set_is_returned_and_bounded() -> None:
    pool = np.eye(4, dtype=np.float32)
    task = SequenceTask(seq_len=3, vocab_size=3, context_dim=4, contexts="rademacher", test_set=pool[:3])
    np.testing.assert_array_equal(task.test_contexts(2), pool[:2])
    with pytest.raises(ValueError, match="n must be at most 3"):
        task.test_contexts(4)
    with pytest.raises(ValueError, match="test_set"):
        SequenceTask(seq_len=3, vocab_size=3, context_dim=4, test_set=np.ones((2, 5)))


def test_paper_teacher_needs_the_paper_shapes() -> None:
    with pytest.raises(ValueError, match="'paper'.*vocab_size=8"):
        SequenceTask(seq_len=3, vocab_size=8, context_dim=32, teacher="paper")
    with pytest.raises(ValueError, match="teacher must be"):
        SequenceTask(seq_len=3, vocab_size=32, context_dim=32, teacher="official")
