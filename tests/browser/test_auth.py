"""Sign-in end to end: a real OIDC provider (``oidc-provider-mock``) on loopback, ``streamlit run dashboard.py``
started with a secrets file naming it and an ``[access]`` table, and Debian's Chromium signing in as an editor, a
viewer and someone on neither list."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from kpis.ingest.importer import import_file
from kpis.store.db import Store
from tests.browser.conftest import WAIT_MS, add_user, screenshot, settle, streamlit_server, with_query
from tests.server import free_port

EDITOR = "ana@acme.test"
VIEWER = "bo@acme.test"
STRANGER = "eve@elsewhere.test"
CONTACT = "the data team (data@acme.test)"
SUBSCRIPTIONS = (
    "subscription_id,customer_id,plan,amount,currency,interval,status,started_at\n"
    + "".join(f"s{i},c{i},Pro,{90 + i}.00,usd,month,active,2026-0{1 + i % 6}-0{1 + i % 9}\n" for i in range(12))
)
EVENTS = "user_id,event,timestamp\n" + "".join(
    f"u{i % 7},login,2026-0{1 + i % 6}-{1 + i % 27:02d}T10:00:00Z\n" for i in range(200))
UPLOAD = b"user_id,event,timestamp\nu90,signup,2026-06-20T10:00:00Z\nu91,signup,2026-06-21T10:00:00Z\n"


@pytest.fixture(scope="module")
def signed_server(tmp_path_factory: pytest.TempPathFactory, oidc_provider: str) -> Iterator[str]:
    """The dashboard with sign-in configured against ``oidc_provider`` and its own small database."""
    workdir = tmp_path_factory.mktemp("signed")
    for name, content in (("subscriptions.csv", SUBSCRIPTIONS), ("events.csv", EVENTS)):
        (workdir / name).write_text(content, encoding="utf-8")
    with Store(workdir / "kpis.duckdb") as store:
        for name in ("subscriptions.csv", "events.csv"):
            import_file(store, workdir / name, who="seed")
    port = free_port()
    secrets = workdir / "secrets.toml"
    secrets.write_text(f"""
[auth]
redirect_uri = "http://127.0.0.1:{port}/oauth2callback"
cookie_secret = "a-long-random-secret-for-the-test-server"
client_id = "kpi-dashboard"
client_secret = "any-secret-the-mock-accepts"
server_metadata_url = "{oidc_provider}/.well-known/openid-configuration"

[access]
editors = ["{EDITOR.upper()}"]
viewers = ["@acme.test"]
contact = "{CONTACT}"
""", encoding="utf-8")
    for email in (EDITOR, VIEWER, STRANGER):
        add_user(oidc_provider, email, {"email": email, "email_verified": True, "name": email.split("@")[0]})
    with streamlit_server(workdir, "--secrets.files", str(secrets), port=port) as url:
        yield url


@pytest.fixture
def tab(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (no cookies: nobody signed in) with every wait bounded."""
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-GB", timezone_id="UTC")
    opened = context.new_page()
    opened.set_default_timeout(WAIT_MS)
    opened.set_default_navigation_timeout(WAIT_MS)
    yield opened
    context.close()


def sign_in(page: Page, server: str, provider: str, email: str, link: str = "") -> None:
    """Open the dashboard (at ``link``, a path and query, when given), press Sign in, pick ``email`` on the
    provider's form, and come back signed in (to the home page when no link was given)."""
    page.goto(f"{server}/{link}")
    expect(page.get_by_role("heading", name="CPO KPI dashboard")).to_be_visible()
    expect(page.get_by_test_id("stSidebarNav")).to_have_count(0)  # nothing but the sign-in screen
    expect(page.get_by_test_id("stMetric")).to_have_count(0)
    settle(page)
    if not link:
        screenshot(page, "sign_in.png")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(f"^{re.escape(provider)}/oauth2/authorize"))
    page.get_by_placeholder("sub").fill(email)
    page.get_by_role("button", name="Authorize", exact=True).click()
    if not link:
        expect(page).to_have_url(re.compile(f"^{re.escape(server)}/?(\\?.*)?$"))


def test_a_shared_link_opens_its_view_after_sign_in(signed_server: str, oidc_provider: str, tab: Page) -> None:
    # what a CPO sends a product director who has not signed in yet
    sign_in(tab, signed_server, oidc_provider, VIEWER, "customers?grain=month&compare=same+period+last+year")
    expect(tab).to_have_url(with_query(signed_server, "customers", "grain=month", "compare=same+period+last+year"))
    expect(tab.get_by_role("heading", name="Customers", exact=True)).to_be_visible()
    settle(tab)
    sidebar = tab.get_by_test_id("stSidebar")
    expect(sidebar.get_by_role("radio", name="month")).to_be_checked()
    expect(sidebar.get_by_role("radio", name="same period last year")).to_be_checked()
    expect(tab.get_by_test_id("stException")).to_have_count(0)
    tab.goto(signed_server)  # the link is used once: home is home afterwards
    expect(tab.get_by_role("heading", name="Overview", exact=True)).to_be_visible()
    settle(tab)
    expect(tab).to_have_url(re.compile(f"^{re.escape(signed_server)}/?$"))


def test_an_editor_signs_in_and_imports_a_file(signed_server: str, oidc_provider: str, tab: Page) -> None:
    sign_in(tab, signed_server, oidc_provider, EDITOR)
    expect(tab.get_by_role("heading", name="Overview", exact=True)).to_be_visible()
    sidebar = tab.get_by_test_id("stSidebar")
    expect(sidebar.get_by_text(f"Signed in as {EDITOR} · editor")).to_be_visible()
    expect(sidebar.get_by_role("button", name="Sign out")).to_be_visible()
    settle(tab)

    tab.goto(f"{signed_server}/data")  # a new session: the identity cookie signs it in
    expect(tab.get_by_role("heading", name="Import files")).to_be_visible()
    tab.locator('input[type="file"]').set_input_files([{"name": "signups.csv", "mimeType": "text/csv",
                                                        "buffer": UPLOAD}])
    expect(tab.get_by_text("recognised as Events CSV")).to_be_visible()
    settle(tab)
    tab.get_by_role("button", name="Import 1 file").click()
    summary = tab.get_by_test_id("stAlertContentSuccess").filter(
        has_text="signups.csv: Events CSV (this dashboard's format), import")
    expect(summary).to_contain_text("2 rows added")
    expect(tab.get_by_role("button", name="Undo import").first).to_be_visible()
    expect(tab.get_by_test_id("stException")).to_have_count(0)


def test_a_viewer_sees_the_numbers_but_no_editing(signed_server: str, oidc_provider: str, tab: Page) -> None:
    sign_in(tab, signed_server, oidc_provider, VIEWER)
    expect(tab.get_by_role("heading", name="Overview", exact=True)).to_be_visible()
    expect(tab.get_by_test_id("stSidebar").get_by_text(f"Signed in as {VIEWER} · viewer")).to_be_visible()
    expect(tab.get_by_test_id("stMetric").first).to_be_visible()
    settle(tab)

    tab.goto(f"{signed_server}/data")
    expect(tab.get_by_role("heading", name="Import history")).to_be_visible()
    expect(tab.get_by_text("Importing files is for editors: you are signed in as a viewer.")).to_be_visible()
    settle(tab)
    expect(tab.locator('input[type="file"]')).to_have_count(0)
    expect(tab.get_by_role("button", name="Undo import")).to_have_count(0)
    screenshot(tab, "data_viewer.png")  # what a product director sees on /data

    tab.goto(f"{signed_server}/targets")
    expect(tab.get_by_role("heading", name="Targets in force")).to_be_visible()
    expect(tab.get_by_text("Changing targets is for editors")).to_be_visible()
    settle(tab)
    expect(tab.get_by_role("button", name="Save changes")).to_have_count(0)
    expect(tab.locator('input[type="file"]')).to_have_count(0)
    expect(tab.get_by_role("button", name="Download the targets in force (CSV)")).to_be_visible()

    tab.goto(f"{signed_server}/review")
    expect(tab.get_by_role("heading", name="Notes on dates")).to_be_visible()
    expect(tab.get_by_text("Adding and removing notes is for editors")).to_be_visible()
    settle(tab)
    expect(tab.get_by_role("button", name="Add the note")).to_have_count(0)
    expect(tab.get_by_test_id("stException")).to_have_count(0)


def test_a_stranger_gets_the_no_access_page_and_can_sign_out(signed_server: str, oidc_provider: str,
                                                             tab: Page) -> None:
    sign_in(tab, signed_server, oidc_provider, STRANGER)
    expect(tab.get_by_text(f"You are signed in as {STRANGER}, which does not have access to this dashboard. "
                           f"Ask {CONTACT} to add you.")).to_be_visible()
    settle(tab)
    expect(tab.get_by_test_id("stSidebarNav")).to_have_count(0)
    expect(tab.get_by_test_id("stMetric")).to_have_count(0)
    screenshot(tab, "no_access.png")
    tab.goto(f"{signed_server}/data")  # another page's address shows the same
    expect(tab.get_by_text(f"Ask {CONTACT} to add you.")).to_be_visible()
    settle(tab)
    expect(tab.get_by_role("heading", name="Import files")).to_have_count(0)

    tab.get_by_role("button", name="Sign out").click()
    expect(tab).to_have_url(re.compile(f"^{re.escape(oidc_provider)}/oauth2/end_session"))  # the provider's too
    tab.goto(signed_server)
    expect(tab.get_by_role("button", name="Sign in")).to_be_visible()
    expect(tab.get_by_text(STRANGER)).to_have_count(0)
