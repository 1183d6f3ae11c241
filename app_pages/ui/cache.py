"""The process's one Store and the caches of what is read from it, keyed on the store's data version.

Every cached read goes through :func:`cached` or :func:`computed`, whose key holds
:meth:`kpis.store.db.Store.data_version`: a write from this process, another process or the command line changes
it, so nothing stale is served. A write from this process also calls :func:`forget_cached` (through
:mod:`app_pages.ui.actions`), whatever the write did to the version.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar, cast

import pandas as pd
import streamlit as st

from kpis.plan import annotations as notes
from kpis.store import engines
from kpis.store.db import Store, default_path
from kpis.store.engines import Engine

T = TypeVar("T")


#: What a page says while Spark computes what is not cached yet (DuckDB answers too fast for a message to help).
SPARK_WORKING = "Spark is computing these numbers from the lake; they stay cached until the lake changes."


@st.cache_resource(show_spinner=False)
def _store_at(path: str) -> Store:
    return Store(path)


@st.cache_resource(show_spinner="Connecting to Spark…")
def _engine_at(path: str, choice: engines.Choice) -> Engine:
    return engines.open_engine(_store_at(path), choice)


def open_local() -> Store:
    """The process's one local Store (``KPI_DB``): imports, settings, targets and notes always live there."""
    return _store_at(str(default_path().resolve()))


def open_store() -> Store:
    """What the pages read KPIs through: the local Store, or the Spark engine over the lake when ``KPI_ENGINE`` is
    ``spark`` (:mod:`kpis.store.engines`; every other read and write still goes to the local store)."""
    choice = engines.from_environment()
    if choice.is_local:
        return open_local()
    return cast(Store, _engine_at(str(default_path().resolve()), choice))


def on_spark(store: Store) -> bool:
    """Whether Spark computes this store's KPIs."""
    return engines.on_spark(store)


def version(store: Store) -> Hashable:
    """The key every cached read is kept under: the store's data version (it changes with every write); with
    Spark, the lake's version and the local store's (where notes and targets live)."""
    if on_spark(store):
        return store.data_version(), store.local.data_version()
    return store.data_version()


@st.cache_data(show_spinner=False, max_entries=256)
def _cached(name: str, path: str, version: Hashable, _func: Callable[[Store], T], _store: Store) -> T:
    return _store.consistent(_func)


@st.cache_data(show_spinner=SPARK_WORKING, max_entries=256)
def _cached_spark(name: str, path: str, version: Hashable, _func: Callable[[Store], T], _store: Store) -> T:
    return _store.consistent(_func)


def cached(store: Store, func: Callable[[Store], T]) -> T:
    """``func(store)``, cached until the stored data changes (an import, an undo, a note)."""
    name = f"{func.__module__}.{func.__qualname__}"
    read = _cached_spark if on_spark(store) else _cached
    return read(name, str(store.path), version(store), func, store)


@st.cache_data(show_spinner=False, max_entries=512)
def _computed(name: str, path: str, version: Hashable, args: tuple[object, ...],
              kwargs: tuple[tuple[str, object], ...], _func: Callable[..., T], _store: Store) -> T:
    return _store.consistent(_func, *args, **dict(kwargs))


@st.cache_data(show_spinner=SPARK_WORKING, max_entries=512)
def _computed_spark(name: str, path: str, version: Hashable, args: tuple[object, ...],
                    kwargs: tuple[tuple[str, object], ...], _func: Callable[..., T], _store: Store) -> T:
    return _store.consistent(_func, *args, **dict(kwargs))


def computed(store: Store, func: Callable[..., T], *args: object, **kwargs: object) -> T:
    """``func(store, *args, **kwargs)`` (a KPI query), cached on the store's path, its data version and the
    arguments (the filter values), until the stored data changes. With Spark, the page says it is working
    while a value is computed."""
    name = f"{func.__module__}.{func.__qualname__}"
    compute = _computed_spark if on_spark(store) else _computed
    return compute(name, str(store.path), version(store), args, tuple(sorted(kwargs.items())), func, store)


def annotations(store: Store) -> pd.DataFrame:
    """Every note on dates (``day``, ``text``, ...), read once per data version for all the charts of a run."""
    return cached(store, notes.all_annotations)


def forget_cached() -> None:
    """Drop every cached result after this process wrote to the store (whatever the write did to the version)."""
    for cache in (_cached, _cached_spark, _computed, _computed_spark):
        cache.clear()
