"""A real ``streamlit run dashboard.py`` for the tests that need a server, and for ``make bench``'s page and load
parts: one launcher, so that every server is started, waited for and stopped the same way."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Debian's Chromium, which Playwright drives (``npx playwright install`` cannot download a browser here).
CHROMIUM = os.environ.get("CHROMIUM") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]
#: A server's start, the first page load on an empty database included (it loads the whole demo company), on a
#: 2-core machine busy with other work.
STARTUP_SECONDS = 240.0
#: How often the health check is asked while a server starts (the wait is bounded by the startup deadline).
POLL_SECONDS = 0.2


@dataclass(frozen=True)
class Server:
    """A running server: its base URL, process id and log file."""

    url: str
    pid: int
    log: Path

    def errors(self) -> list[str]:
        """The tracebacks the server has logged so far (a page that failed on the server, not in the browser)."""
        text = self.log.read_text(errors="replace")
        return [chunk.split("\n\n")[0] for chunk in text.split("Traceback")[1:]]


def free_port() -> int:
    """A port nobody listens on now, so that runs side by side do not collide."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Ask a process to stop, then kill it if it has not within 15 s: a hung server must not hang the run."""
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=15)


def healthy(url: str) -> bool:
    """Whether the server answers its health check (it is up and its app is loaded)."""
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.status == 200 and response.read().strip() == b"ok"
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def no_secrets(folder: Path) -> list[str]:
    """Options that point ``secrets.files`` at a file that does not exist: a server started from the repository
    would otherwise read the machine's real ``.streamlit/secrets.toml`` (local mode: no sign-in)."""
    return ["--secrets.files", str(folder / "no-secrets" / "secrets.toml")]


@contextmanager
def streamlit(db: Path, log: Path, *options: str, env: dict[str, str] | None = None, port: int | None = None,
              startup_seconds: float = STARTUP_SECONDS) -> Iterator[Server]:
    """``streamlit run dashboard.py`` on the database ``db``, on a loopback port, until the block ends.

    ``options`` are added to the command line; without ``--secrets.files`` among them the server reads no secrets
    file (local mode). ``env`` is added to the environment. Fails with the server's log when it exits or does not
    answer its health check within ``startup_seconds``.
    """
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    environment.update(env or {})
    environment["KPI_DB"] = str(db)
    environment["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    secrets = [] if "--secrets.files" in options else no_secrets(db.parent)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "dashboard.py", "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1", "--server.fileWatcherType", "none",
             "--browser.gatherUsageStats", "false", *secrets, *options],
            cwd=ROOT, env=environment, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + startup_seconds
            while not healthy(url):
                if process.poll() is not None:
                    raise RuntimeError(f"streamlit exited with {process.returncode}:\n{log.read_text()}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"streamlit did not answer {url}/_stcore/health within "
                                       f"{startup_seconds:.0f} s:\n{log.read_text()}")
                time.sleep(POLL_SECONDS)
            yield Server(url, process.pid, log)
        finally:
            stop_process(process)
