"""The derived tables behind every engagement KPI, in the reporting time zone, built when the data is written.

``user_days(user_id, day, events, active_events, next_active_day, first_day, account_id)``: one row per user
and day with events; ``next_active_day`` is the user's next day with an active event (for rolling WAU/MAU in
linear time), ``first_day`` the day of the user's first event ever, ``account_id`` the user's account (the one named by
their latest event that names one), so that every engagement query is a single scan without joins.
``users(user_id, first_day, last_active_day, account_id)``: one row per user, for new users and cohorts.

They depend on the events and on three settings (``timezone``, ``inactive_events``, ``event_sources``), so every
write that changes one of those rebuilds them in the same transaction (:func:`refresh`): an import of events, the
undo of one, a change of one of the settings, a restore. Reads never write, and no reader sees events without
their derived rows. A database opened for writing whose tables were built under other settings or an older
layout (a restored or older file) has them rebuilt when it is opened.

``event_sources`` settles which tool counts where several recorded the same activity (a company that moved from
Mixpanel to PostHog and uploaded both): on a day with events from a listed source, only the events of the first
listed source with events that day count, and every other source's events of that day are left out; on other days
every event counts. Empty (the default): every event counts.
"""

from __future__ import annotations

import json

import duckdb

from kpis.store import settings

#: The derived tables: caches of the events, rebuilt from them by every write that changes them.
DERIVED_TABLES = ("user_days", "users")
#: The settings the derived tables depend on.
DERIVED_SETTINGS = (settings.TIMEZONE, settings.INACTIVE_EVENTS, settings.EVENT_SOURCES)
#: The settings row recording what the derived tables were built from.
STATE_KEY = "user_days_state"
_LAYOUT = 4


def day_sql(tz: str, column: str = "ts") -> str:
    """SQL for the calendar date of a UTC timestamp column in the zone bound as ``$tz`` (plain cast for UTC).

    >>> day_sql("UTC")
    'CAST(ts AS DATE)'
    """
    if tz == "UTC":
        return f"CAST({column} AS DATE)"
    return f"CAST(timezone($tz, CAST({column} AS TIMESTAMPTZ)) AS DATE)"


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


def built_from(cur: duckdb.DuckDBPyConnection) -> tuple[str, list[str], list[str]]:
    """The settings the derived tables are built from, as stored: ``(timezone, inactive events, sources)``."""
    rows = dict(cur.execute('SELECT "key", "value" FROM settings WHERE list_contains($keys, "key")',
                            {"keys": list(DERIVED_SETTINGS)}).fetchall())
    return (settings.parse_timezone(rows.get(settings.TIMEZONE)),
            settings.parse_names(rows.get(settings.INACTIVE_EVENTS)),
            settings.parse_names(rows.get(settings.EVENT_SOURCES)))


def _state(tz: str, inactive: list[str], sources: list[str]) -> str:
    return json.dumps({"tz": tz, "inactive": inactive, "sources": sources, "layout": _LAYOUT})


def refresh(cur: duckdb.DuckDBPyConnection, import_id: int | None = None) -> None:
    """Bring ``user_days`` and ``users`` up to date with the events and the settings, inside the caller's write
    transaction ``cur``: called by every write that changes the events or the settings they depend on.

    With ``import_id`` (an import that just added events), when the tables are current and not empty, only the
    users that import can have changed are rebuilt: those with events in it and, where ``event_sources`` decides
    what counts per day, every user with events on the days it touched. Else everything is rebuilt."""
    tz, inactive, sources = built_from(cur)
    params = user_days_params(tz, inactive, sources)
    if import_id is not None and is_current(cur) and _has_rows(cur):
        _touched_users(cur, import_id, tz, bool(sources))
        cur.execute("DELETE FROM user_days WHERE user_id IN (SELECT user_id FROM touched_users)")
        cur.execute("DELETE FROM users WHERE user_id IN (SELECT user_id FROM touched_users)")
        cur.execute(f"INSERT INTO user_days {user_days_sql(tz, inactive, sources, only_touched=True)}", params)
        cur.execute(f"INSERT INTO users {USERS_SQL} WHERE user_id IN (SELECT user_id FROM touched_users) GROUP BY ALL")
        cur.execute("DROP TABLE touched_users")
        return
    cur.execute(f"CREATE OR REPLACE TABLE user_days AS {user_days_sql(tz, inactive, sources)}", params)
    cur.execute(f"CREATE OR REPLACE TABLE users AS {USERS_SQL} GROUP BY ALL")
    cur.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", [STATE_KEY, _state(tz, inactive, sources)])


def _has_rows(cur: duckdb.DuckDBPyConnection) -> bool:
    return bool(cur.execute("SELECT EXISTS (SELECT 1 FROM user_days)").fetchall()[0][0])


#: The rows of ``users`` from ``user_days`` (with ``GROUP BY ALL`` appended, after an optional ``WHERE``).
USERS_SQL = """SELECT user_id, min(day) AS first_day, max(CASE WHEN active_events > 0 THEN day END) AS last_active_day,
               arg_max(account_id, day) AS account_id
        FROM user_days"""


def user_days_params(tz: str, inactive: list[str], sources: list[str]) -> dict[str, object]:
    """The parameters :func:`user_days_sql` binds for these settings (only those its text names).

    >>> user_days_params("UTC", [], ["posthog_events"])
    {'event_sources': ['posthog_events']}
    """
    params: dict[str, object] = {}
    if tz != "UTC":
        params["tz"] = tz
    if sources:
        params["event_sources"] = sources
    if inactive:
        params["inactive"] = inactive
    return params


def user_days_sql(tz: str, inactive: list[str], sources: list[str], *, only_touched: bool = False) -> str:
    """The rows of ``user_days`` (of the users in the temp table ``touched_users`` with ``only_touched``)."""
    active = "count(*) FILTER (WHERE NOT list_contains($inactive, event))" if inactive else "count(*)"
    where = "WHERE user_id IN (SELECT user_id FROM touched_users)" if only_touched else ""
    return f"""
        SELECT user_id, day, events, active_events,
               CASE WHEN active_events > 0 THEN min(CASE WHEN active_events > 0 THEN day END) OVER (
                   PARTITION BY user_id ORDER BY day ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING)
               END AS next_active_day,
               min(day) OVER (PARTITION BY user_id) AS first_day,
               arg_max(account_id, day) OVER (PARTITION BY user_id) AS account_id
        FROM (
            SELECT user_id, {day_sql(tz)} AS day, count(*) AS events, {active} AS active_events,
                   arg_max(account_id, ts) AS account_id
            FROM {counted_events_sql(sources, tz)} c {where} GROUP BY ALL
        ) t"""


def _touched_users(cur: duckdb.DuckDBPyConnection, import_id: int, tz: str, by_day: bool) -> None:
    """The temp table ``touched_users``: the users whose derived rows an import of events can change."""
    params: dict[str, object] = {"id": import_id}
    if by_day and tz != "UTC":
        params["tz"] = tz
    days = f"""UNION SELECT user_id FROM events WHERE {day_sql(tz)} IN (
                   SELECT DISTINCT {day_sql(tz)} FROM events WHERE import_id = $id)""" if by_day else ""
    cur.execute(f"""CREATE OR REPLACE TEMP TABLE touched_users AS
        SELECT DISTINCT user_id FROM events WHERE import_id = $id {days}""", params)


def is_current(cur: duckdb.DuckDBPyConnection) -> bool:
    """Whether the derived tables exist and were built by this layout from the settings now stored (every write
    since then rebuilt them, so their rows are those of the events)."""
    found = cur.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
                        "AND schema_name = 'main' AND list_contains($names, table_name)",
                        {"names": list(DERIVED_TABLES)}).fetchall()[0][0]
    if found != len(DERIVED_TABLES):
        return False
    row = cur.execute('SELECT "value" FROM settings WHERE "key" = ?', [STATE_KEY]).fetchall()
    return bool(row) and row[0][0] == _state(*built_from(cur))


def refresh_if_stale(cur: duckdb.DuckDBPyConnection) -> None:
    """:func:`refresh` unless the derived tables are current (on opening a database for writing)."""
    if not is_current(cur):
        refresh(cur)


def rebuild(cur: duckdb.DuckDBPyConnection) -> None:
    """Drop whatever derived tables are there and build them afresh (a restored file's copies are not trusted)."""
    drop(cur)
    refresh(cur)


def drop(cur: duckdb.DuckDBPyConnection) -> None:
    """Drop the derived tables and the record of what they were built from (a restored file's copies are not
    trusted, since nothing else checks their columns or their rows)."""
    for table in DERIVED_TABLES:
        cur.execute(f"DROP TABLE IF EXISTS {table}")
    cur.execute('DELETE FROM settings WHERE "key" = ?', [STATE_KEY])
