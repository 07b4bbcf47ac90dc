"""The job contract, once for every learner: ``run_job`` trains a ``Job`` in its folder, reports the env's own
reward-query count, reuses a finished run of the same job, refuses a folder holding another, resumes an
interrupted job to the same end as an uninterrupted one, and a bad job fails at construction."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from agents.analysis.paper_task import PaperTaskArrays, save_task_arrays
from agents.experiment.jobs import FINAL_MODEL, LEARNERS, Evaluation, Job, StopRule, TaskSpec, model_file, run_job
from agents.learners.adaptive_pg import AdaptivePGConfig
from agents.learners.best_of_m import BestOfMConfig
from agents.learners.difficulty import DifficultyConfig
from agents.learners.group_pg import GroupPGConfig
from agents.learners.paper_pg import PaperPGConfig
from agents.learners.pretrain import PretrainConfig
from agents.learners.process_repair import ProcessRepairConfig
from agents.learners.sb3 import SB3Config
from agents.learners.uniform_pg import UniformPGConfig
from agents.policy.choice import load_policy
from agents.runs.folder import DONE, read_metrics, without_seal
from agents.runs.problems import RunFolderError

TINY = {"seq_len": 3, "vocab_size": 3, "context_dim": 4, "num_components": 4, "margin": 0.05}
CONFIGS: dict[str, Any] = {
    "paper_pg": PaperPGConfig(),
    "group_pg": GroupPGConfig(method="rloo", num_contexts=2, group_size=3),
    "best_of_m": BestOfMConfig(tries=3),
    "process_repair": ProcessRepairConfig(tries=3),
    "adaptive_pg": AdaptivePGConfig(),
    "uniform_pg": UniformPGConfig(),
    "pretrain": PretrainConfig(batch_size=8),
    "sb3": SB3Config(algo="a2c", algo_kwargs={"n_steps": 2}),  # 8 environment steps an update over 4 rows
}


def make_job(learner: str, folder: Path, **changes: Any) -> Job:
    settings: dict[str, Any] = {
        "learner": learner,
        "config": CONFIGS[learner],
        "task": TaskSpec(TINY),
        "budget": 10,
        "seed": 7,
        "run_dir": str(folder),
        "rows": None if learner == "group_pg" else 4,
        "evaluation": Evaluation(every=4, test_size=32),
    }
    if learner == "sb3":  # the budget and evaluations in environment steps: 10 updates, one every 4
        settings.update(budget=80, evaluation=Evaluation(every=32, test_size=32))
    settings.update(changes)
    return Job(**settings)


def test_every_learner_is_listed_with_a_config_here() -> None:
    assert set(CONFIGS) == set(LEARNERS)


@pytest.mark.parametrize("learner", sorted(CONFIGS))
def test_a_job_runs_reports_the_envs_queries_and_is_reused_when_finished(learner: str, tmp_path: Path) -> None:
    job = make_job(learner, tmp_path / "run")
    summary = run_job(job)
    assert summary["learner"] == learner
    assert summary["final_step"] == 10
    assert summary["reward_queries"] == summary["env_reward_queries"]
    assert (summary["reward_queries"] > 0) == (learner != "pretrain")
    assert [r["step"] for r in read_metrics(job.run_dir) if "eval/test_error" in r] == [0, 4, 8, 10]
    assert without_seal(tmp_path / "run" / DONE) == summary
    if learner == "sb3":  # SB3's own model file; the evaluations also give the environment steps
        assert (tmp_path / "run" / "model.zip").is_file() and summary["final_env_steps"] == 80
    else:
        load_policy(tmp_path / "run" / FINAL_MODEL)  # the trained policy, loadable without running code
    metrics = (tmp_path / "run" / "metrics.jsonl").read_bytes()
    assert run_job(job) == summary  # finished: returned as it is, nothing trained again
    assert (tmp_path / "run" / "metrics.jsonl").read_bytes() == metrics


def test_a_folder_holding_another_job_is_refused_naming_the_difference(tmp_path: Path) -> None:
    run_job(make_job("uniform_pg", tmp_path))
    with pytest.raises(RunFolderError, match="budget: 10 -> 12"):
        run_job(make_job("uniform_pg", tmp_path, budget=12))
    with pytest.raises(RunFolderError, match="config.zeta"):
        run_job(make_job("uniform_pg", tmp_path, config=UniformPGConfig(zeta=2.0)))


def test_a_difficulty_that_is_off_is_not_part_of_the_identity_and_one_that_is_on_is(tmp_path: Path) -> None:
    # run folders written before learners had a difficulty must still match their job (and be reused)
    job = make_job("paper_pg", tmp_path)
    assert "difficulty" not in job.identity()["config"]
    assert (
        "difficulty"
        not in make_job("paper_pg", tmp_path, config=PaperPGConfig(difficulty=DifficultyConfig(window=3))).identity()[
            "config"
        ]
    )
    active = make_job("paper_pg", tmp_path, config=PaperPGConfig(difficulty=DifficultyConfig(dynamic_sampling=True)))
    assert active.identity()["config"]["difficulty"]["dynamic_sampling"] is True
    run_job(job)
    with pytest.raises(RunFolderError, match="config.difficulty"):
        run_job(active)


def test_a_folder_that_spells_out_an_inactive_difficulty_is_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # folders written while every learner config's identity held its difficulty, off or on, are the same run
    from agents.experiment import jobs

    job = make_job("paper_pg", tmp_path)
    with monkeypatch.context() as patch:
        patch.setattr(jobs, "config_identity", asdict)
        first = run_job(job)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["config"]["difficulty"] == json.loads(json.dumps(asdict(DifficultyConfig())))
    again = run_job(job)
    assert again == first
    with pytest.raises(RunFolderError, match="config.difficulty"):
        run_job(
            make_job("paper_pg", tmp_path, config=PaperPGConfig(difficulty=DifficultyConfig(dynamic_sampling=True)))
        )


@pytest.mark.parametrize("learner", ["paper_pg", "group_pg", "best_of_m", "pretrain", "sb3"])
def test_an_interrupted_job_resumes_to_the_same_end(
    learner: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    straight = run_job(make_job(learner, tmp_path / "straight"))
    job = make_job(learner, tmp_path / "resumed")
    kind = LEARNERS[learner].learner_class()
    original = kind.train_step
    calls = {"n": 0}

    def interrupted(self: Any, step: int) -> dict[str, Any]:
        calls["n"] += 1
        if calls["n"] == 7:  # after the checkpoint at step 4, before the one at 8
            raise KeyboardInterrupt
        return original(self, step)

    monkeypatch.setattr(kind, "train_step", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_job(job)
    assert not (tmp_path / "resumed" / DONE).exists()
    monkeypatch.setattr(kind, "train_step", original)
    resumed = run_job(job)
    assert read_metrics(tmp_path / "resumed") == read_metrics(tmp_path / "straight")
    assert resumed == straight
    if learner == "sb3":
        return
    for name, tensor in load_policy(tmp_path / "resumed" / FINAL_MODEL).state_dict().items():
        torch.testing.assert_close(
            tensor, load_policy(tmp_path / "straight" / FINAL_MODEL).state_dict()[name], rtol=0, atol=0
        )


def test_a_stop_rule_ends_the_run_and_the_summary_says_where(tmp_path: Path) -> None:
    stop = StopRule("eval/mean_token_probability", at_least=0.0)  # met by the uniform policy at step 0
    summary = run_job(make_job("pretrain", tmp_path, evaluation=Evaluation(every=1, test_size=32, stop=stop)))
    assert (summary["reached"], summary["steps_to_target"], summary["final_step"]) == (True, 0, 0)
    never = StopRule("eval/test_error", at_most=-1.0)
    summary = run_job(make_job("uniform_pg", tmp_path / "never", evaluation=Evaluation(every=5, stop=never)))
    assert (summary["reached"], summary["steps_to_target"], summary["final_step"]) == (False, None, 10)


def test_a_job_keeps_its_model_at_every_evaluation_when_asked(tmp_path: Path) -> None:
    job = make_job("pretrain", tmp_path, evaluation=Evaluation(every=4, test_size=32, keep_models=True))
    run_job(job)
    kept = sorted(path.name for path in (tmp_path / "models").iterdir())
    assert kept == [f"step{step:06d}.pt" for step in (0, 4, 8, 10)]
    final = load_policy(tmp_path / FINAL_MODEL).state_dict()
    for name, tensor in load_policy(model_file(tmp_path, 10)).state_dict().items():
        torch.testing.assert_close(tensor, final[name], rtol=0, atol=0)
    assert not torch.equal(load_policy(model_file(tmp_path, 0)).w1, final["w1"])  # the uniform start
    with pytest.raises(ValueError, match="takes no evaluation.keep_models"):
        make_job("sb3", tmp_path / "sb3", evaluation=Evaluation(every=32, keep_models=True))


def test_the_task_spec_takes_an_ids_defaults_and_a_task_files_teacher(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    arrays = PaperTaskArrays(
        rng.normal(size=(3, 4)).astype(np.float32),
        rng.normal(size=(3, 3)).astype(np.float32),
        rng.uniform(-1.0, 1.0, size=(16, 4)).astype(np.float32),
    )
    path = save_task_arrays(tmp_path / "task.npz", arrays)
    shape = {key: value for key, value in TINY.items() if key != "margin"}
    task = TaskSpec(shape, env_id="seqreward/Process-v0", task_file=str(path)).build(reward="outcome")
    assert task.reward == "outcome" and task.seq_len == 3
    np.testing.assert_array_equal(task.teacher_w1, arrays.teacher_w1.astype(task.teacher_w1.dtype))
    np.testing.assert_array_equal(task.test_contexts(16), arrays.test_contexts)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"learner": "ppo2"}, "learner must be one of"),
        ({"config": PaperPGConfig()}, "must be a UniformPGConfig"),
        ({"budget": -1}, "budget must be an integer >= 0"),
        ({"budget": 1.5}, r"budget .*must be an integer"),
        ({"seed": -1}, "seed must be an integer in"),
        ({"rows": 0}, "rows must be an integer >= 1"),
        ({"run_dir": ""}, "run_dir must name a folder"),
    ],
)
def test_a_bad_job_fails_at_construction_naming_the_field(
    changes: dict[str, Any], message: str, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(make_job("uniform_pg", tmp_path), **changes)


def test_bad_parts_fail_where_they_are_made() -> None:
    with pytest.raises(ValueError, match="rows=5 contradicts"):
        make_job("group_pg", Path("unused"), rows=5)
    with pytest.raises(ValueError, match=r"task keywords \['seqlen'\] are not SequenceTask arguments"):
        TaskSpec({"seqlen": 4})
    with pytest.raises(ValueError, match="env_id must be one of"):
        TaskSpec(env_id="seqreward/Nope-v0")
    with pytest.raises(ValueError, match="exactly one of at_most and at_least"):
        StopRule("eval/test_error")
    with pytest.raises(ValueError, match="finite number"):
        StopRule("eval/test_error", at_most=float("nan"))
    with pytest.raises(ValueError, match="evaluation.every must be an integer >= 1"):
        Evaluation(every=0)
    with pytest.raises(ValueError, match="takes no base_model"):
        make_job("sb3", Path("unused"), base_model="base.pt")
    with pytest.raises(ValueError, match="off_support indexes"):
        Evaluation(off_support=(0,))


@pytest.mark.parametrize(
    ("evaluation", "message"),
    [
        ({"tracked": np.ones((2, 5))}, r"^evaluation.tracked must hold contexts of the task's context_dim=4 .*, got 5"),
        ({"tracked": np.ones(4)}, r"^evaluation.tracked must be a \(T, d\) array with T >= 1 .* got shape \(4,\)"),
        ({"tracked": np.zeros((0, 4))}, r"^evaluation.tracked must be a \(T, d\) array with T >= 1"),
        ({"tracked": [[0.0, 1.0, float("nan"), 0.0]]}, r"^evaluation.tracked must hold finite contexts .* in row 0"),
        ({"tracked": [[0.0] * 4, [1e39, 0, 0, 0]]}, r"^evaluation.tracked must hold finite contexts .* in row 1"),
        ({"tracked": [["a"] * 4]}, r"^evaluation.tracked must be a \(T, d\) array of finite numbers"),
        ({"tracked": np.ones((3, 4)), "off_support": (0, 3)}, r"^evaluation.off_support must hold .* \[0, 2\], got 3"),
        ({"tracked": np.ones((3, 4)), "off_support": (-1,)}, r"^evaluation.off_support .* got -1"),
        ({"tracked": np.ones((3, 4)), "off_support": (True,)}, r"^evaluation.off_support .* got True"),
    ],
)
def test_bad_tracked_contexts_are_refused_at_construction_in_one_line(
    evaluation: dict[str, Any], message: str, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match=message) as error:
        make_job("paper_pg", tmp_path, evaluation=Evaluation(every=4, test_size=32, **evaluation))
    assert "\n" not in str(error.value)
    assert not tmp_path.joinpath("config.json").exists()


@pytest.mark.parametrize("content", [b"\x80\x02garbage" * 20, bytes(range(256)) * 4, b"PK\x03\x04" + b"\x00" * 64])
def test_a_base_model_of_garbage_bytes_is_refused_in_one_line(content: bytes, tmp_path: Path) -> None:
    base = tmp_path / "base.pt"
    base.write_bytes(content)
    job = make_job("paper_pg", tmp_path / "run", base_model=str(base))
    with pytest.raises(RunFolderError, match=r"base.pt: is not a (readable )?policy file") as error:
        run_job(job)
    assert "\n" not in str(error.value)


def test_a_job_imports_only_its_own_learner(tmp_path: Path) -> None:
    """The registry's factories import a learner's module when a job needs it: a job of the paper's PG, made
    and run, loads neither stable-baselines3 nor another learner's module."""
    import json
    import subprocess
    import sys

    code = f"""
import json, sys
from agents.experiment.jobs import Evaluation, Job, TaskSpec, run_job
from agents.learners.paper_pg import PaperPGConfig
job = Job("paper_pg", PaperPGConfig(), TaskSpec({TINY!r}), 2, 0, {str(tmp_path / "run")!r}, rows=2,
          evaluation=Evaluation(every=1, test_size=8))
run_job(job)
print(json.dumps(sorted(name for name in sys.modules if name.startswith(("stable_baselines3", "agents.learners.")))))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    loaded = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert not any(name.startswith("stable_baselines3") for name in loaded)
    learners = {"best_of_m", "process_repair", "adaptive_pg", "uniform_pg", "pretrain", "group_pg", "sb3"}
    assert not {name.split(".")[2] for name in loaded} & learners
    assert "agents.learners.paper_pg" in loaded
