"""Anomalies: a KPI whose last complete period falls outside the band of its trailing periods.

The band follows the trend of the 8 complete periods before it: their least-squares line, carried one period
on, ± 2 standard deviations of their distance from that line. A plain mean ± 2σ would flag every period of a
KPI that grows steadily (MRR of a healthy company); the trend band flags a break in the pattern instead. A KPI
with fewer periods, or a history exactly on its line, is not judged.
"""

from __future__ import annotations

import math
from datetime import date

import pandas as pd

from kpis.errors import DataError, InputError
from kpis.reporting import last_complete_period
from kpis.series import series
from kpis.store import Store

HEADLINE = ("mrr", "net_new_mrr", "active_customers", "logo_churn_rate", "nrr", "dau", "mau", "stickiness")
WINDOW = 8
WIDTH = 2.0
COLUMNS = ["kpi", "period_start", "value", "expected", "low", "high", "direction"]


def band(history: list[float]) -> tuple[float, float, float] | None:
    """(expected, low, high) for the period after a trailing history, or None when it cannot judge.

    >>> [round(x, 2) for x in band([10, 12, 11, 13, 12, 14, 13, 15])]
    [15.07, 13.38, 16.76]
    """
    values = [v for v in history if not math.isnan(v)]
    if len(values) < WINDOW:
        return None
    n = len(values)
    mean_x, mean_y = (n - 1) / 2, sum(values) / n
    slope = sum((x - mean_x) * (y - mean_y) for x, y in enumerate(values)) / sum((x - mean_x) ** 2 for x in range(n))
    intercept = mean_y - slope * mean_x
    residuals = [y - (intercept + slope * x) for x, y in enumerate(values)]
    std = math.sqrt(sum(r * r for r in residuals) / (n - 2))
    if std < 1e-12 * max(1.0, abs(mean_y)):
        return None
    expected = intercept + slope * n
    return expected, expected - WIDTH * std, expected + WIDTH * std


def anomalies(store: Store, grain: str, *, as_of: date | None = None, segment: tuple[str, str] | None = None,
              kpis: tuple[str, ...] = HEADLINE) -> pd.DataFrame:
    """The KPIs among ``kpis`` whose last complete period at ``grain`` (:mod:`kpis.reporting`) lies outside its
    trailing band."""
    rows = []
    period = last_complete_period(store, grain, end=as_of)
    for kpi in kpis:
        try:
            table = series(store, kpi, grain, end=period.last_day if period else as_of, segment=segment)
        except (DataError, InputError):
            continue
        complete = table[~table["partial"]]
        if len(complete) < WINDOW + 1:
            continue
        last = complete.iloc[-1]
        found = band([float(v) for v in complete["value"].iloc[-WINDOW - 1:-1]])
        if found is None or math.isnan(float(last["value"])):
            continue
        expected, low, high = found
        value = float(last["value"])
        if value < low or value > high:
            rows.append({"kpi": kpi, "period_start": last["period_start"], "value": value, "expected": expected,
                         "low": low, "high": high, "direction": "above" if value > high else "below"})
    return pd.DataFrame(rows, columns=COLUMNS)
