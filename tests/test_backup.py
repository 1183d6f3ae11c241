"""Backups and restore on real database files, through the CLI as a real process and through kpis.backup."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest

from kpis import backup
from kpis.annotations import add as add_annotation
from kpis.demo import remove_demo, remove_demo_with_backup
from kpis.errors import InputError
from kpis.importer import import_file, undo
from kpis.store import Store
from tests.test_crash import fingerprints

ROOT = Path(__file__).resolve().parent.parent
EVENTS = "user_id,event,timestamp\n"
SUBS = "subscription_id,customer_id,plan,amount,currency,interval,status,started_at,ended_at\n"


def kpis(*args: str, db: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kpis", "--db", str(db), *args], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}, cwd=ROOT, timeout=300)


@pytest.fixture
def filled(tmp_path: Path, write) -> Path:
    """A closed database: two events, one subscription, one note on a date."""
    db = tmp_path / "data" / "kpis.duckdb"
    with Store(db) as store:
        import_file(store, write("e.csv", EVENTS + "u1,a,2026-01-05T10:00:00Z\nu2,a,2026-01-06T10:00:00Z\n"))
        import_file(store, write("s.csv", SUBS + "s1,c1,Pro,99.00,usd,month,active,2026-01-01,\n"))
        add_annotation(store, date(2026, 1, 5), "launch", who="test")
    return db


def _state(db: Path) -> dict[str, tuple[int, int]]:
    with Store(db) as store:
        return fingerprints(store)


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*"))


def test_backup_change_restore_gives_back_the_database_as_it_was(filled: Path, tmp_path: Path, write) -> None:
    before = _state(filled)
    copy = tmp_path / "saved.duckdb"
    done = kpis("backup", str(copy), db=filled)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"backed up {filled} to {copy} ({copy.stat().st_size:,} bytes)\n"

    with Store(filled) as store:  # change everything a person can change
        import_file(store, write("e2.csv", EVENTS + "u3,b,2026-01-07T10:00:00Z\n"))
        undo(store, 1, backup=False)
        add_annotation(store, date(2026, 1, 6), "price change", who="test")
    changed = _state(filled)
    assert changed != before and changed["events"][0] == 1

    restored = kpis("restore", str(copy), db=filled)
    assert restored.returncode == 0, restored.stderr
    kept = backup.automatic_backups(filled)
    assert len(kept) == 1 and kept[0].name.endswith(".before-restore.duckdb")
    assert restored.stdout == f"restored {filled} from {copy}; the database it replaced is saved as {kept[0]}\n"
    assert _state(filled) == before
    assert _state(kept[0]) == changed  # and the replaced database is not lost
    with Store(filled) as store:  # the restored file carries on where the backup left off: the next note is 2
        assert add_annotation(store, date(2026, 2, 1), "next", who="test") == 2


def _bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _other_app_database(path: Path) -> Path:
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE orders (id INTEGER, total DOUBLE)")
    con.close()
    return path


def _newer_backup(filled: Path, path: Path) -> Path:
    with Store(filled) as store:
        backup.backup(store, path)
    con = duckdb.connect(str(path))
    con.execute("INSERT INTO schema_version VALUES (99)")
    con.close()
    return path


@pytest.mark.parametrize("name, make, message", [
    ("notes.txt", lambda f, p: _bytes(p, b"not a database\n" * 10),
     "error: notes.txt is not a backup of this dashboard (not a DuckDB database file)\n"),
    ("empty.duckdb", lambda f, p: _bytes(p, b""),
     "error: empty.duckdb is not a backup of this dashboard (not a DuckDB database file)\n"),
    ("orders.duckdb", lambda f, p: _other_app_database(p),
     "error: orders.duckdb is a DuckDB database but not a backup of this dashboard (it has no table "
     "schema_version)\n"),
    ("future.duckdb", _newer_backup,
     "error: future.duckdb was written by a newer version of this program (schema 99, this one reads up to 4): "
     "update the program first\n"),
    ("cut.duckdb", lambda f, p: _bytes(p, f.read_bytes()[:8192]),
     "error: cut.duckdb is not a backup of this dashboard: DuckDB cannot open it ("),
])
def test_restore_refuses_what_is_not_a_backup_and_changes_nothing(filled: Path, tmp_path: Path, name, make,
                                                                  message) -> None:
    foreign = make(filled, tmp_path / name)
    before, files = _state(filled), _listing(filled.parent)
    done = kpis("restore", str(foreign), db=filled)
    assert done.returncode == 2
    assert done.stderr.startswith(message) and done.stderr.count("\n") == 1, done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert _listing(filled.parent) == files  # no half-restored file, no backup, no leftovers
    assert _state(filled) == before


def test_restore_refuses_while_another_process_has_the_database_open(filled: Path, tmp_path: Path) -> None:
    copy = tmp_path / "saved.duckdb"
    with Store(filled) as store:
        backup.backup(store, copy)
    code = f"from kpis.store import Store; s = Store({str(filled)!r}); print('open', flush=True); input()"
    with subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as holder:
        try:
            assert holder.stdout is not None and holder.stdout.readline() == "open\n"
            done = kpis("restore", str(copy), db=filled)
        finally:
            holder.communicate("\n", timeout=60)
    assert done.returncode == 2
    assert done.stderr == (f"error: the database {filled} is open in another process (the dashboard?): stop it, "
                           "then restore\n")
    assert not backup.backup_dir(filled).exists()


def test_backup_never_overwrites_and_accepts_a_folder(filled: Path, tmp_path: Path) -> None:
    existing = tmp_path / "old.duckdb"
    existing.write_bytes(b"an older backup")
    refused = kpis("backup", str(existing), db=filled)
    assert (refused.returncode, refused.stderr) == (
        2, f"error: {existing} already exists: choose a new file name (backups are never overwritten)\n")
    assert existing.read_bytes() == b"an older backup"
    folder = tmp_path / "nightly"
    folder.mkdir()
    done = kpis("backup", str(folder), db=filled)
    assert done.returncode == 0, done.stderr
    (made,) = folder.iterdir()
    assert made.name.startswith("kpis-") and made.suffix == ".duckdb"
    assert _state(made) == _state(filled)


def test_undo_makes_a_backup_that_restores_the_state_before_the_undo(filled: Path) -> None:
    before = _state(filled)
    with Store(filled) as store:
        result = undo(store, 2)  # the subscriptions import
        assert store.query("SELECT count(*) FROM subscriptions") == [(0,)]
    assert result.message == "import 2 (s.csv) undone"
    assert result.backup is not None and result.backup.parent == filled.parent / "backups"
    assert result.backup.name.startswith("kpis.") and result.backup.name.endswith(".before-undo-2.duckdb")
    assert result.summary() == f"import 2 (s.csv) undone; the database before the undo is saved as {result.backup}"
    assert _state(filled) != before
    restored = backup.restore(filled, result.backup)
    assert restored.schema_version == 4
    assert _state(filled) == before


def test_a_refused_undo_makes_no_backup(filled: Path) -> None:
    with Store(filled) as store, pytest.raises(Exception, match="no import 9"):
        undo(store, 9)
    assert not backup.backup_dir(filled).exists()


def test_cli_undo_names_its_backup(filled: Path) -> None:
    done = kpis("undo", "1", db=filled)
    assert done.returncode == 0 and done.stdout == "import 1 (e.csv) undone\n"
    (made,) = backup.automatic_backups(filled)
    assert done.stderr == f"note: the database before the undo is saved as {made}\n"
    with Store(made) as saved:
        assert saved.query("SELECT count(*) FROM events") == [(2,)]  # the events the undo removed


def test_removing_the_demo_backs_up_once_and_the_backup_brings_it_back(tmp_path: Path, write) -> None:
    db = tmp_path / "demo.duckdb"
    with Store(db) as store:
        import_file(store, write("e.csv", EVENTS + "u1,a,2026-01-05T10:00:00Z\n"), who="demo")
        import_file(store, write("s.csv", SUBS + "s1,c1,Pro,99.00,usd,month,active,2026-01-01,\n"), who="demo")
        import_file(store, write("mine.csv", EVENTS + "me,a,2026-01-05T11:00:00Z\n"), who="cpo")
        removal = remove_demo_with_backup(store)
        assert removal.messages == ("import 2 (s.csv) undone", "import 1 (e.csv) undone")
        assert removal.summary() == ("the demo company was removed (2 imports undone); the database before the "
                                     f"removal is saved as {removal.backup}")
        assert store.query("SELECT user_id FROM events") == [("me",)]
        assert remove_demo(store) == []  # nothing left to remove: no second backup
    assert backup.automatic_backups(db) == [removal.backup]
    assert removal.backup is not None and removal.backup.name.endswith(".before-remove-demo.duckdb")
    backup.restore(db, removal.backup)
    with Store(db) as store:
        assert store.query("SELECT import_id, status FROM imports ORDER BY 1") == [(1, "ok"), (2, "ok"), (3, "ok")]


def test_cli_demo_remove_names_the_backup(tmp_path: Path, write) -> None:
    db = tmp_path / "demo.duckdb"
    with Store(db) as store:
        import_file(store, write("e.csv", EVENTS + "u1,a,2026-01-05T10:00:00Z\n"), who="demo")
    done = kpis("demo", "--remove", db=db)
    assert done.returncode == 0, done.stderr
    (made,) = backup.automatic_backups(db)
    assert done.stdout == (f"the demo company was removed (1 imports undone); the database before the removal is "
                           f"saved as {made}\nimport 1 (e.csv) undone\n")


def test_only_the_newest_automatic_backups_are_kept(tmp_path: Path, write, monkeypatch) -> None:
    monkeypatch.setenv("KPI_BACKUPS_KEPT", "3")
    db = tmp_path / "k.duckdb"
    manual = tmp_path / "backups" / "by-hand.duckdb"
    with Store(db) as store:
        for day in range(1, 6):
            import_file(store, write(f"d{day}.csv", EVENTS + f"u1,a,2026-01-0{day}T10:00:00Z\n"))
        backup.backup(store, manual)  # in the same folder, but not an automatic backup: never removed
        for import_id in range(1, 6):
            undo(store, import_id)
    names = [p.name.split(".")[-2] for p in backup.automatic_backups(db)]
    assert names == ["before-undo-3", "before-undo-4", "before-undo-5"]
    assert manual.exists()
    listing = kpis("backups", db=db)
    assert listing.stdout.splitlines()[0] == (f"automatic backups in {tmp_path / 'backups'}, newest first (the "
                                              "newest 3 are kept):")
    assert [line.split()[0].split(".")[-2] for line in listing.stdout.splitlines()[1:]] == [
        "before-undo-5", "before-undo-4", "before-undo-3"]


def test_restore_over_an_unreadable_database_keeps_it_byte_for_byte(filled: Path, tmp_path: Path) -> None:
    good = tmp_path / "good.duckdb"
    assert kpis("backup", str(good), db=filled).returncode == 0
    garbage = b"DUCK" + os.urandom(4000)  # not a database any more
    filled.write_bytes(garbage)
    done = backup.restore(filled, good)
    assert done.previous_unreadable and done.previous is not None
    assert done.previous.read_bytes() == garbage, "the replaced file is moved aside unchanged, not deleted"
    assert "could not be opened and is kept unchanged as" in done.summary()
    assert _state(filled) == _state(good)


def test_restore_refuses_over_a_database_from_a_newer_version(filled: Path, tmp_path: Path) -> None:
    good = tmp_path / "good.duckdb"
    assert kpis("backup", str(good), db=filled).returncode == 0
    con = duckdb.connect(str(filled))
    con.execute("INSERT INTO schema_version VALUES (999)")
    con.close()
    data = filled.read_bytes()
    done = kpis("restore", str(good), db=filled)
    assert done.returncode == 2 and "newer version" in done.stderr and "nothing was restored" in done.stderr
    assert "Traceback" not in done.stderr
    assert filled.read_bytes() == data, "the newer database is untouched"


def test_restore_refuses_when_the_current_database_cannot_be_backed_up(filled: Path, tmp_path: Path) -> None:
    good = tmp_path / "good.duckdb"
    assert kpis("backup", str(good), db=filled).returncode == 0
    (filled.parent / "backups").write_text("a file where the backups folder should be")
    before = _state(filled)
    with pytest.raises(InputError, match="could not be backed up before the restore"):
        backup.restore(filled, good)
    assert _state(filled) == before
