"""KPI tables as the series every tile and chart draws: one column, from the date range's start."""

from __future__ import annotations

import pandas as pd

from kpis.core.calendar import period_start


def series_of(table: pd.DataFrame, column: str) -> pd.DataFrame:
    """One column of a KPI table as a series table: ``period_start``, ``value``, ``partial``."""
    if table.empty:
        return pd.DataFrame({"period_start": [], "value": [], "partial": []})
    return pd.DataFrame({"period_start": table["period_start"], "value": table[column].astype("float64"),
                         "partial": table["partial"].astype(bool)}).reset_index(drop=True)


def shown_from(table: pd.DataFrame, start: object, grain: str) -> pd.DataFrame:
    """The rows of a KPI table from the period holding ``start`` on (the date range's start)."""
    if table.empty:
        return table
    first = period_start(start, grain)  # type: ignore[arg-type]
    return table[table["period_start"] >= first].reset_index(drop=True)
