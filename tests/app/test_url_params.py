"""Hostile links: every URL parameter is checked against an allow-list before use; a bad, repeated or overlong
value falls back to its default with a note, leaves the URL, and never reaches the database.

The real dashboard in Streamlit's AppTest, opened with the query string of a crafted link, on a real DuckDB file.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from app_pages.ui.filters import Filters
from kpis.ingest.importer import import_file
from kpis.store.db import Store
from tests.app.test_pages import unescape

ROOT = Path(__file__).resolve().parents[2]
SUBSCRIPTIONS = ("subscription_id,customer_id,plan,amount,currency,interval,status,started_at,canceled_at,ended_at\n"
                 "s1,c1,Pro,100,usd,month,active,2026-01-05,,\n"
                 "s2,c2,Team,50,usd,month,canceled,2026-02-02,2026-06-01,2026-06-01\n")
CUSTOMERS = "customer_id,name,segment\nc1,Acme,SMB\nc2,Bolt,Enterprise\n"
# the data spans 5 Jan 2026 (first start) to 1 Jun 2026 (last end): the default range is all of it
FIRST, LAST = date(2026, 1, 5), date(2026, 6, 1)
DEFAULT = {"grain": "week", "start": FIRST, "end": LAST, "compare": "previous period", "segment": "all customers"}


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "links.duckdb"
    monkeypatch.setenv("KPI_DB", str(path))
    with Store(path) as store:
        for name, text in (("s.csv", SUBSCRIPTIONS), ("c.csv", CUSTOMERS)):
            upload = tmp_path / name
            upload.write_text(text, encoding="utf-8")
            import_file(store, upload, who="test")
    st.cache_data.clear()
    st.cache_resource.clear()
    yield path
    st.cache_data.clear()
    st.cache_resource.clear()


def _tables(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    with Store(path) as store:
        names = [r[0] for r in store.query("SELECT table_name FROM duckdb_tables() ORDER BY 1")]
        return {n: sorted(store.query(f'SELECT * FROM "{n}"'), key=repr) for n in names}


def _open(query: dict[str, str | list[str]], page: str | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    at.query_params.update(query)
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _widgets(at: AppTest) -> dict[str, object]:
    return {"grain": at.radio(key="grain").value, "start": at.date_input(key="start").value,
            "end": at.date_input(key="end").value, "compare": at.radio(key="compare").value,
            "segment": at.selectbox(key="segment").value}


def _notes(at: AppTest) -> list[str]:
    return [w.value for w in at.sidebar.warning]


CASES: dict[str, tuple[dict[str, str | list[str]], str]] = {
    "sql in grain": ({"grain": "week';DROP TABLE events;--"},
                     "The link's grain “week\\';DROP TABLE events;\\-\\-” is not one of week, month, quarter; "
                     "showing week."),
    "sql in segment": ({"segment": "plan='x' OR 1=1"},
                       "The link's segment “plan\\=\\'x\\' OR 1\\=1” does not exist in the data; showing all "
                       "customers."),
    "overlong": ({"compare": "x" * 5000},
                 f"The link's compare “{'x' * 60}…” is not one of: previous period, same period last year; showing "
                 "previous period."),
    "unicode": ({"segment": "segment=Ünïcødé 🚀\u202e"},
                "The link's segment “segment\\=Ünïcødé 🚀\u202e” does not exist in the data; showing all customers."),
    "repeated": ({"grain": ["month", "quarter"]}, "The link's grain is given 2 times; showing week."),
    "repeated dates": ({"start": ["2026-02-02", "2026-03-02"]}, "The link's start is given 2 times; using the "
                                                                "default."),
    "compact date": ({"start": "20260105"},
                     "The link's from date “20260105” is not a date (YYYY-MM-DD); using the default."),
    "week date": ({"end": "2026-W10-1"},
                  "The link's to date “2026\\-W10\\-1” is not a date (YYYY-MM-DD); using the default."),
    "date outside": ({"end": "2031-01-01"},
                     "The link's to date 2031-01-01 lies outside the data (5 Jan 2026 to 1 Jun 2026); using the "
                     "default."),
    "page mode": ({"retention_mode": "unbounded' OR '1'='1"},
                  "The link's retention_mode “unbounded\\' OR \\'1\\'\\=\\'1” is not one of n-day, unbounded; "
                  "showing n-day."),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_link_falls_back_with_a_note_and_leaves_the_data_alone(db: Path, case: str) -> None:
    query, note = CASES[case]
    _open({})  # the first visit writes the app's own state (the demo offer, derived tables): the baseline
    before = _tables(db)
    at = _open(query)
    assert _notes(at) == [note]
    assert _widgets(at) == DEFAULT
    chosen = at.session_state["shared_filters"]
    assert isinstance(chosen, Filters)
    assert (chosen.grain, chosen.start, chosen.end, chosen.compare, chosen.segment, chosen.query) == (
        "week", FIRST, LAST, "previous", None, {})
    if case != "repeated dates":  # a date widget writes the first of the values back itself (the browser's
        # frontend clears a bound parameter whose widget is reset to its default; AppTest has no frontend)
        assert not any(key in at.query_params for key in query), "the refused value left the URL"
    at.switch_page("app_pages/revenue.py").run()  # the pages run on the defaults
    assert not at.exception
    assert _tables(db) == before


def test_valid_link_is_taken_as_is(db: Path) -> None:
    """The allow-lists let real values through (so the fallbacks above are not the only outcome)."""
    at = _open({"grain": "month", "start": "2026-02-02", "compare": "same period last year",
                "segment": "Segment: SMB", "retention_mode": "unbounded"})
    assert _notes(at) == []
    assert _widgets(at) == {"grain": "month", "start": date(2026, 2, 2), "end": LAST,
                            "compare": "same period last year", "segment": "Segment: SMB"}
    chosen = at.session_state["shared_filters"]
    assert chosen.segment == ("segment", "SMB") and chosen.compare == "year_ago"
    assert chosen.query == {"grain": "month", "start": "2026-02-02", "compare": "same period last year",
                            "segment": "Segment: SMB"}
    (link,) = at.code  # the retention mode is the Retention page's choice: the Overview's link leaves it out
    assert link.value == "/?grain=month&start=2026-02-02&compare=same+period+last+year&segment=Segment%3A+SMB"


def test_unknown_parameters_are_ignored(db: Path) -> None:
    _open({})
    before = _tables(db)
    at = _open({"sql": "DROP TABLE events", "page": "../../etc/passwd"})
    assert _notes(at) == [] and _widgets(at) == DEFAULT
    assert at.session_state["shared_filters"].query == {}
    assert _tables(db) == before


BY_CASES: dict[str, tuple[str | list[str], str]] = {
    "sql": ("plan' OR '1'='1", "The link's by “plan' OR '1'='1” is not one of: none, plan, segment; showing nothing."),
    "unknown attribute": ("country", "The link's by “country” is not one of: none, plan, segment; showing nothing."),
    "repeated": (["plan", "segment"], "The link's by “plan”, “segment” is not one of: none, plan, segment; "
                                      "showing nothing."),
    "overlong": ("x" * 5000, f"The link's by “{'x' * 30}” is not one of: none, plan, segment; showing nothing."),
}


@pytest.mark.parametrize("case", sorted(BY_CASES))
def test_a_hostile_breakdown_falls_back_with_a_note_and_leaves_the_data_alone(db: Path, case: str) -> None:
    value, note = BY_CASES[case]
    _open({})
    before = _tables(db)
    at = _open({"by": value}, "app_pages/revenue.py")
    assert [unescape(w.value) for w in at.warning if "link's by" in w.value] == [note]
    assert at.selectbox(key="_url_by").value == "none"
    assert "by" not in at.query_params, "the refused value left the URL"
    assert _tables(db) == before


def test_a_valid_breakdown_is_taken_as_is(db: Path) -> None:
    at = _open({"by": "segment"}, "app_pages/revenue.py")
    assert not [w.value for w in at.warning if "link's by" in w.value]
    assert at.selectbox(key="_url_by").value == "segment"
    assert at.selectbox(key="_url_by").options == ["nothing", "Plan", "Segment"]
    (link,) = at.code
    assert link.value == "/revenue?by=segment"
