"""Activation (as Amplitude's and PostHog's activation reports measure it): of the users who started in a period,
the share who did the activation event within their first days.

With the settings ``activation_event`` (E) and ``activation_window_days`` (w) and ``first_active(u)`` the user's
first active day (as the lifecycle has it: events listed in ``inactive_events`` do not make anyone active):

- u is *activated* when they did E on a day in first_active(u) .. first_active(u) + w - 1;
- started(P): users with first_active in P whose window has ended by the as-of date (first_active + w - 1 <=
  as-of): a user still inside their window could yet activate, so they are not counted either way;
- activation_rate(P) = activated(P) / started(P); undefined when started(P) = 0.

E counts whether or not it is listed in ``inactive_events``: the setting names the event to look for, and a
user's window still opens on their first active day. The events counted are those every engagement KPI counts
(``event_sources``), on days in the reporting time zone. Every grain: a user's period is the one holding their
first active day. The settings are bound as SQL parameters.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from kpis.core.errors import InputError
from kpis.metrics.engagement import event_periods, segment_sql
from kpis.store import settings
from kpis.store.db import Store
from kpis.store.derived import counted_events_sql, day_sql

#: The activation table's columns after the period's.
ACTIVATION_COLUMNS = ("started", "activated", "activation_rate")


def activation_settings(store: Store) -> tuple[str, int]:
    """The activation event and window; an :class:`InputError` saying how to set the event when it is unset."""
    event = settings.activation_event(store)
    if event is None:
        raise InputError(settings.NO_ACTIVATION_EVENT)
    return event, settings.activation_window_days(store)


def event_names(store: Store) -> list[str]:
    """The names of the events imported, the most frequent first: the choices for the activation event."""
    rows = store.query("SELECT event FROM events WHERE event IS NOT NULL GROUP BY event "
                       "ORDER BY count(*) DESC, event")
    return [str(r[0]) for r in rows]


def activation_table(store: Store, grain: str, *, start: date | None = None, end: date | None = None,
                     segment: tuple[str, str] | None = None) -> pd.DataFrame:
    """``period_start, period_end, partial`` and :data:`ACTIVATION_COLUMNS` for every period from the first event
    day (or ``start``, when earlier) to the as-of date (``end``)."""
    event, window = activation_settings(store)
    columns = ["period_start", "period_end", "partial", *ACTIVATION_COLUMNS]
    found = event_periods(store, grain, start, end)
    if found is None:
        return pd.DataFrame(columns=columns)
    as_of, periods = found
    frame = pd.DataFrame({"i": range(len(periods)), "period_start": [p.start for p in periods],
                          "last_day": [p.last_day for p in periods]})
    sql, params = _counts_sql(store, segment)
    counts = store.df(sql, {**params, "as_of": as_of, "event": event, "window": window},
                      frames={"activation_spine": frame})
    started = dict(zip(counts["i"], counts["started"], strict=True))
    activated = dict(zip(counts["i"], counts["activated"], strict=True))
    out = pd.DataFrame({"period_start": [p.start for p in periods], "period_end": [p.end for p in periods],
                        "partial": [p.partial for p in periods]})
    out["started"] = pd.Series([int(started.get(i, 0)) for i in range(len(periods))], dtype="int64")
    out["activated"] = pd.Series([int(activated.get(i, 0)) for i in range(len(periods))], dtype="int64")
    out["activation_rate"] = [float("nan") if s == 0 else a / s
                              for a, s in zip(out["activated"], out["started"], strict=True)]
    return out[columns]


def _counts_sql(store: Store, segment: tuple[str, str] | None) -> tuple[str, dict[str, object]]:
    """Per period index ``i``: users who started (their window ended by ``$as_of``) and those activated."""
    tz, sources = settings.timezone(store), settings.event_sources(store)
    where, params = segment_sql(segment)
    if tz != "UTC":
        params["tz"] = tz
    if sources:
        params["event_sources"] = sources
    sql = f"""
        WITH firsts AS (
            SELECT user_id, min(day) AS first_active FROM user_days
            WHERE active_events > 0 AND day <= $as_of {where} GROUP BY user_id
        ),
        started AS (
            SELECT f.user_id, f.first_active, s.i FROM firsts f
            JOIN activation_spine s ON f.first_active BETWEEN s.period_start AND s.last_day
            WHERE date_diff('day', f.first_active, $as_of) >= $window - 1
        ),
        did AS (
            SELECT DISTINCT e.user_id, {day_sql(tz, 'e.ts')} AS day FROM {counted_events_sql(sources, tz)} e
            WHERE e.event = $event
        ),
        activated AS (
            SELECT DISTINCT s.user_id FROM started s JOIN did d ON d.user_id = s.user_id
            WHERE date_diff('day', s.first_active, d.day) BETWEEN 0 AND $window - 1
        )
        SELECT s.i, count(*) AS started, count(a.user_id) AS activated
        FROM started s LEFT JOIN activated a ON a.user_id = s.user_id
        GROUP BY s.i ORDER BY s.i"""
    return sql, params
