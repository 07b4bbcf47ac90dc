"""What each make target installs: `make run` the package alone (the main job imports no test, docs or lint
tool), `make test` what the suite imports, `make docs` what the site's build needs. Read from make's dry run
on a folder with no environment yet, as on a fresh clone, and from pyproject.toml's extras."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
EXTRAS: dict[str, list[str]] = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
DEV_TOOLS = {"pytest", "pytest-xdist", "ruff", "mypy", "build", "twine", "mkdocs", "mkdocs-material", "torchrl"}


def requirement_names(requirements: list[str]) -> set[str]:
    """The distribution names of requirement strings, extras of seqreward expanded (recursively)."""
    names: set[str] = set()
    for requirement in requirements:
        match = re.match(r"([A-Za-z0-9_.-]+)(?:\[([^\]]*)\])?", requirement)
        assert match, requirement
        name, extras = match.group(1).lower().replace("_", "-"), match.group(2)
        if name == "seqreward":
            for extra in (extras or "").split(","):
                names |= requirement_names(EXTRAS[extra.strip()])
        else:
            names.add(name)
    return names


def pip_installs(target: str, tmp_path: Path) -> list[str]:
    """What ``pip install`` is asked for, in order, when ``make TARGET`` runs on a fresh clone."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    venv = tmp_path / "fresh-venv"
    dry_run = subprocess.run(
        ["make", "-n", target, f"VENV={venv}"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return [line.split(" -e ", 1)[1].strip() for line in dry_run.splitlines() if "pip install" in line]


def test_make_run_installs_the_package_alone(tmp_path: Path) -> None:
    assert pip_installs("run", tmp_path) == ["."]
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert not requirement_names(dependencies) & DEV_TOOLS


@pytest.mark.parametrize("target, extra", [("test", "test"), ("docs", "docs"), ("lint", "lint")])
def test_each_target_adds_its_own_extra(target: str, extra: str, tmp_path: Path) -> None:
    assert pip_installs(target, tmp_path) == [".", f'".[{extra}]"']


def test_the_test_extra_holds_what_the_suite_imports() -> None:
    test_tools = requirement_names(EXTRAS["test"])
    assert {"pytest", "pytest-xdist", "rl-zoo3", "torchrl", "mkdocs", "latex2mathml"} <= test_tools
    assert not {"ruff", "mypy", "twine"} & test_tools
    assert requirement_names(EXTRAS["dev"]) >= test_tools | requirement_names(EXTRAS["lint"] + EXTRAS["release"])
