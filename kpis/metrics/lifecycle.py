"""Lifecycle (growth accounting, as PostHog's lifecycle and Amplitude's growth accounting chart it): where each
period's active users come from, and who stopped.

With ``first_active(u)`` the user's first active day and P-1 the period before P:

- new(P): active in P, first active in P;
- returning(P): active in P and in P-1;
- resurrected(P): active in P, not in P-1, first active before P;
- dormant(P): minus the users active in P-1 and not in P (drawn below zero);
- user_quick_ratio(P) = (new + resurrected) / -dormant; undefined when nobody went dormant.

new + returning + resurrected = active_users(P). Week and month grain. One query over ``user_days``: each user's
active periods (a small spine numbers them), joined with the period before and after. :func:`lifecycle_rows` reads
it as rows on DuckDB, without pandas; :func:`lifecycle_table`, the engine's table (on DuckDB or Spark), as a frame.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any, NamedTuple

from kpis.core.calendar import Period
from kpis.core.registry import COHORT_GRAINS
from kpis.metrics.event_days import event_periods
from kpis.metrics.segments import segment_sql
from kpis.store.db import Store

if TYPE_CHECKING:
    import pandas as pd

#: The lifecycle table's columns after the period's.
LIFECYCLE_COLUMNS = ("new", "returning", "resurrected", "dormant", "user_quick_ratio")
#: Each part of the lifecycle as the page and the CLI name it, gains first.
PARTS = {"new": "New", "returning": "Returning", "resurrected": "Resurrected", "dormant": "Dormant"}
#: The spine as a query over list parameters, for DuckDB (the engine's table registers it as a frame instead).
_LISTED_SPINE = ("lifecycle_spine AS (SELECT unnest(range(len($starts))) AS i, unnest($starts) AS period_start, "
                 "unnest($last_days) AS last_day),")
#: Counts of one query: its SQL (a spine given or not), parameters and spine -> rows ``i, new, returning,
#: resurrected, dormant``.
CountQuery = Callable[[str, dict[str, object], list[Period]], list[tuple[Any, ...]]]


class LifecycleRow(NamedTuple):
    """One period of the lifecycle: its start, end, whether it is partial, and :data:`LIFECYCLE_COLUMNS`."""

    period_start: date
    period_end: date
    partial: bool
    new: int
    returning: int
    resurrected: int
    dormant: int
    user_quick_ratio: float


def lifecycle_rows(store: Store, grain: str, *, start: date | None = None, end: date | None = None,
                   segment: tuple[str, str] | None = None) -> list[LifecycleRow]:
    """The lifecycle of every period from the first event day (or ``start``, when earlier) to the as-of date
    (``end``), from the local DuckDB store, as rows: the same numbers as :func:`lifecycle_table`, without a frame.

    The spine is a list parameter here, which the Spark engine's translator does not take: read the lifecycle
    through :func:`kpis.metrics.engine.table` on Spark."""
    def count(sql: str, params: dict[str, object], periods: list[Period]) -> list[tuple[Any, ...]]:
        listed = {"starts": [p.start for p in periods], "last_days": [p.last_day for p in periods]}
        return store.query(sql.replace("WITH ", f"WITH {_LISTED_SPINE}\n", 1), {**params, **listed})

    return _lifecycle(store, grain, start, end, segment, count)


def lifecycle_table(store: Store, grain: str, *, start: date | None = None, end: date | None = None,
                    segment: tuple[str, str] | None = None) -> pd.DataFrame:
    """``period_start, period_end, partial`` and :data:`LIFECYCLE_COLUMNS` for every period from the first event
    day (or ``start``, when earlier) to the as-of date (``end``); any engine (the spine is a registered frame).
    pandas loads here, on first use."""
    import pandas as pd

    def count(sql: str, params: dict[str, object], periods: list[Period]) -> list[tuple[Any, ...]]:
        frame = pd.DataFrame({"i": range(len(periods)), "period_start": [p.start for p in periods],
                              "last_day": [p.last_day for p in periods]})
        return store.query(sql, params, frames={"lifecycle_spine": frame})

    rows = _lifecycle(store, grain, start, end, segment, count)
    columns = ["period_start", "period_end", "partial", *LIFECYCLE_COLUMNS]
    if not rows:
        return pd.DataFrame(columns=columns)
    out = pd.DataFrame({name: [row[i] for row in rows] for i, name in enumerate(columns)})
    for part in PARTS:
        out[part] = out[part].astype("int64")
    return out


def _lifecycle(store: Store, grain: str, start: date | None, end: date | None, segment: tuple[str, str] | None,
               count: CountQuery) -> list[LifecycleRow]:
    if grain not in COHORT_GRAINS:
        raise ValueError("the lifecycle exists at week and month grain")
    found = event_periods(store, grain, start, end)
    if found is None:
        return []
    as_of, periods = found
    where, params = segment_sql(segment)
    counts = {int(row[0]): row[1:] for row in count(_COUNTS_SQL.replace("$segment", where), {"as_of": as_of, **params},
                                                     periods)}
    rows = []
    for i, p in enumerate(periods):
        new, returning, resurrected, dormant = (int(c) for c in counts[i])
        ratio = float("nan") if dormant == 0 else (new + resurrected) / -dormant
        rows.append(LifecycleRow(p.start, p.end, p.partial, new, returning, resurrected, dormant, ratio))
    return rows


#: New, returning, resurrected and dormant users per period ``i`` of ``lifecycle_spine``.
_COUNTS_SQL = """
        WITH active AS (
            SELECT DISTINCT d.user_id, s.i FROM user_days d
            JOIN lifecycle_spine s ON d.day BETWEEN s.period_start AND s.last_day
            WHERE d.active_events > 0 AND d.day <= $as_of $segment
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
        ORDER BY s.i"""
