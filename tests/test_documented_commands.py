"""Every command the README and the docs show runs from the repository root as written: each is
``python -m scripts.<name>`` (no path to a file, no ``sys.path`` edit), and each named module answers
``--help`` with exit status 0 (the quick settings themselves run in tests/scripts)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
MODULE_COMMAND = re.compile(r"python3? -m (scripts(?:\.[a-z_0-9]+)+)")
PATH_COMMAND = re.compile(r"python3? (scripts/[\w/]+\.py)")


def documented_modules() -> list[str]:
    """The ``scripts.<name>`` modules of every ``python -m`` command shown, each once."""
    return sorted({module for page in PAGES for module in MODULE_COMMAND.findall(page.read_text())})


def test_the_docs_show_the_commands() -> None:
    """A regression guard: the pages keep showing the experiments and the benchmarks."""
    modules = set(documented_modules())
    assert {
        "scripts.figure1",
        "scripts.barrier",
        "scripts.train_sb3",
        "scripts.bench_env",
        "scripts.bench_pg_parts",
    } <= modules
    assert len(modules) >= 15


def test_no_command_runs_a_script_by_its_path() -> None:
    shown = [(page.name, path) for page in PAGES for path in PATH_COMMAND.findall(page.read_text())]
    assert not shown, f"commands by file path (use python -m scripts.<name>): {shown}"
    assert "python scripts/" not in (ROOT / "Makefile").read_text().replace("$(PY) scripts/", "python scripts/")


def test_no_entry_point_edits_sys_path() -> None:
    edits = [str(path.relative_to(ROOT)) for path in (ROOT / "scripts").rglob("*.py") if "sys.path" in path.read_text()]
    assert not edits, f"entry points that edit sys.path: {edits}"


# Runs each module as ``python -m`` does (runpy, as ``__main__``, with ``sys.argv`` set), all in one fresh
# interpreter started from the repository root: one torch import instead of one per module.
HELP_DRIVER = """
import contextlib, io, json, runpy, sys
codes = {}
for module in sys.argv[1:]:
    sys.argv = [module, "--help"]
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            runpy.run_module(module, run_name="__main__", alter_sys=True)
        codes[module] = ["no exit", out.getvalue()[:200]]
    except SystemExit as done:
        codes[module] = [done.code or 0, out.getvalue()[:200]]
print(json.dumps(codes))
"""


def test_each_documented_command_answers_help() -> None:
    """``python -m <module> --help`` from the repository root exits 0 and prints the module's usage line,
    for every module a page shows."""
    modules = documented_modules()
    done = subprocess.run(
        [sys.executable, "-c", HELP_DRIVER, *modules], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    codes = json.loads(done.stdout.splitlines()[-1])
    failed = {module: code for module, (code, usage) in codes.items() if code != 0}
    assert not failed, f"--help did not exit 0: {failed}"
    for module, (_, usage) in codes.items():
        assert f"usage: python -m {module}" in usage, (module, usage)
