"""Backups and restore on real database files, through the CLI as a real process and through kpis.store.backup."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from kpis.core.errors import InputError
from kpis.ingest.importer import import_file, undo
from kpis.metrics.series import series
from kpis.ops.demo import remove_demo_with_backup
from kpis.plan.annotations import add as add_annotation
from kpis.store import backup
from kpis.store.db import SCHEMA_VERSION, Store, migrate
from tests.kpis.test_crash import fingerprints

ROOT = Path(__file__).resolve().parents[2]
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
    return _altered_backup(filled, path, "INSERT INTO schema_version VALUES (99)")


def _altered_backup(filled: Path, path: Path, *statements: str) -> Path:
    """A real backup of ``filled``, then changed by ``statements`` (run by DuckDB directly, as anyone could)."""
    with Store(filled) as store:
        backup.backup(store, path)
    con = duckdb.connect(str(path))
    for statement in statements:
        con.execute(statement)
    con.close()
    return path


def _same_names_other_columns(filled: Path, path: Path) -> Path:
    """Every table of this app by name, schema version 3, but columns of its own."""
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    con.execute("INSERT INTO schema_version VALUES (3)")
    for table in ("imports", "subscription_versions", "customer_versions", "customer_attribute_versions",
                  "metric_point_versions", "target_versions", "fx_rate_versions", "events", "event_claims",
                  "settings", "annotations"):
        con.execute(f"CREATE TABLE {table} (id INTEGER, note VARCHAR)")
    con.close()
    return path


def _version_1(path: Path, *statements: str) -> Path:
    """A database as version 1 of this program wrote it (its first migration), then ``statements``."""
    con = duckdb.connect(str(path))
    migrate(con, 0, 1)
    for statement in statements:
        con.execute(statement)
    con.close()
    return path


_PASSWD_VIEW = ("CREATE OR REPLACE VIEW customer_attributes AS SELECT 'c1' AS customer_id, 'plan' AS \"key\", "
                "column0 AS \"value\", 1 AS import_id FROM read_csv('/etc/passwd', header = false, sep = '|')")


@pytest.mark.parametrize("name, make, message", [
    ("notes.txt", lambda f, p: _bytes(p, b"not a database\n" * 10),
     "error: notes.txt is not a backup of this dashboard (not a DuckDB database file)\n"),
    ("empty.duckdb", lambda f, p: _bytes(p, b""),
     "error: empty.duckdb is not a backup of this dashboard (not a DuckDB database file)\n"),
    ("orders.duckdb", lambda f, p: _other_app_database(p),
     "error: orders.duckdb is a DuckDB database but not a backup of this dashboard (it has no table "
     "schema_version)\n"),
    ("future.duckdb", _newer_backup,
     "error: future.duckdb was written by a newer version of this program (schema 99, this one reads up to "
     f"{SCHEMA_VERSION}): update the program first\n"),
    ("cut.duckdb", lambda f, p: _bytes(p, f.read_bytes()[:8192]),
     "error: cut.duckdb is not a backup of this dashboard: DuckDB cannot open it ("),
    ("third.duckdb", lambda f, p: _bytes(p, f.read_bytes()[:len(f.read_bytes()) // 3]),
     "error: third.duckdb is damaged or incomplete: its table "),
    ("columns.duckdb", _same_names_other_columns,
     "error: columns.duckdb is a DuckDB database but not a backup of this dashboard (schema version 3: table "
     "annotations has a column id where this dashboard has annotation_id)\n"),
    ("retyped.duckdb", lambda f, p: _altered_backup(f, p, "ALTER TABLE events ALTER ts TYPE VARCHAR"),
     "error: retyped.duckdb is a DuckDB database but not a backup of this dashboard (schema version "
     f"{SCHEMA_VERSION}: column "
     "events.ts is VARCHAR, not TIMESTAMP)\n"),
    ("premigrated.duckdb", lambda f, p: _version_1(p, "CREATE TABLE annotations (id INTEGER)"),
     "error: premigrated.duckdb is a DuckDB database but not a backup of this dashboard (schema version 1: it has "
     "a table annotations that this dashboard's schema does not have)\n"),
    ("passwd.duckdb", lambda f, p: _altered_backup(f, p, _PASSWD_VIEW),
     "error: passwd.duckdb is a DuckDB database but not a backup of this dashboard (schema version "
     f"{SCHEMA_VERSION}: its view "
     "customer_attributes is not this dashboard's definition)\n"),
    ("macro.duckdb", lambda f, p: _altered_backup(f, p, "CREATE MACRO plan_of(x) AS x"),
     "error: macro.duckdb is a DuckDB database but not a backup of this dashboard (schema version "
     f"{SCHEMA_VERSION}: it has a "
     "macro plan_of that this dashboard does not define)\n"),
    ("schema.duckdb", lambda f, p: _altered_backup(f, p, "CREATE SCHEMA extra", "CREATE TABLE extra.t (a INTEGER)"),
     "error: schema.duckdb is a DuckDB database but not a backup of this dashboard (schema version "
     f"{SCHEMA_VERSION}: it has a "
     "table extra.t that this dashboard's schema does not have)\n"),
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
    code = f"from kpis.store.db import Store; s = Store({str(filled)!r}); print('open', flush=True); input()"
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
    assert restored.schema_version == SCHEMA_VERSION
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
        assert remove_demo_with_backup(store).backup is None  # nothing left to remove: no second backup
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
    assert "could not be read and is kept unchanged as" in done.summary()
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


def test_a_backup_from_version_1_is_checked_against_its_own_schema_and_brought_up_to_date(filled: Path,
                                                                                            tmp_path: Path) -> None:
    old = _version_1(tmp_path / "v1.duckdb",
                     "INSERT INTO imports (import_id, sha256, filename, source, rows_added, status) "
                     "VALUES (1, 'abc', 'old.csv', 'events_csv', 1, 'ok')",
                     "INSERT INTO events VALUES ('e1', 'u1', 'open', TIMESTAMP '2026-03-02 10:00:00', NULL, 1)")
    done = backup.restore(filled, old)
    assert done.schema_version == 1
    with Store(filled) as store:
        assert store.schema_version() == SCHEMA_VERSION
        assert store.query("SELECT import_id, filename, status, process FROM imports") == [
            (1, "old.csv", "ok", None)]
        assert store.query("SELECT user_id, ts FROM events") == [("u1", datetime(2026, 3, 2, 10, 0))]
        assert add_annotation(store, date(2026, 3, 2), "first note", who="test") == 1


def _wrong_columns(live: Path, good: Path) -> None:
    live.unlink()
    _same_names_other_columns(live, live)


def _premigrated(live: Path, good: Path) -> None:
    live.unlink()
    _version_1(live, "CREATE TABLE annotations (id INTEGER)")


def _first_third(live: Path, good: Path) -> None:
    live.write_bytes(good.read_bytes()[:good.stat().st_size // 3])


@pytest.mark.parametrize("damage", [_wrong_columns, _premigrated, _first_third],
                         ids=["other columns", "a migration's table already there", "first third"])
def test_an_automatic_backup_restores_over_a_damaged_database(filled: Path, damage) -> None:
    with Store(filled) as store:
        saved = undo(store, 2).backup  # an automatic backup, as the Data page's undo makes it
    assert saved is not None
    expected = _state(saved)
    damage(filled, saved)
    damaged = filled.read_bytes()
    assert kpis("imports", db=filled).returncode == 1  # the damaged database is refused, with a message
    assert filled.read_bytes() == damaged, "a refused open changes nothing (no migration is left applied)"

    done = kpis("restore", str(saved), db=filled)
    assert done.returncode == 0, done.stderr
    (kept,) = backup.backup_dir(filled).glob("*.before-restore.unreadable")
    assert done.stdout == (f"restored {filled} from {saved}; the database it replaced could not be read and is "
                           f"kept unchanged as {kept}\n")
    assert kept.read_bytes() == damaged
    assert _state(filled) == expected
    assert kpis("imports", db=filled).returncode == 0


def test_a_restore_drops_the_derived_tables_of_the_backup_and_builds_them_again(filled: Path,
                                                                                  tmp_path: Path) -> None:
    with Store(filled) as store:
        assert list(series(store, "dau", "day")["value"]) == [1.0, 1.0]  # user_days and users built by the import
    forged = _altered_backup(filled, tmp_path / "forged.duckdb",
                             "UPDATE user_days SET active_events = 0",  # as if nobody had been active
                             "CREATE OR REPLACE TABLE users AS SELECT 1 AS anything")
    backup.restore(filled, forged)
    with Store(filled) as store:
        assert store.query("SELECT count(*), sum(active_events) FROM user_days") == [(2, 2)]
        assert store.query("SELECT count(*) FROM users") == [(2,)]
        assert list(series(store, "dau", "day")["value"]) == [1.0, 1.0]


def test_a_backup_is_written_by_duckdb_and_leaves_the_database_locked(filled: Path, tmp_path: Path) -> None:
    with Store(filled) as store:
        made = backup.backup(store, tmp_path / "copy.duckdb")
        other = kpis("imports", db=filled)
        assert other.returncode == 1 and "it is open in another process" in other.stderr
    assert backup.check_database(made) == SCHEMA_VERSION
    assert _state(made) == _state(filled)


def test_a_database_changed_by_hand_is_not_backed_up_as_if_it_were_whole(filled: Path, tmp_path: Path) -> None:
    con = duckdb.connect(str(filled))
    con.execute("CREATE VIEW mine AS SELECT 1 AS one")
    con.close()
    done = kpis("backup", str(tmp_path / "b.duckdb"), db=filled)
    assert (done.returncode, done.stdout, done.stderr) == (
        2, "", f"error: no backup was written: the copy of {filled} failed the check a restore makes (b.duckdb is a "
               "DuckDB database but not a backup of this dashboard (schema version "
               f"{SCHEMA_VERSION}: it has a view mine that this dashboard does not define))\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "e.csv", "s.csv"]  # no backup, no partial file


def test_the_demo_s_declared_activation_event_comes_and_goes_with_it(tmp_path: Path) -> None:
    """The demo's exports may declare an activation event and window beside them: loaded where the database has
    none of its own, unset with the demo while they still hold its values; no other setting can be declared."""
    from kpis.ops.demo import DEMO_DIR, DEMO_FILES, load_demo
    from kpis.store import settings

    folder = tmp_path / "demo"
    folder.mkdir()
    for name in DEMO_FILES:
        (folder / name).symlink_to(DEMO_DIR / name)
    (folder / "settings.json").write_text('{"activation_event": "report_created", "activation_window_days": 14, '
                                          '"timezone": "Asia/Tokyo"}', encoding="utf-8")
    with Store(tmp_path / "demo.duckdb") as store:
        settings.set_activation_window(store, 3)  # the database's own choice
        load_demo(store, folder)
        assert (settings.activation_event(store), settings.activation_window_days(store)) == ("report_created", 3)
        assert settings.timezone(store) == "UTC"
        remove_demo_with_backup(store, folder)
        assert (settings.activation_event(store), settings.activation_window_days(store)) == (None, 3)
