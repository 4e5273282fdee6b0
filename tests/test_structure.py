"""The shape of bot/, actions/ and scripts/: no import cycles, no lazy project imports outside entry points, imports
that point down the layers, no module over 400 lines. Sources are parsed with `ast`, never imported, so this is fast
and works while the code is broken. The tables below ARE the architecture (issue 8): change them with the design.
The `test_checker_*` tests feed the checker tiny synthetic trees to show that it can fail."""

from __future__ import annotations

import ast
import re
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "actions", "scripts")  # the trees walked; tests, rasa and the rest are outside the project
MAX_LINES = 400

# Top to bottom. A module is in the layer of the entry that equals its name or is a dotted prefix of it.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("apps", ("actions", "bot.channels", "bot.desk", "bot.staff", "bot.__main__", "scripts")),
    ("wiring", ("bot.runtime", "bot.db.schema")),
    ("domain", ("bot.cases", "bot.outbox", "bot.review_queue", "bot.privacy", "bot.replies", "bot.sending",
                "bot.erasure", "bot.retention", "bot.replies_en", "bot.outreach", "bot.reporting")),
    ("base", ("bot.db.base", "bot.db.engine", "bot.content", "bot.text", "bot.triage", "bot.timeutil",
              "bot.senders", "bot.masking", "bot.config", "bot.clients", "bot.nlu", "bot.logsafety", "bot.language", "bot.tokens",
              "bot.rasa_tuning", "bot.tracker_store",
              "bot.outbox.errors")),  # the delivery vocabulary imports nothing; the clients speak it
)
# Package modules holding only a docstring, above several layers: in the base, matched exactly (not as prefixes).
NAMESPACES = ("bot", "bot.db")
# Apps never import one another. `python -m bot` is the staff command line, so bot.__main__ belongs to staff.
APPS: dict[str, tuple[str, ...]] = {"actions": ("actions",), "channels": ("bot.channels",), "desk": ("bot.desk",),
                                    "staff": ("bot.staff", "bot.__main__"), "scripts": ("scripts",)}
# Deliberate app-to-app edges, (importer prefix, allowed targets): the desk hosts the staff review page (the reverse,
# staff → desk, is not listed); scripts are thin command lines over the staff tools.
ALLOWED_APP_EDGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("bot.desk", ("bot.staff.review", "bot.staff.store", "bot.staff.topics", "bot.staff.checks", "bot.staff.yamlio")),
    ("scripts", ("bot.staff",)),
)
# Deliberate upward edges: the schema registers the apps' table-only modules (`<app>/models.py`).
ALLOWED_UP_EDGES: dict[str, tuple[str, ...]] = {"bot.db.schema": ("bot.channels.models", "bot.desk.models")}
# Command-line entry points, besides every `__main__`: they may import project modules inside functions.
ENTRY_POINTS = ("bot.staff.cli", "bot.staff.eval_worker", "scripts")  # eval_worker: `python -m`, in a child process
# Modules that import nothing from the project. (An app's models.py holds only tables and imports only the base.)
LEAVES = ("bot.db.base",)
# Calls that load project code by name, out of sight of a reader of the imports.
NAME_LOADERS = ("import_module", "__import__")
SPEC = re.compile(r"(?P<module>[A-Za-z_]\w*(?:\.\w+)+):[A-Za-z_]\w*")  # "package.module:attr"

RANK = {layer: index for index, (layer, _) in enumerate(LAYERS)}


@dataclass(frozen=True)
class Module:
    """One source file: its dotted name, path relative to the root (for messages) and text."""
    name: str
    path: str
    source: str
    is_package: bool


@dataclass(frozen=True)
class Edge:
    """One import: `how` is "import", "string" (loaded by name) or "implicit" (a package run for its child)."""
    importer: str
    target: str
    at: str
    lazy: bool
    how: str = "import"


@dataclass
class Graph:
    """The project's modules and every import between them."""
    modules: dict[str, Module]
    edges: list[Edge] = field(default_factory=list)


def under(name: str, prefix: str) -> bool:
    """True when `name` is `prefix` or a module inside it."""
    return name == prefix or name.startswith(prefix + ".")


def _owner(name: str, table: Iterable[tuple[str, tuple[str, ...]]]) -> str | None:
    """The key whose longest prefix matches (so `bot.outbox.errors` can sit below `bot.outbox`)."""
    matches = [(len(prefix), key) for key, prefixes in table for prefix in prefixes if under(name, prefix)]
    return max(matches)[1] if matches else None


def app_edge_allowed(importer: str, target: str) -> bool:
    """Whether an import from one app into another is one of the deliberate edges."""
    return any(under(importer, src) and any(under(target, dst) for dst in targets)
               for src, targets in ALLOWED_APP_EDGES)


def layer_of(name: str) -> str | None:
    """The layer a module belongs to, or None when the table does not place it."""
    return "base" if name in NAMESPACES else _owner(name, LAYERS)


def app_of(name: str) -> str | None:
    """The app a module belongs to, or None outside the apps."""
    return _owner(name, APPS.items())


def is_entry_point(name: str) -> bool:
    """Command-line entry points may import project modules inside functions."""
    return name.endswith(".__main__") or any(under(name, entry) for entry in ENTRY_POINTS)


def modules_from_sources(sources: Mapping[str, str]) -> dict[str, Module]:
    """Modules keyed by dotted name from {relative path: source}."""
    names = {path: path.removesuffix(".py").removesuffix("/__init__").replace("/", ".") for path in sources}
    return {names[path]: Module(names[path], path, source, path.endswith("/__init__.py"))
            for path, source in sources.items()}


def collect_modules(root: Path, packages: Iterable[str] = PACKAGES) -> dict[str, Module]:
    """Every .py file under the given top-level packages of `root`."""
    paths = [path for package in packages for path in sorted((root / package).rglob("*.py"))]
    return modules_from_sources({path.relative_to(root).as_posix(): path.read_text(encoding="utf-8")
                                 for path in paths if "__pycache__" not in path.relative_to(root).parts})


def _name(node: ast.expr) -> str:
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""


class _Imports(ast.NodeVisitor):
    """Collects the project imports of one module, noting those made inside functions."""
    def __init__(self, module: Module, graph: Graph) -> None:
        self.module, self.graph, self.depth = module, graph, 0

    def _resolve(self, dotted: str) -> str | None:
        parts = dotted.split(".")
        names = (".".join(parts[:n]) for n in range(len(parts), 0, -1))  # the longest known prefix
        return next((name for name in names if name in self.graph.modules), None)

    def _add(self, target: str | None, node: ast.AST, how: str = "import", lazy: bool | None = None) -> None:
        if target is not None and target != self.module.name:
            at = f"{self.module.path}:{node.lineno}"
            self.graph.edges.append(Edge(self.module.name, target, at, self.depth > 0 if lazy is None else lazy, how))

    def _function(self, node: ast.AST) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def visit_If(self, node: ast.If) -> None:
        body = [] if _name(node.test) == "TYPE_CHECKING" else [node.test, *node.body]  # a TYPE_CHECKING body never runs
        for child in [*body, *node.orelse]:
            self.visit(child)

    def visit_Expr(self, node: ast.Expr) -> None:
        if not (isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):  # skip docstrings
            self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(self._resolve(alias.name), node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module == "__future__":
            return
        base = node.module or ""
        if node.level:  # relative: the module's own package, one level up per extra dot
            package = self.module.name.split(".")[: None if self.module.is_package else -1]
            base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            self._add(submodule if submodule in self.graph.modules else self._resolve(base), node)

    def visit_Call(self, node: ast.Call) -> None:
        first = node.args[0] if node.args else None
        if _name(node.func) in NAME_LOADERS and isinstance(first, ast.Constant) and isinstance(first.value, str):
            self._add(self._resolve(first.value), node, how="string", lazy=True)
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        match = SPEC.fullmatch(node.value) if isinstance(node.value, str) else None
        if match and match["module"] in self.graph.modules:  # an entry-point spec, loaded by name at run time
            self._add(match["module"], node, how="string", lazy=True)


def analyse(modules: dict[str, Module]) -> Graph:
    """Parse every module and return the import graph, with the implicit package edges added."""
    graph = Graph(modules)
    for module in modules.values():
        _Imports(module, graph).visit(ast.parse(module.source, filename=module.path))
    for edge in list(graph.edges):
        parts = edge.target.split(".")
        for depth in range(1, len(parts)):  # importing a.b.c first runs a and a.b, unless already running
            package = ".".join(parts[:depth])
            if package in modules and not under(edge.importer, package):
                graph.edges.append(Edge(edge.importer, package, edge.at, edge.lazy, "implicit"))
    return graph


def _path(graph: dict[str, dict[str, Edge]], start: str, goal: str) -> list[str] | None:
    """The shortest import path start → … → goal, or None."""
    previous, queue = {start: start}, deque([start])
    while queue and goal not in previous:
        node = queue.popleft()
        for nxt in sorted(set(graph.get(node, {})) - set(previous)):
            previous[nxt] = node
            queue.append(nxt)
    path = [goal] if goal in previous else []
    while path and path[-1] != start:
        path.append(previous[path[-1]])
    return path[::-1] or None


def find_cycles(edges: Iterable[Edge]) -> list[list[Edge]]:
    """Import cycles as lists of hops: each import that lies on a cycle, closed by the shortest way back."""
    graph: dict[str, dict[str, Edge]] = {}
    for edge in sorted(edges, key=lambda e: (e.how == "implicit", e.lazy)):  # name the plainest edge of a pair
        graph.setdefault(edge.importer, {}).setdefault(edge.target, edge)
    cycles: dict[tuple[str, ...], list[Edge]] = {}
    for start in sorted(graph):
        for nxt in sorted(graph[start]):
            if (back := _path(graph, nxt, start)) is not None:
                nodes = [start, *back]
                ring = nodes[:-1]
                first = ring.index(min(ring))
                cycles.setdefault(tuple(ring[first:] + ring[:first]), [graph[a][b] for a, b in zip(nodes, nodes[1:])])
    return [cycles[key] for key in sorted(cycles)]


def format_cycle(hops: list[Edge]) -> str:
    """`a → b (a.py:3) → a (b.py:9, inside a function)`."""
    text = hops[0].importer
    for hop in hops:
        notes = [hop.at] + (["inside a function"] if hop.lazy else []) + ([hop.how] if hop.how != "import" else [])
        text += f" → {hop.target} ({', '.join(notes)})"
    return text


def lazy_imports(graph: Graph) -> list[str]:
    """Project imports made inside functions (or by name at run time) outside the entry points."""
    return list(dict.fromkeys(
        f"{e.at}: {e.importer} {'loads by name' if e.how == 'string' else 'imports'} {e.target} inside a function "
        f"(only entry points may import lazily)"
        for e in graph.edges if e.lazy and e.how != "implicit" and not is_entry_point(e.importer)))


def _tables_only(module: Module) -> list[str]:
    """Top-level statements of a table module that are not a docstring, an import, a constant or a table."""
    found = []
    for i, node in enumerate(ast.parse(module.source).body):
        ok = (isinstance(node, (ast.Import, ast.ImportFrom))
              or (i == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
              or (isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None
                  and not any(isinstance(n, ast.Call) for n in ast.walk(node.value)))
              or (isinstance(node, ast.ClassDef) and any(_name(b) == "Base" for b in node.bases)))
        if not ok:
            found.append(f"{module.path}:{node.lineno}: {module.name} must hold only tables "
                         f"(found a {type(node).__name__})")
    return found


def layer_violations(graph: Graph) -> list[str]:
    """Modules outside the table, upward imports, app-to-app imports, impure table modules and leaves."""
    found = [f"{m.path}: {m.name} is in no layer (place it in LAYERS or move it)"
             for m in graph.modules.values() if layer_of(m.name) is None]
    for e in graph.edges:
        src, dst = layer_of(e.importer), layer_of(e.target)
        if e.how == "implicit" or src is None or dst is None:
            continue
        if e.importer in LEAVES:
            found.append(f"{e.at}: {e.importer} must import nothing from the project, imports {e.target}")
        if src == "apps" and e.importer.endswith(".models") and dst != "base":
            found.append(f"{e.at}: table module {e.importer} may import only the base, imports {e.target} ({dst})")
        if any(under(e.target, allowed) for allowed in ALLOWED_UP_EDGES.get(e.importer, ())):
            continue
        if RANK[dst] < RANK[src]:
            found.append(f"{e.at}: {e.importer} ({src}) imports {e.target} ({dst}): imports must point down")
        elif src == dst == "apps":
            mine, theirs = app_of(e.importer), app_of(e.target)
            if mine != theirs and not app_edge_allowed(e.importer, e.target):
                found.append(f"{e.at}: app {mine} ({e.importer}) imports app {theirs} ({e.target})")
    for module in graph.modules.values():
        if layer_of(module.name) == "apps" and module.name.endswith(".models"):
            found.extend(_tables_only(module))
    return sorted(set(found))


def oversized(modules: Mapping[str, Module], limit: int = MAX_LINES) -> list[str]:
    """Modules longer than `limit` lines."""
    return [f"{m.path}: {n} lines (limit {limit})"
            for m in sorted(modules.values(), key=lambda m: m.path) if (n := len(m.source.splitlines())) > limit]


def _fail_if(found: list[str], what: str) -> None:
    if found:
        pytest.fail(f"{len(found)} {what}:\n" + "\n".join(f"  - {line}" for line in found), pytrace=False)


@pytest.fixture(scope="module")
def tree() -> Graph:
    return analyse(collect_modules(ROOT))


def test_no_import_cycles(tree: Graph) -> None:
    _fail_if([format_cycle(c) for c in find_cycles(tree.edges)], "import cycle(s), function-level imports counted")


def test_no_lazy_project_imports(tree: Graph) -> None:
    _fail_if(lazy_imports(tree), "lazy import(s) of project modules")


def test_imports_point_down(tree: Graph) -> None:
    _fail_if(layer_violations(tree), "layer violation(s)")


def test_modules_are_short(tree: Graph) -> None:
    _fail_if(oversized(tree.modules), f"module(s) over {MAX_LINES} lines")


def test_checker_finds_a_cycle_through_a_lazy_relative_import() -> None:
    graph = analyse(modules_from_sources({
        "bot/cases/__init__.py": '"""Cases."""\n',
        "bot/cases/store.py": "from bot.cases import escalate\n",
        "bot/cases/escalate.py": "def f():\n    from . import store\n    return store\n",
        "bot/text.py": "import bot.timeutil\n",
        "bot/timeutil.py": "",
    }))
    assert [format_cycle(c) for c in find_cycles(graph.edges)] == [
        "bot.cases.escalate → bot.cases.store (bot/cases/escalate.py:2, inside a function)"
        " → bot.cases.escalate (bot/cases/store.py:1)"]
    assert [v.split(": ")[0] for v in lazy_imports(graph)] == ["bot/cases/escalate.py:2"]


def test_checker_counts_packages_run_by_importing_their_children() -> None:
    graph = analyse(modules_from_sources({
        "bot/outbox/__init__.py": "from bot.outbox.enqueue import enqueue\n",
        "bot/outbox/enqueue.py": "import bot.cases.store\n",
        "bot/cases/__init__.py": "",
        "bot/cases/store.py": "from bot.outbox.models import OutboxItem\n",
        "bot/outbox/models.py": "",
    }))
    assert [format_cycle(c) for c in find_cycles(graph.edges)] == [
        "bot.cases.store → bot.outbox (bot/cases/store.py:1, implicit)"
        " → bot.outbox.enqueue (bot/outbox/__init__.py:1) → bot.cases.store (bot/outbox/enqueue.py:1)"]


def test_checker_allows_entry_points_type_checking_and_class_bodies() -> None:
    graph = analyse(modules_from_sources({
        "bot/desk/__main__.py": "def main():\n    from bot.desk import app\n",
        "bot/desk/app.py": "",
        "bot/staff/cli.py": "def main():\n    from bot.staff import report\n",
        "bot/staff/report.py": "",
        "scripts/tool.py": "def main():\n    import bot.text\n",
        "bot/text.py": "class Words:\n    import bot.timeutil as clock\n",
        "bot/timeutil.py": "",
        "bot/replies.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from bot.runtime import Runtime\n",
        "bot/runtime.py": "",
        "bot/privacy.py": "def forget():\n    import bot.text\n",
    }))
    assert [v.split(": ")[0] for v in lazy_imports(graph)] == ["bot/privacy.py:2"]
    assert layer_violations(graph) == []
    assert find_cycles(graph.edges) == []


def test_checker_finds_layer_violations() -> None:
    graph = analyse(modules_from_sources({
        "bot/text.py": "from bot.cases.store import CaseStore\n",
        "bot/cases/store.py": "",
        "bot/channels/zalo.py": "from bot.desk.app import create_app\n",
        "bot/desk/app.py": "from bot.staff import review\nfrom bot.staff.cli import main\n",
        "bot/staff/review.py": "from bot.desk import app\n",
        "bot/staff/cli.py": "",
        "bot/db/schema.py": "import bot.channels.models\nimport bot.desk.app\n",
        "bot/channels/models.py": "from bot.db.base import Base\nfrom bot.cases.store import X\n\n\n"
                                  "class Row(Base):\n    pass\n\n\ndef helper():\n    pass\n",
        "bot/db/base.py": "from bot.text import words\n",
        "bot/safety.py": "",
        "bot/desk/__main__.py": 'EXTENSIONS = ("bot.staff.desk_page:setup",)\n',
        "bot/staff/desk_page.py": "",
    }))
    found = layer_violations(graph)
    expected = {
        "bot/channels/models.py:2": "may import only the base",
        "bot/channels/models.py:9": "must hold only tables",
        "bot/channels/zalo.py:1": "app channels (bot.channels.zalo) imports app desk",
        "bot/db/base.py:1": "must import nothing from the project",
        "bot/db/schema.py:2": "imports bot.desk.app (apps): imports must point down",
        "bot/desk/__main__.py:1": "imports app staff (bot.staff.desk_page)",
        "bot/desk/app.py:2": "imports app staff (bot.staff.cli)",
        "bot/safety.py": "is in no layer",
        "bot/staff/review.py:1": "app staff (bot.staff.review) imports app desk",
        "bot/text.py:1": "bot.text (base) imports bot.cases.store (domain)",
    }
    assert sorted(v.split(": ")[0] for v in found) == sorted(expected), "\n".join(found)
    for line in found:
        assert expected[line.split(": ")[0]] in line, line


def test_checker_finds_long_modules(tmp_path: Path) -> None:
    (tmp_path / "bot" / "desk").mkdir(parents=True)
    (tmp_path / "bot" / "__init__.py").write_text("")
    (tmp_path / "bot" / "desk" / "__main__.py").write_text("x = 1\n" * 400)
    (tmp_path / "bot" / "desk" / "long.py").write_text("x = 1\n" * 401)
    modules = collect_modules(tmp_path, ["bot"])
    assert sorted(modules) == ["bot", "bot.desk.__main__", "bot.desk.long"]
    assert oversized(modules) == ["bot/desk/long.py: 401 lines (limit 400)"]
