"""In a real browser, on a company billed in euros whose PostHog events are loaded: the full link to share with its
copy button, Enter in a date field, euro amounts on the charts, and the warning when a Mixpanel export of the same
activity is picked on the Data page.

Screenshots: docs/screenshots/share_link.png and docs/screenshots/overlap_warning.png.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from datetime import datetime
from pathlib import Path

from playwright.sync_api import Browser, expect

from kpis.ingest.importer import import_file
from kpis.store.db import Store
from tests.browser.conftest import ROOT, SCREENSHOTS, animations_done, screenshot, settle, streamlit_server

SAMPLE = ROOT / "sample_data"


def _company(folder: Path) -> None:
    """The demo company's exports imported as a real company's would be, its subscriptions in euros."""
    subscriptions = (SAMPLE / "stripe_subscriptions.csv").read_text(encoding="utf-8").replace(",usd,", ",eur,")
    (folder / "subscriptions.csv").write_text(subscriptions, encoding="utf-8")
    with Store(folder / "kpis.duckdb") as store:
        import_file(store, folder / "subscriptions.csv", who="test")
        import_file(store, SAMPLE / "posthog_events.csv.gz", who="test")


def _mixpanel_copy(since: str) -> bytes:
    """The PostHog events from ``since`` on, as Mixpanel exports them: its own ids and page-view name."""
    with gzip.open(SAMPLE / "posthog_events.csv.gz", "rt", encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["timestamp"] >= since]
    out = io.StringIO()
    for i, row in enumerate(rows):
        name = "$mp_web_page_view" if row["event"] == "$pageview" else row["event"]
        when = datetime.fromisoformat(row["timestamp"]).timestamp()
        out.write(json.dumps({"event": name, "properties": {"time": int(when), "distinct_id": row["distinct_id"],
                                                              "$insert_id": f"mp{i}"}}) + "\n")
    return out.getvalue().encode()


def test_share_link_enter_in_a_date_euros_and_the_overlap_warning(browser: Browser, tmp_path: Path) -> None:
    _company(tmp_path)
    with streamlit_server(tmp_path) as server:
        page = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-GB",
                                   timezone_id="UTC").new_page()
        page.goto(f"{server}/revenue?grain=month")
        expect(page.get_by_role("heading", name="Revenue", exact=True)).to_be_visible()
        settle(page)
        sidebar = page.get_by_test_id("stSidebar")
        link = sidebar.get_by_test_id("stCode")
        expect(link).to_have_text(f"{server}/revenue?grain=month")

        # Enter applies a typed date (Streamlit's field alone waits for the field to lose focus)
        sidebar.get_by_test_id("stDateInputField").first.locator('[role="spinbutton"]').first.click()
        page.keyboard.type("2026-03-01")
        page.keyboard.press("Enter")
        expect(page).to_have_url(f"{server}/revenue?grain=month&start=2026-03-01")
        expect(link).to_have_text(f"{server}/revenue?grain=month&start=2026-03-01")
        settle(page)

        # amounts in euros, the charts' axes included
        expect(page.get_by_test_id("stMetricValue").first).to_contain_text("€")
        ticks = page.get_by_test_id("stPlotlyChart").first.locator(".ytick text")
        expect(ticks.filter(has_text="€").first).to_be_attached()
        expect(ticks.filter(has_text="$")).to_have_count(0)

        link.hover()  # Streamlit shows the copy button while the pointer is on the link
        expect(link.get_by_role("button", name="Copy to clipboard")).to_be_visible()
        animations_done(page)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        sidebar.screenshot(path=SCREENSHOTS / "share_link.png")  # the sidebar: filters, the link, its button

        page.goto(f"{server}/data")
        expect(page.get_by_role("heading", name="Import files")).to_be_visible()
        settle(page)
        page.locator('input[type="file"]').set_input_files(
            [{"name": "mixpanel_export.jsonl", "mimeType": "application/json", "buffer": _mixpanel_copy("2026-11")}])
        warning = page.get_by_test_id("stAlertContentWarning").filter(has_text="These events overlap")
        expect(warning).to_contain_text("These events overlap 100% with import 2 from PostHog (posthog_events.csv.gz)")
        expect(page.get_by_role("radiogroup", name="What to do")).to_be_visible()
        settle(page)
        warning.scroll_into_view_if_needed()
        screenshot(page, "overlap_warning.png")
        page.context.close()
