"""The pass@k cost benchmark on a small task: what the new metrics add stays a small share of an evaluation
and of a run."""

from __future__ import annotations

from scripts.bench_pass_at_k import main


def test_added_cost_is_small_and_every_part_is_timed() -> None:
    seconds = main(["--env-id", "seqreward/Outcome-v0", "--batch-size", "64", "--test-size", "256", "--repeats", "5"])
    assert all(value > 0 for value in seconds.values())
    assert seconds["run_ratio"] < 0.05
