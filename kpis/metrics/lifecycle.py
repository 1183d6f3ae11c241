"""Lifecycle (growth accounting, as PostHog's lifecycle and Amplitude's growth accounting chart it): where each
period's active users come from, and who stopped.

With ``first_active(u)`` the user's first active day and P-1 the period before P:

- new(P): active in P, first active in P;
- returning(P): active in P and in P-1;
- resurrected(P): active in P, not in P-1, first active before P;
- dormant(P): minus the users active in P-1 and not in P (drawn below zero);
- user_quick_ratio(P) = (new + resurrected) / -dormant; undefined when nobody went dormant.

new + returning + resurrected = active_users(P). Week and month grain. One query over ``user_days``: each user's
active periods (a small spine registered as a frame numbers them), joined with the period before and after.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from kpis.core.registry import COHORT_GRAINS
from kpis.metrics.engagement import event_periods, segment_sql
from kpis.store.db import Store

#: The lifecycle table's columns after the period's.
LIFECYCLE_COLUMNS = ("new", "returning", "resurrected", "dormant", "user_quick_ratio")
#: Each part of the lifecycle as the page and the CLI name it, gains first.
PARTS = {"new": "New", "returning": "Returning", "resurrected": "Resurrected", "dormant": "Dormant"}


def lifecycle_table(store: Store, grain: str, *, start: date | None = None, end: date | None = None,
                    segment: tuple[str, str] | None = None) -> pd.DataFrame:
    """``period_start, period_end, partial`` and :data:`LIFECYCLE_COLUMNS` for every period from the first event
    day (or ``start``, when earlier) to the as-of date (``end``)."""
    if grain not in COHORT_GRAINS:
        raise ValueError("the lifecycle exists at week and month grain")
    columns = ["period_start", "period_end", "partial", *LIFECYCLE_COLUMNS]
    found = event_periods(store, grain, start, end)
    if found is None:
        return pd.DataFrame(columns=columns)
    as_of, periods = found
    frame = pd.DataFrame({"i": range(len(periods)), "period_start": [p.start for p in periods],
                          "last_day": [p.last_day for p in periods]})
    where, params = segment_sql(segment)
    counts = store.df(f"""
        WITH active AS (
            SELECT DISTINCT d.user_id, s.i FROM user_days d
            JOIN lifecycle_spine s ON d.day BETWEEN s.period_start AND s.last_day
            WHERE d.active_events > 0 AND d.day <= $as_of {where}
        ),
        firsts AS (SELECT user_id, min(i) AS first_i FROM active GROUP BY user_id),
        here AS (
            SELECT a.i, count(CASE WHEN f.first_i = a.i THEN 1 END) AS new,
                   count(CASE WHEN b.user_id IS NOT NULL THEN 1 END) AS returning,
                   count(CASE WHEN b.user_id IS NULL AND f.first_i < a.i THEN 1 END) AS resurrected
            FROM active a JOIN firsts f ON f.user_id = a.user_id
            LEFT JOIN active b ON b.user_id = a.user_id AND b.i = a.i - 1
            GROUP BY a.i
        ),
        gone AS (
            SELECT a.i + 1 AS i, count(*) AS dormant FROM active a
            LEFT JOIN active n ON n.user_id = a.user_id AND n.i = a.i + 1
            WHERE n.user_id IS NULL GROUP BY a.i
        )
        SELECT s.i, coalesce(h.new, 0) AS new, coalesce(h.returning, 0) AS returning,
               coalesce(h.resurrected, 0) AS resurrected, 0 - coalesce(g.dormant, 0) AS dormant
        FROM lifecycle_spine s LEFT JOIN here h ON h.i = s.i LEFT JOIN gone g ON g.i = s.i
        ORDER BY s.i""", {"as_of": as_of, **params}, frames={"lifecycle_spine": frame})
    out = pd.DataFrame({"period_start": [p.start for p in periods], "period_end": [p.end for p in periods],
                        "partial": [p.partial for p in periods]})
    for part in PARTS:
        out[part] = counts[part].astype("int64").to_numpy()
    out["user_quick_ratio"] = [float("nan") if d == 0 else (n + r) / -d
                               for n, r, d in zip(out["new"], out["resurrected"], out["dormant"], strict=True)]
    return out[columns]
