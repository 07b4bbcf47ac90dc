"""Every script's flags are checked before any work, by one mechanism (a settings dataclass with declared
bounds parsed by ``tyro``): a bad value ends the program naming the flag, with nothing printed or written.
Each case here was once accepted (a benchmark that printed NaN) or failed only after pre-training."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from scripts import bench_env, bench_pg, bench_policy, bench_sb3, demo, paper_task
from scripts.barrier import run as barrier
from scripts.compare import run as compare
from scripts.figure1 import run as figure1
from scripts.margin import run as margin
from scripts.mistakes import run as mistakes

MAINS: dict[str, Callable[[list[str]], Any]] = {
    "bench_env": bench_env.main,
    "bench_pg": bench_pg.main,
    "bench_policy": bench_policy.main,
    "bench_sb3": bench_sb3.main,
    "compare": compare.main,
    "barrier": barrier.main,
    "figure1": figure1.main,
    "margin": margin.main,
    "mistakes": mistakes.main,
    "demo": demo.main,
    "paper_task": paper_task.main,
}
CASES = [
    ("bench_env", ["--num-envs", "0"], "num_envs (--num-envs) must be >= 1"),
    ("bench_env", ["--episodes", "0"], "episodes (--episodes) must be >= 1"),
    ("bench_env", ["--env-id", "seqreward/Nope-v0"], "env_id (--env-id) must be one of"),
    ("bench_env", ["--seed", "-1"], "seed (--seed) must lie in [0, 2^63)"),
    ("bench_pg", ["--repeats", "0"], "repeats (--repeats) must be >= 1"),
    ("bench_pg", ["--threads", "0"], "threads (--threads) must be >= 1"),
    ("bench_pg", ["--batch-size", "0"], "batch_size (--batch-size) must be >= 1"),
    ("bench_pg", ["--env-id", "bogus"], "env_id (--env-id) must be one of"),
    ("bench_policy", ["--repeats", "0"], "repeats (--repeats) must be >= 1"),
    ("bench_policy", ["--threads", "0"], "threads (--threads) must be >= 1"),
    ("bench_policy", ["--batch", "12"], "batch (--batch) must be a multiple of 8"),
    ("bench_policy", ["--policies", "linear,rnn"], "'rnn' is not one of"),
    ("bench_policy", ["--heads", "3"], "heads must divide hidden"),
    ("bench_policy", ["--env-id", "bogus"], "env_id (--env-id) must be one of"),
    ("bench_sb3", ["--rollouts", "0"], "rollouts (--rollouts) must be >= 1"),
    ("bench_sb3", ["--num-envs", "0"], "num_envs (--num-envs) must be one or more counts >= 1"),
    ("bench_sb3", ["--env-kwargs", "[1]"], "env_kwargs (--env-kwargs) must be a JSON object"),
    ("bench_sb3", ["--env-kwargs", "{bad"], "env_kwargs (--env-kwargs) must be a JSON object"),
    ("bench_sb3", ["--env-id", "bogus"], "env_id (--env-id) must be one of"),
    ("bench_sb3", ["--threads", "0"], "threads (--threads) must be >= 1"),
    ("compare", ["--quick", "--backend", "bogus"], "backend (--backend) must be one of ['local', 'ray']"),
    ("compare", ["--quick", "--group-size", "1"], "group_size (--group-size) must be >= 2"),
    ("barrier", ["--quick", "--delta", "2"], "delta (--delta) must lie in (0, 1)"),
    ("barrier", ["--quick", "--margin", "-1"], "margin (--margin) must be > 0"),
    ("barrier", ["--quick", "--lq-eps", "0"], "lq_eps (--lq-eps) must lie in (0, 1)"),
    ("barrier", ["--quick", "--backend", "bogus"], "backend (--backend) must be one of"),
    ("margin", ["--quick", "--backend", "bogus"], "backend (--backend) must be one of"),
    ("mistakes", ["--quick", "--backend", "bogus"], "backend (--backend) must be one of"),
    ("figure1", ["--quick", "--run-dir", ""], "--run-dir '' must name a folder"),
    ("demo", ["--num-envs", "0"], "num_envs (--num-envs) must be >= 1"),
    ("demo", ["--seed", "-3"], "seed (--seed) must lie in [0, 2^63)"),
    ("paper_task", ["--out", ""], "out (--out) must name a file"),
]


@pytest.mark.parametrize(("script", "flags", "message"), CASES, ids=[f"{c[0]} {' '.join(c[1])}" for c in CASES])
def test_a_bad_flag_is_refused_before_any_work(
    script: str, flags: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)  # a default run folder would appear here
    takes_run_dir = script not in ("demo", "paper_task") and not script.startswith("bench")
    run_dir = ["--run-dir", str(tmp_path / "run")] if takes_run_dir and "--run-dir" not in flags else []
    with pytest.raises(SystemExit) as caught:
        MAINS[script]([*flags, *run_dir])
    captured = capsys.readouterr()
    shown = " ".join(re.sub("[\u2500-\u257f]", " ", captured.err + str(caught.value)).split())  # unboxed, unwrapped
    assert message in shown
    assert captured.out == ""
    assert list(tmp_path.iterdir()) == []


def test_the_benchmarks_parse_good_flags_into_their_settings() -> None:
    args = bench_sb3.parse_args(["--num-envs", "4", "8", "--env-kwargs", '{"seq_len": 3}', "--monitor"])
    assert args.num_envs == (4, 8) and args.env_object() == {"seq_len": 3} and args.monitor and args.output is None
