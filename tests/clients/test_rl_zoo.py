"""RL Zoo: the shipped hyperparameter files cover every id, and ``rl_zoo3.train`` trains PPO on Process-v0."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("rl_zoo3")
import yaml  # noqa: E402
from stable_baselines3 import PPO  # noqa: E402

import seqreward_env  # noqa: E402
from agents.learners.sb3 import evaluate_sb3_policy  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
ZOO = ROOT / "scripts" / "rl_zoo"
STEPS = 4096


def documented_command() -> list[str]:
    """The RL Zoo command line of docs/usage.md, split as the shell would."""
    text = (ROOT / "docs" / "usage.md").read_text()
    [line] = [line for block in re.findall(r"^```bash\n(.*?)^```", text, re.DOTALL | re.MULTILINE)
              for line in block.splitlines() if "rl_zoo3.train" in line]  # fmt: skip
    return shlex.split(line)


def test_documented_command_writes_under_the_ignored_runs_folder() -> None:
    """Run from the repository root, the command writes where git ignores (runs/), never a logs/ folder."""
    command = documented_command()
    assert command[:3] == ["python", "-m", "rl_zoo3.train"]
    log_folder = Path(command[command.index("-f") + 1])
    assert log_folder.parts[0] == "runs" and "/runs/" in (ROOT / ".gitignore").read_text().splitlines()
    assert (ROOT / command[command.index("--conf-file") + 1]).is_file()


@pytest.mark.parametrize("algo", ["ppo", "a2c"])
def test_hyperparameter_files_cover_every_registered_id(algo: str) -> None:
    settings = yaml.safe_load((ZOO / f"{algo}.yml").read_text())
    assert set(settings) == set(seqreward_env.ENV_IDS)
    for env_id, hyperparameters in settings.items():
        assert hyperparameters["policy"] == "MultiInputPolicy", env_id
        assert hyperparameters["gamma"] == 1.0, env_id
        if algo == "ppo":  # SB3 warns when a rollout does not split into whole minibatches
            rollout = hyperparameters["n_envs"] * hyperparameters["n_steps"]
            assert rollout % hyperparameters["batch_size"] == 0, env_id


@pytest.mark.slow
def test_rl_zoo_trains_ppo_on_process_v0(tmp_path: Path) -> None:
    """The documented command as written, shortened to 4096 steps (about 30 s), from a folder laid out as
    the repository root: it writes runs/rl_zoo/ and nothing else; the exact test error falls from the
    untrained policy's 0.9998 (measured: to 0.75) and greedy decoding gets most contexts right (0.59)."""
    (tmp_path / "scripts").symlink_to(ROOT / "scripts")
    shortened = ["-n", str(STEPS), "--eval-freq", "1024", "--eval-episodes", "50", "--seed", "0"]
    command = [sys.executable, *documented_command()[1:], *shortened]
    subprocess.run(command, cwd=tmp_path, check=True, capture_output=True, timeout=600)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["runs", "scripts"]
    run = tmp_path / "runs" / "rl_zoo" / "ppo" / "seqreward-Process-v0_1"
    evaluations = np.load(run / "evaluations.npz")
    assert evaluations["timesteps"].tolist() == [1024, 2048, 3072, 4096]
    task = gym.make("seqreward/Process-v0").unwrapped.task
    trained = evaluate_sb3_policy(PPO.load(run / "seqreward-Process-v0.zip", device="cpu"), task)
    untrained = evaluate_sb3_policy(PPO("MultiInputPolicy", gym.make("seqreward/Process-v0"), seed=0), task)
    assert untrained.test_error > 0.999
    assert trained.test_error < 0.9
    assert trained.greedy_exact_match_rate > 0.3
    # The uniform policy's expected process return is sum_i 4^-i < 0.34 per episode.
    assert evaluations["results"][-1].mean() > 1.5
