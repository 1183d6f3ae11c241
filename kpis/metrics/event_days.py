"""The span of the stored events: the first and the last event day, and the periods a table over them covers.

Reads ``user_days`` only and builds no frame, so a command that needs no table of pandas' starts without it.
"""

from __future__ import annotations

from datetime import date

from kpis.core.calendar import Period, spine
from kpis.store.db import Store


def engagement_as_of(store: Store) -> date | None:
    """The last event day in the reporting time zone."""
    return store.query("SELECT max(day) FROM user_days")[0][0]


def first_active_day(store: Store) -> date | None:
    """The first event day (of any event, active or not): where every engagement series starts."""
    return store.query("SELECT min(day) FROM user_days")[0][0]


def event_periods(store: Store, grain: str, start: date | None, end: date | None) -> tuple[date, list[Period]] | None:
    """The as-of date (``end``, else the last event day) and the periods of an engagement table: from the first
    event day, or from ``start`` when it is earlier, to the as-of date; None without events up to it."""
    as_of = end or engagement_as_of(store)
    first = first_active_day(store)
    if as_of is None or first is None or first > as_of:
        return None
    return as_of, spine(min(first, start) if start else first, as_of, grain)
