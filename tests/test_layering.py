"""Imports run one way only: scripts -> agents -> seqreward_env; seqreward_env needs numpy and gymnasium only;
seqreward_serve (the server) stands on seqreward_env beside agents and imports no learning code."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ALLOWED = {
    "seqreward_env": {"numpy", "gymnasium", "seqreward_env"},
    "agents": None,  # anything but scripts
    # the serve extra (FastAPI, uvicorn, websockets, httpx), tyro for the command line, and, in the one
    # modules that wrap OpenEnv's own client and GEM, openenv (with its pydantic) and gem
    "seqreward_serve": {"numpy", "gymnasium", "seqreward_env", "seqreward_serve", "fastapi", "uvicorn", "websockets", "httpx", "tyro", "openenv", "pydantic", "gem"},
}
# seqreward_tasks, verifiers' plugin module for the id "seqreward-tasks", re-exports agents.llm's taskset: above agents.
FORBIDDEN = {
    "seqreward_env": {"agents", "scripts", "torch", "seqreward_serve", "seqreward_tasks"},
    "agents": {"scripts", "seqreward_serve", "seqreward_tasks"},
    "seqreward_serve": {"agents", "scripts", "torch", "seqreward_tasks"},
}
STANDARD_LIBRARY = set(sys.stdlib_module_names)


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", ["seqreward_env", "agents", "seqreward_serve"])
def test_no_upward_imports(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files
    for path in files:
        roots = imported_roots(path)
        assert not roots & FORBIDDEN[package], f"{path.relative_to(ROOT)} imports {roots & FORBIDDEN[package]}"
        allowed = ALLOWED[package]
        if allowed is not None:
            extra = roots - allowed - STANDARD_LIBRARY
            assert not extra, (
                f"{path.relative_to(ROOT)} imports {extra}; {package} may import only {sorted(allowed)}"
            )


# Inside agents/, each package may import only itself and the packages below it (ARCHITECTURE.md):
# common at the bottom, then policy, then rules (the rules' functions take policies and rollouts), then
# learners, then experiment; llm sits beside experiment and nothing else imports it. agents/__init__.py, the public API, gathers them all (llm excepted).
AGENTS_LAYERS = {
    "common": {"common"},
    "policy": {"common", "policy"},
    "rules": {"common", "policy", "rules"},
    "learners": {"common", "policy", "rules", "learners"},
    "experiment": {"common", "policy", "rules", "learners", "experiment"},
    "llm": {"common", "policy", "rules", "learners", "experiment", "llm"},
}


def imported_agents_packages(path: Path) -> set[str]:
    """The agents sub-packages a module imports (``from agents.X ...`` or ``import agents.X``), at any depth
    of the module (imports inside functions count)."""
    packages = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
            if node.module == "agents":
                names = [f"agents.{alias.name}" for alias in node.names]
        packages.update(name.split(".")[1] for name in names if name.startswith("agents.") and name.count(".") >= 1)
    return packages


def test_agents_packages_import_only_downwards() -> None:
    packages = sorted(p.name for p in (ROOT / "agents").iterdir() if (p / "__init__.py").exists())
    assert set(packages) - {"llm"} <= set(AGENTS_LAYERS), f"agents has packages with no layer: {packages}"
    upward = []
    for package in packages:
        for path in sorted((ROOT / "agents" / package).rglob("*.py")):
            extra = imported_agents_packages(path) - AGENTS_LAYERS[package]
            if extra:
                upward.append(f"{path.relative_to(ROOT)} imports agents.{sorted(extra)}")
    assert not upward, "imports that run upward:\n" + "\n".join(upward)


def test_nothing_outside_llm_imports_llm() -> None:
    for path in sorted((ROOT / "agents").rglob("*.py")):
        if "llm" in path.relative_to(ROOT / "agents").parts:
            continue
        assert "llm" not in imported_agents_packages(path), f"{path.relative_to(ROOT)} imports agents.llm"


def test_the_layering_check_sees_an_upward_import(tmp_path: Path) -> None:
    module = tmp_path / "module.py"
    module.write_text("def f():\n    from agents.learners.paper_pg import PaperPG\n    from agents import experiment\n")
    assert imported_agents_packages(module) == {"learners", "experiment"}
