"""The process's one Store and the caches of what is read from it, keyed on the store's data version.

Every cached read goes through :func:`cached` or :func:`computed`, whose key holds
:meth:`kpis.store.db.Store.data_version`: a write from this process, another process or the command line changes
it, so nothing stale is served. A write from this process also calls :func:`forget_cached` (through
:mod:`app_pages.ui.actions`), whatever the write did to the version.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

import pandas as pd
import streamlit as st

from kpis.plan import annotations as notes
from kpis.store.db import Store, default_path

T = TypeVar("T")


@st.cache_resource(show_spinner=False)
def _store_at(path: str) -> Store:
    return Store(path)


def open_store() -> Store:
    """The process's one Store for the database at :func:`kpis.store.db.default_path` (``KPI_DB``)."""
    return _store_at(str(default_path().resolve()))


def version(store: Store) -> Hashable:
    """The key every cached read is kept under: the store's data version (it changes with every write)."""
    return store.data_version()


@st.cache_data(show_spinner=False, max_entries=256)
def _cached(name: str, path: str, version: Hashable, _func: Callable[[Store], T], _store: Store) -> T:
    return _store.consistent(_func)


def cached(store: Store, func: Callable[[Store], T]) -> T:
    """``func(store)``, cached until the stored data changes (an import, an undo, a note)."""
    name = f"{func.__module__}.{func.__qualname__}"
    return _cached(name, str(store.path), version(store), func, store)


@st.cache_data(show_spinner=False, max_entries=512)
def _computed(name: str, path: str, version: Hashable, args: tuple[object, ...],
              kwargs: tuple[tuple[str, object], ...], _func: Callable[..., T], _store: Store) -> T:
    return _store.consistent(_func, *args, **dict(kwargs))


def computed(store: Store, func: Callable[..., T], *args: object, **kwargs: object) -> T:
    """``func(store, *args, **kwargs)`` (a KPI query), cached on the store's path, its data version and the
    arguments (the filter values), until the stored data changes."""
    name = f"{func.__module__}.{func.__qualname__}"
    return _computed(name, str(store.path), version(store), args, tuple(sorted(kwargs.items())), func, store)


def annotations(store: Store) -> pd.DataFrame:
    """Every note on dates (``day``, ``text``, ...), read once per data version for all the charts of a run."""
    return cached(store, notes.all_annotations)


def forget_cached() -> None:
    """Drop every cached result after this process wrote to the store (whatever the write did to the version)."""
    _cached.clear()
    _computed.clear()
