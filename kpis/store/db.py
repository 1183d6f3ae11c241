"""The DuckDB database: schema and its version, connections, write transactions, resource limits.

One ``duckdb.connect()`` per process and database file; every query runs on its own cursor and reads its result
fully, because DuckDB results stream and hold their connection. Writes are serialised by one lock and each is a
single transaction, so an import is either all stored or not at all. Reads that must agree with each other (the
several queries behind one KPI table) run inside :meth:`Store.snapshot`, which pins one state of the database
for the calling thread while imports commit next to it. See ``docs/operations.md``.
"""

from __future__ import annotations

import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import duckdb

from kpis.store import derived, settings

if TYPE_CHECKING:  # a DataFrame is made by DuckDB (which imports pandas) only when one is asked for
    import pandas as pd

DEFAULT_DB = Path("data/kpis.duckdb")
#: DuckDB's memory limit unless ``KPI_MEMORY_LIMIT`` (or ``Store(memory_limit=...)``) says otherwise: half of
#: the machine's memory, so that a large upload spills to disk instead of starving the app and the system.
DEFAULT_MEMORY_LIMIT = "50%"
_MEMORY = re.compile(r"^\s*\d+(\.\d+)?\s*(%|[KMGT]i?B)\s*$", re.IGNORECASE)

#: Identifies this process in the import log: an import still ``running`` under another tag when the database is
#: opened belongs to a process that is gone (DuckDB lets one process at a time open the file for writing).
PROCESS_TAG = f"{os.getpid()}:{uuid.uuid4().hex[:12]}"
T = TypeVar("T")

#: Tables whose rows are versions of a keyed record: a newer export replaces an older one by key.
#: The current version of each key is the one from the import with the latest ``data_as_of``
#: (ties: the later import). ``is_current`` caches that choice; the plain-named views show only it.
VERSIONED: dict[str, tuple[str, ...]] = {
    "subscriptions": ("subscription_id",),
    "customers": ("customer_id",),
    "customer_attributes": ("customer_id", "key"),
    "metric_points": ("source", "metric", "series", "day"),
    "targets": ("kpi", "grain", "period_start"),
    "fx_rates": ("currency",),
    "account_links": ("key_kind", "key"),
}

#: Columns of each canonical table, in order, as the sources must stage them.
COLUMNS: dict[str, tuple[str, ...]] = {
    "subscriptions": (
        "subscription_id", "customer_id", "plan", "amount", "quantity", "currency", "interval",
        "interval_count", "status", "started_at", "trial_end", "canceled_at", "ended_at", "created_at",
        "cancellation_reason", "cancellation_feedback", "cancellation_comment",
    ),
    "customers": ("customer_id", "name", "email", "created_at"),
    "customer_attributes": ("customer_id", "key", "value"),
    "events": ("uuid", "user_id", "event", "ts", "account_id"),
    "metric_points": ("source", "metric", "series", "day", "value"),
    "targets": ("kpi", "grain", "period_start", "value", "owner", "note"),
    "fx_rates": ("currency", "rate"),
    "account_links": ("key_kind", "key", "customer_id"),
}

_MIGRATIONS: list[str] = [
    # 1: the canonical tables
    """
    CREATE TABLE imports (
        import_id INTEGER PRIMARY KEY, sha256 VARCHAR NOT NULL, filename VARCHAR, source VARCHAR,
        kinds VARCHAR, rows_read BIGINT, rows_added BIGINT, rows_updated BIGINT, duplicates BIGINT,
        rows_rejected BIGINT, data_as_of TIMESTAMP, imported_by VARCHAR, imported_at TIMESTAMP,
        status VARCHAR NOT NULL, undone_at TIMESTAMP
    );
    CREATE TABLE subscription_versions (
        subscription_id VARCHAR NOT NULL, customer_id VARCHAR NOT NULL, plan VARCHAR, amount DOUBLE NOT NULL,
        quantity DOUBLE NOT NULL, currency VARCHAR NOT NULL, "interval" VARCHAR NOT NULL,
        interval_count INTEGER NOT NULL, status VARCHAR NOT NULL, started_at TIMESTAMP NOT NULL,
        trial_end TIMESTAMP, canceled_at TIMESTAMP, ended_at TIMESTAMP,
        import_id INTEGER NOT NULL, is_current BOOLEAN NOT NULL
    );
    CREATE TABLE customer_versions (
        customer_id VARCHAR NOT NULL, name VARCHAR, email VARCHAR, created_at TIMESTAMP,
        import_id INTEGER NOT NULL, is_current BOOLEAN NOT NULL
    );
    CREATE TABLE customer_attribute_versions (
        customer_id VARCHAR NOT NULL, "key" VARCHAR NOT NULL, "value" VARCHAR,
        import_id INTEGER NOT NULL, is_current BOOLEAN NOT NULL
    );
    CREATE TABLE metric_point_versions (
        source VARCHAR NOT NULL, metric VARCHAR NOT NULL, series VARCHAR NOT NULL, day DATE NOT NULL,
        "value" DOUBLE, import_id INTEGER NOT NULL, is_current BOOLEAN NOT NULL
    );
    CREATE TABLE target_versions (
        kpi VARCHAR NOT NULL, grain VARCHAR NOT NULL, period_start DATE NOT NULL, "value" DOUBLE NOT NULL,
        owner VARCHAR, note VARCHAR, import_id INTEGER NOT NULL, is_current BOOLEAN NOT NULL
    );
    CREATE TABLE fx_rate_versions (
        currency VARCHAR NOT NULL, rate DOUBLE NOT NULL, import_id INTEGER NOT NULL, is_current BOOLEAN NOT NULL
    );
    CREATE TABLE events (
        uuid VARCHAR, user_id VARCHAR, event VARCHAR, ts TIMESTAMP, account_id VARCHAR,
        import_id INTEGER NOT NULL
    );
    CREATE TABLE event_claims (
        import_id INTEGER NOT NULL, uuid VARCHAR, user_id VARCHAR, event VARCHAR, ts TIMESTAMP
    );
    CREATE TABLE settings ("key" VARCHAR PRIMARY KEY, "value" VARCHAR);
    CREATE VIEW subscriptions AS SELECT * EXCLUDE (is_current) FROM subscription_versions WHERE is_current;
    CREATE VIEW customers AS SELECT * EXCLUDE (is_current) FROM customer_versions WHERE is_current;
    CREATE VIEW customer_attributes AS
        SELECT * EXCLUDE (is_current) FROM customer_attribute_versions WHERE is_current;
    CREATE VIEW metric_points AS SELECT * EXCLUDE (is_current) FROM metric_point_versions WHERE is_current;
    CREATE VIEW targets AS SELECT * EXCLUDE (is_current) FROM target_versions WHERE is_current;
    CREATE VIEW fx_rates AS SELECT * EXCLUDE (is_current) FROM fx_rate_versions WHERE is_current;
    """,
    # 2: notes on dates (a launch, a price change), drawn on every time chart and listed in the review
    """
    CREATE SEQUENCE annotation_ids START 1;
    CREATE TABLE annotations (
        annotation_id INTEGER PRIMARY KEY DEFAULT nextval('annotation_ids'), day DATE NOT NULL,
        text VARCHAR NOT NULL, created_by VARCHAR, created_at TIMESTAMP NOT NULL
    );
    """,
    # 3: the process that runs an import, so that an import cut off by a crash is recognised on the next open
    """
    ALTER TABLE imports ADD COLUMN process VARCHAR;
    """,
    # 4: when a subscription was created, one of the recorded days that decide the revenue as-of date
    """
    ALTER TABLE subscription_versions ADD COLUMN created_at TIMESTAMP;
    """,
    # 5: how a file was read when it matters (cp1252, bytes that were not UTF-8, skipped totals rows)
    """
    ALTER TABLE imports ADD COLUMN notes VARCHAR;
    """,
    # 6: why a subscription was canceled, as the billing export states it (Stripe's cancellation_details)
    """
    ALTER TABLE subscription_versions ADD COLUMN cancellation_reason VARCHAR;
    ALTER TABLE subscription_versions ADD COLUMN cancellation_feedback VARCHAR;
    ALTER TABLE subscription_versions ADD COLUMN cancellation_comment VARCHAR;
    """,
    # 7: which billing customer a product account, user or email belongs to (an imported mapping)
    """
    CREATE TABLE account_link_versions (
        key_kind VARCHAR NOT NULL, "key" VARCHAR NOT NULL, customer_id VARCHAR NOT NULL,
        import_id INTEGER NOT NULL, is_current BOOLEAN NOT NULL
    );
    CREATE VIEW account_links AS SELECT * EXCLUDE (is_current) FROM account_link_versions WHERE is_current;
    """,
]

SCHEMA_VERSION = len(_MIGRATIONS)
_VERSION_TABLE = "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"
_LOCKED = re.compile(r"Could not set lock", re.IGNORECASE)
_PID = re.compile(r"\(PID (\d+)\)")


def version_table(kind: str) -> str:
    """The physical table behind a canonical kind (``subscriptions`` -> ``subscription_versions``)."""
    if kind == "events":
        return "events"
    singular = {"subscriptions": "subscription", "customers": "customer",
                "customer_attributes": "customer_attribute", "metric_points": "metric_point",
                "targets": "target", "fx_rates": "fx_rate", "account_links": "account_link"}[kind]
    return f"{singular}_versions"


def default_path() -> Path:
    """The database file: ``KPI_DB`` when set, else ``data/kpis.duckdb``."""
    return Path(os.environ.get("KPI_DB") or DEFAULT_DB)


def connection_config(memory_limit: str | None = None) -> dict[str, str | int]:
    """DuckDB settings of every connection: the memory limit and the number of threads.

    ``memory_limit`` wins over ``KPI_MEMORY_LIMIT``, which wins over :data:`DEFAULT_MEMORY_LIMIT`; ``KPI_THREADS``
    caps DuckDB's threads (default: one per core). Bad values are refused with the name of the setting.

    >>> connection_config("2GB")["memory_limit"]
    '2GB'
    """
    limit = memory_limit or os.environ.get("KPI_MEMORY_LIMIT") or DEFAULT_MEMORY_LIMIT
    if not _MEMORY.match(limit) or (limit.strip().endswith("%") and not 0 < float(limit.strip()[:-1]) <= 100):
        raise OSError(f"KPI_MEMORY_LIMIT: expected a memory size such as 4GB, 512MiB or 50%, got {limit!r}")
    config: dict[str, str | int] = {"memory_limit": limit.strip()}
    threads = os.environ.get("KPI_THREADS", "").strip()
    if threads:
        if not threads.isdigit() or int(threads) < 1:
            raise OSError(f"KPI_THREADS: expected a number of threads such as 2, got {threads!r}")
        config["threads"] = int(threads)
    return config


class DatabaseInUse(OSError):
    """Another process has the database file open: DuckDB lets one process at a time open it for writing."""


class NewerDatabase(OSError):
    """The database was written by a newer version of this program (a higher schema version)."""


def migrate(cur: duckdb.DuckDBPyConnection, current: int, target: int = SCHEMA_VERSION) -> None:
    """Bring a database from schema version ``current`` to ``target`` inside the caller's transaction.

    The one place the schema is built: :class:`Store` upgrades a file with it, and a restore builds the schema of a
    backup's version with it in memory to compare the backup against (:mod:`kpis.store.catalog`).
    """
    cur.execute(_VERSION_TABLE)
    for version in range(current + 1, target + 1):
        for statement in _split_sql(_MIGRATIONS[version - 1]):
            cur.execute(statement)
        cur.execute("INSERT INTO schema_version VALUES (?)", [version])


class Snapshot:
    """One thread's read transaction (see :meth:`Store.snapshot`)."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection) -> None:
        self.cursor = cursor


class QueryTimeout(Exception):
    """A transaction ran past its time limit: it was interrupted and rolled back, so it stored nothing."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        super().__init__(f"stopped after {seconds:g} s; nothing was stored")


class _Watchdog:
    """Interrupts one cursor once ``seconds`` have passed, until disarmed.

    DuckDB forgets an interrupt that arrives between two statements, so the watchdog keeps interrupting every
    50 ms until the transaction disarms it; disarming happens under the same lock as each interrupt, before
    COMMIT or ROLLBACK, so no interrupt can reach the COMMIT or any later query on the cursor. Whether the limit
    was reached is decided by the clock at disarming, not by whether the watchdog thread got to run: a
    transaction that took longer than its limit never commits, however busy the machine.
    """

    def __init__(self, cur: duckdb.DuckDBPyConnection, seconds: float) -> None:
        self._started = time.monotonic()
        self._cur, self._seconds = cur, seconds
        self._lock, self._stop = threading.Lock(), threading.Event()
        self._armed, self.fired = True, False
        self._thread = threading.Thread(target=self._run, name="kpis-timeout", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        if self._stop.wait(self._seconds):
            return
        while True:
            with self._lock:
                if not self._armed:
                    return
                self.fired = True
                self._cur.interrupt()
            if self._stop.wait(0.05):
                return

    def disarm(self) -> bool:
        """Stop the watchdog (it interrupts nothing afterwards); True when the time limit was reached."""
        with self._lock:
            self._armed = False
        self._stop.set()
        self._thread.join()
        return self.fired or time.monotonic() - self._started >= self._seconds


class Store:
    """One open database file: read through :meth:`query` / :meth:`df`, write through :meth:`transaction`."""

    def __init__(self, path: str | os.PathLike[str] | None = None, *, memory_limit: str | None = None,
                 read_only: bool = False) -> None:
        """Open (and create, bring up to this schema version) the database file; with ``read_only``, open an
        existing file of this version for reading only: every read works, every write fails."""
        self.path = Path(path) if path is not None else default_path()
        if str(self.path) != ":memory:" and not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        config = connection_config(memory_limit)
        if read_only:
            config["access_mode"] = "READ_ONLY"
        try:
            self._con = duckdb.connect(str(self.path), config=config)
        except duckdb.Error as exc:
            raise _open_error(self.path, exc) from exc
        self._write_lock = threading.RLock()
        self._cursor_lock = threading.Lock()
        self._local = threading.local()
        try:
            self._con.execute("SET TimeZone = 'UTC'")
            if read_only:
                self._check_readable()
            else:
                self._migrate()
        except BaseException as exc:
            self._con.close()  # else the failed open would keep the file (and its lock) until garbage collection
            if isinstance(exc, duckdb.Error):
                raise OSError(f"cannot open the database {self.path}: it is damaged or not a database of this "
                              f"dashboard ({first_line(exc)}); restore a backup with python -m kpis restore "
                              "FILE") from exc
            raise

    # -- connections -------------------------------------------------------------------------------------------
    def close(self) -> None:
        """Close the connection (the file stays)."""
        self._con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _new_cursor(self) -> duckdb.DuckDBPyConnection:
        with self._cursor_lock:  # the parent connection object is shared by every thread
            cur = self._con.cursor()
        cur.execute("SET TimeZone = 'UTC'")
        return cur

    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor of its own for one query or one thread, closed afterwards; inside :meth:`snapshot`, the
        snapshot's cursor, so that the query sees the snapshot's state."""
        pinned: Snapshot | None = getattr(self._local, "snapshot", None)
        if pinned is not None:
            yield pinned.cursor
            return
        cur = self._new_cursor()
        try:
            yield cur
        finally:
            cur.close()

    @contextmanager
    def snapshot(self) -> Iterator[Snapshot]:
        """Make every read of this thread inside the block see one state of the database.

        A KPI table is several queries; without a snapshot an import that commits between two of them would mix
        old and new data in one answer. Nested blocks share the outer snapshot. Reads never write (the derived
        tables are built by the writes that change them); a write of this thread inside the block moves the
        snapshot to the state right after that write.
        """
        outer = getattr(self._local, "snapshot", None)
        if outer is not None:
            yield outer
            return
        cur = self._new_cursor()
        cur.execute("BEGIN TRANSACTION")
        cur.execute("SELECT 1 FROM schema_version LIMIT 1").fetchall()  # DuckDB pins the state at the first read
        pinned = Snapshot(cur)
        self._local.snapshot = pinned
        try:
            yield pinned
        finally:
            self._local.snapshot = None
            _rollback(cur)
            cur.close()

    def consistent(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``func(store, *args, **kwargs)`` with all its reads from one state of the database.

        Runs ``func`` once in a :meth:`snapshot`: KPI functions only read, so every query of one answer sees the
        same state, whatever imports commit meanwhile.
        """
        with self.snapshot():
            return func(self, *args, **kwargs)

    def _renew_snapshot(self) -> None:
        """Start this thread's snapshot afresh (called under the write lock, right after a commit)."""
        pinned: Snapshot | None = getattr(self._local, "snapshot", None)
        if pinned is None:
            return
        pinned.cursor.execute("ROLLBACK")
        pinned.cursor.execute("BEGIN TRANSACTION")
        pinned.cursor.execute("SELECT 1 FROM schema_version LIMIT 1").fetchall()

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None,
              frames: Mapping[str, pd.DataFrame] | None = None) -> list[tuple[Any, ...]]:
        """Run one read query with parameters and return all its rows; ``frames``: small frames the query reads
        as tables, by name, for this query only (:class:`kpis.store.engines.Engine`)."""
        with self.cursor() as cur, _registered(cur, frames):
            return cur.execute(sql, params or []).fetchall()

    def df(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None,
           frames: Mapping[str, pd.DataFrame] | None = None) -> pd.DataFrame:
        """Run one read query with parameters and return it as a DataFrame (``frames``: as in :meth:`query`)."""
        with self.cursor() as cur, _registered(cur, frames):
            return cur.execute(sql, params or []).df()

    def describe(self) -> str:
        """Which engine computes the KPIs and from what, for the pages' captions and the CLI."""
        return f"DuckDB, {self.path.name}"

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the write lock across several transactions, so that no other write of this process comes between
        them (an import's log row and its data; a backup and the undo it protects)."""
        with self._write_lock:
            yield

    @contextmanager
    def transaction(self, timeout: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """One write transaction under the write lock: commits on success, rolls back on any exception.

        With ``timeout`` (seconds), a transaction still running after that long is interrupted and rolled back
        and :class:`QueryTimeout` is raised; the limit never reaches the COMMIT or any other cursor.
        """
        with self._write_lock:
            cur = self._new_cursor()
            try:
                cur.execute("BEGIN TRANSACTION")
                watchdog = _Watchdog(cur, timeout) if timeout else None
                try:
                    yield cur
                except BaseException:
                    fired = watchdog.disarm() if watchdog else False
                    _rollback(cur)
                    if fired and timeout:
                        raise QueryTimeout(timeout) from None
                    raise
                if watchdog and watchdog.disarm() and timeout:
                    _rollback(cur)
                    raise QueryTimeout(timeout)
                cur.execute("COMMIT")
            finally:
                cur.close()
            self._renew_snapshot()

    def copy_to(self, target: Path) -> None:
        """Write a consistent copy of the database into the new DuckDB file ``target``, inside DuckDB.

        DuckDB attaches ``target`` and copies every table, view and sequence into it from one snapshot. The live
        file is never opened a second time: closing any descriptor of it would drop this process's lock on it,
        and another process could then open it and write to it while this one still does. Under the write lock,
        so that a backup and the action it protects have no other write between them.
        """
        alias = f"kpis_copy_{uuid.uuid4().hex[:12]}"
        with self._write_lock:
            cur = self._new_cursor()
            try:
                source = cur.execute("SELECT current_database()").fetchall()[0][0]
                cur.execute(f"ATTACH ? AS {alias}", [str(target)])
                try:
                    cur.execute(f"COPY FROM DATABASE {_quoted(source)} TO {alias}")
                finally:
                    cur.execute(f"DETACH {alias}")
            finally:
                cur.close()

    def checkpoint(self) -> bool:
        """Write everything committed into the database file, so that the file alone holds it.

        False when DuckDB cannot checkpoint now (a reader's snapshot still needs older versions); what was
        committed is then in the file and its WAL together, which no commit changes while the write lock is held.
        """
        with self._write_lock:
            cur = self._new_cursor()
            try:
                cur.execute("CHECKPOINT")
            except duckdb.TransactionException:
                return False
            finally:
                cur.close()
        return True

    # -- schema -------------------------------------------------------------------------------------------------
    def _migrate(self) -> None:
        with self.transaction() as cur:
            cur.execute(_VERSION_TABLE)
            row = first(cur.execute("SELECT max(version) FROM schema_version"))
            current = row[0] if row and row[0] is not None else 0
            if current > SCHEMA_VERSION:
                raise NewerDatabase(
                    f"the database {self.path} has schema version {current}, newer than this program's "
                    f"{SCHEMA_VERSION}: update the program"
                )
            migrate(cur, current)
            # in the same transaction: a file whose tables are not this app's fails here, and its migrations
            # roll back with it, so a damaged database is left exactly as it was found
            self._mark_interrupted(cur)
            derived.refresh_if_stale(cur)  # a restored or older file: its derived tables are built before any read

    def _check_readable(self) -> None:
        """A file opened read-only cannot be upgraded nor its derived tables built: it must be current already."""
        cur = self._new_cursor()
        try:
            version = first(cur.execute("SELECT max(version) FROM schema_version"))
            if not version or version[0] != SCHEMA_VERSION or not derived.is_current(cur):
                raise OSError(f"cannot open the database {self.path} for reading only: open it for writing once to "
                              f"bring it up to this version")
        finally:
            cur.close()

    @staticmethod
    def _mark_interrupted(cur: duckdb.DuckDBPyConnection) -> None:
        """Imports left ``running`` by a process that is gone (killed, crashed, power cut) become ``interrupted``.

        Their data transaction never committed, so none of their rows is stored; only the log row remains,
        so that the history says what happened.
        """
        cur.execute("UPDATE imports SET status = 'interrupted' WHERE status = 'running' "
                    "AND process IS DISTINCT FROM ?", [PROCESS_TAG])

    def schema_version(self) -> int:
        """The schema version of the open file."""
        return int(self.query("SELECT max(version) FROM schema_version")[0][0])

    # -- settings and state -------------------------------------------------------------------------------------
    def get_setting(self, key: str, default: str | None = None) -> str | None:
        """A stored setting (``timezone``, ``inactive_events``, ...), or ``default``."""
        rows = self.query('SELECT "value" FROM settings WHERE "key" = ?', [key])
        return rows[0][0] if rows else default

    def set_setting(self, key: str, value: str) -> None:
        """Store a setting, replacing any earlier value, and count the write (:meth:`data_version`); one the
        derived tables depend on rebuilds them in the same transaction, so that the next read shows its effect."""
        with self.transaction() as cur:
            cur.execute('INSERT OR REPLACE INTO settings VALUES (?, ?)', [key, value])
            cur.execute("""INSERT OR REPLACE INTO settings
                           SELECT $key, CAST(coalesce(max(TRY_CAST("value" AS BIGINT)), 0) + 1 AS VARCHAR)
                           FROM settings WHERE "key" = $key""", {"key": settings.WRITES})
            if key in derived.DERIVED_SETTINGS:
                derived.refresh(cur)

    def data_version(self) -> tuple[int, int, int, int, int]:
        """Changes whenever stored data changes (an import, an undo, a note on a date added or removed, a setting
        written): the key for caches of KPI results and of the notes drawn on charts.

        ``(latest import, imports undone, latest note, notes, settings writes)``. Note ids are never reused, so a
        note added raises the latest id and a note removed lowers the count without raising it: the pair changes
        with every change and comes back only with the same notes."""
        row = self.query("""SELECT coalesce(max(import_id) FILTER (WHERE status IN ('ok', 'undone')), 0),
                                   count(undone_at),
                                   (SELECT coalesce(max(annotation_id), 0) FROM annotations),
                                   (SELECT count(*) FROM annotations),
                                   (SELECT coalesce(max(TRY_CAST("value" AS BIGINT)), 0) FROM settings
                                    WHERE "key" = ?)
                            FROM imports""", [settings.WRITES])[0]
        return int(row[0]), int(row[1]), int(row[2]), int(row[3]), int(row[4])

    def is_empty(self) -> bool:
        """True when nothing was ever imported (or everything was undone)."""
        return not self.query("SELECT 1 FROM imports WHERE status = 'ok' LIMIT 1")


@contextmanager
def _registered(cur: duckdb.DuckDBPyConnection, frames: Mapping[str, pd.DataFrame] | None) -> Iterator[None]:
    """``frames`` readable as tables on ``cur`` while inside (a snapshot's cursor outlives the query)."""
    for name, frame in (frames or {}).items():
        cur.register(name, frame)
    try:
        yield
    finally:
        for name in frames or {}:
            cur.unregister(name)


def _rollback(cur: duckdb.DuckDBPyConnection) -> None:
    """Roll back, ignoring a connection too broken to do it (closing the cursor then discards the transaction)."""
    try:
        cur.execute("ROLLBACK")
    except duckdb.Error:
        pass


def _open_error(path: Path, exc: duckdb.Error) -> OSError:
    """The error for a file DuckDB cannot open: :class:`DatabaseInUse` when another process holds its lock."""
    text = str(exc)
    if _LOCKED.search(text):
        pid = _PID.search(text)
        held = f"PID {pid.group(1)}, the dashboard?" if pid else "the dashboard?"
        return DatabaseInUse(f"cannot open the database {path}: it is open in another process ({held}); only one "
                             "process at a time can use it")
    return OSError(f"cannot open the database {path}: {text}")


def _quoted(identifier: str) -> str:
    """An identifier DuckDB gave us (a database name) quoted for SQL."""
    return '"' + identifier.replace('"', '""') + '"'


def first_line(exc: BaseException) -> str:
    """The first line of an error's message (DuckDB's run on for several), or its type when it has none."""
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _split_sql(script: str) -> list[str]:
    """Split a migration script on semicolons (our migrations hold no literal semicolons)."""
    return [s.strip() for s in script.split(";") if s.strip()]


def first(result: duckdb.DuckDBPyConnection) -> tuple[Any, ...] | None:
    """The first row of an executed query, reading the result fully (a half-read result blocks the cursor)."""
    rows = result.fetchall()
    return rows[0] if rows else None
