"""What a browser session can make the server hold through Streamlit's upload endpoint (``app_pages.ui.upload_guard``).

A real ``streamlit run dashboard.py`` on a loopback port; a browser session is opened the way the browser opens
it (a WebSocket that runs the app and learns its session id), files are sent the way the uploader sends them (a
PUT with the XSRF cookie and header), and what the server holds is read from its own ``/_stcore/metrics``.
"""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.sync.client import ClientConnection, connect

from kpis.ingest.importer import import_file
from kpis.store.db import Store
from tests.server import STARTUP_SECONDS, streamlit

ROOT = Path(__file__).resolve().parents[2]
MB = 1_000_000
SECRETS = """[auth]
redirect_uri = "http://127.0.0.1:9/oauth2callback"
cookie_secret = "a-test-secret-of-at-least-32-characters"
client_id = "dashboard"
client_secret = "not-a-real-secret"
server_metadata_url = "http://127.0.0.1:9/.well-known/openid-configuration"

[access]
editors = ["ana@example.com"]
"""


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A database that already holds an import (so no page view loads the demo company)."""
    events = tmp_path / "events.csv"
    events.write_text("user_id,event,timestamp\nu1,login,2026-01-05T09:00:00Z\n", encoding="utf-8")
    with Store(tmp_path / "kpis.duckdb") as store:
        import_file(store, events, who="test")
    return tmp_path


@contextmanager
def dashboard(workdir: Path, secrets: str | None = None, options: tuple[str, ...] = (), **env: str) -> Iterator[str]:
    """``streamlit run dashboard.py`` with ``env`` added and command-line ``options``; yields its base URL and,
    once stopped, fails if the server logged a traceback."""
    secrets_file = workdir / "secrets" / "secrets.toml"  # absent unless ``secrets`` is given: local mode
    if secrets is not None:
        secrets_file.parent.mkdir(exist_ok=True)
        secrets_file.write_text(secrets, encoding="utf-8")
    log_path = workdir / "streamlit.log"
    with streamlit(workdir / "kpis.duckdb", log_path, "--secrets.files", str(secrets_file), *options, env=env) as run:
        yield run.url
    log_text = log_path.read_text(errors="replace")
    assert "Traceback" not in log_text, log_text


def wait_until(condition: Callable[[], bool], what: str, seconds: float = STARTUP_SECONDS) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"waited {seconds:.0f} s for {what}")
        time.sleep(0.2)


class BrowserSession:
    """One browser tab's Streamlit session: its WebSocket (the app has run once on it) and its uploads."""

    def __init__(self, url: str, xsrf: str, socket: ClientConnection) -> None:
        self.url, self.xsrf, self.socket = url, xsrf, socket
        rerun = BackMsg()
        rerun.rerun_script.query_string = ""
        socket.send(rerun.SerializeToString())
        self.id = ""
        while True:  # the session id comes with the run's first message; the run's end, last
            message = ForwardMsg()
            message.ParseFromString(socket.recv(timeout=120))
            if message.WhichOneof("type") == "new_session":
                self.id = message.new_session.initialize.session_id
            if message.WhichOneof("type") == "script_finished":
                break

    def upload(self, size: int) -> int:
        """PUT one file of ``size`` bytes as the uploader does; the HTTP status."""
        boundary = uuid.uuid4().hex
        body = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="events.csv"\r\n'
                "Content-Type: text/csv\r\n\r\n").encode() + b"x" * size + f"\r\n--{boundary}--\r\n".encode()
        request = urllib.request.Request(
            f"{self.url}/_stcore/upload_file/{self.id}/{uuid.uuid4()}", data=body, method="PUT",
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}", "X-Xsrftoken": self.xsrf,
                     "Cookie": f"_streamlit_xsrf={self.xsrf}", "Origin": self.url})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status
        except urllib.error.HTTPError as refused:
            return refused.code


@contextmanager
def browser_tab(url: str) -> Iterator[BrowserSession]:
    """A browser tab on the dashboard, open until the block ends (then its WebSocket closes, as when the tab
    does)."""
    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=10) as response:  # sets the XSRF cookie
        xsrf = re.search(r"_streamlit_xsrf=([^;]+)", response.headers["Set-Cookie"]).group(1)
    with connect(url.replace("http", "ws", 1) + "/_stcore/stream", subprotocols=["streamlit", xsrf],
                 additional_headers={"Origin": url, "Cookie": f"_streamlit_xsrf={xsrf}"}, max_size=None) as socket:
        yield BrowserSession(url, xsrf, socket)


def held_now(url: str, size: int) -> None:
    """Wait until the server's metrics (computed at most every 5 s) say it holds ``size`` bytes of uploads."""
    wait_until(lambda: held(url) == size, f"the server to hold {size:,} bytes of uploads")


def held(url: str) -> int:
    """Bytes of uploaded files the server holds, from its metrics."""
    with urllib.request.urlopen(f"{url}/_stcore/metrics", timeout=10) as response:
        text = response.read().decode()
    found = re.search(r'^cache_memory_bytes\{cache_type="UploadedFileManager",cache=""\} (\d+)$', text, re.M)
    return int(found.group(1)) if found else 0


def test_a_session_holds_at_most_its_limit(workdir: Path) -> None:
    with dashboard(workdir, KPI_SESSION_UPLOAD_MB="3") as url:  # 3 MiB: three files of 1 MB fit, a fourth not
        with browser_tab(url) as other, browser_tab(url) as tab:
            assert [tab.upload(MB) for _ in range(3)] == [204, 204, 204]
            assert tab.upload(MB) == 413
            assert other.upload(MB) == 204, "the limit is per session"
            held_now(url, 4 * MB)


def test_a_closed_tab_s_files_are_released(workdir: Path) -> None:
    """Streamlit itself keeps them until the process stops once the session has left its reconnect store; the
    guard releases them once it has (here after 2 s: a short drop of the connection keeps them)."""
    with dashboard(workdir, options=("--server.disconnectedSessionTTL", "2")) as url:
        with browser_tab(url) as other:
            with browser_tab(url) as tab:
                assert tab.upload(2 * MB) == other.upload(MB) == 204
                held_now(url, 3 * MB)
            held_now(url, MB)
        held_now(url, 0)


def test_a_visitor_who_may_not_import_cannot_upload(workdir: Path) -> None:
    with dashboard(workdir, secrets=SECRETS) as url, browser_tab(url) as tab:  # sign-in required; signed out
        assert tab.upload(MB) == 403
        assert tab.upload(10) == 403
