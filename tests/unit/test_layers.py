"""The import graph of `sqlgen/`: layers import only downwards, no circles, no private names.

The layers, bottom to top, are declared once, in `LAYERS` below (docs/architecture.md
draws the same map). A module's layer is its folder under `sqlgen/` (`sqlgen/world/...`
is `world`); a module directly in `sqlgen/` is a foundation, except the entry points in
`TOP`. A module may import its own layer and the layers below it, never one above.

Imports are read with `ast`, at any depth (function-level imports count). Imports under
`if TYPE_CHECKING:` are left out: they never run, they only name types for annotations.
"""

from __future__ import annotations

import ast
import sys
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "sqlgen"

# Bottom to top. `foundation`: the modules directly in sqlgen/ (errors, schema, seeds,
# sampling, render, ...); `top`: the entry points and the Python API.
LAYERS = (
    "foundation",
    "scenarios",
    "config",
    "world",
    "generate",
    "publish",
    "execute",
    "inspect",
    "top",
)
TOP = {"sqlgen", "sqlgen.__main__", "sqlgen.cli", "sqlgen.runner", "sqlgen.core"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> str:
    if module in TOP:
        return "top"
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (PACKAGE / parts[-1]).is_dir() else "foundation"


@cache
def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _owner(name: str) -> str:
    """The module `name` is in (`sqlgen.publish.writer.OutputDir` -> `sqlgen.publish.writer`)."""
    while name not in modules():
        name = name.rpartition(".")[0]
    return name


def _type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
    )


def _imports(tree: ast.AST):
    """Every import node of a module, at any depth, except under `if TYPE_CHECKING:`."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif _type_checking(node):
            yield from (n for orelse in node.orelse for n in _imports_in(orelse))
        else:
            yield from _imports(node)


def _imports_in(node: ast.AST):
    if isinstance(node, ast.Import | ast.ImportFrom):
        yield node
    else:
        yield from _imports(node)


def imports_of(module: str) -> list[tuple[str, str | None]]:
    """(imported module, imported name or None) for every sqlgen import of `module`."""
    path = modules()[module]
    found = []
    for node in _imports(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [
                (_owner(a.name), None) for a in node.names if a.name.split(".")[0] == "sqlgen"
            ]
            continue
        base = node.module or ""
        if node.level:
            here = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
            base = ".".join(here[: len(here) - node.level + 1] + ([base] if base else []))
        if base.split(".")[0] != "sqlgen":
            continue
        for alias in node.names:
            full = f"{base}.{alias.name}"
            found.append((full, None) if full in modules() else (_owner(base), alias.name))
    return found


def graph() -> dict[str, set[str]]:
    return {m: {t for t, _ in imports_of(m)} - {m} for m in modules()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            v, children = work[-1]
            for w in children:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(edges[w]))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    component = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        component.append(w)
                        if w == v:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_every_folder_is_a_declared_layer():
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert folders <= set(LAYERS), folders - set(LAYERS)
    assert {layer_of(m) for m in modules()} <= set(LAYERS)


def test_no_import_circles():
    assert cycles(graph()) == []


def test_cycle_finder_finds_a_circle():
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(edges) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_imports_a_higher_layer():
    rank = {name: i for i, name in enumerate(LAYERS)}
    upward = [
        f"{m} ({layer_of(m)}) imports {t} ({layer_of(t)})"
        for m, targets in graph().items()
        for t in sorted(targets)
        if rank[layer_of(t)] > rank[layer_of(m)]
    ]
    assert upward == []


def _private(name: str | None) -> bool:
    return bool(name) and name.startswith("_") and not name.startswith("__")


def private_uses(module: str) -> list[str]:
    """Private names of other modules that `module` imports (`from m import _x`) or reads
    off an imported module (`from sqlgen import m` ... `m._x`)."""
    found = [f"{t}.{name}" for t, name in imports_of(module) if _private(name) and t != module]
    tree = ast.parse(modules()[module].read_text(encoding="utf-8"))
    bound = {}
    for node in _imports(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlgen"):
            for alias in node.names:
                if f"{node.module}.{alias.name}" in modules():
                    bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in bound
            and _private(node.attr)
        ):
            found.append(f"{bound[node.value.id]}.{node.attr}")
    return found


def test_no_module_imports_another_modules_private_names():
    private = [f"{m} uses {name}" for m in modules() for name in private_uses(m)]
    assert private == []


def test_private_use_finder_sees_both_forms(tmp_path, monkeypatch):
    fake = tmp_path / "sqlgen"
    (fake / "a").mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "a" / "__init__.py").write_text("")
    (fake / "a" / "m.py").write_text("_x = 1\n")
    (fake / "user.py").write_text(
        "from sqlgen.a import m\nfrom sqlgen.a.m import _x\n\ndef f():\n    return m._x, _x\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    modules.cache_clear()
    try:
        assert sorted(private_uses("sqlgen.user")) == ["sqlgen.a.m._x", "sqlgen.a.m._x"]
        assert layer_of("sqlgen.a.m") == "a" and layer_of("sqlgen.user") == "foundation"
    finally:
        modules.cache_clear()


def test_layers_of_known_modules():
    assert layer_of("sqlgen.errors") == "foundation"
    assert layer_of("sqlgen.cli") == "top"
    assert layer_of("sqlgen.scenarios.burst") == "scenarios"
    assert layer_of("sqlgen.scenarios") == "scenarios"
    assert layer_of("sqlgen.config") == "config"
