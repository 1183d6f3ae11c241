"""Retention cohorts: a user's cohort is the week or month of their first event.

Mode ``n-day`` ("return on"): users of cohort c active in period c+k / size of c. Mode ``unbounded`` ("return on
or after"): users of c active in any period >= c+k / size of c. Cells exist while c+k is not after the as-of
period; a cell whose period is still running is marked partial.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from kpis.activity import ensure_user_days
from kpis.calendar import next_start, period_start
from kpis.engagement import _user_filter, engagement_as_of
from kpis.store import Store

MODES = ("n-day", "unbounded")


def _trunc(grain: str) -> str:
    if grain not in ("week", "month"):
        raise ValueError("cohorts exist at week and month grain")
    return f"CAST(date_trunc('{grain}', day) AS DATE)"


def cohorts(store: Store, grain: str, mode: str = "n-day", *, end: date | None = None,
            segment: tuple[str, str] | None = None) -> pd.DataFrame:
    """``cohort_start, period, cohort_size, retained, retention, partial`` for every existing cell."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; expected one of {', '.join(MODES)}")
    ensure_user_days(store)
    as_of = end or engagement_as_of(store)
    columns = ["cohort_start", "period", "cohort_size", "retained", "retention", "partial"]
    if as_of is None:
        return pd.DataFrame(columns=columns)
    trunc = _trunc(grain)
    last_period = period_start(as_of, grain)
    where, params = _user_filter(segment)
    rows = store.df(f"""
        WITH firsts AS (
            SELECT user_id, {trunc.replace('day', 'min(day)')} AS cohort_start
            FROM user_days WHERE day <= $as_of {where} GROUP BY user_id
        ),
        activity AS (
            SELECT DISTINCT user_id, {trunc} AS active_period
            FROM user_days WHERE active_events > 0 AND day <= $as_of {where}
        )
        SELECT f.cohort_start, a.active_period, f.user_id
        FROM firsts f JOIN activity a ON a.user_id = f.user_id AND a.active_period >= f.cohort_start
    """, {"as_of": as_of, **params})
    sizes = store.df(f"""
        SELECT cohort_start, count(*) AS cohort_size FROM (
            SELECT user_id, {trunc.replace('day', 'min(day)')} AS cohort_start
            FROM user_days WHERE day <= $as_of {where} GROUP BY user_id
        ) GROUP BY cohort_start ORDER BY cohort_start""", {"as_of": as_of, **params})
    if sizes.empty:
        return pd.DataFrame(columns=columns)
    index = _period_index(pd.to_datetime(sizes["cohort_start"]).dt.date.min(), last_period, grain)
    rows["c"] = [index[d] for d in pd.to_datetime(rows["cohort_start"]).dt.date]
    rows["a"] = [index[d] for d in pd.to_datetime(rows["active_period"]).dt.date]
    rows["k"] = rows["a"] - rows["c"]
    out = []
    last_index = index[last_period]
    partial_last = _is_partial(last_period, as_of, grain)
    for cohort_start, size in zip(pd.to_datetime(sizes["cohort_start"]).dt.date, sizes["cohort_size"], strict=True):
        c = index[cohort_start]
        mine = rows[rows["c"] == c]
        if mode == "n-day":
            per_k = mine.groupby("k")["user_id"].nunique()
        else:
            furthest = mine.groupby("user_id")["k"].max()
            per_k = None
        for k in range(0, last_index - c + 1):
            if mode == "n-day":
                retained = int(per_k.get(k, 0)) if per_k is not None else 0
            else:
                retained = int((furthest >= k).sum())
            if k == 0:
                retained = int(size)
            out.append({"cohort_start": cohort_start, "period": k, "cohort_size": int(size), "retained": retained,
                        "retention": retained / size, "partial": c + k == last_index and partial_last})
    return pd.DataFrame(out, columns=columns)


def _period_index(first: date, last: date, grain: str) -> dict[date, int]:
    index, current, n = {}, first, 0
    while current <= last:
        index[current] = n
        current, n = next_start(current, grain), n + 1
    return index


def _is_partial(start: date, as_of: date, grain: str) -> bool:
    return next_start(start, grain) > as_of + pd.Timedelta(days=1).to_pytimedelta()
