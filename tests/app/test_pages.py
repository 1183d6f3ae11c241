"""The dashboard as a user drives it, through Streamlit's AppTest, on a real DuckDB file per test."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from kpis.store.db import Store
from tests.app.conftest import TIMEOUT

DASHBOARD = Path(__file__).resolve().parents[2] / "dashboard.py"
DATA_PAGE = "app_pages/data.py"
GOOD_EVENTS = b"user_id,event,timestamp\nu1,signup,2026-01-05T10:00:00Z\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01"
UNKNOWN_HEADER = b"foo,bar,baz\n1,2,3\n"
HAS_DEMO = importlib.util.find_spec("kpis.ops.demo") is not None
needs_demo = pytest.mark.skipif(not HAS_DEMO, reason="kpis.ops.demo is not there yet")


def unescape(text: str) -> str:
    """A message as the reader sees it (the app backslash-escapes Markdown in messages)."""
    return re.sub(r"\\(.)", r"\1", text)


def texts(elements: object) -> list[str]:
    """The visible text of a list of AppTest elements (st.success, st.error, ...)."""
    return [unescape(e.value) for e in elements]  # type: ignore[attr-defined]


def open_data_page(at: AppTest) -> AppTest:
    at.switch_page(DATA_PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def history(at: AppTest) -> pd.DataFrame:
    """The import history table on the data page (empty when the page says nothing was imported)."""
    frames = [df.value for df in at.dataframe if "filename" in df.value.columns]
    assert len(frames) <= 1, "the data page shows one import history table"
    return frames[0] if frames else pd.DataFrame(columns=["import_id", "filename", "status"])


def upload(at: AppTest, *files: tuple[str, bytes]) -> AppTest:
    """Pick the files, then press "Import N files" when any was recognised (the page previews them first)."""
    at.file_uploader[0].set_value([(name, content, "application/octet-stream") for name, content in files]).run()
    assert not at.exception, [e.value for e in at.exception]
    button = [b for b in at.button if b.label.startswith("Import ")]
    if button:
        button[0].click().run()
        assert not at.exception, [e.value for e in at.exception]
    return at


def stored(db_path: Path) -> dict[str, int]:
    """Rows per canonical table and in the import log, read straight from the database file."""
    from kpis.ops.status import loaded_summary

    with Store(db_path) as store:
        summary = loaded_summary(store)
        counts = {str(t): int(n) for t, n in zip(summary["table"], summary["rows"], strict=True)}
        counts["imports"] = int(store.query("SELECT count(*) FROM imports")[0][0])
    return counts


# -- overview ------------------------------------------------------------------------------------------------------

def test_empty_database_runs_without_exception(app: Callable[[], AppTest]) -> None:
    at = app()
    assert [t.value for t in at.title] == ["Overview"]


@needs_demo
def test_empty_database_loads_the_demo_company_and_says_so(app: Callable[[], AppTest], db_path: Path) -> None:
    at = app()
    banner = [t for t in texts(at.info) if "Showing the demo company" in t]
    assert banner and "remove it on the Data page" in banner[0]
    assert stored(db_path)["imports"] > 0
    assert "MRR" in [m.label for m in at.metric], "something is loaded, so the overview shows its scorecard"


def test_overview_shows_rows_and_data_as_of(app: Callable[[], AppTest], seeded: Path) -> None:
    at = app()
    assert not any("Showing the demo company" in t for t in texts(at.info)), "not on a database with data"
    assert ("Product events to 2 Jan 2026 (no revenue data): showing the week of 22 Dec 2025, the last week "
            "complete.") in [unescape(c.value) for c in at.caption], "a Friday: the week before is the last complete"
    table = at.dataframe[0].value  # "What is loaded"
    assert int(table.loc[table["label"] == "Product events", "rows"].iloc[0]) == 1
    assert "DAU" in [m.label for m in at.metric], "one day of events: the product tiles are there"


# -- data page -----------------------------------------------------------------------------------------------------

def test_data_page_lists_imports(app: Callable[[], AppTest], seeded: Path) -> None:
    at = open_data_page(app())
    assert [t.value for t in at.title] == ["Data"]
    table = history(at)
    assert list(table["filename"]) == ["seed_events.csv"]
    assert list(table["status"]) == ["ok"]


def test_upload_good_csv_shows_summary_and_grows_history(app: Callable[[], AppTest], db_path: Path) -> None:
    at = open_data_page(app())
    before = len(history(at))
    upload(at, ("events.csv", GOOD_EVENTS))
    assert not at.error
    successes = texts(at.success)
    assert len(successes) == 1
    assert successes[0].startswith("events.csv: Events CSV (this dashboard's format), import ")
    assert "1 rows added" in successes[0]
    table = history(at)
    assert len(table) == before + 1
    assert table["filename"].iloc[0] == "events.csv"
    assert len(at.file_uploader) == 1 and not at.file_uploader[0].value, "the uploader is emptied for the next files"


def test_same_file_twice_is_reported_as_already_imported(app: Callable[[], AppTest], seeded: Path) -> None:
    at = open_data_page(app())
    upload(at, ("events.csv", GOOD_EVENTS))
    upload(at, ("events again.csv", GOOD_EVENTS))
    assert any("already imported" in t and "nothing changed" in t for t in texts(at.info))
    assert len(history(at)) == 2


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("chart.png", PNG, "chart.png: this is a PNG image, not a data export"),
        ("mystery.csv", UNKNOWN_HEADER, "mystery.csv: this is a table whose header (foo, bar, baz) matches no export"),
    ],
)
def test_upload_bad_file_shows_our_message_and_stores_nothing(
    app: Callable[[], AppTest], seeded: Path, name: str, content: bytes, expected: str
) -> None:
    before = stored(seeded)
    at = open_data_page(app())
    upload(at, (name, content))
    assert not at.success
    errors = texts(at.error)
    assert len(errors) == 1 and errors[0].startswith(expected), errors
    assert "Traceback" not in errors[0]
    assert len(history(at)) == 1
    assert stored(seeded) == before


def test_many_files_at_once_each_reported(app: Callable[[], AppTest], seeded: Path) -> None:
    at = open_data_page(app())
    upload(at, ("good.csv", GOOD_EVENTS), ("bad.png", PNG))
    assert [t.split(":")[0] for t in texts(at.success)] == ["good.csv"]
    assert [t.split(":")[0] for t in texts(at.error)] == ["bad.png"]
    assert list(history(at)["filename"]) == ["good.csv", "seed_events.csv"]


def test_unexpected_error_is_a_short_message_not_a_traceback(
    app: Callable[[], AppTest], seeded: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app_pages.ui import actions

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("internal detail the user should not see")

    monkeypatch.setattr(actions, "import_file", broken)  # an upload without a preview
    monkeypatch.setattr(actions, "import_prepared", broken)  # an upload imported from its preview
    at = open_data_page(app())
    upload(at, ("events.csv", GOOD_EVENTS))
    assert texts(at.error) == ["events.csv: the import failed unexpectedly (RuntimeError); nothing was stored."]
    assert not at.exception


def test_uploaded_names_and_headers_are_not_rendered_as_markup(app: Callable[[], AppTest], seeded: Path) -> None:
    name = "[click](https://evil.example) <img src=x onerror=alert(1)> :red[x].csv"
    header = b"**bold**,<b>x</b>,$x$\n1,2,3\n"
    at = open_data_page(app())
    upload(at, (name, header))
    (raw,) = (e.value for e in at.error)
    # Every Markdown/HTML character arrives backslash-escaped, so it shows as typed.
    escaped = (r"\[click\]\(https\:", r"\<img src\=x", r"\:red\[x\]", r"\*\*bold\*\*", r"\<b\>", r"\$x\$")
    for fragment in escaped:
        assert fragment in raw
    assert unescape(raw).startswith(name + ": this is a table whose header (**bold**, <b>x</b>, $x$)")


def test_undo_an_import(app: Callable[[], AppTest], seeded: Path) -> None:
    at = open_data_page(app())
    upload(at, ("events.csv", GOOD_EVENTS))
    newest = int(history(at)["import_id"].iloc[0])
    at.selectbox[0].set_value(newest)
    at.button[0].click().run()  # the form's "Undo import"
    assert not at.exception
    (said,) = texts(at.success)
    before = f"import {newest} (events.csv) undone; the database before the undo is saved as "
    assert said.startswith(before)
    backup = Path(said.removeprefix(before))
    assert backup.parent == seeded.parent / "backups" and backup.name.endswith(f".before-undo-{newest}.duckdb")
    assert backup.is_file(), "the automatic backup the message names exists"
    table = history(at).set_index("import_id")
    assert table.loc[newest, "status"].startswith("undone ")
    assert stored(seeded)["events"] == 1
    assert [o.split(":")[0] for o in at.selectbox[0].options] == ["1"], "only live imports can be undone"


@needs_demo
def test_remove_the_demo_company_and_it_stays_removed(app: Callable[[], AppTest], db_path: Path) -> None:
    at = open_data_page(app())
    assert any("Showing the demo company" in t for t in texts(at.info))
    remove = next(b for b in at.button if b.label == "Remove the demo company")
    remove.click().run()
    next(b for b in at.button if b.label == "Yes, remove the demo company").click().run()
    assert not at.exception
    (said,) = texts(at.success)
    assert said.startswith("The demo company was removed (5 imports undone); the database before the removal is "
                           f"saved as {db_path.parent / 'backups'}/")
    assert Path(said.split(" saved as ")[1]).is_file()
    assert not any("Showing the demo company" in t for t in texts(at.info))
    assert not any(b.label == "Remove the demo company" for b in at.button)

    # A new server process on the same, now empty, database does not bring the demo back.
    import streamlit as st

    st.cache_resource.clear()
    st.cache_data.clear()
    again = app()
    assert not any("Showing the demo company" in t for t in texts(again.info))
    assert any("Nothing is loaded yet" in t for t in texts(again.info))


@needs_demo
def test_real_data_next_to_the_demo_gets_a_warning(app: Callable[[], AppTest]) -> None:
    at = open_data_page(app())
    upload(at, ("events.csv", GOOD_EVENTS))
    assert any("next to the demo company" in t for t in texts(at.warning))


def test_unopenable_database_is_a_message_not_a_crash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "not-a-database"
    folder.mkdir()
    monkeypatch.setenv("KPI_DB", str(folder))  # a directory: DuckDB cannot open it
    at = AppTest.from_file(str(DASHBOARD), default_timeout=TIMEOUT).run()
    assert not at.exception
    (error,) = texts(at.error)
    assert error.startswith(f"cannot open the database {folder}")
    assert not at.title, "no page runs without a database"


def test_back_up_now_writes_a_backup_that_holds_the_data(app: Callable[[], AppTest], seeded: Path) -> None:
    import duckdb

    at = open_data_page(app())
    next(b for b in at.button if b.label == "Back up now").click().run()
    assert not at.exception
    (said,) = texts(at.success)
    match = re.fullmatch(r"The database is backed up as (.+\.duckdb) \(([\d.,]+) MB\)\.", said)
    assert match, said
    made = Path(match.group(1))
    assert made.parent == seeded.parent / "backups" and made.is_file()
    con = duckdb.connect(str(made), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM events").fetchall() == [(1,)], "the seeded event is in the copy"
    finally:
        con.close()
