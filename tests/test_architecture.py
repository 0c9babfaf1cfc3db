"""The apps' layers, read from the source with ``ast`` (no import runs).

Lowest first: ``kaireon`` (core) < ``segments`` < ``decisionflows`` < ``runs`` < ``campaigns``;
``journeys`` stands on ``decisionflows`` beside ``runs``; ``console`` (cross-app pages, demo
data) and ``config`` (settings, URLs, Celery) stand on everything. An app imports only the apps
below it: every import counts, inside functions and under ``TYPE_CHECKING`` too.

Import cycles: the graph of the imports that run (at module level or inside functions; not those
under ``TYPE_CHECKING``, which only name types for annotations) has none, except between an app's
``services`` and its ``tasks`` (services enqueue tasks, tasks call services).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# app → the apps below it, which it may import
BELOW: dict[str, frozenset[str]] = {
    "kaireon": frozenset(),
    "segments": frozenset({"kaireon"}),
    "decisionflows": frozenset({"kaireon", "segments"}),
    "runs": frozenset({"kaireon", "segments", "decisionflows"}),
    "campaigns": frozenset({"kaireon", "segments", "decisionflows", "runs"}),
    "journeys": frozenset({"kaireon", "segments", "decisionflows"}),
}
TOP = ("console", "config")
APPS = (*BELOW, *TOP)
MAY_IMPORT = {**BELOW, **{app: frozenset(APPS) for app in TOP}}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for app in APPS for path in sorted((ROOT / app).rglob("*.py"))}


MODULES = _modules()


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_nodes(tree: ast.Module) -> Iterator[ast.AST]:
    """Every node but those of an ``if TYPE_CHECKING:`` branch."""
    stack: list[ast.AST] = list(tree.body)
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def _targets(package: str, node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    """The modules an import statement in ``package`` names (``from pkg import sub`` names
    ``pkg.sub`` when it is a module, else ``pkg``)."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    base = node.module or ""
    if node.level:
        parent = package
        for _ in range(node.level - 1):
            parent = parent.rpartition(".")[0]
        base = f"{parent}.{base}" if base else parent
    for alias in node.names:
        submodule = f"{base}.{alias.name}"
        yield submodule if submodule in MODULES else base


def _imports_in(source: str, package: str, *, runtime_only: bool) -> set[tuple[int, str]]:
    """(line, imported module) of every import in ``source``, a module of ``package``; with
    ``runtime_only``, not those under ``TYPE_CHECKING``."""
    tree = ast.parse(source)
    nodes = _runtime_nodes(tree) if runtime_only else ast.walk(tree)
    return {
        (node.lineno, target)
        for node in nodes
        if isinstance(node, ast.Import | ast.ImportFrom)
        for target in _targets(package, node)
    }


def _imports(module: str, *, runtime_only: bool) -> set[tuple[int, str]]:
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    return _imports_in(path.read_text(encoding="utf-8"), package, runtime_only=runtime_only)


def _higher(module: str, imports: set[tuple[int, str]]) -> list[str]:
    """The imports of ``module`` that name an app above its own."""
    app = module.split(".")[0]
    return [
        f"{module} (line {line}) imports {target}: {app} is below {target.split('.')[0]}"
        for line, target in sorted(imports)
        if target.split(".")[0] in APPS and target.split(".")[0] not in MAY_IMPORT[app] | {app}
    ]


def test_the_modules_are_found() -> None:
    assert {"kaireon.rules", "segments.services", "runs.services.execution", "console.pages"} <= MODULES.keys()


def test_every_import_counts_for_the_layers_and_runtime_ones_for_cycles() -> None:
    source = """
from typing import TYPE_CHECKING
from . import selectors
from runs.models import Run
if TYPE_CHECKING:
    from decisionflows.models import Offer
def page():
    import journeys.plans
"""
    every = _imports_in(source, "segments", runtime_only=False)
    assert {target for _, target in every} == {
        "typing",
        "segments.selectors",
        "runs.models",
        "decisionflows.models",
        "journeys.plans",
    }
    assert _higher("segments.pages", every) == [
        "segments.pages (line 4) imports runs.models: segments is below runs",
        "segments.pages (line 6) imports decisionflows.models: segments is below decisionflows",
        "segments.pages (line 8) imports journeys.plans: segments is below journeys",
    ]
    runtime = _imports_in(source, "segments", runtime_only=True)
    assert every - runtime == {(6, "decisionflows.models")}
    assert _higher("console.pages", every) == []


def test_no_app_imports_a_higher_one() -> None:
    wrong = [line for module in MODULES for line in _higher(module, _imports(module, runtime_only=False))]
    assert not wrong, "\n".join(wrong)


def _service_task_pair(cycle: set[str]) -> bool:
    """True when a cycle is one app's services (module or package) and its tasks."""
    apps = {module.split(".")[0] for module in cycle}
    if len(apps) != 1:
        return False
    app = apps.pop()
    return all(
        module == f"{app}.tasks" or module == f"{app}.services" or module.startswith(f"{app}.services.")
        for module in cycle
    )


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = list(graph[start])
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(graph[node])
    return seen


def _cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one module: modules that reach each other."""
    reach = {node: _reachable(graph, node) for node in graph}
    found: list[set[str]] = []
    placed: set[str] = set()
    for node in sorted(graph):
        if node in placed:
            continue
        component = {node} | {other for other in reach[node] if node in reach[other]}
        placed |= component
        if len(component) > 1:
            found.append(component)
    return found


def test_no_import_cycles_but_services_and_tasks() -> None:
    graph = {
        module: {target for _, target in _imports(module, runtime_only=True) if target in MODULES} - {module}
        for module in MODULES
    }
    wrong = [sorted(cycle) for cycle in _cycles(graph) if not _service_task_pair(cycle)]
    assert not wrong, "import cycles:\n" + "\n".join(" ↔ ".join(cycle) for cycle in wrong)


def test_the_cycle_checks_see_what_they_must() -> None:
    graph = {"a.x": {"a.y"}, "a.y": {"a.x"}, "a.services": {"a.tasks"}, "a.tasks": {"a.services"}, "b.z": set()}
    assert [sorted(cycle) for cycle in _cycles(graph) if not _service_task_pair(cycle)] == [["a.x", "a.y"]]
