"""No function or method in agents/, seqreward_env/ or scripts/ runs over 80 lines (decorators and docstring
included): a longer one is split into functions that each say what they do."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 80


def long_functions(path: Path, limit: int = MAX_LINES, root: Path = ROOT) -> list[str]:
    """``file:line name (n lines)`` for each function or method in ``path`` longer than ``limit`` lines."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            first = min([node.lineno, *(decorator.lineno for decorator in node.decorator_list)])
            lines = (node.end_lineno or node.lineno) - first + 1
            if lines > limit:
                found.append(f"{path.relative_to(root)}:{node.lineno} {node.name} ({lines} lines)")
    return found


@pytest.mark.parametrize("package", ["agents", "seqreward_env", "scripts"])
def test_no_function_is_over_80_lines(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files
    found = [entry for path in files for entry in long_functions(path)]
    assert not found, f"functions over {MAX_LINES} lines:\n" + "\n".join(found)


def test_the_length_check_counts_a_long_method_with_its_decorator(tmp_path: Path) -> None:
    body = "\n".join(f"        x{i} = {i}" for i in range(79))
    module = tmp_path / "module.py"
    module.write_text(f"class A:\n    @staticmethod\n    def f():\n{body}\n")  # 81 lines with the decorator
    assert long_functions(module, root=tmp_path) == ["module.py:3 f (81 lines)"]
    assert long_functions(module, limit=81, root=tmp_path) == []
