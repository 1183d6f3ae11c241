""".streamlit/config.toml keeps the dashboard's hardening, and Streamlit reads it as written."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

CONFIG = Path(__file__).resolve().parents[1] / ".streamlit" / "config.toml"

EXPECTED = {
    ("server", "enableXsrfProtection"): True,
    ("server", "enableCORS"): True,
    ("server", "enableStaticServing"): False,
    ("server", "maxUploadSize"): 1024,
    ("browser", "gatherUsageStats"): False,
    ("client", "showErrorDetails"): "none",
    ("client", "toolbarMode"): "minimal",
    ("client", "disableDataExport"): True,
    ("runner", "magicEnabled"): False,
}


def test_hardening_settings() -> None:
    settings = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    found = {(section, key): settings.get(section, {}).get(key) for section, key in EXPECTED}
    assert found == EXPECTED


def test_upload_limit_is_documented() -> None:
    """The upload limit is a choice with a reason, written next to it and in docs/security.md."""
    lines = CONFIG.read_text(encoding="utf-8").splitlines()
    at = lines.index("maxUploadSize = 1024")
    assert lines[at - 1].startswith("#"), "a comment says why"
    security = (CONFIG.parents[1] / "docs" / "security.md").read_text(encoding="utf-8")
    assert "maxUploadSize" in security and "1024 MB" in security


def test_streamlit_reads_every_setting_as_written() -> None:
    """``streamlit config show`` (the installed version) prints the values it took from the file: an option
    name it does not know, or a value it does not accept, would not show up set from config.toml."""
    shown = subprocess.run([sys.executable, "-m", "streamlit", "config", "show"], capture_output=True, text=True,
                           timeout=120, cwd=CONFIG.parents[1], check=True).stdout
    lines = [line.strip() for line in shown.splitlines()]
    for (_, key), value in EXPECTED.items():
        literal = {True: "true", False: "false"}.get(value, f'"{value}"' if isinstance(value, str) else str(value))
        assert f"{key} = {literal}" in lines, key
        position = lines.index(f"{key} = {literal}")
        assert "config.toml" in lines[position - 1], f"{key} is not taken from config.toml"


def test_what_visitors_can_make_the_server_hold_is_documented() -> None:
    """The limits' defaults in the docs are the code's, and the proxy configuration hides the metrics route."""
    from app_pages.ui.upload_guard import DEFAULT_SESSION_UPLOAD_MB
    from kpis.metrics.segments import DEFAULT_MAX_SEGMENT_VALUES

    docs = CONFIG.parents[1] / "docs"
    operations = (docs / "operations.md").read_text(encoding="utf-8")
    assert f"| `KPI_SESSION_UPLOAD_MB` | `{DEFAULT_SESSION_UPLOAD_MB}` MB |" in operations
    assert f"| `KPI_MAX_SEGMENT_VALUES` | `{DEFAULT_MAX_SEGMENT_VALUES}` |" in operations
    assert "location = /_stcore/metrics { return 404; }" in operations
    assert "respond /_stcore/metrics 404" in operations
    security = (docs / "security.md").read_text(encoding="utf-8")
    assert "`client.disableDataExport = true`" in security and "`KPI_SESSION_UPLOAD_MB`" in security
