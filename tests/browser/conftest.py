"""Browser fixtures: a real ``streamlit run dashboard.py`` on a free port and a fresh database, and Debian's
Chromium driven by Playwright (no Playwright browser download)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.server import CHROMIUM, STARTUP_SECONDS, free_port, stop_process, streamlit

ROOT = Path(__file__).resolve().parents[2]
#: Every wait of a browser test is for something the app signals (a heading, the script state, a URL), bounded by
#: this (ms): far above what a page needs on a quiet machine, enough for a 2-core machine busy with other work.
WAIT_MS = 180_000
#: Screenshots go to an ignored folder, so that a test run leaves the work tree clean; ``make screenshots`` sets
#: ``KPI_SCREENSHOTS=docs/screenshots`` to refresh the documentation's pictures.
SCREENSHOTS = ROOT / os.environ.get("KPI_SCREENSHOTS", "test-results/screenshots")
expect.set_options(timeout=WAIT_MS)  # Playwright's own default for expect() is 5 s
#: Resolves once every finite animation on the page has finished (the elements' enter transitions).
_ANIMATIONS_DONE = """() => Promise.all(document.getAnimations()
    .filter(a => a.effect && a.effect.getComputedTiming().iterations !== Infinity)
    .map(a => a.finished.catch(() => null)))"""


def settle(page: Page) -> None:
    """Wait until the script run is over: the app root's script state reads ``notRunning`` (it is ``initial``, then
    ``running`` before that). Streamlit's 'running' indicator shows only after a delay, so its absence proves
    nothing: a page waited for that way was photographed half drawn."""
    expect(page.get_by_test_id("stApp")).to_have_attribute("data-test-script-state", "notRunning")
    animations_done(page)


def animations_done(page: Page) -> None:
    """Wait until the elements' enter animations are over (a screenshot taken earlier shows them half faded)."""
    page.evaluate(_ANIMATIONS_DONE)


def screenshot(page: Page, name: str) -> None:
    """The whole page: Streamlit scrolls inside its main section, so grow the window to fit it first."""
    height = page.evaluate(
        """() => Math.max(
                document.documentElement.scrollHeight,
                ...[...document.querySelectorAll('[data-testid="stMain"], [data-testid="stAppViewContainer"]')]
                    .map(e => e.scrollHeight))"""
    )
    page.set_viewport_size({"width": page.viewport_size["width"], "height": min(int(height), 4000)})
    page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
    # elements that came into view draw as grey skeletons first: photographed then, half the page is blank
    expect(page.get_by_test_id("stSkeleton")).to_have_count(0)
    animations_done(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / name, full_page=True)


def with_query(server: str, path: str, *params: str) -> re.Pattern[str]:
    """The URL of ``path`` whose query string holds exactly ``params``, in any order."""
    ahead = "".join(f"(?=(?:[^#]*&)?{re.escape(p)}(?:&|$))" for p in params)
    return re.compile(f"^{re.escape(server)}/{re.escape(path)}\\?{ahead}[^&]*(?:&[^&]*){{{len(params) - 1}}}$")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The dashboard served by ``streamlit run`` on a free local port; yields its base URL."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"the browser tests need Chromium at {CHROMIUM}: sudo apt-get install -y chromium")
    with streamlit_server(tmp_path_factory.mktemp("server")) as url:
        yield url


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser tab (its own Streamlit session) at a laptop-sized viewport."""
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-GB", timezone_id="UTC")
    opened = context.new_page()
    opened.set_default_timeout(WAIT_MS)
    opened.set_default_navigation_timeout(WAIT_MS)
    yield opened
    context.close()


# -- sign-in: a real OIDC provider on loopback and a server started with a secrets file ----------------------------

@contextmanager
def streamlit_server(workdir: Path, *options: str, port: int | None = None,
                     startup_seconds: float = STARTUP_SECONDS) -> Iterator[str]:
    """``streamlit run dashboard.py`` with the database ``workdir/kpis.duckdb`` and extra command-line ``options``
    (e.g. ``--secrets.files``; without it, no secrets file at all); yields its base URL and, once stopped, fails
    if the server logged a traceback."""
    log_path = workdir / "streamlit.log"
    with streamlit(workdir / "kpis.duckdb", log_path, *options, port=port, startup_seconds=startup_seconds) as run:
        yield run.url
    log_text = log_path.read_text(errors="replace")
    assert "Traceback" not in log_text, f"the server logged an error:\n{log_text}"


@pytest.fixture(scope="module")
def oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An OpenID Connect provider (``oidc-provider-mock``, its own process) on a free loopback port; yields its
    issuer URL. Any client id and secret are accepted; :func:`add_user` sets a user's claims, and its
    authorization form signs in whichever user is typed there."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path_factory.mktemp("oidc") / "provider.log"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    with log_path.open("wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "oidc_provider_mock", "--host", "127.0.0.1",
                                    "--port", str(port)],
                                   env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + STARTUP_SECONDS
            while not _answers(f"{url}/.well-known/openid-configuration"):
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the OIDC provider did not start:\n{log_path.read_text()}")
                time.sleep(0.2)
            yield url
        finally:
            stop_process(process)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def add_user(provider: str, sub: str, claims: dict[str, object]) -> None:
    """Tell the provider the claims (e.g. ``email``, ``email_verified``) of the user ``sub``."""
    import json
    from urllib.parse import quote

    request = urllib.request.Request(f"{provider}/users/{quote(sub)}", data=json.dumps(claims).encode(),
                                     method="PUT", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 204, response.status
