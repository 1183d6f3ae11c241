"""Backups of the database: a consistent copy on demand, one made automatically before every action that
removes data, and a restore that either puts a checked backup in place or changes nothing.

A backup is a plain DuckDB file of this app. It is taken under the store's write lock: a CHECKPOINT writes
everything committed into the database file, which is then copied (with its WAL, when a reader's snapshot keeps
DuckDB from checkpointing just then). Readers carry on meanwhile (they never write the file); writes of this
process wait until the copy is done; no other process can have the file open for writing (DuckDB locks it). The
copy is opened (which merges a copied WAL into it) and checked before it gets its final name, so a backup file
that exists is a complete one. See ``docs/operations.md``.
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from kpis.errors import InputError
from kpis.store import SCHEMA_VERSION, TABLES, Store, connection_config

#: The folder, next to the database file, that holds the automatic backups.
BACKUPS_DIR = "backups"
#: How many automatic backups of one database are kept (the oldest go first), unless ``KPI_BACKUPS_KEPT`` says
#: otherwise. Backups written with ``python -m kpis backup PATH`` are never removed.
DEFAULT_KEPT = 10

_DUCKDB_MAGIC = b"DUCK"  # bytes 8-11 of every DuckDB database file


def backups_kept() -> int:
    """How many automatic backups to keep (``KPI_BACKUPS_KEPT``, default 10, at least 1).

    >>> backups_kept() == DEFAULT_KEPT or "KPI_BACKUPS_KEPT" in os.environ
    True
    """
    raw = os.environ.get("KPI_BACKUPS_KEPT", "").strip()
    if not raw:
        return DEFAULT_KEPT
    if not raw.isdigit() or int(raw) < 1:
        raise InputError(f"KPI_BACKUPS_KEPT: expected a number of backups such as 10, got {raw!r}")
    return int(raw)


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
        with store.exclusive():
            store.checkpoint()
            _copy(store.path, partial)
            if _wal(store.path).exists():  # no checkpoint now: the file and its WAL together, still consistent
                _copy(_wal(store.path), _wal(partial))
        check_database(partial, target.name)  # replays a copied WAL into the file, and checks the tables
        os.replace(partial, target)
        _sync_dir(target.parent)
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
            text += f"; the database it replaced could not be opened and is kept unchanged as {self.previous}"
        elif self.previous is not None:
            text += f"; the database it replaced is saved as {self.previous}"
        return text


def restore(database: str | os.PathLike[str], source: str | os.PathLike[str]) -> Restored:
    """Replace ``database`` with the backup ``source``, or change nothing.

    The backup is copied next to the database and checked there (a DuckDB file with this app's tables, from this
    or an older version); only then does it replace the database, in one rename. The database it replaces is
    first backed up like before an undo. No process may have ``database`` open (stop the dashboard first).
    """
    db, src = Path(database), Path(source)
    if not src.is_file():
        raise InputError(f"{src}: no such file")
    if db.exists() and src.resolve() == db.resolve():
        raise InputError(f"{src} is the database itself, not a backup of it")
    _check_header(src)
    db.parent.mkdir(parents=True, exist_ok=True)
    staged = db.with_name(f".{db.name}.{uuid.uuid4().hex[:8]}.restoring")
    try:
        _copy(src, staged)
        if _wal(src).exists():
            _copy(_wal(src), _wal(staged))
        version = check_database(staged, src.name)
        previous, unreadable = _save_current(db)
        _wal(db).unlink(missing_ok=True)  # a WAL left by a damaged database must not be replayed onto the backup
        os.replace(staged, db)
        _sync_dir(db.parent)
    finally:
        staged.unlink(missing_ok=True)
        _wal(staged).unlink(missing_ok=True)
    with Store(db):  # brings a backup from an older version up to this program's schema
        pass
    return Restored(db, src, version, previous, unreadable)


def check_database(path: Path, name: str | None = None) -> int:
    """The schema version of the database file ``path``; :class:`InputError` when it is not one of this app's.

    Opens the file for writing (so a WAL next to it is merged into it): call it on a copy.
    """
    label = name or path.name
    _check_header(path, label)
    try:
        con = duckdb.connect(str(path), config=connection_config())
    except duckdb.Error as exc:
        raise InputError(f"{label} is not a backup of this dashboard: DuckDB cannot open it "
                         f"({_first_line(exc)})") from None
    try:
        tables = {row[0] for row in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = 'main'").fetchall()}
        missing = [table for table in TABLES if table not in tables]
        if missing:
            raise InputError(f"{label} is a DuckDB database but not a backup of this dashboard "
                             f"(it has no table {missing[0]})")
        version = con.execute("SELECT max(version) FROM schema_version").fetchall()[0][0]
    except duckdb.Error as exc:
        raise InputError(f"{label} cannot be read as a backup: {_first_line(exc)}") from None
    finally:
        con.close()
    if version is None:
        raise InputError(f"{label} is not a backup of this dashboard (its schema version is missing)")
    if int(version) > SCHEMA_VERSION:
        raise InputError(f"{label} was written by a newer version of this program (schema {version}, this one "
                         f"reads up to {SCHEMA_VERSION}): update the program first")
    return int(version)


# -- helpers -------------------------------------------------------------------------------------------------------

def _save_current(db: Path) -> tuple[Path | None, bool]:
    """Keep the database about to be replaced: ``(its backup, False)``; when it cannot be opened, the raw file
    (and its WAL) moved aside unchanged, ``(that file, True)``. Raises (and nothing is restored) when it is
    in use, from a newer version of this program, or cannot be kept: a restore never loses the database it
    replaces."""
    if not db.exists():
        return None, False
    try:
        current = Store(db)
    except OSError as exc:
        text = str(exc)
        if "lock" in text.lower():
            raise InputError(f"the database {db} is open in another process (the dashboard?): stop it, then "
                             "restore") from None
        if "newer than this program" in text:
            raise InputError(f"the database {db} was written by a newer version of this program: update the "
                             "program first; nothing was restored") from None
        return _move_aside(db), True
    try:
        with current:
            return auto_backup(current, "restore"), False
    except (OSError, duckdb.Error) as exc:
        raise InputError(f"the database {db} could not be backed up before the restore ({_first_line(exc)}); "
                         "nothing was restored") from None


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
        raise InputError(f"the database {db} cannot be opened and could not be moved aside before the restore "
                         f"({_first_line(exc)}); nothing was restored") from None
    _sync_dir(folder)
    return kept


def _check_header(path: Path, label: str | None = None) -> None:
    with open(path, "rb") as handle:
        head = handle.read(12)
    if head[8:12] != _DUCKDB_MAGIC:
        raise InputError(f"{label or path.name} is not a backup of this dashboard (not a DuckDB database file)")


def _copy(src: Path, dst: Path) -> None:
    """Copy a file and flush it to disk, so that a rename after it never exposes a half-written file."""
    shutil.copyfile(src, dst)
    with open(dst, "rb+") as handle:
        os.fsync(handle.fileno())


def _sync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (where the platform allows it)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-%f")


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
