"""AppTest fixtures: the real dashboard.py against a real DuckDB file of the test's own (``KPI_DB``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from kpis.store.db import Store

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "dashboard.py"
#: Generous: the first run on an empty database loads the whole demo company.
TIMEOUT = 120


@pytest.fixture
def db_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The database file the app under test opens."""
    path = tmp_path / "kpis.duckdb"
    monkeypatch.setenv("KPI_DB", str(path))
    return path


@pytest.fixture(autouse=True)
def _fresh_streamlit_caches() -> Iterator[None]:
    """Each test starts like a new server process: no cached store, no cached results."""
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def app(db_path: Path) -> Callable[..., AppTest]:
    """Start the dashboard (a new session each call) on the test's database and run it once; ``query`` is the
    URL's query string (as a dict), as when a shared link is opened."""

    def _start(query: dict[str, str] | None = None) -> AppTest:
        at = AppTest.from_file(str(DASHBOARD), default_timeout=TIMEOUT)
        at.query_params.update(query or {})
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    return _start


@pytest.fixture
def seeded(db_path: Path, tmp_path: Path) -> Path:
    """The database already holds one events import (so the demo company is never loaded)."""
    from kpis.ingest.importer import import_file

    events = tmp_path / "seed_events.csv"
    events.write_text("user_id,event,timestamp\nu0,signup,2026-01-02T09:00:00Z\n", encoding="utf-8")
    with Store(db_path) as store:
        import_file(store, events, who="test")
    return db_path
