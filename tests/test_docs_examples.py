"""The python examples of every docs page and of README.md run, in order and in one namespace per file, from
a scratch directory."""

from __future__ import annotations

import importlib
import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from agents.experiment.cli import Script, parse_command_line

USAGE = Path(__file__).resolve().parents[1] / "docs" / "usage.md"
# Every other page of the documentation site (usage.md has its own tests below).
DOCS_PAGES = sorted(path for path in USAGE.parent.rglob("*.md") if path != USAGE)
README = USAGE.parents[1] / "README.md"
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
BASH_BLOCK = re.compile(r"^```bash\n(.*?)^```", re.DOTALL | re.MULTILINE)


def python_blocks(path: Path) -> list[str]:
    """The code of every fenced ```python block of a markdown file, in order."""
    return PYTHON_BLOCK.findall(path.read_text())


@pytest.fixture
def scratch_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Run from an empty folder (the examples write runs/), and give torch its thread count back."""
    monkeypatch.chdir(tmp_path)
    threads = torch.get_num_threads()
    yield tmp_path
    torch.set_num_threads(threads)


def test_usage_has_the_promised_examples() -> None:
    text = USAGE.read_text()
    for topic in ("gym.make(", "gym.make_vec(", "envs.step(", "make_sb3_vec_env(", "EventAccumulator"):
        assert any(topic in block for block in python_blocks(USAGE)), f"no python example uses {topic}"
    assert "tensorboard --logdir" in text


def test_usage_examples_run(scratch_dir: Path) -> None:
    namespace: dict[str, object] = {"__name__": "usage_examples"}
    blocks = python_blocks(USAGE)
    assert len(blocks) >= 5
    for number, code in enumerate(blocks, start=1):
        exec(compile(code, f"{USAGE.name} python block {number}", "exec"), namespace)
    assert (scratch_dir / "runs" / "docs-example" / "tensorboard").is_dir()


def test_readme_examples_run(scratch_dir: Path) -> None:
    namespace: dict[str, object] = {"__name__": "readme_examples"}
    blocks = python_blocks(README)
    assert len(blocks) >= 2
    for number, code in enumerate(blocks, start=1):
        exec(compile(code, f"{README.name} python block {number}", "exec"), namespace)
    assert (scratch_dir / "runs" / "example" / "pg" / "metrics.jsonl").is_file()


@pytest.mark.parametrize("page", DOCS_PAGES, ids=lambda path: str(path.relative_to(USAGE.parent)))
def test_docs_page_examples_run(page: Path, scratch_dir: Path) -> None:
    namespace: dict[str, object] = {"__name__": "docs_examples"}
    for number, code in enumerate(python_blocks(page), start=1):
        exec(compile(code, f"{page.name} python block {number}", "exec"), namespace)


def test_docs_pages_have_examples() -> None:
    """The pages that promise code show it: a regression here means an example was dropped."""
    with_code = {str(page.relative_to(USAGE.parent)) for page in DOCS_PAGES if python_blocks(page)}
    assert {"getting-started.md", "environments.md", "comparing-runs.md", "agents/index.md"} <= with_code
    assert len(with_code) >= 10


def script_command_lines(path: Path) -> list[list[str]]:
    """Every ``python -m scripts.<name> ...`` line of the fenced bash blocks, split as the shell would."""
    lines = [line for block in BASH_BLOCK.findall(path.read_text()) for line in block.splitlines()]
    return [shlex.split(line, comments=True) for line in lines if line.startswith("python -m scripts.")]


def test_usage_command_lines_parse() -> None:
    """The command lines shown run as written: each script accepts its flags (nothing is trained here)."""
    commands = script_command_lines(USAGE)
    assert {command[2] for command in commands} >= {"scripts.train_sb3", "scripts.bench_sb3", "scripts.compare_sb3"}
    for command in commands:
        parse_command_line(declared_script(command[2]), command[3:])


def declared_script(module: str) -> Script:
    """The command-line declaration of ``python -m <module>``: an experiment's (in its settings) or a tool's."""
    try:
        return importlib.import_module(f"{module}.settings").EXPERIMENT.script  # type: ignore[no-any-return]
    except ModuleNotFoundError:
        return importlib.import_module(module).SCRIPT  # type: ignore[no-any-return]
