"""The dashboard served with ``KPI_ENGINE=spark`` against the session's Spark Connect server, in Chromium: the
pages compute on Spark from the lake, say so, and show the numbers of a small hand-made company."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import expect

from kpis.store.db import Store
from kpis.store.lake import export_lake
from tests.browser.conftest import WAIT_MS, screenshot, settle
from tests.kpis.helpers import events, subs
from tests.server import streamlit

#: Two customers paying $100 a month each by the week of 23 Feb 2026 (one monthly, one yearly at $1,200); a third
#: starts on Monday 2 Mar, the revenue data's last day, so that week is the last complete one.
SUBSCRIPTIONS = """
s1,c1,pro,100,1,usd,month,1,active,2026-01-05,,,
s2,c2,pro,1200,1,usd,year,1,active,2026-02-03,,,
s3,c3,pro,50,1,usd,month,1,active,2026-03-02,,,
"""
EVENTS = """
u1,login,2026-02-23T10:00:00Z,c1
u2,login,2026-02-24T10:00:00Z,c2
u1,report,2026-03-01T09:00:00Z,c1
u3,login,2026-03-02T08:00:00Z,c3
"""


def _company(folder: Path) -> tuple[Path, Path]:
    """The company's database and the lake exported from it."""
    db = folder / "kpis.duckdb"
    with Store(db) as store:
        subs(store, folder, SUBSCRIPTIONS)
        events(store, folder, EVENTS)
        lake = export_lake(store, folder / "lake").path
    return db, lake


def test_the_dashboard_computes_its_pages_on_spark(tmp_path, spark_remote, browser):
    db, lake = _company(tmp_path)
    env = {"KPI_ENGINE": "spark", "KPI_LAKE": str(lake), "KPI_SPARK_REMOTE": spark_remote}
    with streamlit(db, tmp_path / "streamlit.log", env=env) as server:
        context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-GB", timezone_id="UTC")
        try:
            page = context.new_page()
            page.set_default_timeout(WAIT_MS)
            page.goto(f"{server.url}/")
            expect(page.get_by_role("heading", name="Overview")).to_be_visible()
            settle(page)
            expect(page.get_by_text(re.compile(rf"^Computed by Spark \({re.escape(spark_remote)}\), lake "
                                               rf"{re.escape(str(lake))} \(data version [0-9.]+\)\.$"))).to_be_visible()
            mrr = page.get_by_test_id("stMetric").filter(has_text="MRR").first
            expect(mrr).to_contain_text("$200")
            expect(page.get_by_text("the week of 23 Feb 2026", exact=False).first).to_be_visible()
            screenshot(page, "spark-overview.png")

            page.goto(f"{server.url}/data")
            expect(page.get_by_role("heading", name="Data")).to_be_visible()
            settle(page)
            expect(page.get_by_text("The KPIs are computed by Spark from the lake.", exact=False)).to_be_visible()
        finally:
            context.close()
        assert server.errors() == []
