"""KPI tables as the charts show them: from the date range's start (one column as a series is
:func:`kpis.metrics.series.series_of`)."""

from __future__ import annotations

import pandas as pd

from kpis.core.calendar import period_start


def shown_from(table: pd.DataFrame, start: object, grain: str) -> pd.DataFrame:
    """The rows of a KPI table from the period holding ``start`` on (the date range's start)."""
    if table.empty:
        return table
    first = period_start(start, grain)  # type: ignore[arg-type]
    return table[table["period_start"] >= first].reset_index(drop=True)
