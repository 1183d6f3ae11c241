"""Engagement KPIs from events: DAU/WAU/MAU, active and new users, stickiness, events per user, adoption,
the power-user curve.

Rolling WAU/MAU use a linear algorithm: each active day of a user covers the days up to the next active day
or the end of its window, whichever comes first; those non-overlapping stretches are added up with a running
sum over a date spine. No join of every day with its 30-day window, no ``COUNT(DISTINCT ...)`` in a window.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from kpis.activity import ensure_user_days, timezone
from kpis.calendar import period_start, spine
from kpis.store import Store

ENGAGEMENT_COLUMNS = ("dau", "wau", "mau", "active_users", "new_users", "stickiness", "events_per_active_user")


def _user_filter(segment: tuple[str, str] | None, alias: str = "") -> tuple[str, dict[str, object]]:
    """Restrict to users whose account is a customer with the attribute ``key = value``."""
    if segment is None:
        return "", {}
    col = f"{alias}user_id" if alias else "user_id"
    return (f"""AND {col} IN (SELECT user_id FROM user_days WHERE account_id IN (
                SELECT customer_id FROM customer_attributes WHERE "key" = $seg_key AND "value" = $seg_value))""",
            {"seg_key": segment[0], "seg_value": segment[1]})


def engagement_as_of(store: Store) -> date | None:
    """The last event day in the reporting time zone."""
    ensure_user_days(store)
    return store.query("SELECT max(day) FROM user_days")[0][0]


def _first_day(store: Store) -> date | None:
    return store.query("SELECT min(day) FROM user_days WHERE active_events > 0")[0][0]


def daily(store: Store, *, start: date | None = None, end: date | None = None,
          segment: tuple[str, str] | None = None) -> pd.DataFrame:
    """dau, wau, mau for every day from ``start`` (default: the first event day) to the as-of date."""
    ensure_user_days(store)
    as_of = end or engagement_as_of(store)
    first = _first_day(store)
    if as_of is None or first is None:
        return pd.DataFrame(columns=["day", "dau", "wau", "mau"])
    days = pd.DataFrame({"day": pd.date_range(first, as_of, freq="D").date})
    where, params = _user_filter(segment)
    sql = f"""
    WITH active AS (
        SELECT user_id, day, lead(day) OVER (PARTITION BY user_id ORDER BY day
                                             ROWS BETWEEN CURRENT ROW AND 1 FOLLOWING) AS next_day
        FROM user_days WHERE active_events > 0 AND day <= $as_of {where}
    ),
    deltas AS (
        SELECT day, 1 AS d1, 1 AS d7, 1 AS d30 FROM active
        UNION ALL SELECT day + 1, -1, 0, 0 FROM active
        UNION ALL SELECT least(day + 7, coalesce(next_day, day + 7)), 0, -1, 0 FROM active
        UNION ALL SELECT least(day + 30, coalesce(next_day, day + 30)), 0, 0, -1 FROM active
    ),
    per_day AS (SELECT day, sum(d1) AS d1, sum(d7) AS d7, sum(d30) AS d30 FROM deltas GROUP BY day)
    SELECT s.day,
        sum(coalesce(p.d1, 0)) OVER w AS dau,
        sum(coalesce(p.d7, 0)) OVER w AS wau,
        sum(coalesce(p.d30, 0)) OVER w AS mau
    FROM days_frame s LEFT JOIN per_day p ON p.day = s.day
    WINDOW w AS (ORDER BY s.day ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
    ORDER BY s.day
    """
    with store.cursor() as cur:
        cur.register("days_frame", days)
        try:
            result = cur.execute(sql, {"as_of": as_of, **params}).df()
        finally:
            cur.unregister("days_frame")
    result["day"] = pd.to_datetime(result["day"]).dt.date
    if start is not None:
        result = result[result["day"] >= start].reset_index(drop=True)
    for column in ("dau", "wau", "mau"):
        result[column] = result[column].astype("int64")
    return result


def engagement_table(store: Store, grain: str, *, start: date | None = None, end: date | None = None,
                     segment: tuple[str, str] | None = None) -> pd.DataFrame:
    """One row per period with every engagement KPI; ``partial`` marks a period cut short by the as-of date."""
    ensure_user_days(store)
    as_of = end or engagement_as_of(store)
    first = _first_day(store)
    columns = ["period_start", "period_end", "partial", *ENGAGEMENT_COLUMNS]
    if as_of is None or first is None:
        return pd.DataFrame(columns=columns)
    periods = spine(first, as_of, grain)
    day_rows = daily(store, end=as_of, segment=segment)
    day_rows["period_start"] = [period_start(d, grain) for d in day_rows["day"]]
    grouped = day_rows.groupby("period_start")
    mean_dau = grouped["dau"].mean()
    mean_mau = grouped["mau"].mean()
    by_day = day_rows.set_index("day")
    where, params = _user_filter(segment)
    counts = store.df(f"""
        SELECT p.period_start, count(DISTINCT u.user_id) FILTER (WHERE u.active_events > 0) AS active_users,
               sum(u.events) AS events
        FROM user_days u JOIN periods_frame ON u.day BETWEEN p.period_start AND p.period_end
        WHERE u.day <= $as_of {where}
        GROUP BY p.period_start""".replace("periods_frame", _values_sql(periods)), {"as_of": as_of, **params})
    new_users = store.df(f"""
        SELECT first_day, count(*) AS new_users FROM (
            SELECT user_id, min(day) AS first_day FROM user_days WHERE true {where} GROUP BY user_id
        ) WHERE first_day <= $as_of GROUP BY first_day""", {"as_of": as_of, **params})
    new_by_period: dict[date, int] = {}
    for first_day, n in zip(pd.to_datetime(new_users["first_day"]).dt.date, new_users["new_users"], strict=True):
        key = period_start(first_day, grain)
        new_by_period[key] = new_by_period.get(key, 0) + int(n)
    counts["period_start"] = pd.to_datetime(counts["period_start"]).dt.date
    counts = counts.set_index("period_start")
    rows = []
    for p in periods:
        active = int(counts["active_users"].get(p.start, 0) or 0)
        events = int(counts["events"].get(p.start, 0) or 0)
        end_row = by_day.loc[p.end] if p.end in by_day.index else None
        dau = float(mean_dau.get(p.start, float("nan")))
        mau_mean = float(mean_mau.get(p.start, float("nan")))
        rows.append({
            "period_start": p.start, "period_end": p.end, "partial": p.partial,
            "dau": dau,
            "wau": float(end_row["wau"]) if end_row is not None else float("nan"),
            "mau": float(end_row["mau"]) if end_row is not None else float("nan"),
            "active_users": active,
            "new_users": new_by_period.get(p.start, 0),
            "stickiness": dau / mau_mean if mau_mean and mau_mean == mau_mean else float("nan"),
            "events_per_active_user": events / active if active else float("nan"),
        })
    result = pd.DataFrame(rows, columns=columns)
    if start is not None:
        result = result[result["period_start"] >= start]
    return result.reset_index(drop=True)


def adoption(store: Store, event: str, grain: str, *, start: date | None = None, end: date | None = None,
             segment: tuple[str, str] | None = None) -> pd.DataFrame:
    """Users who did ``event`` in each period / active users of the period."""
    table = engagement_table(store, grain, start=start, end=end, segment=segment)
    if table.empty:
        return pd.DataFrame(columns=["period_start", "partial", "users", "active_users", "adoption"])
    periods = [(p, e) for p, e in zip(table["period_start"], table["period_end"], strict=True)]
    tz = timezone(store)
    where, params = _user_filter(segment)
    day = "CAST(ts AS DATE)" if tz == "UTC" else "CAST(timezone($tz, CAST(ts AS TIMESTAMPTZ)) AS DATE)"
    if tz != "UTC":
        params["tz"] = tz
    did = store.df(f"""
        SELECT p.period_start, count(DISTINCT e.user_id) AS users
        FROM (SELECT user_id, {day} AS day FROM events WHERE event = $event {where}) e
        JOIN periods_frame ON e.day BETWEEN p.period_start AND p.period_end
        GROUP BY p.period_start""".replace("periods_frame", _values_sql_pairs(periods)), {"event": event, **params})
    did["period_start"] = pd.to_datetime(did["period_start"]).dt.date
    users = did.set_index("period_start")["users"]
    out = table[["period_start", "partial", "active_users"]].copy()
    out["users"] = [int(users.get(p, 0)) for p in out["period_start"]]
    out["adoption"] = [u / a if a else float("nan") for u, a in zip(out["users"], out["active_users"], strict=True)]
    return out


def power_curve(store: Store, grain: str, period: date, *, segment: tuple[str, str] | None = None) -> pd.DataFrame:
    """For the week (L7) or month holding ``period``: how many users were active on exactly n days of it."""
    if grain not in ("week", "month"):
        raise ValueError("the power-user curve exists at week and month grain")
    ensure_user_days(store)
    first = period_start(period, grain)
    last = spine(first, first, grain)[0].last_day
    where, params = _user_filter(segment)
    size = (last - first).days + 1
    counts = store.df(f"""
        SELECT days_active, count(*) AS users FROM (
            SELECT user_id, count(*) AS days_active FROM user_days
            WHERE active_events > 0 AND day BETWEEN $first AND $last {where} GROUP BY user_id
        ) GROUP BY days_active""", {"first": first, "last": last, **params})
    found = dict(zip(counts["days_active"].astype(int), counts["users"].astype(int), strict=True))
    return pd.DataFrame({"days_active": list(range(1, size + 1)),
                         "users": [found.get(n, 0) for n in range(1, size + 1)]})


def _values_sql(periods: list) -> str:
    return _values_sql_pairs([(p.start, p.end) for p in periods])


def _values_sql_pairs(pairs: list[tuple[date, date]]) -> str:
    """An inline table of (period_start, period_end): dates we generated ourselves, never user input."""
    rows = ", ".join(f"(DATE '{s.isoformat()}', DATE '{e.isoformat()}')" for s, e in pairs)
    return f"(VALUES {rows}) AS p(period_start, period_end)"


