"""Imports run one way only: scripts -> agents -> seqreward_env; seqreward_env needs numpy and gymnasium only;
seqreward_serve (the server) stands on seqreward_env beside agents and imports no learning code;
seqreward_tasks (verifiers' plugin module) stands on agents and is imported by nothing in the project."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ALLOWED = {
    "seqreward_env": {"numpy", "gymnasium", "seqreward_env"},
    "agents": None,  # anything but scripts
    "seqreward_tasks": None,  # anything but scripts and the server
    # the serve extra (FastAPI, uvicorn, websockets, httpx), tyro for the command line, and, in the one
    # modules that wrap OpenEnv's own client and GEM, openenv (with its pydantic) and gem
    "seqreward_serve": {
        "numpy",
        "gymnasium",
        "seqreward_env",
        "seqreward_serve",
        "fastapi",
        "uvicorn",
        "websockets",
        "httpx",
        "tyro",
        "openenv",
        "pydantic",
        "gem",
    },
}
# seqreward_tasks, verifiers' plugin module for the id "seqreward-tasks", re-exports agents.llm's taskset: above agents.
FORBIDDEN = {
    "seqreward_env": {"agents", "scripts", "torch", "seqreward_serve", "seqreward_tasks"},
    "agents": {"scripts", "seqreward_serve", "seqreward_tasks"},
    "seqreward_serve": {"agents", "scripts", "torch", "seqreward_tasks"},
    "seqreward_tasks": {"scripts", "seqreward_serve"},
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


@pytest.mark.parametrize("package", ["seqreward_env", "agents", "seqreward_serve", "seqreward_tasks"])
def test_no_upward_imports(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files
    for path in files:
        roots = imported_roots(path)
        assert not roots & FORBIDDEN[package], f"{path.relative_to(ROOT)} imports {roots & FORBIDDEN[package]}"
        allowed = ALLOWED[package]
        if allowed is not None:
            extra = roots - allowed - STANDARD_LIBRARY
            assert not extra, f"{path.relative_to(ROOT)} imports {extra}; {package} may import only {sorted(allowed)}"


# Inside agents/, each package may import only itself and the packages below it (ARCHITECTURE.md), in this
# order: common at the bottom; runs (run folders, the files a run reads and writes, the one RunFolderError),
# below the learners since a learner reads its own logs (SB3's progress.csv); policy; rules (the rules'
# functions take policies and tensors); learners; analysis (statistics and fits over what runs wrote);
# experiment (jobs, the loop, sweeps, command lines); llm beside experiment, and nothing else imports it.
# agents/__init__.py, the public API, gathers them all (llm excepted).
LAYER_ORDER = ("common", "runs", "policy", "rules", "learners", "analysis", "experiment", "llm")
AGENTS_LAYERS = {package: set(LAYER_ORDER[: index + 1]) for index, package in enumerate(LAYER_ORDER)}


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
    assert set(packages) <= set(AGENTS_LAYERS), f"agents has packages with no layer: {packages}"
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


def module_name(path: Path, root: Path = ROOT) -> str:
    """The dotted module a file under ``root`` defines (a package's ``__init__.py`` is the package)."""
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, modules: set[str], root: Path = ROOT) -> set[str]:
    """The project modules (of ``modules``) that the file imports, at any depth (inside functions and under
    ``TYPE_CHECKING`` too): ``from P import name`` counts as an import of ``P.name`` where that is a module."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        targets = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        found.update(target for target in targets if target in modules)
    return found


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of two or more modules that reach each other through imports (Tarjan's strongly connected
    components), each sorted; a module importing itself counts too."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for other in sorted(graph.get(module, set())):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            component = []
            while True:
                other = stack.pop()
                component.append(other)
                if other == module:
                    break
            if len(component) > 1 or module in graph.get(module, set()):
                cycles.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return cycles


def project_import_graph(packages: tuple[str, ...]) -> dict[str, set[str]]:
    files = {module_name(path): path for package in packages for path in sorted((ROOT / package).rglob("*.py"))}
    return {module: imported_modules(path, set(files)) - {module} for module, path in files.items()}


PROJECT_PACKAGES = ("seqreward_env", "agents", "seqreward_serve", "seqreward_tasks", "scripts")


def test_every_import_package_is_checked() -> None:
    """A new top-level package of the project must be given a place in the layers above."""
    packages = {path.parent.name for path in ROOT.glob("*/__init__.py")} - {"tests"}
    assert packages == set(PROJECT_PACKAGES), sorted(packages ^ set(PROJECT_PACKAGES))
    assert set(FORBIDDEN) | {"scripts"} == set(PROJECT_PACKAGES)


def test_no_import_cycle_between_any_two_modules() -> None:
    """No module reaches itself through imports, in every package of the project (agents/__init__.py, the
    public API, imports the modules it names only for type checkers and on first use)."""
    graph = project_import_graph(PROJECT_PACKAGES)
    assert len(graph) > 50
    assert {"seqreward_serve.app", "seqreward_serve.sessions", "seqreward_tasks", "scripts.bench_serve"} <= set(graph)
    cycles = import_cycles(graph)
    assert not cycles, "modules that import each other:\n" + "\n".join(" <-> ".join(cycle) for cycle in cycles)


def test_the_cycle_check_sees_a_circle_of_three_and_a_type_only_import(tmp_path: Path) -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert import_cycles(graph) == [["a", "b", "c"]]
    code = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from agents.policy import rollout\n"
    code += "from . import kernels\n"
    path = tmp_path / "agents" / "policy" / "linear.py"
    path.parent.mkdir(parents=True)
    path.write_text(code)
    modules = {"agents.policy", "agents.policy.rollout", "agents.policy.kernels"}
    assert imported_modules(path, modules, tmp_path) == {"agents.policy.rollout", "agents.policy.kernels"}


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


def test_scripts_have_no_import_circle() -> None:
    graph = scripts_graph()
    assert "scripts.figure1.settings" in graph and "scripts.common.settings" in graph
    assert not import_cycles(graph), f"import circles in scripts/: {import_cycles(graph)}"
    experiments: dict[str, set[str]] = {}
    for name, targets in graph.items():
        parts = name.split(".")
        if len(parts) == 3 and parts[1] != "common":
            experiments.setdefault(parts[1], set()).update(
                t.split(".")[1] for t in targets if t.count(".") >= 2 and t.split(".")[1] not in (parts[1], "common")
            )
    assert not import_cycles(experiments), f"experiments import each other in a circle: {import_cycles(experiments)}"


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
