"""The derived tables behind every engagement KPI, in the reporting time zone.

``user_days(user_id, day, events, active_events, next_active_day, first_day, account_id)``: one row per user
and day with events; ``next_active_day`` is the user's next day with an active event (for rolling WAU/MAU in
linear time), ``first_day`` the day of the user's first event ever, ``account_id`` the user's account (the one named by
their latest event that names one), so that every engagement query is a single scan without joins.
``users(user_id, first_day, last_active_day, account_id)``: one row per user, for new users and cohorts.

They depend on the events and on three settings (``timezone``, ``inactive_events``, ``event_sources``), so they
are rebuilt when one of those changed since they were built: the first query after an import pays once, later
ones are cheap.

``event_sources`` settles which tool counts where several recorded the same activity (a company that moved from
Mixpanel to PostHog and uploaded both): on a day with events from a listed source, only the events of the first
listed source with events that day count, and every other source's events of that day are left out; on other days
every event counts. Empty (the default): every event counts.
"""

from __future__ import annotations

import json
from zoneinfo import available_timezones

from kpis.core.errors import InputError
from kpis.ingest.sources.detect import event_source_names
from kpis.store.db import Store

_STATE_KEY = "user_days_state"
#: The derived tables: caches of the events, rebuilt from them whenever they are missing or stale.
DERIVED_TABLES = ("user_days", "users")
EVENT_SOURCES = "event_sources"


def timezone(store: Store) -> str:
    """The reporting time zone (setting ``timezone``, default UTC)."""
    return store.get_setting("timezone") or "UTC"


def set_timezone(store: Store, name: str) -> None:
    """Set the reporting time zone; only IANA names (``Europe/Berlin``) are accepted."""
    if name != "UTC" and name not in available_timezones():
        raise InputError(f"unknown time zone {name!r}: use an IANA name such as Europe/Berlin")
    store.set_setting("timezone", name)


def inactive_events(store: Store) -> list[str]:
    """Event names that do not make a user active (setting ``inactive_events``, a JSON list; default none)."""
    raw = store.get_setting("inactive_events")
    return list(json.loads(raw)) if raw else []


def add_inactive_events(store: Store, names: list[str]) -> list[str]:
    """Add ``names`` to :func:`inactive_events` (each once, the earlier ones kept first); returns the new list."""
    merged = list(dict.fromkeys([*inactive_events(store), *names]))
    store.set_setting("inactive_events", json.dumps(merged))
    return merged


def event_sources(store: Store) -> list[str]:
    """The sources that count where they overlap, in order of preference (setting ``event_sources``, a JSON list
    of source names such as ``posthog_events``; default none)."""
    raw = store.get_setting(EVENT_SOURCES)
    return list(json.loads(raw)) if raw else []


def set_event_sources(store: Store, names: list[str]) -> None:
    """Set :func:`event_sources`; only sources that read product events are accepted, each once."""
    known = event_source_names()
    unknown = [n for n in names if n not in known]
    if unknown:
        raise InputError(f"{', '.join(unknown)}: not a source of product events; use some of {', '.join(known)}")
    if len(set(names)) != len(names):
        raise InputError("each source may be listed once")
    store.set_setting(EVENT_SOURCES, json.dumps(names))


def counted_events_sql(sources: list[str], tz: str) -> str:
    """The events that count for the product KPIs, as a table expression: ``events`` itself, or with
    ``sources`` (bound as ``$event_sources``), on each day with events from a listed source, only those of the
    first listed source with events that day."""
    if not sources:
        return "events"
    rank = "list_position($event_sources, i.source)"
    return f"""(SELECT e.* FROM events e JOIN imports i ON i.import_id = e.import_id
        LEFT JOIN (SELECT {day_sql(tz, 'e.ts')} AS day, min({rank}) AS best
                   FROM events e JOIN imports i ON i.import_id = e.import_id
                   WHERE {rank} IS NOT NULL GROUP BY ALL) b ON b.day = {day_sql(tz, 'e.ts')}
        WHERE b.best IS NULL OR {rank} = b.best)"""


def day_sql(tz: str, column: str = "ts") -> str:
    """SQL for the calendar date of a UTC timestamp column in the zone bound as ``$tz`` (plain cast for UTC)."""
    if tz == "UTC":
        return f"CAST({column} AS DATE)"
    return f"CAST(timezone($tz, CAST({column} AS TIMESTAMPTZ)) AS DATE)"


def ensure_user_days(store: Store) -> None:
    """Rebuild ``user_days`` and ``users`` if the events or the settings changed since they were built."""
    tz, inactive, sources = timezone(store), inactive_events(store), event_sources(store)
    state = json.dumps({"data": list(store.data_version()), "tz": tz, "inactive": inactive, "sources": sources,
                        "schema": 3})
    if store.get_setting(_STATE_KEY) == state:
        return
    params: dict[str, object] = {}
    if tz != "UTC":
        params["tz"] = tz
    if sources:
        params["event_sources"] = sources
    if inactive:
        params["inactive"] = inactive
        active = "count(*) FILTER (WHERE NOT list_contains($inactive, event))"
    else:
        active = "count(*)"
    with store.transaction() as cur:
        cur.execute(f"""CREATE OR REPLACE TABLE user_days AS
            SELECT user_id, day, events, active_events,
                   CASE WHEN active_events > 0 THEN min(CASE WHEN active_events > 0 THEN day END) OVER (
                       PARTITION BY user_id ORDER BY day ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING)
                   END AS next_active_day,
                   min(day) OVER (PARTITION BY user_id) AS first_day,
                   arg_max(account_id, day) OVER (PARTITION BY user_id) AS account_id
            FROM (
                SELECT user_id, {day_sql(tz)} AS day, count(*) AS events, {active} AS active_events,
                       arg_max(account_id, ts) AS account_id
                FROM {counted_events_sql(sources, tz)} GROUP BY ALL
            ) t""", params)
        cur.execute("""CREATE OR REPLACE TABLE users AS
            SELECT user_id, min(day) AS first_day, max(CASE WHEN active_events > 0 THEN day END) AS last_active_day,
                   arg_max(account_id, day) AS account_id
            FROM user_days GROUP BY user_id""")
        cur.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", [_STATE_KEY, state])


def drop_derived(store: Store) -> None:
    """Drop the derived tables and the record of what they were built from, so that the first query rebuilds
    them: a restored file's copies are not trusted, since nothing else checks their columns or their rows."""
    with store.transaction() as cur:
        for table in DERIVED_TABLES:
            cur.execute(f"DROP TABLE IF EXISTS {table}")
        cur.execute('DELETE FROM settings WHERE "key" = ?', [_STATE_KEY])
