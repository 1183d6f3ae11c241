"""The engine under the KPI functions, and how one is chosen.

An engine is what the KPI functions, the targets, the anomalies and the review read through (:class:`Engine`):
the local DuckDB store itself (the default, and the fastest up to hundreds of millions of events on one machine),
or :class:`kpis.store.spark.SparkStore`, which runs the same queries on Apache Spark over a lake
(``docs/scale.md``). The choice comes from the command line (``--engine spark --lake DIR``) or the environment:

- ``KPI_ENGINE``: ``duckdb`` (default) or ``spark``;
- ``KPI_LAKE``: the lake's folder or URI (``s3a://``, ``abfss://``, ``gs://`` where the cluster has the connector);
- ``KPI_SPARK_REMOTE``: a Spark Connect address, ``sc://host:15002`` (a cluster, Databricks), or
- ``KPI_SPARK_MASTER``: a Spark started in this process, ``local[2]``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from kpis.core.errors import InputError
from kpis.store.db import Store

if TYPE_CHECKING:
    import pandas as pd

T = TypeVar("T")

#: The engines, by the name ``--engine`` and ``KPI_ENGINE`` take.
ENGINES = ("duckdb", "spark")
#: The name of the Spark engine, which its store also carries (``SparkStore.name``).
SPARK = "spark"
#: A Spark Connect address: ``sc://host:port`` with optional ``/;param=value`` parts.
_REMOTE = re.compile(r"sc://[A-Za-z0-9.\-]+(:[0-9]{1,5})?(/.*)?")
#: A Spark master this program may start in process: ``local``, ``local[N]``, ``local[*]``, or a cluster URL.
_MASTER = re.compile(r"local(\[([0-9]{1,3}|\*)\])?|(spark|yarn|k8s)(://\S+)?")


class Engine(Protocol):
    """What the KPI functions need of the place their tables live."""

    def query(self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None,
              frames: Mapping[str, pd.DataFrame] | None = None) -> list[tuple[Any, ...]]:
        """The rows of one read query (DuckDB SQL with ``$name`` parameters; ``frames``: small frames the query
        reads as tables, for this query only)."""

    def df(self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None,
           frames: Mapping[str, pd.DataFrame] | None = None) -> pd.DataFrame:
        """One read query as a DataFrame."""

    def consistent(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``func(engine, ...)`` with every read of it from one state of the data."""

    def data_version(self) -> tuple[object, ...]:
        """Changes whenever the data or a setting the KPIs depend on changes: the key of every cache."""

    def get_setting(self, key: str, default: str | None = None) -> str | None:
        """A stored setting (settings always live in the local store)."""

    def describe(self) -> str:
        """Which engine computes the KPIs, from what: for the pages' captions."""


@dataclass(frozen=True)
class Choice:
    """An engine and where it reads: ``lake`` and one of ``remote``/``master`` for Spark."""

    engine: str = "duckdb"
    lake: str | None = None
    remote: str | None = None
    master: str | None = None

    @property
    def is_local(self) -> bool:
        """Whether the local store computes the KPIs itself (DuckDB)."""
        return self.engine == "duckdb"

    def check(self) -> Choice:
        """This choice, or an :class:`InputError` saying what is missing or malformed."""
        if self.engine not in ENGINES:
            raise InputError(f"unknown engine {self.engine!r}: one of {', '.join(ENGINES)} (KPI_ENGINE, --engine)")
        if self.engine == "duckdb":
            if self.lake or self.remote or self.master:
                raise InputError("a lake or a Spark address is set, but the engine is duckdb: set KPI_ENGINE=spark "
                                 "(--engine spark) to compute the KPIs with Spark")
            return self
        if not self.lake:
            raise InputError("the Spark engine needs the lake it reads: KPI_LAKE (--lake) is a folder or a URI "
                             "written by python -m kpis export")
        if "\n" in self.lake or "\x00" in self.lake:
            raise InputError("KPI_LAKE holds a line break or a NUL character: it must be one folder or URI")
        if self.remote and not _REMOTE.fullmatch(self.remote):
            raise InputError(f"KPI_SPARK_REMOTE {self.remote!r} is not a Spark Connect address such as "
                             "sc://host:15002")
        if self.master and not _MASTER.fullmatch(self.master):
            raise InputError(f"KPI_SPARK_MASTER {self.master!r} is not a Spark master such as local[2]")
        if bool(self.remote) == bool(self.master):
            raise InputError("the Spark engine needs either KPI_SPARK_REMOTE (sc://host:15002, a cluster or "
                             "Databricks) or KPI_SPARK_MASTER (local[2]), not both")
        return self


def choose(engine: str | None = None, lake: str | None = None, remote: str | None = None,
           master: str | None = None, environ: Mapping[str, str] | None = None) -> Choice:
    """The engine chosen on the command line, each option given overriding its environment variable, checked.

    >>> choose("duckdb", environ={"KPI_ENGINE": "spark"}).engine
    'duckdb'
    >>> choose(lake="/lake", remote="sc://spark:15002", environ={"KPI_ENGINE": "spark",
    ...                                                          "KPI_SPARK_MASTER": "local[2]"}).remote
    'sc://spark:15002'
    """
    env = os.environ if environ is None else environ
    name = (engine or env.get("KPI_ENGINE") or "duckdb").strip().lower()
    if engine is not None and name == "duckdb":
        return Choice()
    if name == "duckdb" and not (lake or remote or master):
        return from_environment(env)
    if remote or master:  # an address given on the command line replaces both of the environment's
        return Choice(name, lake or env.get("KPI_LAKE") or None, remote, master).check()
    return Choice(name, lake or env.get("KPI_LAKE") or None, env.get("KPI_SPARK_REMOTE") or None,
                  env.get("KPI_SPARK_MASTER") or None).check()


def on_spark(store: object) -> bool:
    """Whether Spark computes the KPIs read through ``store`` (for the pages' captions and progress messages).

    Read from the store's ``name`` (:attr:`kpis.store.spark.SparkStore.name`), so that asking never imports Spark.

    >>> on_spark(object())
    False
    """
    return getattr(store, "name", None) == SPARK


def from_environment(environ: Mapping[str, str] | None = None) -> Choice:
    """The engine the environment chooses (``KPI_ENGINE``, ``KPI_LAKE``, ``KPI_SPARK_REMOTE``,
    ``KPI_SPARK_MASTER``), checked.

    >>> from_environment({})
    Choice(engine='duckdb', lake=None, remote=None, master=None)
    >>> from_environment({"KPI_ENGINE": "spark", "KPI_LAKE": "/lake", "KPI_SPARK_MASTER": "local[2]"}).master
    'local[2]'
    """
    env = os.environ if environ is None else environ
    return Choice(engine=(env.get("KPI_ENGINE") or "duckdb").strip().lower(),
                  lake=env.get("KPI_LAKE") or None, remote=env.get("KPI_SPARK_REMOTE") or None,
                  master=env.get("KPI_SPARK_MASTER") or None).check()


def open_engine(local: Store, choice: Choice) -> Engine:
    """The engine of ``choice`` over the local store: the store itself for DuckDB; for Spark, a
    :class:`kpis.store.spark.SparkStore` on the lake (its session started or reached here)."""
    choice.check()
    if choice.engine == "duckdb":
        return local
    from kpis.store import lake, spark  # Spark and its translator load only when Spark computes the KPIs
    assert choice.lake is not None
    if not spark.is_uri(choice.lake):
        lake.read_manifest(choice.lake)  # a wrong folder is named before Spark starts
    session = spark.session(remote=choice.remote, master=choice.master)
    return spark.SparkStore(local, choice.lake, session, where=choice.remote or choice.master or "")
