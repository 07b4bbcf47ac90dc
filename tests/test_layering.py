"""Imports run one way only: scripts -> agents -> seqreward_env; seqreward_env needs numpy and gymnasium only."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ALLOWED = {
    "seqreward_env": {"numpy", "gymnasium", "seqreward_env"},
    "agents": None,  # anything but scripts
}
FORBIDDEN = {"seqreward_env": {"agents", "scripts", "torch"}, "agents": {"scripts"}}
STANDARD_LIBRARY = set(sys.stdlib_module_names)


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", ["seqreward_env", "agents"])
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
                f"{path.relative_to(ROOT)} imports {extra}; seqreward_env may use numpy and gymnasium only"
            )
