"""Trials: how many started, how many ended, and how many of those went on to pay.

A subscription has a trial when its trial end falls on a later day than its start (days in the reporting time
zone). ``incomplete`` and ``incomplete_expired`` subscriptions never count: their first payment never succeeded,
so they are not trials anyone could convert.

- trials_started(P): trial subscriptions whose start is in P (up to end(P));
- T(P): trial subscriptions whose trial end is in P and not after the as-of date; trials_ended(P) = |T(P)|;
- trials_converted(P): those of T(P) that had not ended by their trial end (no end, or an end on a later day);
- trial_conversion_rate(P) = trials_converted / trials_ended, undefined when no trial ended.

One query over ``subscriptions`` joined with a small spine of the periods (registered as a frame); the rate is
divided here from the exact counts. The periods are those of the revenue KPIs (from the first paid day to the
revenue as-of date), from an earlier trial start when there is one, so that no trial started is left out.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from kpis.core.calendar import spine
from kpis.core.registry import GRAINS
from kpis.metrics.revenue import NEVER_PAID, first_paid_day, revenue_as_of, subscription_filter
from kpis.store.db import Store
from kpis.store.settings import timezone

#: The trials table's columns after the period's (``trials_converted`` is the rate's numerator).
TRIAL_COLUMNS = ("trials_started", "trials_ended", "trials_converted", "trial_conversion_rate")


def trials_sql(segment: tuple[str, str] | None, tz: str) -> tuple[str, dict[str, object]]:
    """Each trial subscription (of ``segment``) as ``started, trial_end, converted``: its start day, its trial's
    last day and whether it had not ended by then (1 or 0). Days in ``tz`` (bound as ``$tz`` when not UTC)."""
    where, params, (started, trial, ended) = subscription_filter(segment, tz)
    never = ", ".join(f"'{s}'" for s in NEVER_PAID)
    sql = f"""
        SELECT {started} AS started, {trial} AS trial_end,
               CASE WHEN s.ended_at IS NULL OR {ended} > {trial} THEN 1 ELSE 0 END AS converted
        FROM subscriptions s
        WHERE s.status NOT IN ({never}) AND s.trial_end IS NOT NULL AND {trial} > {started} {where}
    """
    return sql, params


def first_trial_day(store: Store, segment: tuple[str, str] | None = None) -> date | None:
    """The day the first trial (of ``segment``) started; None without trials."""
    found, params = trials_sql(segment, timezone(store))
    row = store.query(f"SELECT min(started) FROM ({found}) t", params)
    return row[0][0] if row else None


def trials_table(store: Store, grain: str, *, start: date | None = None, end: date | None = None,
                 segment: tuple[str, str] | None = None) -> pd.DataFrame:
    """``period_start, period_end, partial`` and :data:`TRIAL_COLUMNS` for every period from the first paid or
    trial day (or ``start``, when earlier) to the revenue as-of date (``end``); the rate is NaN when no trial
    ended in the period."""
    if grain not in GRAINS:
        raise ValueError(f"unknown grain {grain!r}")
    columns = ["period_start", "period_end", "partial", *TRIAL_COLUMNS]
    as_of = end or revenue_as_of(store)
    firsts = [d for d in (first_paid_day(store, segment), first_trial_day(store, segment)) if d is not None]
    if start is not None and firsts:
        firsts.append(start)
    periods = spine(min(firsts), as_of, grain) if as_of is not None and firsts else []
    if not periods:
        return pd.DataFrame(columns=columns)
    frame = pd.DataFrame({"i": range(len(periods)), "period_start": [p.start for p in periods],
                          "period_end": [p.end for p in periods]})
    found, params = trials_sql(segment, timezone(store))
    counts = store.df(f"""
        WITH trials AS ({found}),
        started AS (
            SELECT s.i, count(*) AS n FROM trials t
            JOIN trials_spine s ON t.started BETWEEN s.period_start AND s.period_end GROUP BY s.i
        ),
        ended AS (
            SELECT s.i, count(*) AS n, sum(t.converted) AS converted FROM trials t
            JOIN trials_spine s ON t.trial_end BETWEEN s.period_start AND s.period_end GROUP BY s.i
        )
        SELECT s.i, coalesce(a.n, 0) AS trials_started, coalesce(e.n, 0) AS trials_ended,
               coalesce(e.converted, 0) AS trials_converted
        FROM trials_spine s LEFT JOIN started a ON a.i = s.i LEFT JOIN ended e ON e.i = s.i
        ORDER BY s.i""", params, frames={"trials_spine": frame})
    out = pd.DataFrame({"period_start": [p.start for p in periods], "period_end": [p.end for p in periods],
                        "partial": [p.partial for p in periods]})
    for column in ("trials_started", "trials_ended", "trials_converted"):
        out[column] = counts[column].astype("int64").to_numpy()
    out["trial_conversion_rate"] = [float("nan") if n == 0 else c / n
                                    for c, n in zip(out["trials_converted"], out["trials_ended"], strict=True)]
    if start is not None:
        out = out[out["period_start"] >= start].reset_index(drop=True)
    return out[columns]
