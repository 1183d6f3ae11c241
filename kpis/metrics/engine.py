"""The metrics engine: each KPI table computed by one function, once per data version, for every caller.

A KPI's ``table`` in the registry names the table that holds its column (:data:`TABLES` maps each name to the
function computing it). Targets, anomalies, the review, warm-up and the pages ask for KPIs one by one; a table
is a full pass over the subscriptions or the events, so :func:`table` keeps what it computed in a small memo
below any UI cache, keyed on the store, its :func:`data_version`, the table, grain, start, end, segment and event.
A new import, an undo or a changed setting gives a new data version, so nothing stale is ever returned; entries
of older versions simply age out of the memo (least recently used first).

Every caller gets its own shallow copy of a memoized frame (pandas copies on write), so no caller can change what
another sees.
"""

from __future__ import annotations

import itertools
import threading
import weakref
from collections import Counter, OrderedDict
from collections.abc import Callable, Hashable
from datetime import date
from typing import Any, TypeVar

import pandas as pd

from kpis.core.errors import InputError
from kpis.metrics import accounts, activation, engagement, kept, lifecycle, revenue, trials
from kpis.store.db import Store

T = TypeVar("T")
Segment = tuple[str, str]
TableFunction = Callable[[Store, str, date | None, date | None, Segment | None, str | None], pd.DataFrame]

#: How many tables (and small facts) the memo keeps: a page shows a few grains and segments of two or three tables.
MEMO_SIZE = 48
#: The engagement KPIs computed from the rolling counts of each day alone.
ROLLING = ("dau", "wau", "mau", "stickiness")
#: Why an adoption table cannot be computed without an event name.
NEEDS_EVENT = "adoption needs --event NAME (the event whose adoption to measure)"


def _revenue(store: Store, grain: str, start: date | None, end: date | None, segment: Segment | None,
             event: str | None) -> pd.DataFrame:
    return revenue.revenue_table(store, grain, start=start, end=end, segment=segment)


def _engagement(store: Store, grain: str, start: date | None, end: date | None, segment: Segment | None,
                event: str | None) -> pd.DataFrame:
    per_day = memoized(store, "daily", _daily, end, segment)  # the same at every grain
    gaps = memoized(store, "day_gaps", _gaps, end, segment)  # one pass over user_days for the period counts too
    return engagement.engagement_table(store, grain, start=start, end=end, segment=segment, per_day=per_day,
                                       gaps=gaps)


def _gaps(store: Store, end: date | None, segment: Segment | None) -> pd.DataFrame:
    as_of = end or engagement.engagement_as_of(store)
    return engagement.day_gaps(store, as_of, segment) if as_of is not None else pd.DataFrame()


def _daily(store: Store, end: date | None, segment: Segment | None) -> pd.DataFrame:
    gaps = memoized(store, "day_gaps", _gaps, end, segment)
    return engagement.daily(store, end=end, segment=segment, gaps=gaps)


def _engagement_rolling(store: Store, grain: str, start: date | None, end: date | None, segment: Segment | None,
                        event: str | None) -> pd.DataFrame:
    per_day = memoized(store, "daily", _daily, end, segment)
    return engagement.engagement_table(store, grain, start=start, end=end, segment=segment, kpis=ROLLING,
                                       per_day=per_day)


def _revenue_without_retention(store: Store, grain: str, start: date | None, end: date | None,
                               segment: Segment | None, event: str | None) -> pd.DataFrame:
    return revenue.revenue_table(store, grain, start=start, end=end, segment=segment, retention=False)


def _adoption(store: Store, grain: str, start: date | None, end: date | None, segment: Segment | None,
              event: str | None) -> pd.DataFrame:
    if not event:
        raise InputError(NEEDS_EVENT)
    return engagement.adoption(store, event, grain, start=start, end=end, segment=segment)


def _lifecycle(store: Store, grain: str, start: date | None, end: date | None, segment: Segment | None,
               event: str | None) -> pd.DataFrame:
    return lifecycle.lifecycle_table(store, grain, start=start, end=end, segment=segment)


def _activation(store: Store, grain: str, start: date | None, end: date | None, segment: Segment | None,
                event: str | None) -> pd.DataFrame:
    return activation.activation_table(store, grain, start=start, end=end, segment=segment)


def _trials(store: Store, grain: str, start: date | None, end: date | None, segment: Segment | None,
            event: str | None) -> pd.DataFrame:
    return trials.trials_table(store, grain, start=start, end=end, segment=segment)


def _accounts(store: Store, grain: str, start: date | None, end: date | None, segment: Segment | None,
              event: str | None) -> pd.DataFrame:
    return accounts.account_table(store, grain, start=start, end=end, segment=segment)


#: Each computed table: name -> the function computing it (the registry's ``Kpi.table`` names one of them).
TABLES: dict[str, TableFunction] = {"revenue": _revenue, "engagement": _engagement, "adoption": _adoption,
                                    "lifecycle": _lifecycle, "activation": _activation, "trials": _trials,
                                    "accounts": _accounts,
                                    "revenue_without_retention": _revenue_without_retention,
                                    "engagement_rolling": _engagement_rolling}
#: A lighter table holding every column of a table but a few: table -> (lighter table, the columns it lacks).
LIGHTER = {"revenue": ("revenue_without_retention", frozenset({"nrr", "grr"})),
           "engagement": ("engagement_rolling", frozenset(engagement.ENGAGEMENT_COLUMNS) - set(ROLLING))}


class Memo:
    """A bounded, thread-safe memo: each key computed once, by one thread, while others wanting it wait."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._done: OrderedDict[Hashable, Any] = OrderedDict()
        self._running: dict[Hashable, threading.Event] = {}

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The value of ``key``, computing it with ``compute`` when no thread has (a failed computation is
        not kept: the next caller tries again)."""
        while True:
            with self._lock:
                if key in self._done:
                    self._done.move_to_end(key)
                    return self._done[key]
                running = self._running.get(key)
                if running is None:
                    running = self._running[key] = threading.Event()
                    break
            running.wait()
        try:
            value = compute()
            with self._lock:
                self._done[key] = value
                while len(self._done) > self.size:
                    self._done.popitem(last=False)
            return value
        finally:
            with self._lock:
                del self._running[key]
            running.set()

    def clear(self) -> None:
        """Forget every value."""
        with self._lock:
            self._done.clear()

    def __len__(self) -> int:
        return len(self._done)

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._done


_MEMO = Memo(MEMO_SIZE)
_COUNTS: Counter[str] = Counter()
_COUNTS_LOCK = threading.Lock()
_TOKENS: weakref.WeakKeyDictionary[Store, int] = weakref.WeakKeyDictionary()
_NEXT_TOKEN = itertools.count(1)
_TOKENS_LOCK = threading.Lock()


def _token(store: Store) -> int:
    """A number for this open store, never reused in the process (an object id may be, once it is gone)."""
    with _TOKENS_LOCK:
        if store not in _TOKENS:
            _TOKENS[store] = next(_NEXT_TOKEN)
        return _TOKENS[store]


def data_version(store: Store) -> tuple[object, ...]:
    """What the KPI values depend on besides the request: the stored data's version, which changes with every
    import, undo and settings write (a timezone changes how the data is counted). The memo's key."""
    return store.data_version()


def computations() -> dict[str, int]:
    """How many times each table was computed in this process (not taken from the memo)."""
    with _COUNTS_LOCK:
        return dict(_COUNTS)


def forget() -> None:
    """Drop every memoized table (a restored database file, a test that wants a cold start)."""
    _MEMO.clear()


def memoized(store: Store, name: str, func: Callable[..., T], *args: Hashable) -> T:
    """``func(store, *args)``, once per data version of ``store`` (small facts: first days, as-of dates)."""
    def lookup(pinned: Store) -> T:
        key = (_token(pinned), data_version(pinned), name, args)
        return _MEMO.get(key, lambda: func(pinned, *args))

    return store.consistent(lookup)


def table(store: Store, name: str, grain: str, *, start: date | None = None, end: date | None = None,
          segment: Segment | None = None, event: str | None = None) -> pd.DataFrame:
    """The table ``name`` (:data:`TABLES`) at ``grain``, from the period starting on ``start`` (default: the first
    with data) to the one holding ``end`` (default: the data's as-of date), for ``segment`` and ``event``.

    A table from a later ``start`` is the rows of the table from the data's start: it is computed once.
    """
    if name not in TABLES:
        raise ValueError(f"unknown table {name!r}; one of {', '.join(TABLES)}")
    found = store.consistent(_lookup, name, grain, None, end, segment, event)
    if start is None:
        return found.copy(deep=False)
    if found.empty or start < found["period_start"].iloc[0]:
        found = store.consistent(_lookup, name, grain, start, end, segment, event)
    return found[found["period_start"] >= start].reset_index(drop=True)


def table_holding(store: Store, name: str, column: str, grain: str, *, end: date | None = None,
                  segment: Segment | None = None, event: str | None = None) -> pd.DataFrame:
    """The table ``name`` when it is memoized already, else the lightest table holding ``column`` with the same
    values (:data:`LIGHTER`): a trend of weekly MRR needs no twelve-month look-back for every week."""
    lighter = LIGHTER.get(name)
    if lighter is not None and column not in lighter[1] and not _memoized(store, name, grain, end, segment, event):
        name = lighter[0]
    return table(store, name, grain, end=end, segment=segment, event=event)


def _memoized(store: Store, name: str, grain: str, end: date | None, segment: Segment | None,
              event: str | None) -> bool:
    def has(pinned: Store) -> bool:
        if (_token(pinned), data_version(pinned), name, grain, None, end, segment, event) in _MEMO:
            return True
        folder = kept.folder_of(pinned)  # kept on disk by another process: as good as memoized
        return folder is not None and kept.path_of(folder, data_version(pinned),
                                                   (name, grain, None, end, segment, event)).is_file()

    return store.consistent(has)


def _lookup(store: Store, name: str, grain: str, start: date | None, end: date | None, segment: Segment | None,
            event: str | None) -> pd.DataFrame:
    key = (_token(store), data_version(store), name, grain, start, end, segment, event)
    return _MEMO.get(key, lambda: _compute(store, name, grain, start, end, segment, event))


def _compute(store: Store, name: str, grain: str, start: date | None, end: date | None, segment: Segment | None,
             event: str | None) -> pd.DataFrame:
    folder = kept.folder_of(store)
    path = kept.path_of(folder, data_version(store), (name, grain, start, end, segment, event)) if folder else None
    if path is not None:
        found = kept.read(path)
        if found is not None:
            return found
    with _COUNTS_LOCK:
        _COUNTS[name] += 1
    table = TABLES[name](store, grain, start, end, segment, event)
    if path is not None:
        kept.write(path, table)
    return table


def revenue_table(store: Store, grain: str, *, start: date | None = None, end: date | None = None,
                  segment: Segment | None = None) -> pd.DataFrame:
    """:func:`kpis.metrics.revenue.revenue_table`, memoized."""
    return table(store, "revenue", grain, start=start, end=end, segment=segment)


def engagement_table(store: Store, grain: str, *, start: date | None = None, end: date | None = None,
                     segment: Segment | None = None,
                     kpis: tuple[str, ...] = engagement.ENGAGEMENT_COLUMNS) -> pd.DataFrame:
    """:func:`kpis.metrics.engagement.engagement_table` (the columns of ``kpis``), memoized: every engagement KPI
    is computed once for all of them."""
    found = table(store, "engagement", grain, start=start, end=end, segment=segment)
    return found[["period_start", "period_end", "partial", *kpis]]


def first_days(store: Store) -> dict[str, date | None]:
    """The first day with data of each source (``revenue``: the first paid day, ``engagement``: the first event
    day, ``accounts``: the first event day too, since an account's active users are counted from the events), from
    which the warm-up of its KPIs is counted; once per data version."""
    return dict(memoized(store, "first_days", _first_days))


def _first_days(store: Store) -> dict[str, date | None]:
    events = engagement.first_active_day(store)
    return {"revenue": revenue.first_paid_day(store), "engagement": events, "accounts": events}


def as_of_dates(store: Store) -> tuple[date | None, date | None]:
    """The revenue and the engagement as-of dates (the last day each source has data for); once per version."""
    return memoized(store, "as_of_dates", _as_of_dates)


def _as_of_dates(store: Store) -> tuple[date | None, date | None]:
    return revenue.revenue_as_of(store), engagement.engagement_as_of(store)


#: The tables :func:`fill` computes (adoption needs an event; the lighter tables are parts of these).
FILLED = ("revenue", "engagement")


def fill(store: Store, grains: tuple[str, ...], segments: tuple[Segment | None, ...] = (None,)) -> int:
    """Compute every table of :data:`FILLED` at each of ``grains`` for each of ``segments`` (None: everyone), so
    that the pages find them computed (kept on disk by an engine that keeps tables: ``python -m kpis warm``).
    Returns how many tables were asked for."""
    count = 0
    for segment in segments:
        for grain in grains:
            for name in FILLED:
                table(store, name, grain, segment=segment)
                count += 1
    return count
