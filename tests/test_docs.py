"""docs/kpis.md documents every registered KPI under a heading that is exactly its id, and nothing else; the
section of a KPI that warms up says so."""

from __future__ import annotations

import re
from pathlib import Path

from kpis.core.registry import KPIS

DOC = Path(__file__).resolve().parent.parent / "docs" / "kpis.md"
#: a second-level heading that looks like a KPI id (snake_case), e.g. "## logo_churn_rate"
ID_HEADING = re.compile(r"^## ([a-z][a-z0-9_]*)\s*$", re.MULTILINE)


def _sections() -> dict[str, str]:
    """``{kpi id: the text of its section}`` for every snake_case ``## `` heading."""
    text = DOC.read_text(encoding="utf-8")
    sections = {}
    for match in ID_HEADING.finditer(text):
        end = text.find("\n## ", match.end())
        sections[match.group(1)] = text[match.end():end if end != -1 else len(text)]
    return sections


def test_every_registered_kpi_has_a_section():
    missing = [kpi for kpi in KPIS if kpi not in _sections()]
    assert not missing, f"docs/kpis.md has no '## <id>' section for: {', '.join(missing)}"


def test_no_section_for_a_kpi_that_does_not_exist():
    stale = [heading for heading in _sections() if heading not in KPIS]
    assert not stale, f"docs/kpis.md documents unknown KPIs (renamed or removed?): {', '.join(stale)}"


def test_each_section_states_unit_and_direction():
    for kpi_id, body in _sections().items():
        kpi = KPIS[kpi_id]
        assert f"Unit: {kpi.unit}" in body, f"{kpi_id}: the section does not say 'Unit: {kpi.unit}'"
        assert "Direction:" in body, f"{kpi_id}: the section does not say which direction is better"
        if not kpi.higher_is_better:
            assert "lower is better" in body, f"{kpi_id}: registered as lower-is-better"


def test_each_kpi_that_warms_up_says_so():
    for kpi_id, body in _sections().items():
        if KPIS[kpi_id].warm_up is not None:
            assert "warm-up" in body.lower(), f"{kpi_id}: warms up (registry) but its section does not say so"


ROOT = DOC.parents[1]
#: A path of the repository written in a document: ``kpis/store/db.py``, ``app_pages/ui/``, ``tests/server.py``.
PATH = re.compile(r"`((?:kpis|app_pages|tests|bench|docs|sample_data)/[\w./-]*)`")


def _paths(text: str) -> set[str]:
    return {m.group(1).split("::")[0] for m in PATH.finditer(text)}


def test_paths_are_found_in_text():
    assert _paths("see `kpis/store/db.py` and `app_pages/ui/`, not `x/y.py`") == {"kpis/store/db.py", "app_pages/ui/"}


def test_the_docs_name_only_files_that_exist():
    """The README and docs/ (docs/architecture.md above all) say where things live: every path they name exists."""
    for doc in (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))):
        missing = sorted(p for p in _paths(doc.read_text(encoding="utf-8")) if not (ROOT / p).exists())
        assert not missing, f"{doc.name} names paths that do not exist: {', '.join(missing)}"


def test_the_code_points_only_to_docs_that_exist():
    """A docstring or message that sends the reader to docs/ names a file that is there."""
    named = re.compile(r"\bdocs/[A-Za-z_.-]*[A-Za-z_]")
    missing = []
    for source in (ROOT / "dashboard.py", *sorted((ROOT / "app_pages").rglob("*.py")),
                   *sorted((ROOT / "kpis").rglob("*.py"))):
        text = source.read_text(encoding="utf-8")
        missing += [f"{source.relative_to(ROOT)}: {m.group(0)}" for m in named.finditer(text)
                    if not (ROOT / m.group(0)).exists()]
    assert missing == []
