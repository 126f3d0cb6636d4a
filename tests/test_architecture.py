"""The architecture holds: one-way layers (import-linter, run by ``make lint``), no import
cycles between modules, imports inside functions only for optional heavy dependencies,
and ``import sim`` that loads nothing heavy (see docs/ARCHITECTURE.md)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import grimp

from sim.core.optional import OPTIONAL

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "sim"


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append(
                        (child, iter(sorted(graph.find_modules_directly_imported_by(child))))
                    )
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    comp = []
                    while True:
                        m = stack.pop()
                        on_stack.discard(m)
                        comp.append(m)
                        if m == node:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return out


def test_no_import_cycles_between_modules() -> None:
    graph = grimp.build_graph("sim", exclude_type_checking_imports=True)
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for a, b in [("p.a", "p.b"), ("p.b", "p.c"), ("p.c", "p.a"), ("p.c", "p.d")]:
        graph.add_import(importer=a, imported=b)
    assert _cycles(graph) == [["p.a", "p.b", "p.c"]]


def _function_level_imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for func in ast.walk(tree):
        if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(func):
            if isinstance(node, ast.Import):
                found += [(node.lineno, alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                found.append((node.lineno, node.module or ""))
    return found


def test_imports_inside_functions_only_for_optional_dependencies() -> None:
    allowed = {m.split(".")[0] for m in OPTIONAL if not m.startswith("sim.")}
    allowed |= {"importlib", "platform"}  # sim.core.optional itself; version report
    bad = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for line, module in _function_level_imports(path)
        if module.split(".")[0] not in allowed
    ]
    assert bad == [], "move these imports to the module top (or list them in OPTIONAL)"


def test_import_sim_loads_nothing_heavy() -> None:
    heavy = ("pandas", "scipy", "simpy", "matplotlib", "streamlit", "distributed", "pydantic")
    code = (
        f"import sys, sim; print(sorted({{m.split('.')[0] for m in sys.modules}} & set({heavy!r})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_worker_unpickling_a_job_loads_only_the_model() -> None:
    # a worker imports sim.experiments to unpickle a job; the statistics, the store and
    # scipy.stats are the parent's business (about 1 s of every worker's start)
    parent_only = ("sim.experiments.result", "sim.experiments.store", "scipy.stats", "sqlite3")
    code = (
        "import sys, sim.experiments.jobs; "
        f"print(sorted(m for m in sys.modules if m in {parent_only!r}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_public_names_resolve_lazily() -> None:
    import sim

    for name in sim.__all__:
        assert getattr(sim, name) is not None, name
