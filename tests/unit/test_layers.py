"""Kubelantern's modules import one way only: down the layers, without cycles.

This table is the single source of the layer rules (docs/architecture.md
describes it). The test reads ``src/kubelantern`` with ``ast`` and imports
nothing, so it runs without a cluster and cannot be fooled by import order.

Rules:

* every module belongs to exactly one layer (the longest prefix below that
  names it; a new top-level module must be placed here);
* a module imports only from its own layer or a lower one;
* no import cycle between modules, ``if TYPE_CHECKING:`` imports included: a
  cycle that only type hints see still means two modules cannot be understood
  (or moved) one without the other. One exception: a type-only import back
  into a sibling module of the same subpackage (``plugins/types.py`` names
  ``plugins.api.Context`` in its callback signatures while ``api`` builds those
  types) closes no cycle, because a subpackage is one unit and the edge never
  runs;
* no Kubelantern module is imported inside a function (such imports are how
  cycles hide), except the one entry in ``LAZY``.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
ROOT = "kubelantern"

# Highest layer first. Within a layer modules may import each other (no cycles).
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # The plugin authors' facade: re-exports the plugin API; nothing inside imports it.
    ("facade", ("kubelantern",)),
    # Entry points: the command line, ``python -m``, the plugin authors' test helper.
    ("entry", ("kubelantern.__main__", "kubelantern.cli", "kubelantern.testing")),
    # Wiring: the app factory, desktop mode, ``kubelantern config check``.
    ("app", ("kubelantern.app", "kubelantern.desktop", "kubelantern.configcheck")),
    # HTTP: middleware, views, templates, live updates, plugin call sites, the plugin host.
    ("web", ("kubelantern.web",)),
    # What a person can do besides reading: operations, streams, Helm, plugins' core.
    (
        "features",
        (
            "kubelantern.operate",
            "kubelantern.streams",
            "kubelantern.helm",
            "kubelantern.plugins",
            "kubelantern.cache",  # the watch cache (informers), when present
        ),
    ),
    # Who is asking: auth modes, sessions, access reviews. Web and the features ask it;
    # it asks only the clusters.
    ("auth", ("kubelantern.auth",)),
    # Kind knowledge: discovery, tables, relations, sections; independent of who asks.
    ("resources", ("kubelantern.resources",)),
    # Talking to API servers: kubeconfig, credentials, the client, the cluster store.
    ("clusters", ("kubelantern.clusters",)),
    # Leaves: options and the config file, errors, metrics, logs, shutdown, the version.
    (
        "base",
        (
            "kubelantern.settings",
            "kubelantern.configfile",
            "kubelantern.errors",
            "kubelantern.metrics",
            "kubelantern.logsetup",
            "kubelantern.lifecycle",
            "kubelantern.version",
            "kubelantern.yamltext",
            "kubelantern.urls",  # the URL scheme: parsed and built in one place, when present
        ),
    ),
)

# (module, function) -> why a function-local import of a Kubelantern module is right there.
LAZY: dict[tuple[str, str], str] = {
    ("kubelantern", "__getattr__"): (
        "PEP 562 lazy re-export of the plugin API, so `import kubelantern` stays cheap "
        "(tests/unit/test_plugin_public_api.py); the facade is above every layer"
    ),
}


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the imported module (a submodule when ``from pkg import submodule``)
    line: int
    function: str  # the enclosing function, "" at module level
    typing_only: bool = False  # under ``if TYPE_CHECKING:``


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted((SRC / ROOT).rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    """``if TYPE_CHECKING:`` or ``if typing.TYPE_CHECKING:``."""
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(name: str, source: str, known: set[str], *, package: bool) -> list[Import]:
    """Every import of a Kubelantern module in one file's source, with where it happens."""
    is_package = package
    found: list[Import] = []

    def visit(node: ast.AST, function: str, typing_only: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner, typing = function, typing_only
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                inner = getattr(child, "name", "<lambda>")
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for branch in child.body:
                    visit(ast.Module(body=[branch], type_ignores=[]), function, True)
                for branch in child.orelse:
                    visit(ast.Module(body=[branch], type_ignores=[]), function, typing_only)
                continue
            if isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name == ROOT or alias.name.startswith(ROOT + "."):
                        found.append(Import(name, alias.name, child.lineno, function, typing))
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    package = name.split(".") if is_package else name.split(".")[:-1]
                    package = package[: len(package) - (child.level - 1)]
                    base = ".".join([*package, *([child.module] if child.module else [])])
                if base == ROOT or base.startswith(ROOT + "."):
                    for alias in child.names:
                        sub = f"{base}.{alias.name}"
                        target = sub if sub in known else base
                        found.append(Import(name, target, child.lineno, function, typing))
            visit(child, inner, typing)

    visit(ast.parse(source), "", False)
    return found


@functools.cache
def all_imports() -> list[Import]:
    mods = modules()
    known = set(mods)
    return [
        i
        for name, path in mods.items()
        for i in imports_of(
            name, path.read_text(encoding="utf-8"), known, package=path.name == "__init__.py"
        )
    ]


def layer_of(module: str) -> int | None:
    """The rank of ``module`` (0 is the top), by the longest matching prefix."""
    best: tuple[int, int] | None = None  # (prefix length, rank)
    for rank, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            exact_only = prefix == ROOT
            matches = module == prefix or (not exact_only and module.startswith(prefix + "."))
            if matches and (best is None or len(prefix) > best[0]):
                best = (len(prefix), rank)
    return None if best is None else best[1]


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in edges.get(node, ()):
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            connect(node)
    return found


def test_every_module_has_a_layer() -> None:
    unplaced = [m for m in modules() if layer_of(m) is None]
    assert unplaced == [], f"place these modules in LAYERS (tests/unit/test_layers.py): {unplaced}"


def test_imports_go_down_the_layers() -> None:
    wrong = []
    for imp in all_imports():
        source, target = layer_of(imp.source), layer_of(imp.target)
        if source is not None and target is not None and target < source:
            wrong.append(
                f"{imp.source}:{imp.line} ({LAYERS[source][0]}) imports "
                f"{imp.target} ({LAYERS[target][0]})"
            )
    assert wrong == [], "imports against the layer order:\n" + "\n".join(wrong)


def sibling(a: str, b: str) -> bool:
    """Modules of the same subpackage (``kubelantern.plugins.api``, ``…plugins.types``)."""
    parent = a.rpartition(".")[0]
    return parent != ROOT and parent == b.rpartition(".")[0]


def counted(imp: Import) -> bool:
    """Whether an import is an edge for the cycle check (see the module docstring)."""
    return imp.target != imp.source and not (imp.typing_only and sibling(imp.source, imp.target))


def test_no_import_cycles() -> None:
    edges: dict[str, set[str]] = {}
    for imp in all_imports():
        if counted(imp):
            edges.setdefault(imp.source, set()).add(imp.target)
    found = cycles(edges)
    assert found == [], "import cycles:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_no_function_local_imports_of_kubelantern_modules() -> None:
    local = [
        f"{i.source}:{i.line} in {i.function}() imports {i.target}"
        for i in all_imports()
        if i.function and (i.source, i.function) not in LAZY
    ]
    assert local == [], "import at module level (fix the layering instead):\n" + "\n".join(local)


def test_the_lazy_exceptions_still_exist() -> None:
    used = {(i.source, i.function) for i in all_imports() if i.function}
    assert set(LAZY) <= used, f"stale LAZY entries: {set(LAZY) - used}"


def test_the_checker_sees_what_it_must() -> None:
    """The rules can fail: a made-up upward import, cycle and local import are caught."""
    assert layer_of("kubelantern.web.views.detail") == 3
    assert layer_of("kubelantern.clusters.store") == 7
    assert layer_of("kubelantern.auth.access") == 5
    assert layer_of("kubelantern") == 0 and layer_of("kubelantern.nosuch") is None
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    code = "def f():\n    from kubelantern.web import render\nimport kubelantern.settings\n"
    found = imports_of("kubelantern.clusters.x", code, {"kubelantern.web.render"}, package=False)
    assert [(i.target, i.function) for i in found] == [
        ("kubelantern.web.render", "f"),
        ("kubelantern.settings", ""),
    ]
    typed = imports_of(
        "kubelantern.plugins.types",
        "if TYPE_CHECKING:\n    from kubelantern.plugins.api import X\n",
        {"kubelantern.plugins.api"},
        package=False,
    )
    assert [(i.target, i.typing_only) for i in typed] == [("kubelantern.plugins.api", True)]
    assert not counted(typed[0])
    assert counted(Import("kubelantern.web.state", "kubelantern.plugins.api", 1, "", True))
    relative = imports_of(
        "kubelantern.web.a", "from . import b\n", {"kubelantern.web.b"}, package=False
    )
    assert [i.target for i in relative] == ["kubelantern.web.b"]
