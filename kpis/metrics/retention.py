"""Retention cohorts: a user's cohort is the week or month of their first event.

Mode ``n-day`` ("return on"): users of cohort c active in period c+k / size of c. Mode ``unbounded`` ("return on
or after"): users of c active in any period >= c+k / size of c, that is users whose last active period is at
least c+k. Cells exist while c+k is not after the as-of period; a cell whose period is still running is partial.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from kpis.core.calendar import next_start, period_start, spine
from kpis.core.defaults import DEFAULT_RETENTION_MODE, RETENTION_MODES
from kpis.core.registry import COHORT_GRAINS
from kpis.metrics.engagement import engagement_as_of, last_active_in_period_sql, segment_sql
from kpis.store.db import Store

#: How a user counts as retained in period k of the cohort, by the mode's name (in the CLI and the page's URL).
MODES = RETENTION_MODES
#: The mode shown when none is asked for.
DEFAULT_MODE = DEFAULT_RETENTION_MODE
COLUMNS = ["cohort_start", "period", "cohort_size", "retained", "retention", "partial"]


def cohorts(store: Store, grain: str, mode: str = DEFAULT_MODE, *, end: date | None = None,
            segment: tuple[str, str] | None = None) -> pd.DataFrame:
    """``cohort_start, period, cohort_size, retained, retention, partial`` for every existing cell."""
    if grain not in COHORT_GRAINS:
        raise ValueError("cohorts exist at week and month grain")
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; expected one of {', '.join(MODES)}")
    as_of = end or engagement_as_of(store)
    if as_of is None:
        return pd.DataFrame(columns=COLUMNS)
    where, params = segment_sql(segment)
    params = {"as_of": as_of, **params}
    trunc = f"CAST(date_trunc('{grain}', {{}}) AS DATE)"
    sizes = store.df(f"""SELECT {trunc.format('first_day')} AS c, count(*) AS n FROM users
                         WHERE first_day <= $as_of {where} GROUP BY 1""", params)
    if sizes.empty:
        return pd.DataFrame(columns=COLUMNS)
    # one row per user counted: its last active day up to the as-of date in each period (n-day) or at all
    # (unbounded), so that no DISTINCT or GROUP BY user runs over user_days
    counted = last_active_in_period_sql(grain) if mode == "n-day" else (
        "active_events > 0 AND (next_active_day IS NULL OR next_active_day > $as_of)")
    cells = store.df(f"""
        SELECT {trunc.format('first_day')} AS c, {trunc.format('day')} AS p, count(*) AS n
        FROM user_days WHERE day <= $as_of AND {counted} {where} GROUP BY c, p""", params)
    last = period_start(as_of, grain)
    index = {p.start: i for i, p in enumerate(spine(pd.to_datetime(sizes["c"]).dt.date.min(), as_of, grain))}
    found: dict[tuple[int, int], int] = {}
    for c, p, n in zip(pd.to_datetime(cells["c"]).dt.date, pd.to_datetime(cells["p"]).dt.date,
                       cells["n"].astype(int), strict=True):
        key = (index[c], index[p] - index[c])
        found[key] = found.get(key, 0) + int(n)
    partial_last = next_start(last, grain) > date.fromordinal(as_of.toordinal() + 1)
    rows = []
    for c_start, size in sorted(zip(pd.to_datetime(sizes["c"]).dt.date, sizes["n"].astype(int), strict=True)):
        c = index[c_start]
        horizon = index[last] - c
        if mode == "unbounded":  # last active period >= c+k: a suffix sum over k
            retained_at, running = {}, 0
            for k in range(horizon, -1, -1):
                running += found.get((c, k), 0)
                retained_at[k] = running
        for k in range(horizon + 1):
            retained = size if k == 0 else (found.get((c, k), 0) if mode == "n-day" else retained_at[k])
            rows.append({"cohort_start": c_start, "period": k, "cohort_size": size, "retained": retained,
                         "retention": retained / size, "partial": c + k == index[last] and partial_last})
    return pd.DataFrame(rows, columns=COLUMNS)


AVERAGE_COLUMNS = ["period", "cohort_size", "retained", "retention"]


def average_row(cells: pd.DataFrame) -> pd.DataFrame:
    """The cohorts' average row: for each period k, Σ retained / Σ cohort size over the cohorts whose cell k is
    complete (partial cells left out); a k with no complete cell has no average. Weighted by cohort size, so a
    cohort of 3 users does not count as much as one of 3,000.

    >>> cells = pd.DataFrame({"cohort_start": [1, 1, 2, 2], "period": [0, 1, 0, 1], "cohort_size": [3, 3, 2, 2],
    ...                       "retained": [3, 1, 2, 1], "retention": [1, 1 / 3, 1, 0.5],
    ...                       "partial": [False, False, False, True]})
    >>> [tuple(row) for row in average_row(cells).itertuples(index=False)]  # k=1: the partial cell left out
    [(0, 5, 5, 1.0), (1, 3, 1, 0.3333333333333333)]
    """
    complete = cells[~cells["partial"].astype(bool)]
    if complete.empty:
        return pd.DataFrame(columns=AVERAGE_COLUMNS)
    sums = complete.groupby("period", sort=True)[["cohort_size", "retained"]].sum()
    return pd.DataFrame({"period": sums.index.astype(int), "cohort_size": sums["cohort_size"].astype(int).to_numpy(),
                         "retained": sums["retained"].astype(int).to_numpy(),
                         "retention": (sums["retained"] / sums["cohort_size"]).astype("float64").to_numpy()},
                        columns=AVERAGE_COLUMNS)
