"""The rollout benchmark: its naive reference computes the cached transformer's probabilities exactly, and a
tiny run times every column it promises (transformers' generate only where transformers is installed)."""

from __future__ import annotations

import importlib.util

import torch

from agents.policy.choice import make_policy
from agents.policy.network_policy import NetworkPolicy
from agents.policy.networks import NetworkSizes
from scripts import bench_rollout
from seqreward_env import SequenceTask


def test_recomputing_the_prefix_gives_the_cached_probabilities() -> None:
    task = SequenceTask(seq_len=5, vocab_size=4, context_dim=3, num_components=4)
    cached = make_policy("transformer", task, NetworkSizes(8, 2, 2), seed=1)
    assert isinstance(cached, NetworkPolicy)
    with torch.no_grad():
        cached.module.head.weight.normal_(generator=torch.Generator().manual_seed(0))  # type: ignore[union-attr, operator]
    recomputed = bench_rollout.RecomputedPrefix(cached.copy().module, 3, 4, cached.architecture)
    assert bench_rollout.check_equal(task, cached, recomputed, 16) < 1e-5
    with torch.no_grad():  # a different network is caught
        recomputed.module.head.bias[0] += 1.0  # type: ignore[union-attr, operator, index]
    assert bench_rollout.check_equal(task, cached, recomputed, 16) > 1e-3


def test_a_tiny_run_times_every_column(capsys) -> None:  # type: ignore[no-untyped-def]
    rates = bench_rollout.main(["--batch", "8", "--seq-len", "3", "--hidden", "8", "--layers", "1", "--repeats", "1"])
    expected = {"PG step, cached", "PG step, recomputed", "rollout, cached", "rollout, recomputed"}
    if importlib.util.find_spec("transformers") is not None:
        expected.add("rollout, transformers generate")
    assert set(rates) == expected and all(rate > 0 for rate in rates.values())
    assert "KV cache over recomputing the prefix" in capsys.readouterr().out
