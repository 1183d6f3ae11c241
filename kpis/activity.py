"""The derived tables behind every engagement KPI, in the reporting time zone.

``user_days(user_id, day, events, active_events, next_active_day, first_day, account_id)``: one row per user
and day with events; ``next_active_day`` is the user's next day with an active event (for rolling WAU/MAU in
linear time), ``first_day`` the day of the user's first event ever, ``account_id`` the user's account (the one named by
their latest event that names one), so that every engagement query is a single scan without joins.
``users(user_id, first_day, last_active_day, account_id)``: one row per user, for new users and cohorts.

They depend on the events and on two settings (``timezone``, ``inactive_events``), so they are rebuilt when
one of those changed since they were built: the first query after an import pays once, later ones are cheap.
"""

from __future__ import annotations

import json
from zoneinfo import available_timezones

from kpis.errors import InputError
from kpis.store import Store

_STATE_KEY = "user_days_state"
#: The derived tables: caches of the events, rebuilt from them whenever they are missing or stale.
DERIVED_TABLES = ("user_days", "users")


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


def day_sql(tz: str, column: str = "ts") -> str:
    """SQL for the calendar date of a UTC timestamp column in the zone bound as ``$tz`` (plain cast for UTC)."""
    if tz == "UTC":
        return f"CAST({column} AS DATE)"
    return f"CAST(timezone($tz, CAST({column} AS TIMESTAMPTZ)) AS DATE)"


def ensure_user_days(store: Store) -> None:
    """Rebuild ``user_days`` and ``users`` if the events or the settings changed since they were built."""
    tz, inactive = timezone(store), inactive_events(store)
    state = json.dumps({"data": list(store.data_version()), "tz": tz, "inactive": inactive, "schema": 3})
    if store.get_setting(_STATE_KEY) == state:
        return
    params: dict[str, object] = {}
    if tz != "UTC":
        params["tz"] = tz
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
                FROM events GROUP BY ALL
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
