"""The source interface: the importer and the pipeline know sources only through ``base`` and the registry in
``detect``; what a source stages is described by :class:`kpis.ingest.sources.base.Staged` alone."""

from __future__ import annotations

import ast
from dataclasses import fields
from pathlib import Path

from kpis.ingest.sources import amplitude, canonical, detect, ga4, mixpanel, posthog, stripe, stripe_json
from kpis.ingest.sources.base import Staged

INGEST = Path(__file__).resolve().parents[3] / "kpis" / "ingest"


def _imported(path: Path) -> set[str]:
    """The modules ``path`` imports (``from a import b`` counts as ``a.b`` and ``a``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_the_importer_preview_and_pipeline_know_no_concrete_source() -> None:
    allowed = {"kpis.ingest.sources", "kpis.ingest.sources.base", "kpis.ingest.sources.detect"}
    for module in ("importer.py", "preview.py", "pipeline.py"):
        sources = {".".join(name.split(".")[:4]) for name in _imported(INGEST / module)
                   if name.startswith("kpis.ingest.sources")}
        assert sources and sources <= allowed, (module, sources - allowed)


def test_staged_has_no_field_of_one_source() -> None:
    assert [f.name for f in fields(Staged)] == ["rows", "read", "rejected", "as_of", "notes", "views",
                                                "read_error", "check"]


def test_the_registry_lists_every_source_module_in_precedence_order() -> None:
    assert detect.MODULES == (stripe, stripe_json, posthog, amplitude, mixpanel, ga4, canonical)
    modules = (stripe, stripe_json, posthog, amplitude, mixpanel, ga4, canonical)
    assert [s.NAME for s in detect.all_sources()] == [s.NAME for module in modules for s in module.SOURCES]


def test_no_import_inside_a_function_in_ingest() -> None:
    for path in sorted(INGEST.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                inner = [n for n in ast.walk(node) if isinstance(n, (ast.Import, ast.ImportFrom))]
                assert not inner, f"{path.name}: {node.name} imports inside"
