"""Import one export file: recognise it, stage it, merge it into the canonical tables, in one transaction.

Re-importing the same bytes is a no-op. Versioned records (subscriptions, customers, ...) keep every version;
the current one comes from the export with the latest data. Events are stored once per key (uuid /
``$insert_id``, else user + event + timestamp); an import that brings events already stored records a *claim*
on them, so undoing the import that first stored them hands them over instead of losing them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime

import duckdb

from kpis.errors import InputError
from kpis.sources import detect
from kpis.sources.base import Staged, sniff
from kpis.sources.events_csv import csv_error, raise_csv_rejects
from kpis.store import COLUMNS, VERSIONED, Store, first, version_table
from kpis.textfile import open_text


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

    def summary(self) -> str:
        """One line for the CLI and the UI."""
        if self.status == "duplicate":
            return f"{self.file}: already imported as import {self.import_id} ({self.source}); nothing changed"
        text = (f"{self.file}: {self.source}, import {self.import_id}: {self.rows_added:,} rows added, "
                f"{self.rows_updated:,} updated, {self.duplicates:,} duplicates skipped, "
                f"{self.rows_rejected:,} rows rejected")
        if self.notes:
            text += " (" + "; ".join(self.notes) + ")"
        return text


def import_file(store: Store, path: str | os.PathLike[str], *, name: str | None = None,
                who: str = "local", expect: tuple[str, ...] = ()) -> ImportResult:
    """Import one export file into ``store``; raises :class:`InputError` (nothing stored) when it is bad.

    ``expect`` limits the formats accepted (source names), e.g. ``("targets_csv",)``.
    """
    display = name or os.path.basename(os.fspath(path))
    try:
        with open_text(path, display) as text:
            shape = sniff(text)
            source = detect.detect(shape)
            if expect and source.NAME not in expect:
                raise InputError(f"this is a {source.LABEL}, not a {' or '.join(expect)} file")
            existing = _live_import_with_sha(store, text.sha256)
            if existing:
                return ImportResult(display, "duplicate", existing[1], existing[0])
            with store.transaction() as cur:
                import_id = _next_import_id(cur)
                staged = source.stage(cur, shape)
                _prepare_pending(cur, import_id, staged.as_of)
                counts = _merge(cur, staged, import_id, display)
                cur.execute(
                    "INSERT INTO imports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, current_timestamp::TIMESTAMP,"
                    " 'ok', NULL)",
                    [import_id, text.sha256, display, source.NAME, ",".join(sorted(staged.rows)), staged.read,
                     counts["added"], counts["updated"], counts["duplicates"], staged.rejected, staged.as_of,
                     who],
                )
                _drop_stage(cur, staged)
    except InputError as exc:
        raise exc.with_file(display) from None
    except duckdb.OutOfMemoryException:
        raise InputError("the file is too large to import within the memory limit", file=display) from None
    notes = tuple(staged.notes) + ((f"read as {text.note}",) if text.note != "utf-8" else ())
    return ImportResult(display, "ok", source.NAME, import_id, staged.read, counts["added"], counts["updated"],
                        counts["duplicates"], staged.rejected, notes)


def undo_import(store: Store, import_id: int) -> str:
    """Remove exactly what import ``import_id`` stored; earlier versions it had replaced become current again."""
    with store.transaction() as cur:
        row = first(cur.execute("SELECT filename, status FROM imports WHERE import_id = ?", [import_id]))
        if row is None:
            raise InputError(f"there is no import {import_id}; `imports` lists them")
        if row[1] != "ok":
            raise InputError(f"import {import_id} ({row[0]}) was already undone")
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
    return f"import {import_id} ({row[0]}) undone"


# -- helpers -------------------------------------------------------------------------------------------------------

def _live_import_with_sha(store: Store, sha: str) -> tuple[int, str] | None:
    rows = store.query("SELECT import_id, source FROM imports WHERE sha256 = ? AND status = 'ok' "
                       "ORDER BY import_id LIMIT 1", [sha])
    return (int(rows[0][0]), str(rows[0][1])) if rows else None


def _next_import_id(cur: duckdb.DuckDBPyConnection) -> int:
    return int(first(cur.execute("SELECT coalesce(max(import_id), 0) + 1 FROM imports"))[0])


def _cols(names: tuple[str, ...] | list[str], prefix: str = "") -> str:
    return ", ".join(f'{prefix}"{n}"' for n in names)


def _merge(cur: duckdb.DuckDBPyConnection, staged: Staged, import_id: int, file: str) -> dict[str, int]:
    """Merge every staged kind; the counts are those of the file's primary kind (the first staged)."""
    counts = {"added": 0, "updated": 0, "duplicates": 0}
    for position, kind in enumerate(staged.rows):
        if kind == "events":
            added, dups = _merge_events(cur, staged, import_id, file)
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
    cur.execute(f"INSERT INTO {table} SELECT {_cols(columns)}, ?, false FROM stage_{kind}", [import_id])
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


def _merge_events(cur: duckdb.DuckDBPyConnection, staged: Staged, import_id: int, file: str) -> tuple[int, int]:
    """Insert the staged events in one pass, then tidy up this import's rows. Returns (added, duplicates).

    Rows without user, name or time are rejected; a repeated uuid within the file is a duplicate; rows
    already stored by another import are claimed, not stored twice.
    """
    try:
        inserted = first(cur.execute("INSERT INTO events SELECT *, ? FROM stage_events", [import_id]))[0]
    except (duckdb.InvalidInputException, duckdb.ConversionException) as exc:
        raise csv_error(exc, file) from None
    if staged.csv_rejects:
        raise_csv_rejects(cur, file, staged.csv_path, staged.csv_ts_column)
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
        if kind == "events" and staged.csv_rejects:
            cur.execute("DROP VIEW IF EXISTS stage_events")
        else:
            cur.execute(f"DROP TABLE IF EXISTS stage_{kind}")
    cur.execute("DROP TABLE IF EXISTS pending_as_of")


def _prepare_pending(cur: duckdb.DuckDBPyConnection, import_id: int | None, as_of: datetime | None) -> None:
    """Record the data_as_of of the import being written, for :func:`_refresh_current`."""
    cur.execute("CREATE OR REPLACE TEMP TABLE pending_as_of AS SELECT ?::INTEGER AS import_id, "
                "?::TIMESTAMP AS as_of", [import_id, as_of])
