"""One pipeline, decode → detect → stage: a previewed upload is imported from what the preview read (real files, a
real database, the temporary folders on disk counted)."""

from __future__ import annotations

import gzip
import tempfile
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpis.core.errors import InputError
from kpis.ingest.importer import import_file, import_prepared
from kpis.ingest.preview import preview_file
from kpis.store.db import Store

EVENTS = "user_id,event,timestamp\nu1,signup,2026-01-05T10:00:00Z\nu2,login,2026-01-06T11:30:00Z\n"


@pytest.fixture
def tmpdir_of_ours(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temporary folder the pipeline decodes into, empty at the start."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def _workdirs(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("kpis-import-*"))


def _events(store: Store) -> list[tuple[object, ...]]:
    return [tuple(r) for r in store.query("SELECT user_id, event, ts FROM events ORDER BY ts, user_id")]


def test_a_previewed_upload_is_imported_from_the_preview_after_the_upload_is_gone(
        tmp_path: Path, tmpdir_of_ours: Path) -> None:
    """The preview's folder is the only one while the import runs: the file is decoded and detected once."""
    upload = tmp_path / "upload.csv"
    upload.write_text(EVENTS, encoding="utf-8")
    with Store(tmp_path / "t.duckdb") as store:
        seen = preview_file(upload, "events.csv", store=store, keep=True)
        assert (seen.ok, seen.source, seen.rows) == (True, "events_csv", 2)
        upload.unlink()
        (folder,) = _workdirs(tmpdir_of_ours)
        during: list[list[str]] = []
        assert seen.prepared is not None
        result = import_prepared(store, seen.prepared, progress=lambda _: during.append(_workdirs(tmpdir_of_ours)))
        assert during and all(found == [folder] for found in during)
        assert (result.file, result.status, result.source, result.rows_added) == ("events.csv", "ok", "events_csv", 2)
        assert _events(store) == [("u1", "signup", datetime(2026, 1, 5, 10)),
                                  ("u2", "login", datetime(2026, 1, 6, 11, 30))]
        assert store.query("SELECT filename, source, rows_added FROM imports") == [("events.csv", "events_csv", 2)]
        seen.close()
    assert _workdirs(tmpdir_of_ours) == []


def _encoded(text: str, form: str) -> bytes:
    if form == "gzip":
        return gzip.compress(text.encode("utf-8"))
    if form == "utf-8 with BOM":
        return b"\xef\xbb\xbf" + text.encode("utf-8")
    return text.encode(form)


USERS = st.text(alphabet="abcdéü€xyz", min_size=1, max_size=8)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(users=st.lists(USERS, min_size=1, max_size=6),
       form=st.sampled_from(["utf-8", "utf-8 with BOM", "cp1252", "utf-16", "gzip"]))
def test_importing_a_preview_stores_what_importing_the_file_stores(tmp_path: Path, users: list[str],
                                                                   form: str) -> None:
    """Whatever the encoding: the preview, its upload deleted, imports the same rows and counts as the file."""
    text = "user_id,event,timestamp\n" + "".join(f"{u},open,2026-02-{i + 1:02d}T08:00:00Z\n"
                                                 for i, u in enumerate(users))
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    upload = folder / "upload"
    upload.write_bytes(_encoded(text, form))
    with Store(folder / "direct.duckdb") as direct:
        expected = import_file(direct, upload, name="e.csv")
        expected_rows = _events(direct)
    with Store(folder / "previewed.duckdb") as store:
        seen = preview_file(upload, "e.csv", store=store, keep=True)
        upload.unlink()
        assert seen.prepared is not None
        with seen.prepared:
            got = import_prepared(store, seen.prepared)
        assert (got.status, got.rows_read, got.rows_added, got.duplicates) == ("ok", len(users), len(users), 0)
        assert (expected.rows_added, got.notes) == (len(users), expected.notes)
        assert _events(store) == expected_rows
        assert [row[0] for row in expected_rows] == users


def test_a_preview_of_a_file_imported_before_imports_nothing(tmp_path: Path, write) -> None:
    path = write("e.csv", EVENTS)
    with Store(tmp_path / "t.duckdb") as store:
        first = import_file(store, path)
        seen = preview_file(path, store=store)
        assert seen.already_imported == first.import_id
        assert seen.prepared is not None
        again = import_prepared(store, seen.prepared)
        assert (again.status, again.import_id) == ("duplicate", first.import_id)
        assert store.query("SELECT count(*) FROM imports") == [(1,)]


def test_a_closed_preview_is_refused_in_one_line_and_nothing_is_stored(tmp_path: Path, write) -> None:
    path = write("e.csv", EVENTS)
    with Store(tmp_path / "t.duckdb") as store:
        seen = preview_file(path, store=store)
        assert seen.prepared is not None
        seen.close()
        with pytest.raises(InputError) as caught:
            import_prepared(store, seen.prepared)
        assert str(caught.value) == "e.csv: the file's temporary copy is gone; upload it again"
        assert store.query("SELECT count(*) FROM imports") == [(0,)]


def test_a_preview_without_keep_follows_its_upload(tmp_path: Path, write) -> None:
    """Without ``keep`` the text of a plain UTF-8 file is the upload itself: gone with it, and said so."""
    path = write("e.csv", EVENTS)
    with Store(tmp_path / "t.duckdb") as store:
        seen = preview_file(path, store=store)
        path.unlink()
        assert seen.prepared is not None
        with pytest.raises(InputError, match="^e.csv: the file's temporary copy is gone; upload it again$"):
            import_prepared(store, seen.prepared)
        assert store.query("SELECT count(*) FROM events") == [(0,)]


def test_a_preview_of_another_format_is_refused_like_the_file(tmp_path: Path, write) -> None:
    path = write("e.csv", EVENTS)
    with Store(tmp_path / "t.duckdb") as store:
        seen = preview_file(path, store=store)
        assert seen.prepared is not None
        with pytest.raises(InputError) as from_preview:
            import_prepared(store, seen.prepared, expect=("targets_csv",))
        with pytest.raises(InputError) as from_file:
            import_file(store, path, expect=("targets_csv",))
        assert str(from_preview.value) == str(from_file.value) == (
            "e.csv: this is a Events CSV (this dashboard's format), not a Targets CSV file")
        assert store.query("SELECT count(*) FROM imports") == [(0,)]


def test_a_bad_file_gives_no_prepared_file_and_no_folder(tmp_path: Path, tmpdir_of_ours: Path, write) -> None:
    path = write("bad.csv", "a,b\n1,2\n")
    seen = preview_file(path)
    assert seen.prepared is None and not seen.ok
    assert seen.error is not None and seen.error.startswith("bad.csv: this is a table whose header (a, b) matches "
                                                            "no export we know.")
    assert _workdirs(tmpdir_of_ours) == []


def test_a_dropped_preview_removes_its_folder(tmp_path: Path, tmpdir_of_ours: Path, write) -> None:
    """A preview nobody imports (the user removed the upload) leaves nothing behind once it is dropped."""
    seen = preview_file(write("e.csv", EVENTS), keep=True)
    assert len(_workdirs(tmpdir_of_ours)) == 1
    del seen
    assert _workdirs(tmpdir_of_ours) == []
