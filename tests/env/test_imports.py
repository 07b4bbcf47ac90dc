"""seqreward_env imports only the standard library, numpy and gymnasium: never agents, scripts or torch."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import seqreward_env

ALLOWED = {"numpy", "gymnasium", "seqreward_env"} | set(sys.stdlib_module_names)


def imported_packages(path: Path) -> set[str]:
    packages = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            packages |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            packages.add(node.module.split(".")[0])
    return packages


def test_modules_import_only_downward() -> None:
    modules = sorted(Path(seqreward_env.__file__).parent.glob("*.py"))
    assert len(modules) >= 9
    for module in modules:
        assert imported_packages(module) <= ALLOWED, f"{module.name} imports {imported_packages(module) - ALLOWED}"


def test_importing_the_package_loads_no_torch() -> None:
    code = "import sys, seqreward_env; print([m for m in ('torch', 'agents', 'stable_baselines3') if m in sys.modules])"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
