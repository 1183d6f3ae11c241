"""The lake layout: the canonical tables as Parquet files, for Spark, a warehouse or a data team.

``export_lake`` writes, from one snapshot of the store, one folder::

    events/day=YYYY-MM-DD/data_0.parquet   every stored event, partitioned by its day in UTC (Hive style)
    subscriptions.parquet                  the current version of every subscription
    customers.parquet, customer_attributes.parquet, metric_points.parquet, targets.parquet, fx_rates.parquet
    _lake.json                             the manifest, written last

Timestamps are UTC instants (Parquet ``isAdjustedToUTC``); the ``day`` of the partitions is the UTC date whatever
the reporting time zone, which stays a setting of the dashboard. The lake is written into a temporary folder beside
its destination and renamed into place when complete, so a folder holding ``_lake.json`` is a finished export and a
failed export leaves nothing. It lives in the store layer because it reads only the store's own tables, by the
store's registry (:data:`kpis.store.db.COLUMNS`, :data:`kpis.store.db.VERSIONED`), and so that any engine below
the KPI functions can read its layout. ``docs/scale.md`` documents it column by column.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from kpis.core.errors import InputError
from kpis.store.db import COLUMNS, SCHEMA_VERSION, VERSIONED, Store, first_line
from kpis.store.durable import fsync_file, sync_dir

#: The version of this layout, in the manifest: a reader refuses a lake of a format it does not know.
LAKE_FORMAT = 1
#: The manifest's file name; its presence marks a finished export.
MANIFEST = "_lake.json"
#: The events folder and the Hive partition column its subfolders are named by.
EVENTS = "events"
PARTITION = "day"
#: The tables of the lake, in the order they are written: the events, then the current version of each keyed record.
TABLES: tuple[str, ...] = (EVENTS, *VERSIONED)


@dataclass(frozen=True)
class Exported:
    """What an export wrote: the lake's folder, the rows of each table, and the store's data version."""

    path: Path
    rows: dict[str, int]
    data_version: tuple[int, ...]

    def summary(self) -> str:
        """One line for the command line.

        >>> Exported(Path("lake"), {"events": 1200, "subscriptions": 3}, (1, 0, 0, 0)).summary()
        'exported to lake: events 1,200 rows, subscriptions 3 rows'
        """
        tables = ", ".join(f"{name} {count:,} rows" for name, count in self.rows.items())
        return f"exported to {self.path}: {tables}"


def table_path(table: str) -> str:
    """Where a table lives inside the lake, relative to its folder.

    >>> table_path("events"), table_path("subscriptions")
    ('events', 'subscriptions.parquet')
    """
    return EVENTS if table == EVENTS else f"{table}.parquet"


def export_lake(store: Store, dest: str | os.PathLike[str], *, replace: bool = False) -> Exported:
    """Write the lake of the store's canonical tables into the folder ``dest``, all or nothing.

    ``dest`` must be new or empty; with ``replace``, it may also be an earlier lake (a folder holding
    :data:`MANIFEST`), which the new one replaces only once complete. Any other folder is refused: replacing it
    would delete files this program did not write.
    """
    target = Path(dest).absolute()
    _check_target(target, replace)
    partial = target.parent / f".{target.name}.{uuid.uuid4().hex[:8]}.partial"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial.mkdir()
        with store.snapshot():
            version = store.data_version()
            rows = {table: _write_table(store, partial, table) for table in TABLES}
        _write_manifest(partial, manifest(rows, version))
        _sync_tree(partial)
        _move_into_place(partial, target)
    except (OSError, duckdb.Error) as exc:
        raise OSError(f"cannot export to {target}: {first_line(exc)}; nothing was written") from exc
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return Exported(target, rows, version)


def manifest(rows: dict[str, int], data_version: tuple[int, ...]) -> dict[str, Any]:
    """The manifest's content: the lake's format, the store's schema and data version, each table's place and rows.

    >>> manifest({"events": 2}, (3, 0, 0, 0))["tables"]["events"]
    {'path': 'events', 'rows': 2, 'partitioned_by': 'day', 'partition_time_zone': 'UTC'}
    """
    tables: dict[str, dict[str, Any]] = {}
    for table, count in rows.items():
        entry: dict[str, Any] = {"path": table_path(table), "rows": count}
        if table == EVENTS:
            entry |= {"partitioned_by": PARTITION, "partition_time_zone": "UTC"}
        tables[table] = entry
    return {"lake_format": LAKE_FORMAT, "schema_version": SCHEMA_VERSION, "data_version": list(data_version),
            "tables": tables}


def read_manifest(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest of a finished lake; a folder without one (not a lake, or an export that did not finish) or
    one of another format is refused with a message naming it."""
    path = Path(folder) / MANIFEST
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{folder} is not a finished lake: it holds no {MANIFEST}") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"{path} cannot be read as a lake manifest: {first_line(exc)}") from None
    return parse_manifest(text, str(path))


def parse_manifest(text: str, where: str) -> dict[str, Any]:
    """The manifest in ``text`` (read from ``where``: a file, or a URI a Spark engine read), refused with a message
    naming ``where`` when it is not JSON or of another format.

    >>> parse_manifest('{"lake_format": 2}', "s3a://b/lake/_lake.json")
    Traceback (most recent call last):
    ...
    kpis.core.errors.InputError: s3a://b/lake/_lake.json: lake format 2, this program reads format 1
    """
    try:
        content = json.loads(text)
    except ValueError as exc:
        raise InputError(f"{where} cannot be read as a lake manifest: {first_line(exc)}") from None
    if not isinstance(content, dict) or content.get("lake_format") != LAKE_FORMAT:
        found = content.get("lake_format") if isinstance(content, dict) else None
        raise InputError(f"{where}: lake format {found!r}, this program reads format {LAKE_FORMAT}")
    return content


def _check_target(target: Path, replace: bool) -> None:
    """Refuse a destination that is a file, or a folder holding anything but (with ``replace``) a lake."""
    if not target.exists():
        return
    if not target.is_dir():
        raise InputError(f"{target} is a file, not a folder: choose a new or empty folder for the lake")
    if not any(target.iterdir()):
        return
    if not replace:
        raise InputError(f"{target} is not empty: choose a new or empty folder, or --replace to replace the lake "
                         "it holds")
    if not (target / MANIFEST).is_file():
        raise InputError(f"{target} is not empty and holds no lake ({MANIFEST}): --replace replaces only a lake")


def _columns(cur: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """The select list of a table: its registered columns, timestamps as UTC instants (the types are those the
    query gives: a view's catalog entry keeps the columns it was created with)."""
    names = ", ".join(_quoted(c) for c in COLUMNS[table])
    types = dict((row[0], row[1]) for row in cur.execute(f"DESCRIBE SELECT {names} FROM {table}").fetchall())
    return [f"CAST({_quoted(c)} AS TIMESTAMPTZ) AS {_quoted(c)}" if types[c] == "TIMESTAMP" else _quoted(c)
            for c in COLUMNS[table]]


def _select(cur: duckdb.DuckDBPyConnection, table: str) -> str:
    """The query of one table of the lake: the events with their source and UTC day, else the current versions
    (the plain-named views), ordered by their key."""
    columns = ", ".join(_columns(cur, table))
    if table == EVENTS:
        return (f"SELECT {columns}, i.source AS source, CAST(events.ts AS DATE) AS {PARTITION} "
                "FROM events LEFT JOIN imports i USING (import_id)")
    key = ", ".join(_quoted(c) for c in VERSIONED[table])
    return f"SELECT {columns} FROM {table} ORDER BY {key}"


def _write_table(store: Store, folder: Path, table: str) -> int:
    """Write one table with DuckDB's ``COPY`` (the path as a parameter) and return its rows."""
    target = folder / table_path(table)
    partition = f", PARTITION_BY ({PARTITION})" if table == EVENTS else ""
    with store.cursor() as cur:
        written = cur.execute(f"COPY ({_select(cur, table)}) TO ? (FORMAT parquet{partition})",
                              [str(target)]).fetchall()
    if table == EVENTS:
        target.mkdir(exist_ok=True)  # DuckDB writes no folder for a table without rows
    return int(written[0][0])


def _write_manifest(folder: Path, content: dict[str, Any]) -> None:
    (folder / MANIFEST).write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")


def _sync_tree(folder: Path) -> None:
    """Flush every file and folder written to disk, so that the rename never exposes a half-written lake."""
    for root, _dirs, files in os.walk(folder):
        for name in files:
            fsync_file(Path(root) / name)
        sync_dir(Path(root))


def _move_into_place(partial: Path, target: Path) -> None:
    """Rename the finished lake to ``target``; an earlier lake there is moved aside first and removed after, or
    put back if the rename fails."""
    aside = None
    if target.exists() and any(target.iterdir()):
        aside = target.parent / f".{target.name}.{uuid.uuid4().hex[:8]}.replaced"
        os.rename(target, aside)
    try:
        os.rename(partial, target)  # replaces an empty folder
    except OSError:
        if aside is not None:
            os.rename(aside, target)
        raise
    sync_dir(target.parent)
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)


def _quoted(name: str) -> str:
    """A column name of the store's registry quoted for SQL (``interval``, ``key`` and ``value`` are keywords)."""
    return '"' + name + '"'
