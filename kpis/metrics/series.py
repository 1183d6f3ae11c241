"""One entry point for any KPI's series, used by the CLI and the pages alike."""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal

import pandas as pd

from kpis.core.calendar import period_start
from kpis.core.errors import InputError
from kpis.core.registry import get
from kpis.metrics import engagement, revenue
from kpis.store.db import Store


def series(store: Store, kpi_id: str, grain: str, *, start: date | None = None, end: date | None = None,
           segment: tuple[str, str] | None = None, event: str | None = None) -> pd.DataFrame:
    """``period_start, value, partial`` for one KPI, from the first period with data (or ``start``) to the
    as-of period (``end`` sets the as-of date). Undefined values are NaN."""
    try:
        kpi = get(kpi_id)
    except KeyError as exc:
        raise InputError(str(exc.args[0])) from None
    if grain not in kpi.grains:
        raise InputError(f"{kpi_id} exists at {', '.join(kpi.grains)} grain, not {grain}")
    first_period = period_start(start, grain) if start else None
    if kpi_id == "adoption":
        if not event:
            raise InputError("adoption needs --event NAME (the event whose adoption to measure)")
        table = engagement.adoption(store, event, grain, start=first_period, end=end, segment=segment)
    elif kpi.source == "revenue":
        table = revenue.revenue_table(store, grain, start=first_period, end=end, segment=segment)
    else:
        table = engagement.engagement_table(store, grain, start=first_period, end=end, segment=segment,
                                            kpis=(kpi_id,))
    if table.empty:
        return pd.DataFrame({"period_start": [], "value": [], "partial": []})
    out = pd.DataFrame({"period_start": table["period_start"], "value": table[kpi_id].astype("float64"),
                        "partial": table["partial"].astype(bool)})
    if first_period is not None:
        out = out[out["period_start"] >= first_period]
    return out.reset_index(drop=True)


def plain_decimal(value: float | int | None) -> str:
    """A number as a plain decimal for CSV: no exponent, no float noise, empty when undefined.

    >>> [plain_decimal(v) for v in (2.0, 0.1 + 0.2, 1e-7, float("nan"), None, 1234567.8912)]
    ['2', '0.3', '0.0000001', '', '', '1234567.8912']
    """
    if value is None or (isinstance(value, float) and (math.isnan(value) or math.isinf(value))):
        return ""
    text = format(Decimal(repr(round(float(value), 10))), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
