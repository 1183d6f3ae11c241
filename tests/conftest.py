"""Shared fixtures: a real DuckDB file per test, a helper that writes small export files, and no real secrets."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from playwright.sync_api import Browser, Playwright, sync_playwright

from kpis.store.db import Store
from tests.server import CHROMIUM, CHROMIUM_ARGS

# CI replays the same examples every run (a red build always means a change broke something); a developer's
# runs keep exploring new random examples.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(scope="session")
def no_secrets_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A secrets file path that does not exist (nothing ever creates it)."""
    return tmp_path_factory.mktemp("no-secrets") / "secrets.toml"


@pytest.fixture(autouse=True)
def _no_real_secrets(no_secrets_file: Path) -> Iterator[None]:
    """Point Streamlit's ``secrets.files`` at :func:`no_secrets_file`, so that no test reads the machine's real
    ``~/.streamlit/secrets.toml`` or ``.streamlit/secrets.toml`` (``AppTest`` only replaces ``st.secrets`` when
    ``at.secrets`` is non-empty): every test runs in local mode unless it configures secrets itself."""
    from streamlit import config
    from streamlit.runtime.secrets import secrets_singleton

    saved = config.get_option("secrets.files")
    config.set_option("secrets.files", [str(no_secrets_file)])
    secrets_singleton._reset()  # secrets already read from the old files are dropped
    try:
        yield
    finally:
        config.set_option("secrets.files", saved)
        secrets_singleton._reset()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    """The session's one Playwright (its sync API allows one at a time): the browser tests and the Spark
    dashboard test share it."""
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Debian's Chromium (no Playwright browser download), launched once for the session."""
    launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield launched
    launched.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A fresh database file in the test's temporary folder."""
    with Store(tmp_path / "t.duckdb") as opened:
        yield opened


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """Write ``content`` (text or bytes) to ``tmp_path/name`` and return the path."""

    def _write(name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
        return path

    return _write
