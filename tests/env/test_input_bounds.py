"""Sizes, pools and seeds are refused where they enter, before any allocation or state change."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

from seqreward_env import SequenceEnv, SequenceTask, SequenceVectorEnv
from seqreward_env._checks import MEMORY_LIMIT_GIB

SMALL: dict[str, Any] = {"seq_len": 4, "vocab_size": 3, "context_dim": 4}


@pytest.mark.parametrize(
    ("make", "named"),
    [
        (lambda: SequenceEnv(seq_len=10**9), "seq_len=1000000000"),
        (lambda: SequenceEnv(vocab_size=30_000), "vocab_size=30000"),
        (lambda: SequenceEnv(context_dim=10**9), "context_dim=1000000000"),
        (lambda: SequenceTask(seq_len=10**6, vocab_size=1000), "seq_len=1000000, vocab_size=1000"),
        (lambda: SequenceVectorEnv(10**8, **SMALL), "num_envs=100000000"),
        (
            lambda: SequenceVectorEnv(10**5, seq_len=10**4, vocab_size=3, context_dim=4),
            "num_envs=100000, seq_len=10000",
        ),
    ],
)
def test_oversized_tasks_and_envs_fail_at_once_naming_the_sizes_and_the_memory(make: Any, named: str) -> None:
    start = time.perf_counter()
    with pytest.raises(ValueError, match="would need") as error:
        make()
    assert time.perf_counter() - start < 1.0  # refused before allocating, not after a slow MemoryError
    message = str(error.value)
    assert named in message and f"{MEMORY_LIMIT_GIB:g} GiB limit" in message
    assert float(message.split("would need ")[1].split(" GiB")[0]) > MEMORY_LIMIT_GIB


def test_large_but_reasonable_sizes_are_accepted() -> None:
    SequenceTask(seq_len=4096, vocab_size=4096, context_dim=512)
    envs = SequenceVectorEnv(4096, seq_len=128, vocab_size=32, context_dim=32)
    assert envs.observation_space["tokens"].shape == (4096, 128)


def test_margins_are_computed_in_bounded_blocks() -> None:
    """Many contexts at once give exactly the margins of each context alone."""
    task = SequenceTask(seq_len=64, vocab_size=64, context_dim=8)
    x = task.test_contexts(300)  # more than one (rows, N, k) block of 2^20 entries
    together = task.margins(x)
    np.testing.assert_allclose(together, np.concatenate([task.margins(x[i : i + 1]) for i in range(300)]), rtol=1e-12)


def test_a_pool_beyond_float32_range_is_refused() -> None:
    pool = np.ones((3, 4))
    pool[1, 2] = 3.5e38
    with pytest.raises(ValueError, match=r"contexts entries must lie within float32's range.*3\.5e\+38"):
        SequenceTask(contexts=pool, context_dim=4)
    pool[1, 2] = -3.4e38  # within range: kept, and still finite in float32
    assert np.isfinite(SequenceTask(contexts=pool, context_dim=4).distribution.pool).all()


def test_complex_arrays_are_refused_not_truncated() -> None:
    pool = np.ones((3, 4), dtype=complex)
    with pytest.raises(ValueError, match="contexts must be a real array, got a complex array"):
        SequenceTask(contexts=pool, context_dim=4)
    k, d = 3, 4
    with pytest.raises(ValueError, match=r"teacher\[1\] \(W2\*\) must be a real array"):
        SequenceTask(**SMALL, teacher=(np.ones((k, d)), np.ones((k, k)) + 1j))
    env = SequenceEnv(**SMALL)
    with pytest.raises(ValueError, match=r"options\['context'\] must be a real array"):
        env.reset(options={"context": np.zeros(d, dtype=complex)})


BAD_SEEDS = [True, False, np.bool_(True), -1, np.int64(-3), 1.0, np.float64(2.0), "3"]


@pytest.mark.parametrize("seed", BAD_SEEDS, ids=repr)
def test_both_envs_refuse_the_same_seeds_with_the_same_message(seed: Any) -> None:
    messages = []
    for env in (SequenceEnv(**SMALL), SequenceVectorEnv(3, **SMALL)):
        with pytest.raises(ValueError, match="seed must be None or an integer >= 0") as error:
            env.reset(seed=seed)
        messages.append(str(error.value))
    assert messages[0] == messages[1]


@pytest.mark.parametrize("seed", [0, 7, np.int64(7), np.uint32(7), 2**70], ids=repr)
def test_both_envs_accept_python_and_numpy_integers(seed: Any, same: Any) -> None:
    single, _ = SequenceEnv(**SMALL).reset(seed=seed)
    vector, _ = SequenceVectorEnv(3, **SMALL).reset(seed=seed)
    reference, _ = SequenceEnv(**SMALL).reset(seed=int(seed))
    same(single, reference)
    same({key: value[0] for key, value in vector.items()}, reference)


def test_a_refused_seed_list_changes_no_row(same: Any) -> None:
    envs, twin = SequenceVectorEnv(3, **SMALL), SequenceVectorEnv(3, **SMALL)
    envs.reset(seed=10)
    twin.reset(seed=10)
    with pytest.raises(ValueError, match=r"seed\[1\] must be None or an integer >= 0.*got -1"):
        envs.reset(seed=[1, -1, 2])
    with pytest.raises(ValueError, match=r"seed\[2\] must be"):
        envs.reset(seed=[1, 2, True])
    with pytest.raises(ValueError, match="options"):  # bad options are refused before the seeds apply
        envs.reset(seed=[4, 5, 6], options={"prefix": np.array([9])})
    same(envs.reset(), twin.reset())  # every row's generator continues as if nothing had been asked


def test_a_refused_single_reset_keeps_the_generator(same: Any) -> None:
    env, twin = SequenceEnv(**SMALL), SequenceEnv(**SMALL)
    env.reset(seed=3)
    twin.reset(seed=3)
    with pytest.raises(ValueError, match="options"):
        env.reset(seed=99, options={"prefix": np.array([9])})
    same(env.reset(), twin.reset())
