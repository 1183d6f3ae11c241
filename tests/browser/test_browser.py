"""The dashboard in a real browser (Debian's Chromium), served by ``streamlit run``: every page renders at its URL
with the demo company, the shared filters travel in the URL, uploads work.

A screenshot of every page goes to docs/screenshots/<page>.png (overview.png, revenue.png, ..., data.png).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser.conftest import screenshot, settle, with_query

EVENTS = b"user_id,event,timestamp\nu1,signup,2026-01-05T10:00:00Z\nu2,signup,2026-01-06T11:30:00Z\n"
#: url path -> (screenshot name, page heading, Plotly charts the page draws at week grain)
PAGES = {
    "": ("overview", "Overview", 0),
    "revenue": ("revenue", "Revenue", 7),
    "customers": ("customers", "Customers", 7),
    "accounts": ("accounts", "Accounts", 0),
    "engagement": ("engagement", "Engagement", 5),
    "retention": ("retention", "Retention", 3),
    "targets": ("targets", "Targets", 0),
    "review": ("review", "Review", 0),
    "data": ("data", "Data", 0),
}


def choose(page: Page, combobox: Locator, option: str) -> None:
    """Pick ``option`` in a Streamlit selectbox the way a person does: open the list, type to filter it when the
    option is not on screen, click it. A script run that ends while the list is open can close the list, so the
    pick is tried again (three times at most); a failure says what the list showed."""
    item = page.get_by_role("option", name=option, exact=True)
    shown: list[str] = []
    for _ in range(3):
        settle(page)
        combobox.click()
        if not item.is_visible():
            combobox.fill(option)  # the list filters as one types (fill replaces what the box shows)
        try:
            item.click(timeout=30_000)
            return
        except PlaywrightTimeout:
            shown = page.get_by_role("option").all_inner_texts()
            page.keyboard.press("Escape")
    raise AssertionError(f"no option {option!r} in the list; it showed {shown}, "
                         f"the box reads {combobox.input_value()!r}")


def first_option(page: Page, combobox: Locator) -> str:
    """The first option after the default of a Streamlit selectbox, read from its open list (opened again when a
    script run that ends closes it, three times at most)."""
    option = page.get_by_role("option").nth(1)
    for _ in range(3):
        settle(page)
        combobox.click()
        try:
            expect(option).to_be_visible(timeout=30_000)
        except AssertionError:
            page.keyboard.press("Escape")
            continue
        text = option.inner_text()
        page.keyboard.press("Escape")
        return text
    raise AssertionError("the selectbox's list did not open")


def charts_drawn(page: Page, count: int) -> None:
    """Wait until ``count`` Plotly charts have drawn their plot area."""
    charts = page.get_by_test_id("stPlotlyChart")
    expect(charts).to_have_count(count)
    for i in range(count):
        expect(charts.nth(i).locator(".main-svg").first).to_be_attached()


@pytest.mark.parametrize("url_path", list(PAGES))
def test_every_page_renders_at_its_url(server: str, page: Page, url_path: str) -> None:
    name, heading, charts = PAGES[url_path]
    page.goto(f"{server}/{url_path}")
    expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    settle(page)
    charts_drawn(page, charts)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.get_by_text("Share this view")).to_be_visible()
    expect(page.get_by_test_id("stCode").filter(has_text=f"/{url_path}")).to_be_visible()
    if url_path == "":
        expect(page.get_by_test_id("stMetric")).to_have_count(10)
    if name not in ("data", "accounts"):  # their screenshots show an upload, one account's chart (below)
        screenshot(page, f"{name}.png")


def test_an_accounts_view_opens_from_its_link(server: str, page: Page) -> None:
    page.goto(f"{server}/accounts")
    expect(page.get_by_role("heading", name="Accounts", exact=True)).to_be_visible()
    settle(page)
    account = page.get_by_role("combobox", name="Account")
    customer = first_option(page, account)  # the account with the largest MRR
    choose(page, account, customer)
    expect(page).to_have_url(with_query(server, "accounts", f"account={customer}"))
    settle(page)
    page.goto(f"{server}/accounts?account={customer}")  # the link opens the same view in a new session
    expect(page.get_by_role("heading", name="One account")).to_be_visible()
    settle(page)
    charts_drawn(page, 1)
    expect(page.get_by_text(f"MRR and active users per week of {customer}")).to_be_visible()
    expect(page.get_by_test_id("stCode").filter(has_text=f"/accounts?account={customer}")).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)
    screenshot(page, "accounts.png")


def test_filters_travel_in_the_url(server: str, page: Page) -> None:
    page.goto(f"{server}/revenue?grain=month&compare=same+period+last+year")
    expect(page.get_by_role("heading", name="Revenue", exact=True)).to_be_visible()
    settle(page)
    expect(page.get_by_test_id("stCode").filter(
        has_text="/revenue?grain=month&compare=same+period+last+year")).to_be_visible()
    expect(page.get_by_text("LTV (ARPA / mean monthly logo churn of six months)")).to_be_visible()
    page.get_by_test_id("stSidebar").get_by_text("quarter", exact=True).click()
    expect(page).to_have_url(with_query(server, "revenue", "grain=quarter", "compare=same+period+last+year"))
    # the URL changes in the browser before the rerun starts: wait for what the rerun draws
    expect(page.get_by_test_id("stCode").filter(has_text="grain=quarter")).to_be_visible()
    settle(page)
    page.get_by_test_id("stSidebarNav").get_by_text("Customers").click()
    expect(page.get_by_role("heading", name="Customers", exact=True)).to_be_visible()
    settle(page)
    expect(page).to_have_url(with_query(server, "customers", "grain=quarter", "compare=same+period+last+year"))


def test_an_invalid_url_value_falls_back_with_a_note(server: str, page: Page) -> None:
    page.goto(f"{server}/?grain=fortnight")
    expect(page.get_by_text("The link's grain “fortnight” is not one of week, month, quarter")).to_be_visible()
    settle(page)
    expect(page.get_by_test_id("stMetric")).to_have_count(10)
    expect(page.get_by_test_id("stException")).to_have_count(0)


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
    expect(page.get_by_text("recognised as Events CSV")).to_be_visible()
    settle(page)
    screenshot(page, "data.png")  # the preview: recognised as, rows, first lines, the Import button
    page.get_by_role("button", name="Import 1 file").click()
    summary = page.get_by_test_id("stAlertContentSuccess").filter(
        has_text="signups.csv: Events CSV (this dashboard's format), import")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("2 rows added")
    expect(page.get_by_test_id("stDataFrame").last).to_be_visible()


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


def test_a_link_made_in_one_browser_opens_the_same_view_in_another(server: str, browser: Browser) -> None:
    first = browser.new_context(viewport={"width": 1440, "height": 900})
    sender = first.new_page()
    sender.goto(f"{server}/engagement")
    expect(sender.get_by_role("heading", name="Engagement", exact=True)).to_be_visible()
    settle(sender)
    sender.get_by_test_id("stSidebar").get_by_text("month", exact=True).click()
    expect(sender).to_have_url(with_query(server, "engagement", "grain=month"))
    link = sender.url
    first.close()
    second = browser.new_context(viewport={"width": 1440, "height": 900})  # no cookies, no session: a colleague
    receiver = second.new_page()
    receiver.goto(link)
    expect(receiver.get_by_role("heading", name="Engagement", exact=True)).to_be_visible()
    settle(receiver)
    expect(receiver.get_by_test_id("stSidebar").get_by_role("radio", name="month")).to_be_checked()
    expect(receiver.get_by_test_id("stCode").filter(has_text="/engagement?grain=month")).to_be_visible()
    second.close()


def test_the_retention_mode_travels_in_the_link(server: str, page: Page) -> None:
    page.goto(f"{server}/retention?grain=month&retention_mode=unbounded")
    expect(page.get_by_role("heading", name="Retention", exact=True)).to_be_visible()
    settle(page)
    expect(page.get_by_role("radio", name="unbounded")).to_be_checked()
    expect(page.get_by_test_id("stCode").filter(has_text="retention_mode=unbounded")).to_be_visible()
    page.get_by_text("n-day", exact=True).click()
    expect(page).to_have_url(with_query(server, "retention", "grain=month"))
    expect(page).not_to_have_url(re.compile("retention_mode=unbounded"))
    page.goto(f"{server}/retention?retention_mode=bogus")
    settle(page)
    expect(page.get_by_role("radio", name="n-day")).to_be_checked()
    expect(page.get_by_test_id("stException")).to_have_count(0)


def test_the_bridge_period_and_the_cohorts_travel_in_the_link(server: str, browser: Browser) -> None:
    sender = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
    sender.goto(f"{server}/revenue?grain=month&bridge=2026-07-01")
    # the first visit of a fresh server loads the demo company first
    expect(sender.get_by_role("heading", name="Revenue", exact=True)).to_be_visible()
    settle(sender)
    bridge = sender.get_by_role("combobox", name="The month to explain")
    expect(bridge).to_have_value("Jul 2026")
    choose(sender, bridge, "Aug 2026")
    expect(sender).to_have_url(re.compile(r"bridge=2026-08-01"))
    settle(sender)
    expect(sender.get_by_test_id("stCode").filter(has_text="bridge=2026-08-01")).to_be_visible()
    link = sender.url
    sender.context.close()

    receiver = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()  # a colleague
    receiver.goto(link)
    expect(receiver.get_by_role("heading", name="Revenue", exact=True)).to_be_visible()
    settle(receiver)
    expect(receiver.get_by_role("combobox", name="The month to explain")).to_have_value("Aug 2026")
    receiver.goto(f"{server}/retention?grain=month&cohorts=2026-06-01&cohorts=2026-08-01")
    expect(receiver.get_by_role("heading", name="Retention", exact=True)).to_be_visible()
    settle(receiver)
    chosen = receiver.get_by_test_id("stMultiSelect")
    expect(chosen).to_contain_text("Jun 2026")
    expect(chosen).to_contain_text("Aug 2026")
    expect(chosen).not_to_contain_text("May 2026")
    expect(receiver.get_by_test_id("stCode").filter(has_text="cohorts=2026-06-01&cohorts=2026-08-01")).to_be_visible()
    expect(receiver.get_by_test_id("stException")).to_have_count(0)
    receiver.context.close()
