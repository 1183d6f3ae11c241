"""The data page's two-step upload: each file is previewed (recognised as, rows, first lines) and nothing is
stored until "Import N files" is pressed; then progress per file. Plus :mod:`kpis.ingest.preview` on tiny files."""

from __future__ import annotations

import gzip
import json
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from kpis.ingest import preview as preview_module
from kpis.ingest.preview import preview_file
from kpis.store.db import Store
from tests.app.test_pages import PNG, history, open_data_page, stored, texts, unescape

#: Seven events, one of them with values that look like formulas and markup: they must show as typed.
EVENTS = (b"user_id,event,timestamp\n"
          b"u1,signup,2026-01-05T10:00:00Z\n"
          b"u2,=HYPERLINK(\"x\"),2026-01-05T11:00:00Z\n"
          b"u3,<b>bold</b>,2026-01-05T12:00:00Z\n"
          b"u4,login,2026-01-06T10:00:00Z\n"
          b"u5,login,2026-01-06T11:00:00Z\n"
          b"u6,login,2026-01-06T12:00:00Z\n"
          b"u7,login,2026-01-07T10:00:00Z\n")
MORE = b"user_id,event,timestamp\nu9,signup,2026-01-08T10:00:00Z\n"


def pick(at: AppTest, *files: tuple[str, bytes]) -> AppTest:
    """Choose files in the uploader without pressing Import."""
    at.file_uploader[0].set_value([(name, content, "application/octet-stream") for name, content in files]).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def import_buttons(at: AppTest) -> list[str]:
    return [b.label for b in at.button if b.label.startswith("Import ")]


def markdown(at: AppTest) -> list[str]:
    return [unescape(m.value) for m in at.markdown]


def samples(at: AppTest) -> list[pd.DataFrame]:
    """The preview tables (not the import history, with its ``filename`` column, nor the events per source)."""
    return [d.value for d in at.dataframe if not {"filename", "Source"} & set(d.value.columns)]


# -- the page ------------------------------------------------------------------------------------------------------

def test_a_picked_file_is_previewed_and_nothing_is_stored(app: Callable[[], AppTest], seeded: Path) -> None:
    before = stored(seeded)
    at = pick(open_data_page(app()), ("signups.csv", EVENTS))
    line = next(m for m in markdown(at) if "signups.csv" in m)
    assert "recognised as **Events CSV (this dashboard's format)**" in line
    assert "7 rows" in line and "bytes" in line
    (sample,) = samples(at)
    assert list(sample.columns) == ["user_id", "event", "timestamp"]
    # the header and the first five lines, every value as written (text, not a formula, not markup)
    assert list(sample["user_id"]) == ["u1", "u2", "u3", "u4", "u5"]
    assert list(sample["event"])[1:3] == ['=HYPERLINK("x")', "<b>bold</b>"]
    assert import_buttons(at) == ["Import 1 file"]
    assert not at.success and not at.error
    assert stored(seeded) == before, "nothing is stored before the button is pressed"
    assert list(history(at)["filename"]) == ["seed_events.csv"]


def test_import_button_imports_the_recognised_files_and_skips_the_rest(
    app: Callable[[], AppTest], seeded: Path
) -> None:
    at = pick(open_data_page(app()), ("signups.csv", EVENTS), ("photo.png", PNG), ("more.csv", MORE))
    assert texts(at.error) == ["photo.png: this is a PNG image, not a data export"]
    assert import_buttons(at) == ["Import 2 files"]
    assert any("1 file is not recognised and will be skipped" in unescape(c.value) for c in at.caption)
    assert len(samples(at)) == 2
    next(b for b in at.button if b.label == "Import 2 files").click().run()
    assert not at.exception
    assert [t.split(":")[0] for t in texts(at.success)] == ["signups.csv", "more.csv"]
    assert "7 rows added" in texts(at.success)[0]
    assert [t.split(":")[0] for t in texts(at.error)] == ["photo.png"]
    assert list(history(at)["filename"]) == ["more.csv", "signups.csv", "seed_events.csv"]
    assert not at.file_uploader[0].value and not import_buttons(at), "a fresh uploader, no previews left"


def test_no_button_when_no_file_is_recognised(app: Callable[[], AppTest], seeded: Path) -> None:
    at = pick(open_data_page(app()), ("photo.png", PNG))
    assert not import_buttons(at)
    assert any(c.value.startswith("Nothing to import") for c in at.caption)


def test_a_file_already_imported_says_so_before_import(app: Callable[[], AppTest], seeded: Path) -> None:
    content = b"user_id,event,timestamp\nu0,signup,2026-01-02T09:00:00Z\n"  # the seed's bytes
    at = pick(open_data_page(app()), ("again.csv", content))
    assert any("already imported as import 1" in unescape(c.value) for c in at.caption)


def test_progress_while_importing(app: Callable[[], AppTest], seeded: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The status box with a progress bar naming each file; seen by stopping the page's rerun after the import."""
    at = pick(open_data_page(app()), ("signups.csv", EVENTS), ("photo.png", PNG))
    monkeypatch.setattr(st, "rerun", lambda *args, **kwargs: None)
    next(b for b in at.button if b.label == "Import 1 file").click().run()
    assert not at.exception
    (box,) = at.status
    assert box.label == "Import finished with errors" and box.state == "error", "the skipped PNG counts"
    bars = at.get("progress")
    assert len(bars) == 1 and bars[0].proto.text == "1 of 1 done" and bars[0].proto.value == 100
    assert any("signups.csv" in unescape(m.value) and "bytes" in m.value for m in box.markdown)


def test_large_files_are_named_with_their_size_while_importing(
    app: Callable[[], AppTest], seeded: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamlit.delta_generator import DeltaGenerator

    from app_pages import upload

    shown: list[str] = []
    real = DeltaGenerator.progress

    def spy(self: DeltaGenerator, value: float, text: str | None = None, **kwargs: object) -> DeltaGenerator:
        shown.append(unescape(text or ""))
        return real(self, value, text=text, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(upload, "LARGE_BYTES", 100)
    monkeypatch.setattr(DeltaGenerator, "progress", spy)
    at = pick(open_data_page(app()), ("signups.csv", EVENTS))
    next(b for b in at.button if b.label == "Import 1 file").click().run()
    assert not at.exception
    size = upload.file_size(len(EVENTS))
    assert f"File 1 of 1: signups.csv ({size}) — a large file, this can take a minute" in shown
    assert texts(at.success)[0].startswith("signups.csv: Events CSV (this dashboard's format), import 2")


# -- kpis.ingest.preview -----------------------------------------------------------------------------------------------

def test_preview_of_a_csv_counts_every_record(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_bytes(EVENTS + b"\n# a comment\n\n")
    seen = preview_file(path)
    assert (seen.source, seen.label, seen.rows, seen.rows_exact) == (
        "events_csv", "Events CSV (this dashboard's format)", 7, True)
    assert seen.sample.shape == (5, 3)
    assert seen.size == len(EVENTS) + 14
    assert seen.error is None and seen.already_imported is None


def test_preview_of_gzip_json_lines(tmp_path: Path) -> None:
    records = [{"event": "Sign up", "properties": {"time": 1767600000, "distinct_id": f"u{i}",
                                                   "$insert_id": f"i{i}"}} for i in range(8)]
    path = tmp_path / "mixpanel.json.gz"
    path.write_bytes(gzip.compress("".join(json.dumps(r) + "\n" for r in records).encode()))
    seen = preview_file(path)
    assert seen.error is None, seen.error
    assert (seen.source, seen.rows, seen.read_as) == ("mixpanel_events", 8, "gzip, utf-8")
    assert list(seen.sample.columns) == ["event", "properties"]
    assert json.loads(seen.sample["properties"].iloc[2]) == records[2]["properties"]


def test_preview_names_blank_and_repeated_columns(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text("user_id,event,timestamp,,note,note\nu1,a,2026-01-05,x,y,z,extra\n", encoding="utf-8")
    seen = preview_file(path)
    assert list(seen.sample.columns) == ["user_id", "event", "timestamp", "column 4", "note", "note (2)",
                                         "column 7"]


def test_preview_of_a_large_file_estimates_from_line_breaks(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(preview_module, "EXACT_COUNT_BYTES", 10)
    path = tmp_path / "e.csv"
    path.write_bytes(EVENTS)
    seen = preview_file(path)
    assert (seen.rows, seen.rows_exact) == (7, False)


def test_preview_of_a_bad_file_is_the_importers_message(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("foo,bar\n1,2\n", encoding="utf-8")
    seen = preview_file(path, "mystery.csv")
    assert not seen.ok and seen.error.startswith("mystery.csv: this is a table whose header (foo, bar)")
    assert seen.source is None and seen.sample.empty


def test_preview_knows_a_file_already_imported(tmp_path: Path) -> None:
    from kpis.ingest.importer import import_file

    path = tmp_path / "e.csv"
    path.write_bytes(EVENTS)
    with Store(tmp_path / "k.duckdb") as store:
        assert preview_file(path, store=store).already_imported is None
        result = import_file(store, path, who="test")
        assert preview_file(path, store=store).already_imported == result.import_id


def test_the_history_says_how_a_file_was_read(app: Callable[[], AppTest], seeded: Path) -> None:
    # "Müller" in cp1252: ü is the single byte 0xFC, which is not UTF-8
    at = pick(open_data_page(app()), ("customers.csv", "customer_id,name\nc1,Müller\n".encode("cp1252")))
    next(b for b in at.button if b.label == "Import 1 file").click().run()
    assert not at.exception
    shown = history(at)
    assert list(shown["filename"]) == ["customers.csv", "seed_events.csv"]
    assert list(shown["notes"].fillna("")) == ["read as cp1252", ""]


def test_an_upload_is_imported_from_its_preview_without_a_second_copy(
    app: Callable[[], AppTest], seeded: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The preview copies and reads the upload once; the import makes no temporary file at all (the temporary
    folder is gone when Import is pressed), and the preview's copy goes with the upload."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    at = pick(open_data_page(app()), ("signups.csv", EVENTS))
    assert [p.name.split("-")[:2] for p in folder.iterdir()] == [["kpis", "import"]]
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "no such folder"))
    next(b for b in at.button if b.label == "Import 1 file").click().run()
    assert not at.exception
    assert texts(at.success)[0].startswith("signups.csv: Events CSV (this dashboard's format), import 2: 7 rows added")
    assert list(history(at)["filename"]) == ["signups.csv", "seed_events.csv"]
    assert list(folder.iterdir()) == []
