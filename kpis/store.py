"""The DuckDB database: schema and its version, connections, write transactions.

One ``duckdb.connect()`` per process and database file; every query runs on its own cursor and reads its result
fully, because DuckDB results stream and hold their connection. Writes are serialised by one lock and each is a
single transaction, so an import is either all stored or not at all.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

DEFAULT_DB = Path("data/kpis.duckdb")

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
}

#: Columns of each canonical table, in order, as the sources must stage them.
COLUMNS: dict[str, tuple[str, ...]] = {
    "subscriptions": (
        "subscription_id", "customer_id", "plan", "amount", "quantity", "currency", "interval",
        "interval_count", "status", "started_at", "trial_end", "canceled_at", "ended_at",
    ),
    "customers": ("customer_id", "name", "email", "created_at"),
    "customer_attributes": ("customer_id", "key", "value"),
    "events": ("uuid", "user_id", "event", "ts", "account_id"),
    "metric_points": ("source", "metric", "series", "day", "value"),
    "targets": ("kpi", "grain", "period_start", "value", "owner", "note"),
    "fx_rates": ("currency", "rate"),
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
]

SCHEMA_VERSION = len(_MIGRATIONS)


def version_table(kind: str) -> str:
    """The physical table behind a canonical kind (``subscriptions`` -> ``subscription_versions``)."""
    if kind == "events":
        return "events"
    singular = {"subscriptions": "subscription", "customers": "customer",
                "customer_attributes": "customer_attribute", "metric_points": "metric_point",
                "targets": "target", "fx_rates": "fx_rate"}[kind]
    return f"{singular}_versions"


def default_path() -> Path:
    """The database file: ``KPI_DB`` when set, else ``data/kpis.duckdb``."""
    return Path(os.environ.get("KPI_DB") or DEFAULT_DB)


class Store:
    """One open database file: read through :meth:`query` / :meth:`df`, write through :meth:`transaction`."""

    def __init__(self, path: str | os.PathLike[str] | None = None, *, memory_limit: str | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        config = {"memory_limit": memory_limit} if memory_limit else {}
        try:
            self._con = duckdb.connect(str(self.path), config=config)
        except duckdb.Error as exc:
            raise OSError(f"cannot open the database {self.path}: {exc}") from exc
        self._con.execute("SET TimeZone = 'UTC'")
        self._write_lock = threading.RLock()
        self._migrate()

    # -- connections -------------------------------------------------------------------------------------------
    def close(self) -> None:
        """Close the connection (the file stays)."""
        self._con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor of its own for one query or one thread; closed afterwards."""
        cur = self._con.cursor()
        try:
            cur.execute("SET TimeZone = 'UTC'")
            yield cur
        finally:
            cur.close()

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """Run one read query with parameters and return all its rows."""
        with self.cursor() as cur:
            return cur.execute(sql, params or []).fetchall()

    def df(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> pd.DataFrame:
        """Run one read query with parameters and return it as a DataFrame."""
        with self.cursor() as cur:
            return cur.execute(sql, params or []).df()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One write transaction under the write lock: commits on success, rolls back on any exception."""
        with self._write_lock, self.cursor() as cur:
            cur.execute("BEGIN TRANSACTION")
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")

    # -- schema -------------------------------------------------------------------------------------------------
    def _migrate(self) -> None:
        with self.transaction() as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = first(cur.execute("SELECT max(version) FROM schema_version"))
            current = row[0] if row and row[0] is not None else 0
            if current > SCHEMA_VERSION:
                raise OSError(
                    f"the database {self.path} has schema version {current}, newer than this program's "
                    f"{SCHEMA_VERSION}: update the program"
                )
            for version in range(current + 1, SCHEMA_VERSION + 1):
                for statement in _split_sql(_MIGRATIONS[version - 1]):
                    cur.execute(statement)
                cur.execute("INSERT INTO schema_version VALUES (?)", [version])

    def schema_version(self) -> int:
        """The schema version of the open file."""
        return int(self.query("SELECT max(version) FROM schema_version")[0][0])

    # -- settings and state -------------------------------------------------------------------------------------
    def get_setting(self, key: str, default: str | None = None) -> str | None:
        """A stored setting (``timezone``, ``inactive_events``, ...), or ``default``."""
        rows = self.query('SELECT "value" FROM settings WHERE "key" = ?', [key])
        return rows[0][0] if rows else default

    def set_setting(self, key: str, value: str) -> None:
        """Store a setting, replacing any earlier value."""
        with self.transaction() as cur:
            cur.execute('INSERT OR REPLACE INTO settings VALUES (?, ?)', [key, value])

    def data_version(self) -> tuple[int, int]:
        """Changes whenever stored data changes (an import or an undo): the key for caches of KPI results."""
        row = self.query("SELECT coalesce(max(import_id), 0), count(undone_at) FROM imports")[0]
        return int(row[0]), int(row[1])

    def is_empty(self) -> bool:
        """True when nothing was ever imported (or everything was undone)."""
        return not self.query("SELECT 1 FROM imports WHERE status = 'ok' LIMIT 1")


def _split_sql(script: str) -> list[str]:
    """Split a migration script on semicolons (our migrations hold no literal semicolons)."""
    return [s.strip() for s in script.split(";") if s.strip()]


def first(result: duckdb.DuckDBPyConnection) -> tuple[Any, ...] | None:
    """The first row of an executed query, reading the result fully (a half-read result blocks the cursor)."""
    rows = result.fetchall()
    return rows[0] if rows else None
