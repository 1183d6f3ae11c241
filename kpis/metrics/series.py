"""One entry point for any KPI's series, used by the CLI and the pages alike."""

from __future__ import annotations

from datetime import date

import pandas as pd

from kpis.core.calendar import period_start
from kpis.core.errors import InputError
from kpis.core.registry import Kpi, get
from kpis.metrics import engine
from kpis.store.db import Store

__all__ = ["series", "series_of", "trend_series"]


def series(store: Store, kpi_id: str, grain: str, *, start: date | None = None, end: date | None = None,
           segment: tuple[str, str] | None = None, event: str | None = None) -> pd.DataFrame:
    """``period_start, value, partial`` for one KPI, from the first period with data (or ``start``) to the
    as-of period (``end`` sets the as-of date). Undefined values are NaN.

    The KPI's table (the registry's ``Kpi.table``) comes from :mod:`kpis.metrics.engine`, computed once per data
    version for every KPI it holds."""
    kpi = _checked(kpi_id, grain)
    if kpi.needs_event and not event:
        raise InputError(engine.NEEDS_EVENT)
    first_period = period_start(start, grain) if start else None
    table = engine.table(store, kpi.table, grain, start=first_period, end=end, segment=segment,
                         event=event if kpi.needs_event else None)
    return series_of(table, kpi_id)


def trend_series(store: Store, kpi_id: str, grain: str, *, end: date | None = None,
                 segment: tuple[str, str] | None = None) -> pd.DataFrame:
    """:func:`series` from the first period with data to ``end``, for a trend line: read from a lighter table
    with the same values when the KPI's own table is not at hand (:func:`kpis.metrics.engine.table_holding`)."""
    kpi = _checked(kpi_id, grain)
    return series_of(engine.table_holding(store, kpi.table, kpi_id, grain, end=end, segment=segment), kpi_id)


def _checked(kpi_id: str, grain: str) -> Kpi:
    """The KPI ``kpi_id``, or an :class:`InputError` when it is unknown or does not exist at ``grain``."""
    try:
        kpi = get(kpi_id)
    except KeyError as exc:
        raise InputError(str(exc.args[0])) from None
    if grain not in kpi.grains:
        raise InputError(f"{kpi_id} exists at {', '.join(kpi.grains)} grain, not {grain}")
    return kpi


def series_of(table: pd.DataFrame, column: str) -> pd.DataFrame:
    """One column of a KPI table as a series table: ``period_start``, ``value`` (NaN when undefined),
    ``partial``.

    >>> series_of(pd.DataFrame({"period_start": [date(2026, 1, 1)], "mrr": [5], "partial": [True]}), "mrr")
      period_start  value  partial
    0   2026-01-01    5.0     True
    """
    if table.empty:
        return pd.DataFrame({"period_start": [], "value": [], "partial": []})
    return pd.DataFrame({"period_start": table["period_start"], "value": table[column].astype("float64"),
                         "partial": table["partial"].astype(bool)}).reset_index(drop=True)
