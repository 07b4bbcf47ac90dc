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


# Inside scripts/: the shared package (common) at the bottom, then one package per experiment, then the
# single-module tools (benchmarks, demo, train_sb3, ...). Inside an experiment its modules rank
# settings < analysis < jobs < plots < run < __main__ (the package's __init__ holds a docstring only). An
# experiment may import another experiment's modules (adaptive_step the barrier's settings, robustness
# Figure 1's) as long as the experiments' graph has no circle; no module graph in scripts/ may have one.
EXPERIMENT_RANKS = {"__init__": 0, "settings": 1, "analysis": 2, "jobs": 3, "plots": 4, "run": 5, "__main__": 6}


def scripts_module(path: Path) -> str:
    """The dotted name of a module under scripts/ (``scripts/figure1/jobs.py`` -> ``scripts.figure1.jobs``)."""
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def imported_scripts_modules(path: Path, known: set[str]) -> set[str]:
    """The modules of scripts/ that a module imports, at any depth (``from scripts.x import y`` counts as
    ``scripts.x.y`` where that is a module, else ``scripts.x``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("scripts"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and node.module.startswith("scripts"):
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                found.add(child if child in known else node.module)
    return {name for name in found if name in known and name != "scripts"}


def scripts_graph() -> dict[str, set[str]]:
    files = {scripts_module(path): path for path in (ROOT / "scripts").rglob("*.py")}
    known = set(files) | {name.removesuffix(".__init__") for name in files}
    return {name: imported_scripts_modules(path, known) for name, path in files.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One circle of ``graph`` (a list of nodes, the first repeated at the end), or [] if there is none."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        stack.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return []


def test_scripts_have_no_import_circle() -> None:
    graph = scripts_graph()
    assert "scripts.figure1.settings" in graph and "scripts.common.settings" in graph
    assert not find_cycle(graph), f"an import circle in scripts/: {' -> '.join(find_cycle(graph))}"
    experiments: dict[str, set[str]] = {}
    for name, targets in graph.items():
        parts = name.split(".")
        if len(parts) == 3 and parts[1] != "common":
            experiments.setdefault(parts[1], set()).update(
                t.split(".")[1] for t in targets if t.count(".") >= 2 and t.split(".")[1] not in (parts[1], "common")
            )
    assert not find_cycle(experiments), f"experiments import each other in a circle: {find_cycle(experiments)}"


def test_scripts_import_only_downwards() -> None:
    upward = []
    for name, targets in scripts_graph().items():
        parts = name.split(".")
        for target in targets:
            there = target.split(".")
            if parts[1] == "common" and there[1] != "common":
                upward.append(f"{name} (shared) imports {target}")
            elif len(parts) == 3 and parts[1] != "common" and len(there) == 3 and there[1] == parts[1]:
                if EXPERIMENT_RANKS[there[2]] >= EXPERIMENT_RANKS[parts[2]]:
                    upward.append(f"{name} imports {target}, not below it")
            elif len(parts) == 3 and len(there) == 2 and there[1] != "common":
                upward.append(f"{name} (an experiment) imports the tool {target}")
            if there[-1] == "__main__":
                upward.append(f"{name} imports an entry point {target}")
    assert not upward, "imports that run upward in scripts/:\n" + "\n".join(sorted(upward))


def test_each_experiment_is_a_package_of_the_known_modules() -> None:
    for package in sorted(path for path in (ROOT / "scripts").iterdir() if (path / "__init__.py").exists()):
        if package.name == "common":
            continue
        modules = {path.stem for path in package.glob("*.py")}
        assert {"__init__", "__main__", "settings", "run"} <= modules, f"{package.name}: {sorted(modules)}"
        assert modules <= set(EXPERIMENT_RANKS), f"{package.name} has modules with no rank: {sorted(modules)}"


def test_the_scripts_check_sees_a_circle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"a"}}) == ["a", "b", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) == []
