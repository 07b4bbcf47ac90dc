"""Resource bounds checked before anything is allocated: the vector env's memory estimate covers the real
peak of construction, reset and step (measured here as resident memory in a fresh process), a pool of
contexts is sized before it is copied, and sigma or contexts that would turn into NaN or be converted from
strings are refused. Each case here once went through (7.3 GB used at an estimate of 3.8 GB; 60 GB for a
pool of 10^9 contexts; NaN contexts from sigma = 1.7e308; a list of numeric strings taken as a context)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from seqreward_env import SequenceTask, SequenceVectorEnv
from seqreward_env.contexts import SIGMA_MAX
from seqreward_env.episodes import episode_bytes_per_row

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import gc, sys
import numpy as np
from seqreward_env import SequenceTask, SequenceVectorEnv
from seqreward_env.episodes import episode_bytes_per_row
seq_len, vocab_size, context_dim, budget = map(int, sys.argv[1:])
task = SequenceTask(seq_len=seq_len, vocab_size=vocab_size, context_dim=context_dim, num_components=4)
warm = SequenceVectorEnv(num_envs=8, task=task)  # imports and first-call caches paid before the baseline
warm.reset(seed=0)
warm.step(np.zeros(8, dtype=np.int64))
warm.close()
gc.collect()
def high_water_mark():  # peak resident memory of this process's own address space (ru_maxrss survives exec)
    line = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024
base = high_water_mark()
rows = budget // episode_bytes_per_row(task)
envs = SequenceVectorEnv(num_envs=rows, task=task)
observation, _ = envs.reset(seed=0)
actions = np.zeros(rows, dtype=np.int64)
for _ in range(seq_len + 2):  # through the episode's end and the autoreset that follows it
    observation, *_ = envs.step(actions)
peak = high_water_mark()
print(peak - base, rows * episode_bytes_per_row(task))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
@pytest.mark.parametrize(
    "shape",
    [(128, 32, 32), (4, 512, 8), (4, 4, 512), (512, 4, 4)],
    ids=["paper", "wide vocabulary", "wide contexts", "long responses"],
)
def test_the_memory_estimate_covers_the_measured_peak_of_reset_and_step(shape: tuple[int, int, int]) -> None:
    budget = 80 * 2**20
    probe = subprocess.run(
        [sys.executable, "-c", PROBE, *map(str, shape), str(budget)], capture_output=True, text=True, cwd=ROOT
    )
    assert probe.returncode == 0, probe.stderr
    measured, estimate = map(int, probe.stdout.split())
    assert measured <= estimate, f"peak {measured / 2**20:.0f} MiB over the estimate {estimate / 2**20:.0f} MiB"
    assert measured >= 0.5 * estimate  # and not so loose that it refuses envs that would fit


def test_a_pool_of_a_billion_contexts_is_refused_before_it_is_copied() -> None:
    pool = np.broadcast_to(np.ones(8, dtype=np.float32), (10**9, 8))  # a view: no memory yet
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"contexts.shape=\(1000000000, 8\) would need 89.4 GiB"):
        SequenceTask(contexts=pool, context_dim=8)
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize("sigma", [1.7e308, SIGMA_MAX * 2, float("inf"), -0.1])
def test_a_sigma_that_would_overflow_is_refused(sigma: float) -> None:
    with pytest.raises(ValueError, match="sigma must be a finite number"):
        SequenceTask(sigma=sigma)


def test_the_largest_sigma_still_gives_finite_contexts() -> None:
    task = SequenceTask(sigma=SIGMA_MAX, context_dim=8)
    assert np.isfinite(task.test_contexts(64)).all()


@pytest.mark.parametrize("context", [["1.0"] * 8, np.array(["1"] * 8), [object()] * 8, [b"1"] * 8])
def test_strings_or_objects_are_refused_as_a_context(context: object) -> None:
    envs = SequenceVectorEnv(2, seq_len=3, vocab_size=3, context_dim=8)
    with pytest.raises(ValueError, match=r"options\['context'\] must be a numeric array"):
        envs.reset(seed=0, options={"context": context})
    with pytest.raises(ValueError, match="contexts must be a numeric array"):
        SequenceTask(contexts=[context, context], context_dim=8)


def test_the_estimate_grows_with_every_size() -> None:
    base = episode_bytes_per_row(SequenceTask(seq_len=8, vocab_size=8, context_dim=8))
    for bigger in ({"seq_len": 64}, {"vocab_size": 512}, {"context_dim": 512}):
        assert episode_bytes_per_row(SequenceTask(**{"seq_len": 8, "vocab_size": 8, "context_dim": 8, **bigger})) > base
