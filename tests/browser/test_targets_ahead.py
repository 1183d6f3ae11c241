"""A target a quarter ahead of the data, in a real browser: the demo company (its data ends on 22 Nov 2026) with an
MRR target for Q1 2027. The MRR chart's time axis reaches March 2027, and the target and the projection of its
quarter's end are drawn and labelled with their values. Screenshot: target_ahead.png (the MRR chart)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from kpis.ingest.importer import import_file
from kpis.ops.demo import load_demo
from kpis.store.db import Store
from tests.browser.conftest import SCREENSHOTS, animations_done, settle, streamlit_server

AHEAD = "kpi,grain,period_start,target,owner,note\nmrr,quarter,2027-01-01,190000,CPO,Next quarter's plan\n"


@pytest.fixture(scope="module")
def ahead_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The dashboard on a database holding the demo company and a Q1 2027 MRR target."""
    workdir = tmp_path_factory.mktemp("ahead")
    targets = workdir / "next quarter.csv"
    targets.write_text(AHEAD, encoding="utf-8")
    with Store(workdir / "kpis.duckdb") as store:
        load_demo(store)
        import_file(store, targets, who="test")
    with streamlit_server(workdir) as url:
        yield url


def test_a_target_a_quarter_ahead_is_drawn_with_the_projection(ahead_server: str, page: Page) -> None:
    page.set_viewport_size({"width": 1920, "height": 1080})  # the MRR chart is half the page wide
    page.goto(f"{ahead_server}/revenue?grain=month")
    expect(page.get_by_role("heading", name="Revenue", exact=True)).to_be_visible()
    settle(page)
    mrr = page.get_by_test_id("stPlotlyChart").first
    expect(mrr.locator(".gtitle")).to_have_text("MRR")
    expect(mrr.locator(".xtick text").last).to_have_text("Mar 2027")
    expect(mrr.locator("text", has_text="target $190.0k")).to_be_visible()
    # the least-squares line through the last 8 weekly MRRs (weeks ending 4 Oct .. 22 Nov 2026: 124,199.5,
    # 125,285.5, 126,896.5, 129,102.5, 136,702.5, 136,569.5, 137,592.17, 142,183.5) read on 31 Mar 2027: 190,803
    expect(mrr.locator("text", has_text="projected $")).to_have_text("projected $190.8k")
    expect(mrr.locator(".legendtext")).to_have_text(["MRR", "target"])
    mrr.scroll_into_view_if_needed()
    animations_done(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    mrr.screenshot(path=SCREENSHOTS / "target_ahead.png")
