"""The architecture as a test: the import graph of ``kpis/``, ``app_pages/`` and ``dashboard.py``.

``kpis/`` is in layers, each importing only the layers below it (docs/architecture.md): core, store, ingest,
metrics, plan, review, ops, cli. The UI imports ``kpis`` and never the other way round; inside the UI, the parts
in ``app_pages/ui/`` never import a page. The graph read here is the whole graph: it holds the imports made inside
functions too, and it has no cycle. Only the modules of :data:`LOADS_ON_USE` import inside functions: the package's
public names and the CLI's commands load what they need when first used, so that a command starts fast.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from app_pages.ui import keys

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("core", "store", "ingest", "metrics", "plan", "review", "ops", "cli")
PACKAGES = ("kpis", "app_pages")
#: The modules that may import inside a function (their imports are in the graph all the same): the package (its
#: public names, PEP 562), the command modules (each command loads what computes it), the engine choice (Spark
#: loads only for the Spark engine) and the modules whose rows the command line prints but whose frames are for the
#: pages (pandas loads only when a frame is asked for).
LOADS_ON_USE = ("kpis", "kpis.cli.annotations", "kpis.cli.data", "kpis.cli.impact", "kpis.cli.numbers",
                "kpis.cli.review", "kpis.store.engines", "kpis.core.csv_safety", "kpis.metrics.funnel",
                "kpis.metrics.lifecycle")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    found = {_module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}
    found["dashboard"] = ROOT / "dashboard.py"
    return found


def _imported(node: ast.AST, here: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        if node.level:
            base = here.split(".")
            base = base[: len(base) - node.level + (1 if is_package else 0)]
            module = ".".join([*base, node.module] if node.module else base)
        else:
            module = node.module or ""
        return [module] + [f"{module}.{alias.name}" for alias in node.names]
    return []


def _imports(tree: ast.Module) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Each import statement and whether it sits inside a function (or lambda)."""
    def walk(node: ast.AST, in_function: bool) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                yield child, in_function
            inside = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            yield from walk(child, inside)
    return walk(tree, False)


def _graph() -> tuple[dict[str, set[str]], list[str]]:
    """Module -> the project modules it imports (anywhere in it); and every import made inside a function."""
    sources = _sources()
    graph: dict[str, set[str]] = {}
    inner: list[str] = []
    for name, path in sources.items():
        is_package = path.name == "__init__.py"
        graph[name] = set()
        for node, in_function in _imports(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            graph[name] |= {t for t in _imported(node, name, is_package) if t in sources and t != name}
            if in_function and name not in LOADS_ON_USE:
                inner.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return graph, inner


GRAPH, INNER_IMPORTS = _graph()


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, or None (depth-first search, colours white/grey/black)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def _layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.index(parts[1]) if parts[0] == "kpis" and len(parts) > 1 and parts[1] in LAYERS else None


def test_the_graph_is_read() -> None:
    """The checks below see the real modules (an empty graph would pass them all)."""
    assert "kpis.store.db" in GRAPH["kpis.ingest.importer"]
    assert any(m.startswith("kpis.") for m in GRAPH["dashboard"])
    assert "kpis.metrics.funnel" in GRAPH["kpis.cli.numbers"]  # imported inside the funnel command


def test_no_import_cycle() -> None:
    assert _cycle(GRAPH) is None, " -> ".join(_cycle(GRAPH) or [])


def test_cycle_finder_finds_one() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_inside_a_function() -> None:
    assert INNER_IMPORTS == []


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if _layer(m) is not None))
def test_a_layer_imports_only_layers_below_it(module: str) -> None:
    own = _layer(module)
    above = sorted(m for m in GRAPH[module] if (layer := _layer(m)) is not None and layer > own)
    assert above == [], f"{module} ({LAYERS[own]}) imports from layers above it: {above}"


def test_kpis_never_imports_the_ui() -> None:
    assert not {m for m in GRAPH if m.startswith("kpis")} & {
        m for src in GRAPH if src.startswith("kpis") for m in GRAPH[src] if m.startswith("app_pages")}
    assert all(not m.startswith(("app_pages", "dashboard", "streamlit")) for src in GRAPH if src.startswith("kpis")
               for m in GRAPH[src])


def test_ui_parts_never_import_a_page_or_a_page_section() -> None:
    parts = [m for m in GRAPH if m.startswith("app_pages.ui.")]
    assert len(parts) >= 10
    bad = {m: sorted(t for t in GRAPH[m] if t.startswith("app_pages") and not t.startswith("app_pages.ui"))
           for m in parts}
    assert {m: t for m, t in bad.items() if t} == {}


def _pages() -> set[str]:
    """The page scripts, from the page paths that ``dashboard.py`` registers."""
    return {v.removesuffix(".py").replace("/", ".") for k, v in vars(keys).items() if k.endswith("_PAGE")}


@pytest.mark.parametrize("page", sorted(_pages()))
def test_no_module_imports_a_page(page: str) -> None:
    """A page is a script that Streamlit runs from its file: importing it would run it."""
    assert page in GRAPH
    assert sorted(name for name, deps in GRAPH.items() if page in deps) == []


def _defined(path: Path) -> set[str]:
    """The names a module defines at its top level (functions, classes, assignments, imports)."""
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


def _unresolved() -> list[str]:
    """``from project.module import name`` where the module neither defines ``name`` nor has it as a submodule:
    a page would fail at its first run (pages are scripts: nothing imports them before Streamlit runs them)."""
    sources = _sources()
    missing = []
    for name, path in sources.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and not node.level and node.module in sources:
                defined = _defined(sources[node.module])
                missing += [f"{name}: {node.module}.{a.name}" for a in node.names
                            if a.name not in defined and f"{node.module}.{a.name}" not in sources]
    return missing


def test_every_imported_name_exists() -> None:
    assert _unresolved() == []
