"""The import layers hold and no module of ours imports itself back through others (docs/ARCHITECTURE.md).

Lowest first: telemetry < bus < store < orchestrator, agents (never each other) < the app (graph_analytics_ai);
bench and eval sit beside the app and only its CLI imports them. Every import counts, including imports made
inside functions, since a deferred import ties the modules as firmly as one at the top.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

MAY_IMPORT: dict[str, frozenset[str]] = {
    "telemetry": frozenset(),
    "bus": frozenset({"telemetry"}),
    "store": frozenset({"bus", "telemetry"}),
    "orchestrator": frozenset({"bus", "store", "telemetry"}),
    "agents": frozenset({"bus", "store", "telemetry"}),
    "web": frozenset({"bus", "store", "telemetry"}),
    "graph_analytics_ai": frozenset({"agents", "bus", "orchestrator", "store", "telemetry", "web", "bench", "eval"}),
    "bench": frozenset({"agents", "bus", "orchestrator", "store", "telemetry", "graph_analytics_ai"}),
    "eval": frozenset({"agents", "bus", "orchestrator", "store", "telemetry", "graph_analytics_ai"}),
}
"""Which other packages of ours each package may import."""

APP = "graph_analytics_ai"
NAMESPACE = "gaai"
"""Every package but the app is installed, and imported, as ``gaai.<folder>`` (setup.py)."""

ONLY_IMPORTED_BY: dict[str, str] = {"bench": "graph_analytics_ai.cli", "eval": "graph_analytics_ai.cli"}
"""Packages that, outside themselves, only this module may import."""

PACKAGES = tuple(MAY_IMPORT)


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    where: str
    """``file:line`` of the import statement, the file relative to the repository."""


def module_files(root: Path = ROOT) -> dict[str, Path]:
    """Every module of ours by dotted name (a package by its own name, for its ``__init__.py``)."""
    modules = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            parts = parts[:-1] if parts[-1] == "__init__" else parts
            modules[".".join(parts if package == APP else (NAMESPACE, *parts))] = path
    return modules


def layer_of(module: str) -> str | None:
    """The package (a key of ``MAY_IMPORT``) a dotted module name belongs to, None when not one of ours."""
    parts = module.split(".")
    if parts[0] == NAMESPACE and len(parts) > 1:
        return parts[1] if parts[1] in PACKAGES and parts[1] != APP else None
    return parts[0] if parts[0] == APP else None


def imports_of(name: str, path: Path, modules: dict[str, Path], root: Path = ROOT) -> list[Import]:
    """The imports of modules of ours in one file, each resolved to the most precise module it names."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package[: len(package) - node.level + 1], *([base] if base else [])])
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        else:
            continue
        where = f"{path.relative_to(root).as_posix()}:{node.lineno}"
        for target in dict.fromkeys(_known_module(target, modules) for target in targets):
            if layer_of(target):
                found.append(Import(name, target, where))
    return found


def _known_module(target: str, modules: dict[str, Path]) -> str:
    """``target`` or its nearest enclosing module we have (``import a.b.c`` where ``c`` is a name in ``a.b``)."""
    while target not in modules and "." in target:
        target = target.rsplit(".", 1)[0]
    return target


def all_imports(root: Path = ROOT) -> list[Import]:
    modules = module_files(root)
    return [found for name, path in modules.items() for found in imports_of(name, path, modules, root)]


def layer_violations(imports: list[Import]) -> list[str]:
    broken = []
    for found in imports:
        source, target = layer_of(found.importer), layer_of(found.imported)
        assert source and target
        if source == target:
            continue
        if target not in MAY_IMPORT[source]:
            allowed = ", ".join(sorted(MAY_IMPORT[source])) or "nothing of ours"
            broken.append(f"{found.where}: {found.importer} imports {found.imported}; {source} may import {allowed}")
        elif target in ONLY_IMPORTED_BY and found.importer != ONLY_IMPORTED_BY[target]:
            only = ONLY_IMPORTED_BY[target]
            broken.append(f"{found.where}: {found.importer} imports {found.imported}; only {only} may import {target}")
    return broken


def import_cycles(imports: list[Import]) -> list[list[Import]]:
    """One cycle per strongly connected group of modules that import one another, as the imports that close it."""
    edges: dict[str, dict[str, Import]] = {}
    for found in imports:
        edges.setdefault(found.importer, {}).setdefault(found.imported, found)
    cycles = []
    for group in _strongly_connected(edges):
        if len(group) > 1 or group[0] in edges.get(group[0], {}):
            cycles.append(_cycle_through(group, edges))
    return cycles


def _strongly_connected(edges: dict[str, dict[str, Import]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative: the strongly connected components of the import graph."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, {}))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            following = next(successors, None)
            if following is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    groups.append(sorted(group))
            elif following not in index:
                index[following] = low[following] = len(index)
                stack.append(following)
                on_stack.add(following)
                work.append((following, iter(sorted(edges.get(following, {})))))
            elif following in on_stack:
                low[node] = min(low[node], index[following])
    return groups


def _cycle_through(group: list[str], edges: dict[str, dict[str, Import]]) -> list[Import]:
    """A path from the group's first module back to itself, staying inside the group (breadth first: the shortest)."""
    members, start = set(group), group[0]
    came_from: dict[str, Import] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target, found in sorted(edges.get(node, {}).items()):
                if target not in members or target in came_from:
                    continue
                came_from[target] = found
                following.append(target)
        if start in came_from:
            break
        frontier = following
    path, node = [], start
    while True:
        path.append(came_from[node])
        node = came_from[node].importer
        if node == start:
            return path[::-1]


def test_every_import_follows_the_layers():
    broken = layer_violations(all_imports())
    assert not broken, "imports against the layers:\n" + "\n".join(broken)


def test_no_module_of_ours_imports_itself_back():
    cycles = import_cycles(all_imports())
    described = [
        " -> ".join([cycle[0].importer, *(found.imported for found in cycle)])
        + "\n    "
        + "\n    ".join(f"{found.where}: {found.importer} imports {found.imported}" for found in cycle)
        for cycle in cycles
    ]
    assert not described, "import cycles:\n" + "\n".join(described)


def test_the_checks_see_deferred_imports_and_name_file_line_and_rule(tmp_path):
    """The checks themselves, on a made-up tree: back-imports (deferred too) and a cycle are caught and located."""
    files = {
        "bus/__init__.py": "",
        "bus/a.py": "from gaai.bus import b\n",
        "bus/b.py": "def late():\n    from gaai.bus.a import x\n    from gaai.telemetry import spans\n",
        "telemetry/__init__.py": "",
        "telemetry/spans.py": "def late():\n    import gaai.bus.a\n",
        "eval/__init__.py": "",
        "eval/suite.py": "",
        "graph_analytics_ai/__init__.py": "",
        "graph_analytics_ai/cli.py": "from gaai.eval.suite import run\n",
        "graph_analytics_ai/stack.py": "from gaai.eval import suite\n",
        "tests/test_bus.py": "import gaai.bus.a\nfrom bus.a import x\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    found = all_imports(tmp_path)
    assert sorted(layer_violations(found)) == [
        "graph_analytics_ai/stack.py:1: graph_analytics_ai.stack imports gaai.eval.suite; "
        "only graph_analytics_ai.cli may import eval",
        "telemetry/spans.py:2: gaai.telemetry.spans imports gaai.bus.a; telemetry may import nothing of ours",
    ]
    assert bare_imports(tmp_path) == ["tests/test_bus.py:2"]
    cycles = import_cycles(found)
    assert [[(i.where, i.importer, i.imported) for i in cycle] for cycle in cycles] == [
        [("bus/a.py:1", "gaai.bus.a", "gaai.bus.b"), ("bus/b.py:2", "gaai.bus.b", "gaai.bus.a")],
    ]


def bare_imports(root: Path = ROOT) -> list[str]:
    """``file:line`` of every import of our folders by their bare names (``bus.x`` for ``gaai.bus.x``).

    A checkout's root is on ``sys.path`` in tests, so a bare import would work there and load a second copy of
    the module, with classes that are not the installed ones; installed, it would not resolve at all.
    """
    bare = {package for package in PACKAGES if package != APP}
    found = []
    for path in sorted(path for folder in (*PACKAGES, "tests") for path in (root / folder).rglob("*.py")):
        relative = path.relative_to(root)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            else:
                continue
            if any(name.split(".")[0] in bare for name in names):
                found.append(f"{relative.as_posix()}:{node.lineno}")
    return found


def test_our_packages_are_imported_by_their_installed_names():
    assert not bare_imports(), "import these as gaai.<package>:\n" + "\n".join(bare_imports())


RAW_BUS_HANDLES = frozenset({"nc", "js", "workflows", "cancellations", "documents", "reports"})
"""The nats-py handles a ``Bus`` holds; above ``bus/`` the code uses the Bus's own operations instead."""


def nats_leaks(root: Path = ROOT) -> list[str]:
    """``file:line: source`` of every ``nats`` import and every reach into a Bus's nats handles outside ``bus/``."""
    leaks = []
    for package in PACKAGES:
        if package == "bus":
            continue
        for path in sorted((root / package).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            lines = text.splitlines()
            for node in ast.walk(ast.parse(text, filename=str(path))):
                if isinstance(node, ast.Import):
                    leaked = any(alias.name.split(".")[0] == "nats" for alias in node.names)
                elif isinstance(node, ast.ImportFrom):
                    leaked = not node.level and (node.module or "").split(".")[0] == "nats"
                elif isinstance(node, ast.Attribute):
                    owner = node.value
                    owner_name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", "")
                    leaked = node.attr in RAW_BUS_HANDLES and owner_name in ("bus", "_bus")
                else:
                    continue
                if leaked:
                    source = lines[node.lineno - 1].strip()
                    leaks.append(f"{path.relative_to(root).as_posix()}:{node.lineno}: {source}")
    return sorted(set(leaks))


def test_only_bus_talks_to_nats():
    leaks = nats_leaks()
    assert not leaks, "nats reached outside bus/ (use the operations of bus.connection.Bus):\n" + "\n".join(leaks)


def test_the_nats_check_sees_imports_and_raw_handles(tmp_path):
    files = {
        "bus/connection.py": "import nats.errors\nclass Bus:\n    def f(self):\n        return self.nc\n",
        "orchestrator/runner.py": (
            "from nats.aio.msg import Msg\n\nasync def f(self):\n    await self.bus.js.publish()\n"
        ),
        "store/x.py": "def f(bus):\n    return bus.workflows, bus.put_entry, request.documents\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    assert nats_leaks(tmp_path) == [
        "orchestrator/runner.py:1: from nats.aio.msg import Msg",
        "orchestrator/runner.py:4: await self.bus.js.publish()",
        "store/x.py:2: return bus.workflows, bus.put_entry, request.documents",
    ]
