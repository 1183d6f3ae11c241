"""The review's HTML file as its reader sees it: downloaded from the Review page, opened from disk in Chromium (no
server, no network), screenshot saved as review_html.png (see ``SCREENSHOTS``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import SCREENSHOTS, screenshot, settle


def test_the_downloaded_review_reads_offline(server: str, page: Page, browser: Browser, tmp_path: Path) -> None:
    page.goto(f"{server}/review")
    expect(page.get_by_role("heading", name="Weekly review: week of 16 Nov 2026")).to_be_visible()
    settle(page)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download as HTML").click()
    assert download.value.suggested_filename == "review-week-2026-11-16.html"
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)

    context = browser.new_context(viewport={"width": 900, "height": 900}, locale="en-GB", timezone_id="UTC")
    try:
        reader = context.new_page()
        requests: list[str] = []
        reader.on("request", lambda r: requests.append(r.url))
        reader.goto(path.as_uri())
        expect(reader.get_by_text("Weekly review: week of 16 Nov 2026").first).to_be_visible()
        expect(reader.get_by_text("MRR bridge").first).to_be_visible()
        assert reader.evaluate("document.scripts.length") == 0, "no JavaScript in the file"
        assert reader.locator("svg").count() >= 2, "sparklines and the waterfall are inline SVG"
        assert [u for u in requests if not u.startswith("file://")] == [], "the file loads nothing from anywhere"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        reader.screenshot(path=SCREENSHOTS / "review_html.png", full_page=True)
    finally:
        context.close()


@pytest.mark.parametrize(("url_path", "heading"), [("targets", "Targets"), ("review", "Review")])
def test_plan_pages_in_the_browser(server: str, page: Page, url_path: str, heading: str) -> None:
    """The plan pages once their tables have drawn (the generic page test may catch them still loading): the
    screenshots docs/screenshots/targets.png and review.png."""
    page.goto(f"{server}/{url_path}")
    expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    settle(page)
    tables = page.get_by_test_id("stDataFrame")
    expect(tables.first).to_be_visible()
    for i in range(tables.count()):
        expect(tables.nth(i).locator("canvas").first).to_be_attached()
    expect(page.get_by_test_id("stException")).to_have_count(0)
    if url_path == "targets":
        expect(page.get_by_test_id("stFileUploader")).to_be_visible()
        expect(page.get_by_test_id("stDownloadButton")).to_be_visible()
    else:
        expect(page.get_by_test_id("stDownloadButton")).to_have_count(2)
        expect(page.get_by_role("button", name="Add the note")).to_be_visible()
    screenshot(page, f"{url_path}.png")
