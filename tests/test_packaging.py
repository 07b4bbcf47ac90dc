"""The release is written in one place and every package reports it; the wheel check's file comparison
finds what a distribution lacks. (The wheel itself is checked by scripts/check_wheel.sh.)"""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

import pytest

import agents
import seqreward_env
from seqreward_env import _version
from tests.smoke_installed import SmokeFailure, fail_if_missing, missing, pinned_versions, source_files

ROOT = Path(__file__).resolve().parents[1]


def test_both_packages_report_the_installed_release() -> None:
    assert seqreward_env.__version__ == agents.__version__ == _version.__version__
    assert seqreward_env.__distribution__ == agents.__distribution__ == "seqreward"
    # The editable install's metadata is rewritten by `make install` whenever _version.py changes.
    assert importlib.metadata.version("seqreward") == _version.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+", _version.__version__)


def test_version_is_written_only_in_version_module() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in pyproject["project"]
    assert "version" in pyproject["project"]["dynamic"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "seqreward_env._version.__version__"}


def test_changelog_starts_with_this_release() -> None:
    releases = re.findall(r"^## \[([^\]]+)\]", (ROOT / "CHANGELOG.md").read_text(), flags=re.MULTILINE)
    released = [name for name in releases if name != "Unreleased"]
    assert released[0] == _version.__version__, f"CHANGELOG.md's latest release is {released[0]}"


def test_file_comparison_names_what_is_missing(tmp_path: Path) -> None:
    (tmp_path / "pkg" / "data").mkdir(parents=True)
    (tmp_path / "pkg" / "__pycache__").mkdir()
    for name in ("pkg/__init__.py", "pkg/data/task.npz", "pkg/__pycache__/m.cpython-311.pyc", "other.txt"):
        (tmp_path / name).write_bytes(b"x")
    assert source_files(tmp_path, ["pkg"]) == {"pkg/__init__.py", "pkg/data/task.npz"}
    assert source_files(tmp_path) == {"pkg/__init__.py", "pkg/data/task.npz", "other.txt"}
    assert missing({"pkg/__init__.py", "pkg/data/task.npz"}, {"pkg/__init__.py"}) == ["pkg/data/task.npz"]
    with pytest.raises(SmokeFailure, match=r"1 file\(s\) missing from the wheel:\n    pkg/data/task.npz"):
        fail_if_missing("the wheel", source_files(tmp_path, ["pkg"]), {"pkg/__init__.py"}, "fix it")
    fail_if_missing("the wheel", {"pkg/__init__.py"}, {"pkg/__init__.py", "pkg/extra.py"}, "fix it")


def test_constraints_pin_torch_and_the_release_tools() -> None:
    pins = pinned_versions(ROOT / "constraints.txt")
    assert pins["torch"] == "2.13.0"
    assert {"build", "twine", "setuptools"} <= pins.keys()


def test_public_api_resolves_lazily() -> None:
    """Every name in ``agents.__all__`` resolves, has a module to come from, and ``import agents`` alone
    loads neither torch nor a learner."""
    import subprocess
    import sys

    code = "import sys, agents; print(sorted(m for m in ('torch', 'agents.runs.folder') if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
    exported = set(agents.__all__) - {"__distribution__", "__version__"}
    assert exported == set(agents._EXPORTS)
    for name in agents.__all__:
        assert getattr(agents, name) is not None, name
    assert agents.LinearPolicy.__module__ == "agents.policy.linear"
    assert agents.train.__module__ == "agents.experiment.loop"
