"""The serving benchmark: bad flags refused before any work, and a tiny run whose served episodes all equal
the in-process replay (the benchmark's own check; its timings are not asserted)."""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi")

from scripts import bench_serve  # noqa: E402


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--clients", "0"], "clients (--clients) must be one or more integers >= 1"),
        (["--transports", "pigeon"], "pigeon"),
        (["--max-steps", "10"], "max_steps (--max-steps) is 10"),
        (["--env-id", "seqreward/Nope-v0"], "env_id (--env-id) must be one of"),
        (["--max-seconds", "0"], "max_seconds (--max-seconds) must be > 0"),
    ],
)
def test_a_bad_flag_is_refused_before_any_work(flags: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        bench_serve.main(flags)
    captured = capsys.readouterr()
    assert message in " ".join((captured.err + str(caught.value)).replace("│", " ").split())
    assert captured.out == ""


def test_a_tiny_load_loses_no_episode() -> None:
    rows = bench_serve.main(["--clients", "1", "3", "--episodes", "2"])["rows"]
    assert [(r["transport"], r["clients"], r["token_steps"]) for r in rows] == [
        ("websocket", 1, 12), ("websocket", 3, 36), ("http", 1, 12), ("http", 3, 36)
    ]  # fmt: skip
    assert all(r["mismatches"] == 0 and r["served_steps_per_s"] > 0 for r in rows)
