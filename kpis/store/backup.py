"""Backups of the database: a consistent copy on demand, one made automatically before every action that
removes data, and a restore that either puts a checked backup in place or changes nothing.

A backup is a plain DuckDB file of this app, written by DuckDB itself (:meth:`Store.copy_to`: the new file is
attached and the database copied into it from one snapshot) under the store's write lock. The process never opens
the live file a second time: closing such a descriptor would drop its lock on the file, and another process could
then write to the database under the dashboard. Readers carry on meanwhile; writes of this process wait until the
copy is done. The copy is then checked exactly as a restore checks a file (:func:`check_database`) before it gets
its final name, so a backup file that exists is complete and restorable. See ``docs/operations.md``.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from kpis.core.errors import InputError
from kpis.store import catalog, derived
from kpis.store.db import SCHEMA_VERSION, DatabaseInUse, NewerDatabase, Store, connection_config
from kpis.store.db import first_line as _first_line
from kpis.store.durable import fsync_file, sync_dir
from kpis.store.settings import env_number

#: The folder, next to the database file, that holds the automatic backups.
BACKUPS_DIR = "backups"
#: How many automatic backups of one database are kept (the oldest go first), unless ``KPI_BACKUPS_KEPT`` says
#: otherwise. Backups written with ``python -m kpis backup PATH`` are never removed.
DEFAULT_KEPT = 10

_DUCKDB_MAGIC = b"DUCK"  # bytes 8-11 of every DuckDB database file
#: How a file is opened to be checked: read-only (a WAL beside it is replayed in memory, the file is not written),
#: with no access to other files and no extensions, whatever the file holds.
_CHECK_CONFIG: dict[str, str | bool] = {
    "enable_external_access": False, "autoload_known_extensions": False, "autoinstall_known_extensions": False,
}


def backups_kept() -> int:
    """How many automatic backups to keep (``KPI_BACKUPS_KEPT``, default 10, at least 1).

    >>> backups_kept() == DEFAULT_KEPT or "KPI_BACKUPS_KEPT" in os.environ
    True
    """
    return int(env_number("KPI_BACKUPS_KEPT", DEFAULT_KEPT, "a number of backups such as 10", whole=True))


def backup_dir(database: Path) -> Path:
    """Where the automatic backups of ``database`` go: ``backups/`` next to it.

    >>> backup_dir(Path("data/kpis.duckdb")).as_posix()
    'data/backups'
    """
    return database.parent / BACKUPS_DIR


def automatic_backups(database: Path) -> list[Path]:
    """The automatic backups of ``database``, oldest first."""
    return sorted(backup_dir(database).glob(f"{database.stem}.*.before-*.duckdb"))


def backup(store: Store, dest: str | os.PathLike[str]) -> Path:
    """Write a consistent copy of the open database to ``dest`` (a new file, or a folder to create it in).

    Refuses to overwrite a file: an old backup is exactly what someone may need. Returns the file written.
    """
    if str(store.path) == ":memory:":
        raise InputError("an in-memory database has no file to back up")
    target = Path(dest)
    if target.is_dir():
        target = target / f"{store.path.stem}-{_stamp()}.duckdb"
    if target.exists():
        raise InputError(f"{target} already exists: choose a new file name (backups are never overwritten)")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.partial")
    try:
        store.copy_to(partial)
        try:
            check_database(partial, target.name)
        except InputError as exc:  # the database itself is not as this program made it
            raise InputError(f"no backup was written: the copy of {store.path} failed the check a restore makes "
                             f"({exc})") from None
        fsync_file(partial)
        os.replace(partial, target)
        sync_dir(target.parent)
    finally:
        partial.unlink(missing_ok=True)
        _wal(partial).unlink(missing_ok=True)
    return target


def auto_backup(store: Store, reason: str) -> Path | None:
    """Back the database up into :func:`backup_dir` before a destructive action named by ``reason``.

    Keeps the newest :func:`backups_kept` automatic backups. None for an in-memory database (nothing to keep).
    """
    if str(store.path) == ":memory:":
        return None
    folder = backup_dir(store.path)
    stem = f"{store.path.stem}.{_stamp()}.before-{reason}"
    target, n = folder / f"{stem}.duckdb", 1
    while target.exists():
        n += 1
        target = folder / f"{stem}-{n}.duckdb"
    made = backup(store, target)
    keep = backups_kept()
    for old in automatic_backups(store.path)[:-keep]:
        old.unlink(missing_ok=True)
    return made


@dataclass(frozen=True)
class Restored:
    """What a restore did: the file it restored and where the database it replaced is kept (a backup, or the
    unreadable file moved aside as it was)."""

    database: Path
    source: Path
    schema_version: int
    previous: Path | None
    previous_unreadable: bool = False

    def summary(self) -> str:
        """One line for the CLI."""
        text = f"restored {self.database} from {self.source}"
        if self.previous is not None and self.previous_unreadable:
            text += f"; the database it replaced could not be read and is kept unchanged as {self.previous}"
        elif self.previous is not None:
            text += f"; the database it replaced is saved as {self.previous}"
        return text


def restore(database: str | os.PathLike[str], source: str | os.PathLike[str]) -> Restored:
    """Replace ``database`` with the backup ``source``, or change nothing.

    The backup is copied next to the database and checked there in full (:func:`check_database`); a backup from an
    older version is then brought up to this version's schema. Only then is the database replaced, in one rename,
    after it was backed up like before an undo (or, when it cannot be read, moved aside as it is). The database
    stays locked from before its backup until the rename, so no other process can write to it in between; no
    other process may have it open (stop the dashboard first).
    """
    db, src = Path(database), Path(source)
    connection_config()  # a bad KPI_MEMORY_LIMIT stops here, not while the database is being replaced
    if not src.is_file():
        raise InputError(f"{src}: no such file")
    if db.exists() and os.path.samefile(src, db):
        raise InputError(f"{src} is the database itself, not a backup of it")
    _check_header(src)
    db.parent.mkdir(parents=True, exist_ok=True)
    staged = db.with_name(f".{db.name}.{uuid.uuid4().hex[:8]}.restoring")
    try:
        _copy(src, staged)
        if _wal(src).exists():
            _copy(_wal(src), _wal(staged))
        version = check_database(staged, src.name)
        with _upgraded(staged, src.name):  # locks the restored file until the end of the block
            current, previous, unreadable = _keep_current(db)
            try:
                if current is None:
                    _wal(db).unlink(missing_ok=True)  # a WAL without its database must not be replayed onto the backup
                else:
                    current.checkpoint()  # the replaced file leaves no WAL behind it
                os.replace(staged, db)
                sync_dir(db.parent)
            finally:
                if current is not None:
                    current.close()
    finally:
        staged.unlink(missing_ok=True)
        _wal(staged).unlink(missing_ok=True)
    return Restored(db, src, version, previous, unreadable)


def check_database(path: Path, name: str | None = None) -> int:
    """The schema version of the database file ``path``; :class:`InputError` when it is not a complete database of
    this app.

    The file is opened read-only with no access to other files, and must have exactly the tables, columns,
    constraints, views and sequences this program's migrations create for its schema version, and nothing else
    (no view, macro, type or index of its own; the derived engagement tables may be there, a restore drops them).
    Every table is then read in full, so that a truncated or damaged file is refused here, not after a restore.
    """
    label = name or path.name
    _check_header(path, label)
    try:
        con = duckdb.connect(str(path), read_only=True, config={**connection_config(), **_CHECK_CONFIG})
    except duckdb.Error as exc:
        raise InputError(f"{label} is not a backup of this dashboard: DuckDB cannot open it "
                         f"({_named(exc, path, label)})") from None
    try:
        found = catalog.read(con)
        version = _schema_version(con, found, label)
        problem = catalog.difference(found, catalog.expected(version), derived=derived.DERIVED_TABLES)
        if problem:
            raise InputError(f"{label} is a DuckDB database but not a backup of this dashboard (schema version "
                             f"{version}: {problem})")
        for table in found.tables:
            _read_all(con, table, path, label)
    except duckdb.Error as exc:
        raise InputError(f"{label} cannot be read as a backup: {_named(exc, path, label)}") from None
    finally:
        con.close()
    return version


def _schema_version(con: duckdb.DuckDBPyConnection, found: catalog.Catalog, label: str) -> int:
    """The version recorded in a file's ``schema_version`` table, once that table is known to be this app's."""
    if "schema_version" not in found.tables:
        raise InputError(f"{label} is a DuckDB database but not a backup of this dashboard (it has no table "
                         "schema_version)")
    if found.tables["schema_version"] != catalog.expected(1).tables["schema_version"]:
        raise InputError(f"{label} is a DuckDB database but not a backup of this dashboard (its table "
                         "schema_version is not this dashboard's)")
    version = con.execute("SELECT max(version) FROM schema_version").fetchall()[0][0]
    if version is None or version < 1:
        raise InputError(f"{label} is not a backup of this dashboard (its schema version is missing)")
    if version > SCHEMA_VERSION:
        raise InputError(f"{label} was written by a newer version of this program (schema {version}, this one "
                         f"reads up to {SCHEMA_VERSION}): update the program first")
    return int(version)


def _read_all(con: duckdb.DuckDBPyConnection, table: str, path: Path, label: str) -> None:
    """Read every row and column of ``table`` (a name from the checked catalog): a missing block fails here."""
    try:
        con.execute(f'SELECT count(*), sum(hash(t)) FROM "{table}" t').fetchall()
    except duckdb.Error as exc:
        raise InputError(f"{label} is damaged or incomplete: its table {table} cannot be read "
                         f"({_named(exc, path, label)})") from None


@contextmanager
def _upgraded(staged: Path, label: str) -> Iterator[Store]:
    """Open the checked copy ``staged`` as the app does (which brings an older schema up to this version), build
    its derived tables afresh and write it all into the file; the open store keeps the file locked until the block
    ends."""
    try:
        ready = Store(staged)
    except OSError as exc:
        raise InputError(f"{label} could not be brought up to this version ({_first_line(exc)}); nothing was "
                         "restored") from None
    try:
        with ready.transaction() as cur:
            derived.rebuild(cur)
        ready.checkpoint()
        yield ready
    finally:
        ready.close()


def _keep_current(db: Path) -> tuple[Store | None, Path | None, bool]:
    """Keep the database about to be replaced: ``(the store holding it open, its backup, False)``; when it cannot
    be read, the file (and its WAL) moved aside as it is, ``(None, that file, True)``; ``(None, None, False)`` when
    there is none. Raises (and nothing is restored) when it is in use, from a newer version of this program, or
    cannot be kept: a restore never loses the database it replaces."""
    if not db.exists():
        return None, None, False
    try:
        current = Store(db)
    except DatabaseInUse:
        raise InputError(f"the database {db} is open in another process (the dashboard?): stop it, then "
                         "restore") from None
    except NewerDatabase:
        raise InputError(f"the database {db} was written by a newer version of this program: update the "
                         "program first; nothing was restored") from None
    except OSError:
        return None, _move_aside(db), True
    try:
        return current, auto_backup(current, "restore"), False
    except OSError as exc:  # the backup cannot be written
        current.close()
        raise InputError(f"the database {db} could not be backed up before the restore ({_first_line(exc)}); "
                         "nothing was restored") from None
    except (InputError, duckdb.Error):  # the database cannot be read in full: keep the file as it is
        current.close()
        return None, _move_aside(db), True


def _move_aside(db: Path) -> Path:
    """Move an unreadable database file and its WAL into the backups folder, byte for byte."""
    folder = backup_dir(db)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        kept = folder / f"{db.stem}.{_stamp()}.before-restore.unreadable"
        os.replace(db, kept)
        if _wal(db).exists():
            os.replace(_wal(db), _wal(kept))
    except OSError as exc:
        raise InputError(f"the database {db} cannot be read and could not be moved aside before the restore "
                         f"({_first_line(exc)}); nothing was restored") from None
    sync_dir(folder)
    return kept


# -- helpers -------------------------------------------------------------------------------------------------------

def _check_header(path: Path, label: str | None = None) -> None:
    with open(path, "rb") as handle:
        head = handle.read(12)
    if head[8:12] != _DUCKDB_MAGIC:
        raise InputError(f"{label or path.name} is not a backup of this dashboard (not a DuckDB database file)")


def _copy(src: Path, dst: Path) -> None:
    """Copy a file (never the open database: see the module's docstring) and flush it to disk."""
    shutil.copyfile(src, dst)
    fsync_file(dst)


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-%f")


def _named(exc: BaseException, path: Path, label: str) -> str:
    """DuckDB's message about the checked copy ``path``, naming the file the person gave instead."""
    return _first_line(exc).replace(str(path), label)
