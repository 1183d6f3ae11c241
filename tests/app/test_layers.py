"""The UI's layers, read from the source with ``ast``: pages arrange parts of ``app_pages/ui``, a part never
imports a page, nothing imports in a function, and no module imports itself back through others."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from app_pages.ui import keys

ROOT = Path(__file__).resolve().parents[2]


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules(root: Path) -> dict[str, Path]:
    """Every module of the UI (``app_pages`` and its packages) and ``dashboard``, by dotted name."""
    found = {_module_name(p, root): p for p in sorted((root / "app_pages").rglob("*.py"))}
    found["dashboard"] = root / "dashboard.py"
    return found


def _imports(tree: ast.Module) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Each import statement and whether it sits inside a function (or lambda)."""
    def walk(node: ast.AST, in_function: bool) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                yield child, in_function
            inside = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            yield from walk(child, inside)
    return walk(tree, False)


def _targets(node: ast.Import | ast.ImportFrom, modules: dict[str, Path]) -> set[str]:
    """The UI modules an import statement loads (``from app_pages import auth`` loads ``app_pages.auth``)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        names = [f"{base}.{alias.name}" for alias in node.names] + [base]
    return {name for name in names if name in modules and name not in ("app_pages", "app_pages.ui")}


def import_graph(root: Path) -> tuple[dict[str, set[str]], list[str]]:
    """The UI's import graph (module -> the UI modules it imports) and the imports made inside a function
    (``module:line``)."""
    modules = _modules(root)
    graph: dict[str, set[str]] = {}
    late: list[str] = []
    for name, path in modules.items():
        graph[name] = set()
        for node, in_function in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            graph[name] |= _targets(node, modules)
            if in_function:
                late.append(f"{name}:{node.lineno}")
    return graph, late


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every import cycle found by a depth-first search (each as the path that closes it)."""
    found: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                found.append([*path[path.index(nxt):], nxt] if nxt in path else [node, nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    return found


def _pages() -> set[str]:
    return {v.removesuffix(".py").replace("/", ".") for k, v in vars(keys).items() if k.endswith("_PAGE")}


def test_the_cycle_search_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set(), "c": {"a", "b"}}) == []


def test_no_import_cycle_in_the_ui() -> None:
    graph, _ = import_graph(ROOT)
    assert cycles(graph) == []


def test_no_import_inside_a_function() -> None:
    _, late = import_graph(ROOT)
    assert late == []


def test_ui_parts_never_import_a_page_or_a_page_section() -> None:
    graph, _ = import_graph(ROOT)
    parts = {name: deps for name, deps in graph.items() if name.startswith("app_pages.ui.")}
    assert len(parts) >= 10
    outside = {name: sorted(d for d in deps if not d.startswith("app_pages.ui.")) for name, deps in parts.items()}
    assert {name: deps for name, deps in outside.items() if deps} == {}


@pytest.mark.parametrize("page", sorted(_pages()))
def test_no_module_imports_a_page(page: str) -> None:
    """A page is a script that Streamlit runs from its file: importing it would run it."""
    graph, _ = import_graph(ROOT)
    assert page in graph
    assert sorted(name for name, deps in graph.items() if page in deps) == []
