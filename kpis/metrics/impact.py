"""Feature impact (what Amplitude calls Compass): for each event, the week-4 retention of the new users who did it
in their first week against that of those who did not. A correlation, never a cause: users who do X in their
first week may retain better because of who they are, not because of X.

With ``d0`` a user's first day (the day of their first event, as for the retention cohorts):

- the **eligible new users** are those whose ``d0`` lies in the date range (from ``start``) and whose week 4 has
  ended by the as-of date: ``d0 + 34 <= as_of``; with a segment, only the users whose account is its customer;
- a user **did** event e in their first week if they have an e event on a day ``d0 .. d0 + 6``;
- a user is **retained** (week-4 retention) if they were active (an event not in ``inactive_events``) on a day
  ``d0 + 28 .. d0 + 34``;
- per event: ``users_did``, ``retained_did``, ``retention_did = retained_did / users_did`` and the same over the
  eligible users who did not do it; ``difference = retention_did - retention_did_not`` (undefined when either
  group is empty). ``users_did + users_did_not`` = the eligible new users, for every event.

Events in ``inactive_events`` are housekeeping, not features, and are not listed; an event done in their first
week by fewer than ``min_users`` eligible users (default :data:`MIN_USERS`) is left out. Rows are sorted by the
difference, largest first (undefined last), then by event name. One query for every event.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from kpis.core.defaults import IMPACT_MIN_USERS
from kpis.metrics.engagement import engagement_as_of, segment_sql
from kpis.store.db import Store
from kpis.store.derived import counted_events_sql, day_sql
from kpis.store.settings import event_sources, inactive_events, timezone

#: The first week: days d0 .. d0 + FIRST_WEEK_LAST.
FIRST_WEEK_LAST = 6
#: Week 4 after the first day: days d0 + RETAINED_FROM .. d0 + RETAINED_TO.
RETAINED_FROM, RETAINED_TO = 28, 34
#: The fewest eligible new users an event must have in their first week to be listed.
MIN_USERS = IMPACT_MIN_USERS
COLUMNS = ["event", "users_did", "retained_did", "retention_did", "users_did_not", "retained_did_not",
           "retention_did_not", "difference"]


def impact(store: Store, *, start: date | None = None, end: date | None = None,
           segment: tuple[str, str] | None = None, min_users: int = MIN_USERS) -> pd.DataFrame:
    """:data:`COLUMNS`, one row per event done in their first week by at least ``min_users`` eligible new users
    (``end``: the as-of date, default the last event day), sorted by the difference, largest first."""
    if min_users < 1:
        raise ValueError("min_users must be at least 1")
    as_of = end or engagement_as_of(store)
    if as_of is None:
        return pd.DataFrame(columns=COLUMNS)
    counts = store.df(*_counts_sql(store, start, as_of, segment, min_users))
    return _rates(counts)


def eligible_users(store: Store, *, start: date | None = None, end: date | None = None,
                   segment: tuple[str, str] | None = None) -> int:
    """The number of eligible new users: the users behind every row of :func:`impact`."""
    as_of = end or engagement_as_of(store)
    if as_of is None:
        return 0
    where, params = _eligible_where(start, as_of, segment)
    return int(store.query(f"SELECT count(*) FROM users WHERE {where}", params)[0][0])


def _eligible_where(start: date | None, as_of: date,
                    segment: tuple[str, str] | None) -> tuple[str, dict[str, object]]:
    """The condition on ``users`` (and its parameters) that picks the eligible new users."""
    seg, params = segment_sql(segment)
    params = {"last_first_day": as_of - timedelta(days=RETAINED_TO), **params}
    where = "first_day <= $last_first_day"
    if start is not None:
        params["first_first_day"] = start
        where += " AND first_day >= $first_first_day"
    return f"{where} {seg}", params


def _counts_sql(store: Store, start: date | None, as_of: date, segment: tuple[str, str] | None,
                min_users: int) -> tuple[str, dict[str, object]]:
    """The query of every event's four counts, and its parameters."""
    tz, sources, inactive = timezone(store), event_sources(store), inactive_events(store)
    where, params = _eligible_where(start, as_of, segment)
    last_first_day = params["last_first_day"]
    params |= {"min_users": min_users, "first_week_last": FIRST_WEEK_LAST, "retained_from": RETAINED_FROM,
               "retained_to": RETAINED_TO, "inactive": inactive,
               # a day wider than any zone's offset, so that the scan skips the events outside the first weeks
               "ts_to": last_first_day + timedelta(days=FIRST_WEEK_LAST + 2)}
    if start is not None:
        params["ts_from"] = start - timedelta(days=1)
    if tz != "UTC":
        params["tz"] = tz
    if sources:
        params["event_sources"] = sources
    sql = f"""
        WITH eligible AS (SELECT user_id, first_day AS d0 FROM users WHERE {where}),
        retained AS (
            SELECT DISTINCT u.user_id FROM eligible u JOIN user_days d ON d.user_id = u.user_id
            WHERE d.active_events > 0 AND date_diff('day', u.d0, d.day) BETWEEN $retained_from AND $retained_to
        ),
        did AS (
            SELECT DISTINCT e.event, u.user_id
            FROM (SELECT c.event, c.user_id, {day_sql(tz, 'c.ts')} AS day FROM {counted_events_sql(sources, tz)} c
                  WHERE c.event IS NOT NULL AND NOT list_contains($inactive, c.event) AND c.ts < $ts_to
                  {'AND c.ts >= $ts_from' if start is not None else ''}) e
            JOIN eligible u ON u.user_id = e.user_id
            WHERE date_diff('day', u.d0, e.day) BETWEEN 0 AND $first_week_last
        ),
        totals AS (
            SELECT count(*) AS users, count(r.user_id) AS kept FROM eligible u LEFT JOIN retained r USING (user_id)
        )
        SELECT d.event, count(*) AS users_did, count(r.user_id) AS retained_did,
               t.users - count(*) AS users_did_not, t.kept - count(r.user_id) AS retained_did_not
        FROM did d LEFT JOIN retained r ON r.user_id = d.user_id CROSS JOIN totals t
        GROUP BY d.event, t.users, t.kept HAVING count(*) >= $min_users"""
    return sql, params


def _rate(retained: int, users: int) -> float:
    return retained / users if users else float("nan")


def _rates(counts: pd.DataFrame) -> pd.DataFrame:
    """The counts with their rates and difference, sorted by the difference (largest first, undefined last)."""
    if counts.empty:
        return pd.DataFrame(columns=COLUMNS)
    out = pd.DataFrame({"event": counts["event"].astype(str)})
    for column in ("users_did", "retained_did", "users_did_not", "retained_did_not"):
        out[column] = counts[column].astype("int64").to_numpy()
    out["retention_did"] = [_rate(r, n) for r, n in zip(out["retained_did"], out["users_did"], strict=True)]
    out["retention_did_not"] = [_rate(r, n) for r, n in zip(out["retained_did_not"], out["users_did_not"],
                                                            strict=True)]
    out["difference"] = out["retention_did"] - out["retention_did_not"]
    out = out.sort_values(["difference", "event"], ascending=[False, True], na_position="last", kind="stable")
    return out[COLUMNS].reset_index(drop=True)
