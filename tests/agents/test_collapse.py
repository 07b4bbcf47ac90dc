"""The collapse guard: its verdict on hand-made evaluation records, the share of confidently wrong positions
it reads, and a forced collapse (the transformer's PG at rate 1.0) flagged in the run's done.json and on
the console, while the same run at the policy's default rate is not."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from agents.analysis.collapse import WRONG_SHARE_RISE, collapse_flags, collapse_note
from agents.experiment.jobs import FINAL_MODEL, Evaluation, Job, TaskSpec, run_job
from agents.learners.paper_pg import PaperPGConfig
from agents.learners.pretrain import PretrainConfig
from agents.policy.choice import PolicyChoice
from agents.policy.evaluation import confidently_wrong_share
from agents.policy.linear import LinearPolicy
from seqreward_env import SequenceTask

TASK = {"seq_len": 4, "vocab_size": 3, "context_dim": 4, "num_components": 4, "task_seed": 3}
TRANSFORMER = PolicyChoice("transformer", hidden=8, layers=1, heads=2)


def record(error: float, wrong: float | None = None) -> dict[str, float]:
    values = {"eval/test_error": error}
    if wrong is not None:
        values["eval/confidently_wrong"] = wrong
    return values


def test_the_verdict_from_the_first_and_last_evaluations() -> None:
    assert collapse_flags([record(0.5, 0.0), {"train/loss": 1.0}, record(0.2, 0.01)]) == {
        "collapsed": False,
        "collapse_reasons": {},
    }
    worse = collapse_flags([record(0.2, 0.0), record(0.1, 0.0), record(0.25, 0.0)])
    assert worse["collapsed"] and list(worse["collapse_reasons"]) == ["worse_than_base"]
    assert "0.2500 above the starting policy's 0.2000" in worse["collapse_reasons"]["worse_than_base"]
    hardened = collapse_flags([record(0.5, 0.1), record(0.4, 0.1 + WRONG_SHARE_RISE + 0.01)])
    assert list(hardened["collapse_reasons"]) == ["deterministic_wrong"]
    assert not collapse_flags([record(0.5, 0.1), record(0.4, 0.1 + WRONG_SHARE_RISE - 0.01)])["collapsed"]
    assert not collapse_flags([record(0.5), record(0.4)])["collapsed"]  # no share logged: error alone judged
    assert collapse_flags([{"train/loss": 1.0}])["collapsed"] is None
    summaries = [{"collapsed": False}, {"collapsed": True, "collapse_reasons": {"worse_than_base": ""}}]
    assert collapse_note(summaries) == " [COLLAPSED in 1 of 2 runs: worse_than_base]"
    assert collapse_note(summaries[:1]) == ""


def test_the_confidently_wrong_share_counts_positions_held_on_a_wrong_token() -> None:
    task = SequenceTask(**TASK)
    policy = LinearPolicy(4, 3)
    contexts = task.test_contexts(16)
    targets = task.targets(contexts)
    assert confidently_wrong_share(policy, contexts, targets) == 0.0  # uniform: nothing confident
    with torch.no_grad():  # every position: token 0 wherever the context's first coordinate is positive
        policy.w1[0, 0] = 1e4
    assert np.abs(contexts[:, 0]).min() > 1e-3
    expected = ((contexts[:, :1] > 0) & (targets != 0)).sum() / targets.size
    assert expected > 0
    assert confidently_wrong_share(policy, contexts, targets) == pytest.approx(expected)


def pg_job(tmp_path: Path, base: str, rate: float | None, name: str) -> Job:
    return Job(
        learner="paper_pg",
        config=PaperPGConfig(learning_rate=rate),
        task=TaskSpec(TASK, env_id="seqreward/Process-v0"),
        budget=10,
        seed=1,
        run_dir=str(tmp_path / name),
        rows=32,
        base_model=base,
        evaluation=Evaluation(every=5, test_size=64),
        description=f"PRM {name}",
    )


def test_a_forced_collapse_is_flagged_in_the_summary_and_on_the_console(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pretrain = Job(
        learner="pretrain",
        config=PretrainConfig(batch_size=32),
        task=TaskSpec(TASK),
        budget=20,
        seed=0,
        run_dir=str(tmp_path / "pretrain"),
        policy=TRANSFORMER,
        evaluation=Evaluation(every=20, test_size=64),
    )
    assert run_job(pretrain)["collapsed"] is False
    base = str(tmp_path / "pretrain" / FINAL_MODEL)
    collapsed = run_job(pg_job(tmp_path, base, 1.0, "rate1"))
    assert collapsed["collapsed"] is True and "deterministic_wrong" in collapsed["collapse_reasons"]
    assert json.loads((tmp_path / "rate1" / "done.json").read_text())["collapsed"] is True
    assert "COLLAPSED PRM rate1" in capsys.readouterr().err
    healthy = run_job(pg_job(tmp_path, base, None, "default"))
    assert healthy["collapsed"] is False and healthy["final_test_error"] < healthy["base_test_error"]
    assert "COLLAPSED" not in capsys.readouterr().err
