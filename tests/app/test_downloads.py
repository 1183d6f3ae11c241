"""Tables are downloaded through the one CSV-safety rule: the table toolbar's own "Download as CSV" is turned off
(``client.disableDataExport``, checked in tests/test_config.py) and a table worth downloading has a page
download written by :mod:`kpis.core.csv_safety`."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from kpis.ingest.importer import import_file
from kpis.store.db import Store
from tests.app.conftest import DASHBOARD, TIMEOUT

FORMULA = '=HYPERLINK("http://evil.example","x")'
SPLIT = "x;=1+1"  # a spreadsheet that splits lines on ";" reads "=1+1" as a cell of its own


class KeptFiles(MemoryMediaFileStorage):
    """Streamlit's in-memory media storage, keeping what every AppTest run stored (a download's bytes)."""

    kept: dict[str, bytes] = {}

    def load_and_get_id(self, path_or_data: str | bytes, mimetype: str, kind: object,
                        filename: str | None = None) -> str:
        file_id = super().load_and_get_id(path_or_data, mimetype, kind, filename)  # type: ignore[arg-type]
        KeptFiles.kept[f"{self._media_endpoint}/{file_id}"] = self.get_file(file_id).content
        return file_id


@pytest.fixture
def kept_downloads(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, bytes]]:
    import streamlit.testing.v1.app_test as app_test

    KeptFiles.kept = {}
    monkeypatch.setattr(app_test, "MemoryMediaFileStorage", KeptFiles)
    yield KeptFiles.kept


def download(at: AppTest, label: str, kept: dict[str, bytes]) -> bytes:
    (button,) = [b for b in at.get("download_button") if b.label == label]
    url = button.proto.url
    return kept[url.rsplit(".", 1)[0]]


@pytest.fixture
def hostile_events(db_path: Path, tmp_path: Path) -> Path:
    """Three users in two weeks (Mon 2 to Sun 15 Nov 2026, then one event on Mon 16 Nov): everyone logs in each
    week; the formula event is done by u1 in the first week and by u1 and u2 in the second, the ``;`` event by u3
    in the second only."""
    quoted = FORMULA.replace('"', '""')
    lines = ["user_id,event,timestamp"]
    for day, user in (("02", "u1"), ("03", "u2"), ("04", "u3"), ("09", "u1"), ("10", "u2"), ("11", "u3"),
                      ("16", "u1")):
        lines.append(f"{user},login,2026-11-{day}T10:00:00Z")
    lines += [f'u1,"{quoted}",2026-11-02T11:00:00Z', f'u1,"{quoted}",2026-11-09T11:00:00Z',
              f'u2,"{quoted}",2026-11-10T11:00:00Z', f"u3,{SPLIT},2026-11-11T11:00:00Z"]
    events = tmp_path / "events.csv"
    events.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with Store(db_path) as store:
        assert import_file(store, events, who="test").status == "ok"
    return db_path


def test_feature_adoption_download_quotes_formulas(hostile_events: Path, kept_downloads: dict[str, bytes]) -> None:
    at = AppTest.from_file(str(DASHBOARD), default_timeout=TIMEOUT)
    at.run()
    at.switch_page("app_pages/engagement.py").run()
    assert not at.exception, [e.value for e in at.exception]
    data = download(at, "Download feature adoption (CSV)", kept_downloads)
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    # week of 9 Nov: 3 active users; login 3 (1.0, as the week before), the formula 2 (2/3, 1/3 the week before),
    # the ";" event 1 (1/3, nobody the week before)
    assert rows == [
        ["event", "period_start", "users", "adoption", "change"],
        ["login", "2026-11-09", "3", "1.0", "0.0"],
        ["'" + FORMULA, "2026-11-09", "2", "0.6667", "0.3333"],
        ["x;'=1+1", "2026-11-09", "1", "0.3333", "0.3333"],
    ]
    assert data.count(b"\r\n") == 4, "one CRLF per line"
