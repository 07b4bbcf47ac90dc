"""Smoke checks of the seqreward wheel as a user installs it: run by scripts/check_wheel.sh in a fresh
virtual environment, from a folder outside the checkout.

pytest does not collect this file (its name does not start with ``test_``): it needs the installed wheel,
not the checkout. Run it with ``python -I`` so that neither the checkout nor this file's folder (whose
``tests/agents`` would shadow the package) is on ``sys.path``::

    python -I tests/smoke_installed.py --source CHECKOUT --sdist UNPACKED_SDIST

Every check runs; each failure is printed with what is missing, and the exit status is 1 if any failed.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import importlib.util
import math
import re
import subprocess
import sys
import sysconfig
import time
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path

DISTRIBUTION = "seqreward"
PACKAGES = ("seqreward_env", "agents")
# Every import package the wheel ships: the two above, the server and verifiers' plugin module (their files are
# checked; they are not imported, as they need their extras).
WHEEL_PACKAGES = (*PACKAGES, "seqreward_serve", "seqreward_tasks")
DATA_FOLDER = "seqreward_env/data"
# Checkout files that are not part of the source release.
NOT_IN_SDIST = {".gitignore", ".gitattributes"}


class SmokeFailure(Exception):
    """A check found the installed distribution or the sdist incomplete or wrong."""


def is_cache(relative: str) -> bool:
    """True for byte-code caches, which neither the checkout nor a distribution must be compared on."""
    return "__pycache__" in relative.split("/") or relative.endswith((".pyc", ".pyo"))


def source_files(root: Path, folders: Iterable[str] = ()) -> set[str]:
    """Files of the checkout at ``root`` (under ``folders`` if given), as POSIX paths relative to it.

    Uses git's list of tracked files where ``root`` is a git checkout (so stray local files do not
    count), and every file on disk otherwise (an unpacked sdist).
    """
    folders = list(folders)
    if (root / ".git").exists():
        listed = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-z", "--", *folders], check=True, capture_output=True, text=True
        ).stdout
        names = {name for name in listed.split("\0") if name and (root / name).is_file()}
    else:
        bases = [root / folder for folder in folders] if folders else [root]
        names = {path.relative_to(root).as_posix() for base in bases for path in base.rglob("*") if path.is_file()}
    return {name for name in names if not is_cache(name)}


def missing(expected: Iterable[str], present: Iterable[str]) -> list[str]:
    """The sorted names of ``expected`` that ``present`` lacks."""
    return sorted(set(expected) - set(present))


def fail_if_missing(what: str, expected: set[str], present: set[str], fix: str) -> None:
    """Raise a ``SmokeFailure`` naming every file of ``expected`` absent from ``present``."""
    absent = missing(expected, present)
    if absent:
        shown = "\n    ".join(absent)
        raise SmokeFailure(f"{len(absent)} file(s) missing from {what}:\n    {shown}\n  {fix}")


def installed_files(package: str) -> set[str]:
    """Files of an installed import package, as POSIX paths relative to the folder that holds it."""
    spec = importlib.util.find_spec(package)  # found, not imported: some packages need an extra to import
    if spec is None or spec.origin is None:
        raise SmokeFailure(f"the import package {package!r} is not installed")
    folder = Path(spec.origin).resolve().parent
    names = {path.relative_to(folder.parent).as_posix() for path in folder.rglob("*") if path.is_file()}
    return {name for name in names if not is_cache(name)}


def pinned_versions(constraints: Path) -> dict[str, str]:
    """``name==version`` lines of a constraints file, keyed by the normalised distribution name."""
    pins = {}
    for line in constraints.read_text().splitlines():
        match = re.fullmatch(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;#]+).*", line)
        if match:
            pins[normalise(match.group(1))] = match.group(2)
    return pins


def normalise(name: str) -> str:
    """A distribution name in the normal form of the packaging specifications."""
    return re.sub(r"[-_.]+", "-", name).lower()


def check_distribution(source: Path) -> str:
    """Both packages come from the installed ``seqreward`` wheel (not from the checkout) and agree on
    the distribution and its version."""
    version = importlib.metadata.version(DISTRIBUTION)
    purelib = Path(sysconfig.get_paths()["purelib"]).resolve()
    lines = []
    for package in PACKAGES:
        module = importlib.import_module(package)
        location = Path(module.__file__ or "").resolve()
        if not location.is_relative_to(purelib) or location.is_relative_to(source.resolve()):
            raise SmokeFailure(f"{package} was imported from {location}, not from the environment's {purelib}")
        owners = importlib.metadata.packages_distributions().get(package, [])
        if set(owners) != {DISTRIBUTION}:
            raise SmokeFailure(
                f"import name {package!r} is provided by {sorted(set(owners))}, expected only [{DISTRIBUTION!r}]"
            )
        reported = (getattr(module, "__distribution__", None), getattr(module, "__version__", None))
        if reported != (DISTRIBUTION, version):
            raise SmokeFailure(f"{package} reports {reported}, the installed metadata says {(DISTRIBUTION, version)}")
        lines.append(f"{package} {module.__version__} from distribution {module.__distribution__} at {location.parent}")
    return "; ".join(lines)


def check_licence(source: Path) -> str:
    """The wheel's metadata carries the licence text of the checkout."""
    files = importlib.metadata.distribution(DISTRIBUTION).files or []
    licences = [path for path in files if path.name == "LICENSE"]
    if not licences:
        raise SmokeFailure("the installed distribution carries no LICENSE file")
    if licences[0].read_text() != (source / "LICENSE").read_text():
        raise SmokeFailure(f"the installed {licences[0]} differs from the checkout's LICENSE")
    return f"{licences[0]}"


def check_pins(source: Path) -> str:
    """Every installed distribution that constraints.txt pins has the pinned version (torch among them)."""
    pins = pinned_versions(source / "constraints.txt")
    checked, wrong = 0, []
    for dist in importlib.metadata.distributions():
        name = normalise(dist.metadata["Name"])
        if name in pins:
            checked += 1
            if dist.version.split("+")[0] != pins[name]:
                wrong.append(f"{name} {dist.version} (pinned {pins[name]})")
    if wrong:
        raise SmokeFailure(f"installed versions differ from constraints.txt: {', '.join(wrong)}")
    if "torch" not in pins:
        raise SmokeFailure("constraints.txt does not pin torch")
    return f"{checked} pinned distributions match constraints.txt, torch {importlib.metadata.version('torch')}"


def check_package_files(source: Path) -> str:
    """Every module and data file the checkout has under the import packages is in the installed wheel."""
    expected = source_files(source, WHEEL_PACKAGES)
    present = set().union(*(installed_files(package) for package in WHEEL_PACKAGES))
    fix = "Include them in the wheel ([tool.setuptools] packages / package-data in pyproject.toml)."
    fail_if_missing("the installed wheel", expected, present, fix)
    return f"all {len(expected)} files of {', '.join(WHEEL_PACKAGES)} installed"


def check_data_files(source: Path) -> str:
    """The data files the package declares (``seqreward_env.paper.DATA_FILES``) and every file the
    checkout has under ``seqreward_env/data`` are installed; every ``.npz`` loads without pickle, and the
    paper's task arrays have the paper's shapes."""
    import numpy as np

    from seqreward_env import paper

    installed = {name for name in installed_files("seqreward_env") if name.startswith(DATA_FOLDER + "/")}
    fix = "Every file under seqreward_env/data/ must be package data (pyproject.toml, package-data)."
    declared = {f"{DATA_FOLDER}/{name}" for name in paper.DATA_FILES}
    fail_if_missing("the installed seqreward_env/data (seqreward_env.paper.DATA_FILES)", declared, installed, fix)
    fail_if_missing("the installed seqreward_env/data", source_files(source, [DATA_FOLDER]), installed, fix)
    root = Path(importlib.import_module("seqreward_env").__file__ or "").resolve().parents[1]
    for name in sorted(installed):
        if name.endswith(".npz"):
            with np.load(root / name, allow_pickle=False) as arrays:
                if not arrays.files:
                    raise SmokeFailure(f"{name} holds no arrays")
    k, d, n = (paper.PAPER_SHAPE[key] for key in ("vocab_size", "context_dim", "test_size"))
    shapes = tuple(array.shape for array in paper.paper_task_arrays())
    if shapes != ((k, d), (k, k), (n, d)):
        raise SmokeFailure(f"the paper's task arrays have shapes {shapes}, expected {((k, d), (k, k), (n, d))}")
    return f"{len(installed)} data file(s): {', '.join(sorted(installed)) or 'none'}"


def check_sdist(source: Path, sdist: Path) -> str:
    """The sdist holds every file of the checkout (tests, constraints, Makefile, scripts, docs, CI)."""
    expected = {name for name in source_files(source) if name not in NOT_IN_SDIST}
    fix = "Add them to MANIFEST.in (files under the import packages: packages or package-data in pyproject.toml)."
    fail_if_missing("the sdist", expected, source_files(sdist), fix)
    return f"all {len(expected)} files of the checkout are in the sdist"


def check_envs() -> str:
    """``gym.make`` and ``gym.make_vec`` work on every registered id: reset, then one step."""
    import gymnasium as gym
    import numpy as np

    import seqreward_env

    # Older versions of an id stay registered on purpose; Gymnasium's "out of date" notice is expected.
    warnings.filterwarnings("ignore", message=".*is out of date", category=DeprecationWarning)
    for env_id in seqreward_env.ENV_IDS:
        env = gym.make(env_id)
        observation, _ = env.reset(seed=0)
        if not env.observation_space.contains(observation):
            raise SmokeFailure(f"gym.make({env_id!r}).reset gave an observation outside the observation space")
        observation, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        if not env.observation_space.contains(observation) or not math.isfinite(float(reward)) or truncated:
            raise SmokeFailure(f"gym.make({env_id!r}).step gave {observation}, {reward}, {terminated}, {truncated}")
        env.close()
        envs = gym.make_vec(env_id, num_envs=3)
        if not isinstance(envs.unwrapped, seqreward_env.SequenceVectorEnv):
            raise SmokeFailure(f"gym.make_vec({env_id!r}) is {type(envs.unwrapped)}, not the native vector env")
        envs.reset(seed=0)
        _, rewards, terminated, truncated, _ = envs.step(envs.action_space.sample())
        if np.shape(rewards) != (3,) or not np.all(np.isfinite(rewards)) or np.any(truncated):
            raise SmokeFailure(f"gym.make_vec({env_id!r}).step gave rewards {rewards}, truncated {truncated}")
        envs.close()
    return f"{len(seqreward_env.ENV_IDS)} ids: {', '.join(seqreward_env.ENV_IDS)}"


def check_training() -> str:
    """Twenty steps of the paper's PG (process reward) from the uniform policy lower the exact test error
    of the small task from 1 - 4^-6, and the trained policy survives a save and a load."""
    import gymnasium as gym
    import torch

    from agents.common.threads import limit_threads
    from agents.learners.paper_pg import PaperPG, PaperPGConfig
    from agents.policy.evaluation import LinearEvaluator
    from agents.policy.linear import LinearPolicy

    limit_threads(1)
    envs = gym.make_vec("seqreward/Process-v0", num_envs=256, copy=False)
    task = envs.unwrapped.task  # type: ignore[attr-defined]
    policy = LinearPolicy.for_task(task)
    agent = PaperPG(envs, policy, PaperPGConfig(), seed=0, evaluator=LinearEvaluator(task, test_size=256))
    before = agent.evaluate()["eval/test_error"]
    for step in range(20):
        metrics = agent.train_step(step)
    after = agent.evaluate()["eval/test_error"]
    if not after < 0.9 < before:
        raise SmokeFailure(f"20 PG steps took the test error from {before:.4f} to {after:.4f}; expected < 0.9")
    policy.save("policy.pt")
    loaded = LinearPolicy.load("policy.pt")
    if not all(torch.equal(a, b) for a, b in zip(policy.parameters(), loaded.parameters(), strict=True)):
        raise SmokeFailure("a saved and loaded policy differs from the trained one")
    envs.close()
    return f"test error {before:.4f} -> {after:.4f} in 20 steps, {metrics['train/reward_queries']} reward queries"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, required=True, help="the checkout the wheel was built from")
    parser.add_argument("--sdist", type=Path, required=True, help="the unpacked sdist")
    args = parser.parse_args(argv)
    source, sdist = args.source.resolve(), args.sdist.resolve()
    if Path.cwd().resolve().is_relative_to(source):
        parser.error(f"run from a folder outside the checkout, not from {Path.cwd()}")
    checks: list[tuple[str, Callable[[], str]]] = [
        ("distribution", lambda: check_distribution(source)),
        ("licence", lambda: check_licence(source)),
        ("pinned versions", lambda: check_pins(source)),
        ("package files", lambda: check_package_files(source)),
        ("data files", lambda: check_data_files(source)),
        ("sdist", lambda: check_sdist(source, sdist)),
        ("environments", check_envs),
        ("training", check_training),
    ]
    failures = 0
    for name, check in checks:
        start = time.perf_counter()
        try:
            outcome = check()
        except SmokeFailure as failure:
            failures += 1
            print(f"FAIL {name}: {failure}")
        except Exception as error:  # an installed module or file the check reached is broken or absent
            failures += 1
            print(f"FAIL {name}: {type(error).__name__}: {error}")
        else:
            print(f"ok   {name} ({time.perf_counter() - start:.1f} s): {outcome}")
    print(f"{failures} of {len(checks)} smoke checks failed" if failures else f"all {len(checks)} smoke checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
