"""The warming-up span as a reader sees it: shaded on the Engagement page's active-users chart, labelled, and
explained in the chart's hover. Its picture goes to docs/screenshots/warm_up.png (``make screenshots``)."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import SCREENSHOTS, animations_done, settle


def test_mau_warming_up_is_shaded_and_explained(server: str, page: Page) -> None:
    page.goto(server)  # the first visit to an empty database loads the demo company
    expect(page.get_by_role("heading", name="Overview", exact=True)).to_be_visible()
    settle(page)
    # the demo's events start on Sunday 23 Nov 2025; to 22 Feb 2026, five of the fourteen weeks warm up
    page.goto(f"{server}/engagement?end=2026-02-22")
    expect(page.get_by_role("heading", name="Engagement", exact=True)).to_be_visible()
    settle(page)
    chart = page.get_by_test_id("stPlotlyChart").first
    expect(chart.locator(".main-svg").first).to_be_attached()
    expect(chart.get_by_text("warming up", exact=True)).to_be_visible()
    chart.scroll_into_view_if_needed()
    plot = chart.locator(".nsewdrag").first  # the plot area that takes the mouse
    box = plot.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.12, box["y"] + box["height"] * 0.5)
    tooltip = chart.locator(".hoverlayer").get_by_text("MAU counts the users active in the 30 days", exact=False)
    expect(tooltip.first).to_be_visible()
    animations_done(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    chart.screenshot(path=SCREENSHOTS / "warm_up.png")
