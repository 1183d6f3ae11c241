"""Import one export file: recognise it, stage it, merge it into the canonical tables, in one transaction.

Re-importing the same bytes is a no-op. The import log row is written first, as ``running``, in a transaction of
its own; the data and the row's final counts and status ``ok`` then commit together. A process killed in
between leaves only that row, which the next open marks ``interrupted``; an import past its time limit is rolled
back and logged ``timed-out``; a bad file leaves no trace at all.

Versioned records (subscriptions, customers, ...) keep every version; the current one comes from the export
with the latest data. Events are stored once per key (uuid / ``$insert_id``, else user + event + timestamp); an
import that brings events already stored records a *claim* on them, so undoing the import that first stored
them hands them over instead of losing them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from kpis.core.errors import InputError
from kpis.ingest.overlap import Overlap, import_overlaps
from kpis.ingest.pipeline import Prepared, already_imported, display_name, is_the_database, prepare
from kpis.ingest.sources import detect
from kpis.ingest.sources.base import Staged
from kpis.store import derived
from kpis.store.backup import auto_backup
from kpis.store.db import COLUMNS, PROCESS_TAG, VERSIONED, QueryTimeout, Store, first, version_table
from kpis.store.settings import env_number, timezone

#: Seconds an import may run before it is stopped and rolled back, unless ``KPI_IMPORT_TIMEOUT`` says otherwise
#: (``0``: no limit). Generous: ten million events import in well under a minute on a laptop.
DEFAULT_IMPORT_TIMEOUT = 1800.0

#: Receives one line per step of a long import (for a progress display); the default ignores them.
Progress = Callable[[str], None]


def import_timeout() -> float | None:
    """The time limit of an import in seconds (``KPI_IMPORT_TIMEOUT``, default 1800), or None for no limit.

    >>> import_timeout() == DEFAULT_IMPORT_TIMEOUT or "KPI_IMPORT_TIMEOUT" in os.environ
    True
    """
    return env_number("KPI_IMPORT_TIMEOUT", DEFAULT_IMPORT_TIMEOUT,
                      "a number of seconds such as 600 (0: no limit)", least=0) or None


def _ignore(message: str) -> None:
    """The default :data:`Progress`: shows nothing."""


@dataclass(frozen=True)
class ImportResult:
    """What one file did to the store; ``status`` is ``ok`` or ``duplicate`` (nothing changed)."""

    file: str
    status: str
    source: str
    import_id: int | None
    rows_read: int = 0
    rows_added: int = 0
    rows_updated: int = 0
    duplicates: int = 0
    rows_rejected: int = 0
    notes: tuple[str, ...] = ()
    #: earlier imports from other tools that hold much of the same activity (see :mod:`kpis.ingest.overlap`)
    overlaps: tuple[Overlap, ...] = ()

    def summary(self) -> str:
        """One line for the CLI, naming the source by its id (``posthog_events``)."""
        return self._line(self.source)

    def message(self) -> str:
        """The same line for people: the source by its plain name ("PostHog events export (CSV)")."""
        return self._line(detect.label_of(self.source))

    def _line(self, source: str) -> str:
        if self.status == "duplicate":
            return f"{self.file}: already imported as import {self.import_id} ({source}); nothing changed"
        text = (f"{self.file}: {source}, import {self.import_id}: {self.rows_added:,} rows added, "
                f"{self.rows_updated:,} updated, {self.duplicates:,} duplicates skipped, "
                f"{self.rows_rejected:,} rows rejected")
        if self.notes:
            text += " (" + "; ".join(self.notes) + ")"
        return text


def import_file(store: Store, path: str | os.PathLike[str], *, name: str | None = None,
                who: str = "local", expect: tuple[str, ...] = (), progress: Progress | None = None,
                timeout: float | None = None) -> ImportResult:
    """Import one export file into ``store``; raises :class:`InputError` (nothing stored) when it is bad.

    ``expect`` limits the formats accepted (source names), e.g. ``("targets_csv",)``. ``progress`` receives a
    line as each step of the import begins. ``timeout`` (seconds; default :func:`import_timeout`, 0 for none)
    bounds the import: past it the import is rolled back, logged ``timed-out`` and reported as an error.
    The file is read by :func:`kpis.ingest.pipeline.prepare`, then :func:`import_prepared`.
    """
    display = display_name(path, name)
    if is_the_database(store, path):
        raise InputError("this is the dashboard's own database, not an export: nothing was read", file=display)
    with _located(display):
        limit, tz = _limits(store, timeout)
        with prepare(path, display) as file:
            return _import(store, file, who, expect, progress or _ignore, limit, tz)


def import_prepared(store: Store, file: Prepared, *, who: str = "local", expect: tuple[str, ...] = (),
                    progress: Progress | None = None, timeout: float | None = None) -> ImportResult:
    """Import a file already decoded and recognised (a preview's :class:`kpis.ingest.pipeline.Prepared`) without
    reading it again; as :func:`import_file` otherwise. ``file`` stays open (its owner closes it)."""
    with _located(file.name):
        limit, tz = _limits(store, timeout)
        file.readable()
        return _import(store, file, who, expect, progress or _ignore, limit, tz)


@contextmanager
def _located(display: str) -> Iterator[None]:
    """Bad input raised inside names the file; running out of memory is bad input too (the file is too big)."""
    try:
        yield
    except InputError as exc:
        raise exc.with_file(display) from None
    except duckdb.OutOfMemoryException:
        raise InputError("the file is too large to import within the memory limit (KPI_MEMORY_LIMIT)",
                         file=display) from None


def _limits(store: Store, timeout: float | None) -> tuple[float | None, str]:
    """The import's time limit (seconds, None: none) and the store's time zone."""
    return (import_timeout() if timeout is None else (timeout or None)), timezone(store)


def _import(store: Store, file: Prepared, who: str, expect: tuple[str, ...], report: Progress,
            limit: float | None, tz: str) -> ImportResult:
    """Stage and merge ``file`` in one transaction; the log row, committed first, ends ``ok`` with the data."""
    display, source = file.name, file.source
    if expect and source.NAME not in expect:
        raise InputError(f"this is a {source.LABEL}, not a {' or '.join(map(detect.label_of, expect))} file")
    with store.exclusive():  # the duplicate check, the log row and the data: no other write between
        existing = already_imported(store, file.sha256)
        if existing:
            return ImportResult(display, "duplicate", existing[1], existing[0])
        import_id = _log_start(store, file.sha256, display, source.NAME, who)
        report(f"{display}: import {import_id} started ({source.NAME})")
        try:
            with store.transaction(timeout=limit) as cur:
                staged = source.stage(cur, file.shape)
                report(f"{display}: import {import_id}: storing {', '.join(staged.rows)}")
                _prepare_pending(cur, import_id, staged.as_of)
                counts = _merge(cur, staged, import_id, display, report)
                found = import_overlaps(cur, import_id, source.NAME, tz) if "events" in staged.rows else []
                notes = (tuple(staged.notes) + ((f"read as {file.text.note}",) if file.text.note != "utf-8" else ())
                         + tuple(o.describe() for o in found))
                cur.execute(
                    "UPDATE imports SET kinds = ?, rows_read = ?, rows_added = ?, rows_updated = ?, "
                    "duplicates = ?, rows_rejected = ?, data_as_of = ?, notes = ?, status = 'ok' "
                    "WHERE import_id = ?",
                    [",".join(sorted(staged.rows)), staged.read, counts["added"], counts["updated"],
                     counts["duplicates"], staged.rejected, staged.as_of, "; ".join(notes) or None, import_id],
                )
                _drop_stage(cur, staged)
                if "events" in staged.rows:  # the derived engagement rows of the users this import touched
                    derived.refresh(cur, import_id)
                # the end of the import's transaction: the data, its derived rows and the log row commit together
        except QueryTimeout as exc:
            _log_end(store, import_id, "timed-out")
            raise InputError(f"the import took longer than {exc.seconds:g} s and was stopped; nothing "
                             "was stored (KPI_IMPORT_TIMEOUT sets the limit)") from None
        except Exception:
            _log_end(store, import_id, None)  # a bad file leaves no trace, as before it was read
            raise
        except BaseException:
            _log_end(store, import_id, "interrupted")
            raise
    return ImportResult(display, "ok", source.NAME, import_id, staged.read, counts["added"], counts["updated"],
                        counts["duplicates"], staged.rejected, notes, tuple(found))


@dataclass(frozen=True)
class UndoResult:
    """What an undo did, and where the database as it was before is saved (None: no backup was made)."""

    import_id: int
    message: str
    backup: Path | None = None

    def summary(self) -> str:
        """One line for the CLI and the UI, naming the backup."""
        if self.backup is None:
            return self.message
        return f"{self.message}; the database before the undo is saved as {self.backup}"


def undo(store: Store, import_id: int, *, backup: bool = True) -> UndoResult:
    """Remove exactly what import ``import_id`` stored; earlier versions it had replaced become current again.

    An undo cannot itself be undone, so with ``backup`` the database is first copied to the backups folder
    (:func:`kpis.store.backup.auto_backup`); a refused undo (unknown import, already undone) makes no backup.
    """
    with store.exclusive():
        rows = store.query("SELECT filename, status FROM imports WHERE import_id = ?", [import_id])
        _check_undoable(import_id, rows[0] if rows else None)
        saved = auto_backup(store, f"undo-{import_id}") if backup else None
        return UndoResult(import_id, _undo(store, import_id), saved)


def _check_undoable(import_id: int, row: tuple[object, ...] | None) -> None:
    if row is None:
        raise InputError(f"there is no import {import_id}; `imports` lists them")
    status = row[1]
    if status == "undone":
        raise InputError(f"import {import_id} ({row[0]}) was already undone")
    if status == "running":
        raise InputError(f"import {import_id} ({row[0]}) is still running")
    if status != "ok":
        what = {"timed-out": "stopped at its time limit"}.get(str(status), str(status))
        raise InputError(f"import {import_id} ({row[0]}) was {what} and stored nothing; there is nothing to undo")


def _undo(store: Store, import_id: int) -> str:
    with store.transaction() as cur:
        row = first(cur.execute("SELECT filename, status, kinds FROM imports WHERE import_id = ?", [import_id]))
        _check_undoable(import_id, row)
        filename = row[0] if row else None
        cur.execute("UPDATE imports SET status = 'undone', undone_at = current_timestamp::TIMESTAMP "
                    "WHERE import_id = ?", [import_id])
        _prepare_pending(cur, None, None)
        for kind, keys in VERSIONED.items():
            table = version_table(kind)
            _touched_keys(cur, f"SELECT {_cols(keys)} FROM {table} WHERE import_id = $import_id", import_id)
            cur.execute(f"DELETE FROM {table} WHERE import_id = ?", [import_id])
            _refresh_current(cur, table, keys)
        _hand_over_events(cur, import_id)
        cur.execute("DROP TABLE pending_as_of")
        if row and "events" in str(row[2] or "").split(","):
            derived.refresh(cur)
    return f"import {import_id} ({filename}) undone"


# -- helpers -------------------------------------------------------------------------------------------------------

def _log_start(store: Store, sha: str, file: str, source: str, who: str) -> int:
    """Write the import's log row as ``running``, committed before the data transaction begins."""
    with store.transaction() as cur:
        import_id = int(first(cur.execute("SELECT coalesce(max(import_id), 0) + 1 FROM imports"))[0])
        cur.execute("INSERT INTO imports (import_id, sha256, filename, source, imported_by, imported_at, status, "
                    "process) VALUES (?, ?, ?, ?, ?, current_timestamp::TIMESTAMP, 'running', ?)",
                    [import_id, sha, file, source, who, PROCESS_TAG])
    return import_id


def _log_end(store: Store, import_id: int, status: str | None) -> None:
    """After a failed data transaction: set the log row's status, or delete the row (``status`` None).

    Never raises: if the database cannot be written now, the row stays ``running`` and the next open of the
    database marks it ``interrupted``.
    """
    try:
        with store.transaction() as cur:
            if status is None:
                cur.execute("DELETE FROM imports WHERE import_id = ? AND status = 'running'", [import_id])
            else:
                cur.execute("UPDATE imports SET status = ? WHERE import_id = ? AND status = 'running'",
                            [status, import_id])
    except duckdb.Error:
        pass


def _cols(names: tuple[str, ...] | list[str], prefix: str = "") -> str:
    return ", ".join(f'{prefix}"{n}"' for n in names)


def _merge(cur: duckdb.DuckDBPyConnection, staged: Staged, import_id: int, file: str,
           report: Progress = _ignore) -> dict[str, int]:
    """Merge every staged kind; the counts are those of the file's primary kind (the first staged)."""
    counts = {"added": 0, "updated": 0, "duplicates": 0}
    for position, kind in enumerate(staged.rows):
        if kind == "events":
            added, dups = _merge_events(cur, staged, import_id, file, report)
            updated = 0
        else:
            added, updated, dups = _merge_versioned(cur, kind, import_id)
        if position == 0:
            in_file = staged.read - staged.rejected - staged.rows[kind]
            counts = {"added": added, "updated": updated, "duplicates": dups + max(in_file, 0)}
    return counts


#: An empty staged value keeps the current one for these columns: a subscriptions export knows a customer's
#: name and email but not when the customer was created.
_FILL_FROM_CURRENT: dict[str, tuple[str, ...]] = {"customers": ("name", "email", "created_at")}


def _merge_versioned(cur: duckdb.DuckDBPyConnection, kind: str, import_id: int) -> tuple[int, int, int]:
    """Insert the staged rows of ``kind`` as new versions; identical rows are duplicates."""
    keys, columns, table = VERSIONED[kind], COLUMNS[kind], version_table(kind)
    fill = _FILL_FROM_CURRENT.get(kind, ())
    if fill:
        on = " AND ".join(f's."{k}" = t."{k}"' for k in keys)
        sets = ", ".join(f'"{c}" = coalesce(s."{c}", t."{c}")' for c in fill)
        cur.execute(f"UPDATE stage_{kind} s SET {sets} FROM {table} t WHERE t.is_current AND {on}")
    join = " AND ".join(f's."{k}" = t."{k}"' for k in keys)
    staged_total, new_keys = first(cur.execute(f"""
        SELECT count(*), count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE {join}))
        FROM stage_{kind} s"""))
    # keys stored before whose staged row differs from the version in force
    cur.execute(f"""CREATE OR REPLACE TEMP TABLE stage_changed AS
        SELECT {_cols(keys)} FROM (
            SELECT {_cols(columns)} FROM stage_{kind} EXCEPT SELECT {_cols(columns)} FROM {table} WHERE is_current
        ) s WHERE EXISTS (SELECT 1 FROM {table} t WHERE {join})""")
    changed = first(cur.execute("SELECT count(*) FROM stage_changed"))[0]
    # every staged row becomes a version of this import, identical ones included: undoing an earlier import
    # then never brings back a value that this one still states
    cur.execute(f"INSERT INTO {table} ({_cols(columns)}, import_id, is_current) "
                f"SELECT {_cols(columns)}, ?, false FROM stage_{kind}", [import_id])
    _touched_keys(cur, f"SELECT {_cols(keys)} FROM stage_{kind}", import_id)
    _refresh_current(cur, table, keys, pending=import_id)
    on = " AND ".join(f'c."{k}" = t."{k}"' for k in keys)
    updated = first(cur.execute(f"""SELECT count(*) FROM {table} t SEMI JOIN stage_changed c ON {on}
                                    WHERE t.import_id = ? AND t.is_current""", [import_id]))[0]
    cur.execute("DROP TABLE stage_changed")
    # an older export's differing rows are kept as history but change nothing: neither updated nor duplicates
    return new_keys, updated, staged_total - new_keys - changed


def _touched_keys(cur: duckdb.DuckDBPyConnection, select: str, import_id: int) -> None:
    cur.execute(f"CREATE OR REPLACE TEMP TABLE touched_keys AS SELECT DISTINCT * FROM ({select})",
                {"import_id": import_id} if "$import_id" in select else None)


def _refresh_current(cur: duckdb.DuckDBPyConnection, table: str, keys: tuple[str, ...],
                     pending: int | None = None) -> None:
    """Recompute ``is_current`` for the keys in ``touched_keys``: latest data_as_of wins, then the later import.

    ``pending`` is the import being written (its imports row does not exist yet); its data_as_of is read
    from the temp table ``pending_as_of``.
    """
    join_t = " AND ".join(f't."{k}" = k."{k}"' for k in keys)
    join_v = " AND ".join(f'v."{k}" = b."{k}"' for k in keys)
    cur.execute(f"""
        UPDATE {table} v SET is_current = (v.import_id = b.best)
        FROM (
            SELECT {_cols(keys, 't.')},
                   arg_max(t.import_id, struct_pack(
                       a := coalesce(i.data_as_of, p.as_of, TIMESTAMP '1970-01-01'), b := t.import_id)) AS best
            FROM {table} t
            JOIN touched_keys k ON {join_t}
            LEFT JOIN imports i ON i.import_id = t.import_id
            LEFT JOIN pending_as_of p ON p.import_id = t.import_id
            GROUP BY ALL
        ) b
        WHERE {join_v}""")
    cur.execute("DROP TABLE touched_keys")


def _merge_events(cur: duckdb.DuckDBPyConnection, staged: Staged, import_id: int, file: str,
                  report: Progress = _ignore) -> tuple[int, int]:
    """Insert the staged events in one pass, then tidy up this import's rows. Returns (added, duplicates).

    Rows without user, name or time are rejected; a repeated uuid within the file is a duplicate; rows
    already stored by another import are claimed, not stored twice.
    """
    try:
        inserted = first(cur.execute("INSERT INTO events SELECT *, ? FROM stage_events", [import_id]))[0]
    except (duckdb.InvalidInputException, duckdb.ConversionException) as exc:
        raise staged.explain(exc) from None
    report(f"{file}: import {import_id}: {inserted:,} rows read, removing duplicates")
    if staged.check:
        staged.check(cur)
    rejected, with_uuid, lo, hi = first(cur.execute("""
        SELECT count(*) FILTER (user_id IS NULL OR event IS NULL OR ts IS NULL), count(uuid), min(ts), max(ts)
        FROM events WHERE import_id = ?""", [import_id]))
    if rejected:
        cur.execute("""DELETE FROM events WHERE import_id = ?
            AND (user_id IS NULL OR event IS NULL OR ts IS NULL)""", [import_id])
    staged.read, staged.rejected = inserted, rejected
    staged.rows["events"] = inserted - rejected
    in_file = 0
    if with_uuid:
        in_file = first(cur.execute("""SELECT count(uuid) - count(DISTINCT uuid) FROM events
            WHERE import_id = ? AND uuid IS NOT NULL""", [import_id]))[0]
    if in_file:
        cur.execute("""DELETE FROM events WHERE rowid IN (
            SELECT rowid FROM events WHERE import_id = $id AND uuid IS NOT NULL
            QUALIFY row_number() OVER (PARTITION BY uuid ORDER BY ts, rowid) > 1)""", {"id": import_id})
    known = 0
    overlap = lo is not None and first(cur.execute(
        "SELECT count(*) > 0 FROM events WHERE import_id <> ? AND ts BETWEEN ? AND ?", [import_id, lo, hi]))[0]
    if overlap:
        # two equality joins (by uuid, and by user + event + time for rows without one): hash joins, not an OR
        cur.execute("""CREATE OR REPLACE TEMP TABLE known_rows AS
            WITH old AS (SELECT uuid, user_id, event, ts FROM events
                         WHERE import_id <> $id AND ts BETWEEN $lo AND $hi),
                 new AS (SELECT rowid AS rid, uuid, user_id, event, ts FROM events WHERE import_id = $id)
            SELECT n.* FROM new n SEMI JOIN (SELECT uuid FROM old WHERE uuid IS NOT NULL) o ON o.uuid = n.uuid
            UNION ALL
            SELECT n.* FROM (SELECT * FROM new WHERE uuid IS NULL) n
            SEMI JOIN (SELECT user_id, event, ts FROM old WHERE uuid IS NULL) o
              ON o.user_id = n.user_id AND o.event = n.event AND o.ts = n.ts""",
                    {"id": import_id, "lo": lo, "hi": hi})
        known = first(cur.execute("SELECT count(*) FROM known_rows"))[0]
        cur.execute("INSERT INTO event_claims SELECT ?, uuid, user_id, event, ts FROM known_rows", [import_id])
        cur.execute("DELETE FROM events WHERE rowid IN (SELECT rid FROM known_rows)")
        cur.execute("DROP TABLE known_rows")
    return inserted - rejected - in_file - known, in_file + known


def _hand_over_events(cur: duckdb.DuckDBPyConnection, import_id: int) -> None:
    """Undo of events: rows another live import also brought pass to it (the earliest); the rest go."""
    cur.execute("DELETE FROM event_claims WHERE import_id = ?", [import_id])
    # the live claims on this import's rows, matched like the import matched them (two equality joins)
    cur.execute("""CREATE OR REPLACE TEMP TABLE heirs AS
        WITH live AS (SELECT c.* FROM event_claims c JOIN imports i ON i.import_id = c.import_id AND i.status = 'ok'),
             mine AS (SELECT rowid AS rid, uuid, user_id, event, ts FROM events WHERE import_id = $id)
        SELECT m.rid, min(c.import_id) AS heir, m.uuid, m.user_id, m.event, m.ts
        FROM mine m JOIN live c ON c.uuid = m.uuid WHERE m.uuid IS NOT NULL GROUP BY ALL
        UNION ALL
        SELECT m.rid, min(c.import_id), m.uuid, m.user_id, m.event, m.ts
        FROM mine m JOIN live c ON c.user_id = m.user_id AND c.event = m.event AND c.ts = m.ts
        WHERE m.uuid IS NULL AND c.uuid IS NULL GROUP BY ALL""", {"id": import_id})
    cur.execute("UPDATE events SET import_id = h.heir FROM heirs h WHERE events.rowid = h.rid")
    cur.execute("""DELETE FROM event_claims c USING heirs h WHERE c.import_id = h.heir
        AND c.uuid IS NOT DISTINCT FROM h.uuid AND c.user_id IS NOT DISTINCT FROM h.user_id
        AND c.event IS NOT DISTINCT FROM h.event AND c.ts IS NOT DISTINCT FROM h.ts""")
    cur.execute("DELETE FROM events WHERE import_id = ?", [import_id])
    cur.execute("DROP TABLE heirs")


def _drop_stage(cur: duckdb.DuckDBPyConnection, staged: Staged) -> None:
    for kind in staged.rows:
        if kind in staged.views:
            cur.execute(f"DROP VIEW IF EXISTS stage_{kind}")
        else:
            cur.execute(f"DROP TABLE IF EXISTS stage_{kind}")
    cur.execute("DROP TABLE IF EXISTS pending_as_of")


def _prepare_pending(cur: duckdb.DuckDBPyConnection, import_id: int | None, as_of: datetime | None) -> None:
    """Record the data_as_of of the import being written, for :func:`_refresh_current`."""
    cur.execute("CREATE OR REPLACE TEMP TABLE pending_as_of AS SELECT ?::INTEGER AS import_id, "
                "?::TIMESTAMP AS as_of", [import_id, as_of])
