"""The Spark engine: the KPI queries run by Apache Spark on a lake (:mod:`kpis.store.lake`'s layout), for a company
whose events outgrow one machine.

:class:`SparkStore` stands where a :class:`kpis.store.db.Store` stands under the KPI functions. Each query goes where
its tables live: the lake's tables (events, subscriptions, customers, their attributes, exchange rates, metric
points) and what is derived from them (``user_days``, ``users``) are read by Spark; everything else (settings,
imports, targets, annotations) stays in the local DuckDB store, which every other call is passed to. A query that
joins both is refused, never half-answered.

The derived tables are built by Spark from the lake's events with the same SQL that builds them in DuckDB
(:func:`kpis.store.derived.user_days_sql`), once per lake version and settings, and kept in the Spark session
(checkpointed, so a KPI query never recomputes them). The lake's version is its manifest's data version:
a new export gives a new version, so the KPI memo and the pages' caches, keyed on :meth:`SparkStore.data_version`,
never serve numbers of an older lake.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import socket
import threading
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import pandas as pd

from kpis.core.errors import DataError, InputError
from kpis.store import derived, dialect, lake, settings
from kpis.store.db import Store

try:  # the Spark engine's own requirements (requirements-spark.txt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pyspark.errors import PySparkException
        from pyspark.sql import SparkSession
except ImportError:  # pragma: no cover - exercised where the Spark requirements are not installed
    SparkSession = None

    class PySparkException(Exception):  # type: ignore[no-redef]
        """Stands for pyspark's errors where pyspark is not installed."""

T = TypeVar("T")

#: The lake's tables Spark reads (``targets`` stays in the local store, with the settings and annotations).
LAKE_TABLES = ("events", "subscriptions", "customers", "customer_attributes", "fx_rates", "metric_points",
               "account_links")
#: Tables a lake exported by an earlier version may lack, with their columns: such a lake holds none of their rows.
LATER_TABLES = {"account_links": "key_kind STRING, key STRING, customer_id STRING"}
#: The tables Spark derives from the lake: the same as the local store's derived tables, plus ``imports`` (each
#: import's source, read from the events' ``source`` column), which ``event_sources`` needs.
SPARK_DERIVED = (*derived.DERIVED_TABLES, "imports")
#: The events as the KPI queries read them: the local store's columns, the source standing for the import (the
#: one thing ``event_sources`` reads of it), and the UTC day of the partitions under another name than the days
#: of the reporting time zone.
_EVENT_COLUMNS = ("uuid", "user_id", "event", "ts", "account_id", "source", "coalesce(source, '') AS import_id",
                  f"{lake.PARTITION} AS utc_day")
#: The events' columns in the lake (``docs/scale.md``), given to Spark rather than inferred from the files: a lake
#: without events has an empty ``events/`` folder, from which no schema can be inferred.
EVENTS_SCHEMA = ("uuid STRING, user_id STRING, event STRING, ts TIMESTAMP, account_id STRING, source STRING, "
                 f"{lake.PARTITION} DATE")
#: How often a lake at a URI (``s3a://``...) is checked for a new export; a local folder is checked at every read.
REMOTE_CHECK_SECONDS = 60.0
#: Spark Connect's port when the address names none, and how long to wait for it to answer a connection.
DEFAULT_CONNECT_PORT = 15002
CONNECT_TIMEOUT_SECONDS = 10.0
#: The Spark settings of a session this program starts or connects to: timestamps are UTC instants, as in the
#: local store.
SESSION_CONF = {"spark.sql.session.timeZone": "UTC"}
#: pyspark warns about pandas 3 on every conversion; the parity tests compare every KPI with DuckDB's instead.
_PANDAS_WARNING = "PySpark does not yet fully support pandas"


def available() -> bool:
    """Whether pyspark and sqlglot are installed."""
    return SparkSession is not None and dialect.available()


def session(remote: str | None = None, master: str | None = None) -> Any:
    """A Spark session: through Spark Connect at ``remote`` (``sc://host:15002``), or a local Spark started in this
    process with ``master`` (``local[2]``)."""
    if not available():
        raise InputError(f"the Spark engine needs pyspark and sqlglot: {dialect.INSTALL}")
    if bool(remote) == bool(master):
        raise InputError("the Spark engine needs either a Spark Connect address (KPI_SPARK_REMOTE, "
                         "sc://host:15002) or a master (KPI_SPARK_MASTER, local[2]), not both")
    logging.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL)  # errors are reported as messages
    if remote:
        _check_reachable(remote)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_PANDAS_WARNING)
        try:
            if remote:
                found = SparkSession.builder.remote(remote).getOrCreate()
            else:
                builder = SparkSession.builder.master(master).appName("kpis").config("spark.ui.enabled", "false")
                for key, value in SESSION_CONF.items():
                    builder = builder.config(key, value)
                found = builder.getOrCreate()
            for key, value in SESSION_CONF.items():
                found.conf.set(key, value)
            if master:
                found.sparkContext.setLogLevel("ERROR")
        except PySparkException as exc:
            raise OSError(f"cannot reach Spark at {remote or master}: {_first_line(exc)}") from None
    return found


class SparkStore:
    """The KPI queries on Spark over the lake at ``lake``; every other read and write goes to ``local``."""

    name = "spark"

    def __init__(self, local: Store, lake_path: str, spark: Any, *, where: str = "") -> None:
        self.local = local
        self.lake = str(lake_path).rstrip("/")
        self.spark = spark
        self.where = where
        self._lock = threading.RLock()
        self._views: dict[str, str] = {}
        self._built: tuple[object, ...] | None = None
        self._manifest: dict[str, Any] = {}
        self._manifest_key: object = None
        self._checked_at = float("-inf")
        self._names = itertools.count(1)
        self._reload()

    # -- what a KPI function needs of a store ----------------------------------------------------------------
    def query(self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None,
              frames: Mapping[str, pd.DataFrame] | None = None) -> list[tuple[Any, ...]]:
        """The rows of one read query, run where its tables live."""
        if not self._on_spark(sql, frames):
            return self.local.query(sql, params, frames)
        return [tuple(row) for row in self._run(sql, params, frames, lambda found: found.collect())]

    def df(self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None,
           frames: Mapping[str, pd.DataFrame] | None = None) -> pd.DataFrame:
        """One read query as a DataFrame, run where its tables live."""
        if not self._on_spark(sql, frames):
            return self.local.df(sql, params, frames)
        return self._run(sql, params, frames, _to_pandas)

    def consistent(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``func(self, *args, **kwargs)``: a lake version never changes in place (an export replaces it whole)."""
        return func(self, *args, **kwargs)

    def data_version(self) -> tuple[object, ...]:
        """The lake's version and the local settings the KPIs depend on: the key of every cache of KPI values."""
        self._refresh_manifest()
        local = self.local.data_version()
        return ("spark", self.lake, tuple(self._manifest.get("data_version", ())), self._manifest_key, local[4])

    @property
    def results(self) -> Path | None:
        """Where computed KPI tables are kept between processes (:mod:`kpis.metrics.kept`): ``KPI_RESULTS``, else
        ``spark-results`` beside the local database."""
        if os.environ.get("KPI_RESULTS"):
            return Path(os.environ["KPI_RESULTS"])
        if str(self.local.path) == ":memory:":
            return None
        return self.local.path.parent / "spark-results"

    def is_empty(self) -> bool:
        """True when the lake holds no event and no subscription."""
        tables = self._manifest.get("tables", {})
        return not any(int(tables.get(t, {}).get("rows", 0)) for t in ("events", "subscriptions"))

    def describe(self) -> str:
        """Which engine computes the KPIs and from what, for the pages' captions and the CLI."""
        version = ".".join(str(n) for n in self._manifest.get("data_version", ()))
        return f"Spark{f' ({self.where})' if self.where else ''}, lake {self.lake} (data version {version})"

    def materialize(self, name: str, sql: str, params: Mapping[str, Any] | None = None) -> None:
        """Compute a derived table once and keep it in the Spark session under ``name``."""
        with self._lock:
            self._materialize(name, sql, dict(params or {}))

    def close(self) -> None:
        """Drop this store's views; the Spark session stays (it may serve other stores of the process)."""
        with self._lock:
            for view in self._views.values():
                self._quiet(lambda v=view: self.spark.catalog.dropTempView(v))
            self._views.clear()

    def __getattr__(self, attribute: str) -> Any:
        """Everything else (settings, targets, annotations, writes) is the local store's."""
        if attribute.startswith("_"):
            raise AttributeError(attribute)
        return getattr(self.local, attribute)

    # -- routing ------------------------------------------------------------------------------------------------
    def _on_spark(self, sql: str, frames: Mapping[str, pd.DataFrame] | None) -> bool:
        tables = dialect.tables_in(sql) - set(frames or {})
        spark_tables = tables & {*LAKE_TABLES, *SPARK_DERIVED}
        if not spark_tables:
            return False
        local_only = tables - spark_tables
        if local_only and not spark_tables <= {"imports"}:
            raise DataError(f"a query joins the lake's {', '.join(sorted(spark_tables))} with the local "
                            f"{', '.join(sorted(local_only))}: the Spark engine cannot answer it")
        return bool(spark_tables - {"imports"})

    def _run(self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None,
             frames: Mapping[str, pd.DataFrame] | None, fetch: Callable[[Any], T]) -> T:
        self._refresh_manifest()
        with self._lock:
            if dialect.tables_in(sql) & set(SPARK_DERIVED):
                self._build_derived()
            names = dict(self._views)
        registered = []
        try:
            for name, frame in (frames or {}).items():
                view = f"kpi_frame_{next(self._names)}"
                self._frame(frame).createOrReplaceTempView(view)
                registered.append(view)
                names[name] = view
            text = dialect.to_spark(sql, names)
            args = dict(params) if isinstance(params, Mapping) else list(params or [])
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=_PANDAS_WARNING)
                return fetch(self.spark.sql(text, args=args or None))
        except PySparkException as exc:
            raise DataError(f"Spark could not compute a KPI: {_first_line(exc)}") from None
        finally:
            for view in registered:
                self._quiet(lambda v=view: self.spark.catalog.dropTempView(v))

    def _frame(self, frame: pd.DataFrame) -> Any:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=_PANDAS_WARNING)
            return self.spark.createDataFrame(frame)

    # -- the lake and its derived tables -------------------------------------------------------------------------
    def _refresh_manifest(self) -> None:
        """Read the manifest again when the lake may have been replaced; a new export drops every view."""
        if is_uri(self.lake) and time.monotonic() - self._checked_at < REMOTE_CHECK_SECONDS:
            return
        key = self._manifest_fingerprint()
        if key != self._manifest_key:
            with self._lock:
                if key != self._manifest_key:
                    self._reload()

    def _manifest_fingerprint(self) -> object:
        """What changes with every export: the digest of the manifest at a URI, its file's identity here."""
        if is_uri(self.lake):
            self._checked_at = time.monotonic()
            return _digest(self._read_text(self._manifest_at()))
        try:
            stat = (Path(self.lake) / lake.MANIFEST).stat()
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size, stat.st_ino

    def _manifest_at(self) -> str:
        return f"{self.lake}/{lake.MANIFEST}"

    def _reload(self) -> None:
        """Read the manifest and register the lake's tables as views of this version."""
        if is_uri(self.lake):  # one read of the manifest gives both
            self._checked_at = time.monotonic()
            text = self._read_text(self._manifest_at())
            key, content = _digest(text), lake.parse_manifest(text, self._manifest_at())
        else:
            key, content = self._manifest_fingerprint(), lake.read_manifest(self.lake)
        self.close()
        generation = next(self._names)
        for table in LAKE_TABLES:
            view = f"kpi_{table}_{generation}"
            path = f"{self.lake}/{lake.table_path(table)}"
            try:
                if table == lake.EVENTS:  # each source stands for its imports (the lake keeps no import ids)
                    found = self.spark.read.schema(EVENTS_SCHEMA).parquet(path).selectExpr(*_EVENT_COLUMNS)
                elif table not in content.get("tables", {}) and table in LATER_TABLES:
                    found = self.spark.createDataFrame([], LATER_TABLES[table])
                else:
                    found = self.spark.read.parquet(path)
                found.createOrReplaceTempView(view)
            except PySparkException as exc:
                raise DataError(f"Spark cannot read the lake's {table} at {path}: {_first_line(exc)}") from None
            self._views[table] = view
        self._manifest, self._manifest_key, self._built = content, key, None

    def _read_text(self, path: str) -> str:
        try:
            rows = self.spark.read.text(path, wholetext=True).collect()
        except PySparkException as exc:
            raise InputError(f"{path} cannot be read: {_first_line(exc)}") from None
        if not rows:
            raise InputError(f"{path} is empty")
        return str(rows[0][0])

    def _build_derived(self) -> None:
        """Build ``user_days``, ``users`` and ``imports`` for the settings now stored, unless built already."""
        tz, inactive, sources = settings.timezone(self.local), settings.inactive_events(self.local), \
            settings.event_sources(self.local)
        wanted = (self._manifest_key, tz, tuple(inactive), tuple(sources))
        if self._built == wanted:
            return
        if sources:
            self._materialize("imports", "SELECT DISTINCT import_id, source FROM events", {})
        self._materialize("user_days", derived.user_days_sql(tz, inactive, sources),
                          derived.user_days_params(tz, inactive, sources))
        self._materialize("users", f"{derived.USERS_SQL} GROUP BY ALL", {})
        self._built = wanted

    def _materialize(self, name: str, sql: str, params: dict[str, Any]) -> None:
        view = f"kpi_{name}_{next(self._names)}"
        text = dialect.to_spark(sql, self._views)
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=_PANDAS_WARNING)
                self.spark.sql(text, args=params or None).localCheckpoint(eager=True).createOrReplaceTempView(view)
        except PySparkException as exc:
            raise DataError(f"Spark could not build {name} from the lake: {_first_line(exc)}") from None
        old = self._views.get(name)
        self._views[name] = view
        if old is not None:
            self._quiet(lambda: self.spark.catalog.dropTempView(old))

    @staticmethod
    def _quiet(action: Callable[[], object]) -> None:
        """Run a clean-up step; a failure there (a session gone) must not hide the answer or the first error."""
        try:
            action()
        except (PySparkException, OSError, ValueError):
            pass


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _to_pandas(found: Any) -> pd.DataFrame:
    """A Spark result as a plain DataFrame (without the query plan's metrics pyspark leaves in ``attrs``, which
    nothing here reads and Parquet cannot hold)."""
    frame = found.toPandas()
    frame.attrs = {}
    return frame


def _check_reachable(remote: str) -> None:
    """Fail at once, with the address, when nothing listens there (the Spark Connect client retries for minutes)."""
    address = urlsplit(remote.split("/;", 1)[0])
    host, port = address.hostname or "localhost", address.port or DEFAULT_CONNECT_PORT
    try:
        socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_SECONDS).close()
    except OSError as exc:
        raise OSError(f"cannot reach Spark Connect at {host}:{port} ({exc.strerror or exc}): is the server "
                      "running, and is KPI_SPARK_REMOTE right?") from None


def is_uri(path: str) -> bool:
    """Whether the lake is at a URI (``s3a://``, ``abfss://``, ``gs://``, ``hdfs://``) rather than a local folder.

    >>> is_uri("s3a://bucket/lake"), is_uri("/data/lake"), is_uri("file:///data/lake")
    (True, False, False)
    """
    scheme = urlsplit(path).scheme
    return len(scheme) > 1 and scheme != "file"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__
