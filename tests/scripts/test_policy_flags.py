"""``--policy linear|mlp|transformer`` in the barrier, compare and LQ experiments: a network is pre-trained,
saved and trained end to end, and a bad choice fails before any work, naming the flag."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agents.experiment.jobs import FINAL_MODEL
from agents.policy.choice import load_policy
from agents.policy.network_policy import NetworkPolicy
from scripts.barrier import run as barrier
from scripts.compare import run as compare
from scripts.lq import run as lq
from tests.scripts.test_barrier import TINY as BARRIER
from tests.scripts.test_compare import TINY as COMPARE
from tests.scripts.test_lq import TINY as LQ

SMALL = ["--hidden", "8", "--heads", "2"]


@pytest.mark.parametrize("main", [barrier.main, compare.main, lq.main])
@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--policy", "lstm"], "policy must be one of"),
        (["--policy", "transformer", "--heads", "3"], "heads must divide"),
    ],
)
def test_a_bad_policy_fails_early_naming_the_flag(  # type: ignore[no-untyped-def]
    main, flags: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    monkeypatch.setenv("COLUMNS", "1000")  # one line per message in the error box
    base = {barrier.main: BARRIER, compare.main: COMPARE, lq.main: LQ}[main]
    with pytest.raises(SystemExit) as refused:
        main([*base, *flags, "--run-dir", str(tmp_path)])
    text = str(refused.value) + capsys.readouterr().err
    assert "--policy" in text and message in text
    assert not list(tmp_path.rglob("*.pt"))


@pytest.mark.slow
def test_lq_trains_a_transformer_and_records_its_likelihoods(tmp_path: Path) -> None:
    run_dir = lq.main([*LQ, "--policy", "transformer", *SMALL, "--run-dir", str(tmp_path)])
    models = sorted((run_dir / "pretrain" / "models").glob("*.pt"))
    assert models and all(isinstance(load_policy(path), NetworkPolicy) for path in models)
    config = json.loads((run_dir / "pretrain" / "config.json").read_text())
    assert config["policy"]["name"] == "transformer" and "hidden" not in config


@pytest.mark.slow
def test_barrier_and_compare_run_with_the_transformer(tmp_path: Path) -> None:
    summary = json.loads(
        (
            barrier.main([*BARRIER, "--policy", "transformer", *SMALL, "--run-dir", str(tmp_path / "b")])
            / "barrier.json"
        ).read_text()
    )
    assert summary["queries_match_env"] is True
    base = next((tmp_path / "b" / "runs" / "pretrain").rglob(FINAL_MODEL))
    assert isinstance(load_policy(base), NetworkPolicy)
    run_dir = compare.main([*COMPARE, "--policy", "transformer", *SMALL, "--run-dir", str(tmp_path / "c")])
    assert isinstance(load_policy(run_dir / "pretrain" / FINAL_MODEL), NetworkPolicy)
