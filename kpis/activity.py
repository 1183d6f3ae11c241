"""The derived table behind every engagement KPI: one row per user and day in the reporting time zone.

``user_days(user_id, day, events, active_events, account_id)`` is tens of times smaller than ``events``. It
depends on the events and on two settings (``timezone``, ``inactive_events``), so it is rebuilt whenever one
of them changed since it was built: the first query after an import pays once, every later one is cheap.
"""

from __future__ import annotations

import json

from kpis.store import Store

_STATE_KEY = "user_days_state"


def timezone(store: Store) -> str:
    """The reporting time zone (setting ``timezone``, default UTC)."""
    return store.get_setting("timezone") or "UTC"


def inactive_events(store: Store) -> list[str]:
    """Event names that do not make a user active (setting ``inactive_events``, a JSON list; default none)."""
    raw = store.get_setting("inactive_events")
    return list(json.loads(raw)) if raw else []


def day_expression(tz: str, column: str = "ts") -> str:
    """SQL for the calendar date of a UTC timestamp column in ``tz`` (a validated zone name, bound as $tz)."""
    if tz == "UTC":
        return f"CAST({column} AS DATE)"
    return f"CAST(timezone($tz, CAST({column} AS TIMESTAMPTZ)) AS DATE)"


def ensure_user_days(store: Store) -> None:
    """Rebuild ``user_days`` if the events or the settings changed since it was last built."""
    tz, inactive = timezone(store), inactive_events(store)
    state = json.dumps({"data": list(store.data_version()), "tz": tz, "inactive": inactive})
    if store.get_setting(_STATE_KEY) == state and store.query(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'user_days'")[0][0]:
        return
    params: dict[str, object] = {"inactive": inactive or [""]}
    if tz != "UTC":
        params["tz"] = tz
    with store.transaction() as cur:
        cur.execute(f"""CREATE OR REPLACE TABLE user_days AS
            SELECT user_id, {day_expression(tz)} AS day, count(*) AS events,
                   count(*) FILTER (WHERE NOT list_contains($inactive, event)) AS active_events,
                   max(account_id) AS account_id
            FROM events GROUP BY ALL""", params)
        cur.execute('INSERT OR REPLACE INTO settings VALUES (?, ?)', [_STATE_KEY, state])
