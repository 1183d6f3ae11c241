"""The overview in a real browser with your own data loaded next to the demo company: the banner says that the
numbers add up both, source by source, and the period line says which week the tiles show and why."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from kpis.ops.demo import load_demo
from kpis.store.db import Store
from tests.browser.conftest import screenshot, settle, streamlit_server
from tests.kpis import two_sources


@pytest.fixture
def both(tmp_path: Path) -> Path:
    """A server folder whose database holds the demo company and the two-source company (yours)."""
    with Store(tmp_path / "kpis.duckdb") as store:
        load_demo(store)
        two_sources.build(store, tmp_path)
    return tmp_path


def test_overview_with_the_demo_and_your_data(page: Page, both: Path) -> None:
    with streamlit_server(both) as url:
        page.goto(url + "/")
        expect(page.get_by_role("heading", name="Overview")).to_be_visible()
        settle(page)
        banner = page.get_by_test_id("stAlert").filter(has_text="Showing your data and the demo company's together")
        expect(banner).to_contain_text("revenue is yours and the demo company's added together")
        expect(page.get_by_text("Revenue and product events to 22 Nov 2026: showing the week of 16 Nov 2026, the "
                                "last week complete in both.")).to_be_visible()
        screenshot(page, "overview_demo_and_yours.png")
