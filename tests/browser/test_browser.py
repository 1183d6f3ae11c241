"""The dashboard in a real browser (Debian's Chromium), served by ``streamlit run``: pages render, uploads work.

Screenshots of both pages go to docs/screenshots/ (overview.png, data.png).
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
EVENTS = b"user_id,event,timestamp\nu1,signup,2026-01-05T10:00:00Z\nu2,signup,2026-01-06T11:30:00Z\n"


def settle(page: Page) -> None:
    """Wait until the script run is over (Streamlit's 'running' indicator has gone)."""
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0)
    page.wait_for_timeout(300)  # let the last elements finish their enter animation before a screenshot


def screenshot(page: Page, name: str) -> None:
    """The whole page: Streamlit scrolls inside its main section, so grow the window to fit it first."""
    height = page.evaluate(
        """() => Math.max(
                document.documentElement.scrollHeight,
                ...[...document.querySelectorAll('[data-testid="stMain"], [data-testid="stAppViewContainer"]')]
                    .map(e => e.scrollHeight))"""
    )
    page.set_viewport_size({"width": page.viewport_size["width"], "height": min(int(height), 4000)})
    page.wait_for_timeout(300)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / name, full_page=True)


def test_overview_renders(server: str, page: Page) -> None:
    page.goto(server)
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.get_by_text("What is loaded").or_(page.get_by_text("Nothing is loaded yet"))).to_be_visible()
    expect(page.get_by_text("The KPI pages")).to_be_visible()
    settle(page)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    screenshot(page, "overview.png")


def test_data_page_renders_at_its_url(server: str, page: Page) -> None:
    page.goto(f"{server}/data")
    expect(page.get_by_role("heading", name="Data", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="Import files")).to_be_visible()
    expect(page.get_by_role("heading", name="Import history")).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)


def test_upload_through_the_browser_shows_the_summary(server: str, page: Page) -> None:
    page.goto(f"{server}/data")
    expect(page.get_by_role("heading", name="Import files")).to_be_visible()
    page.locator('input[type="file"]').set_input_files(
        [{"name": "signups.csv", "mimeType": "text/csv", "buffer": EVENTS}]
    )
    summary = page.get_by_test_id("stAlertContentSuccess").filter(has_text="signups.csv: events_csv, import")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("2 rows added")
    expect(page.get_by_test_id("stDataFrame").last).to_be_visible()
    settle(page)
    screenshot(page, "data.png")


def test_bad_upload_shows_our_message_not_a_traceback(server: str, page: Page) -> None:
    page.goto(f"{server}/data")
    expect(page.get_by_role("heading", name="Import files")).to_be_visible()
    page.locator('input[type="file"]').set_input_files(
        [{"name": "photo.png", "mimeType": "image/png", "buffer": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"}]
    )
    error = page.get_by_test_id("stAlertContentError")
    expect(error).to_contain_text("photo.png: this is a PNG image, not a data export")
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.get_by_text("Traceback")).to_have_count(0)
