"""Numbers as a CPO reads them: ``$1.2M``, ``$12.3k``, ``4.5%``, ``12,345``; "—" where a value is undefined.

Amounts carry the symbol of the reporting currency (the review's rule, :func:`kpis.metrics.revenue.reporting_currency`),
set once per run for every page by :func:`use_currency` (``$`` until then).

>>> [money(v) for v in (1_234_567.89, 12_345.6, 987.4, -3_058.0, None)]
['$1.2M', '$12.3k', '$987', '-$3.06k', '—']
>>> [count(12345), count(203.49), percent(0.04512), percent(float("nan")), ratio(5.9005)]
['12,345', '203', '4.5%', '—', '5.90']
>>> [delta(0.0123, "ratio"), delta(-3058.0, "currency"), delta(12.0, "count"), delta(float("nan"), "count")]
['+1.2 pp', '-$3.06k', '+12', None]
>>> delta(-0.0004, "ratio")
'0.0 pp'
"""

from __future__ import annotations

from contextvars import ContextVar

import pandas as pd

from kpis.core import formatting as _formatting
from kpis.core.formatting import (
    DASH,
    PLAIN_RATIOS,
    count,
    day_label,
    finite,
    is_rate,
    percent,
    period_label,
    ratio,
    signed,
    symbol,
    undefined,
)
from kpis.core.registry import Kpi

__all__ = ["DASH", "PLAIN_RATIOS", "count", "currency_symbol", "day", "delta", "duration", "finite", "is_zero",
           "kpi_delta",
           "money", "percent", "period", "plotly_format", "plotly_locale", "ratio", "undefined",
           "use_currency", "value"]

#: The symbol amounts carry in this script run (each session runs in its own thread, with its own context).
_SYMBOL: ContextVar[str] = ContextVar("currency_symbol", default="$")


def use_currency(code: str | None) -> None:
    """Write the amounts of this run in ``code``'s symbol (``EUR`` -> ``€``; unknown or None -> ``$``)."""
    _SYMBOL.set(symbol(code))


def currency_symbol() -> str:
    """The symbol amounts carry in this run."""
    return _SYMBOL.get()


def money(number: object) -> str:
    """:func:`kpis.core.formatting.money` in the reporting currency."""
    return _formatting.money(number, currency_symbol())


def value(kpi: Kpi, number: object) -> str:
    """:func:`kpis.core.formatting.value` in the reporting currency."""
    return _formatting.value(kpi, number, currency_symbol())


def delta(change: object, unit: str, plain_ratio: bool = False) -> str | None:
    """A signed change for st.metric's delta (None when undefined): :func:`kpis.core.formatting.signed`, the review's
    own, in the reporting currency, so that ratios change in percentage points and nothing shows as ``-0.0 pp``."""
    text = signed(change, unit, plain_ratio=plain_ratio, currency=currency_symbol())
    return None if text == DASH else text


def kpi_delta(kpi: Kpi, change: object) -> str | None:
    """:func:`delta` for ``kpi``'s unit (:func:`kpis.core.formatting.delta`)."""
    text = _formatting.delta(kpi, change, currency_symbol())
    return None if text == DASH else text


def is_zero(text: str | None) -> bool:
    """True for a delta that shows no change (``0.0 pp``, ``$0``): st.metric would draw it as a rise.

    >>> is_zero("0.0 pp"), is_zero("+0.6 pp"), is_zero(None)
    (True, False, False)
    """
    return text is not None and not text.startswith(("+", "-"))


def day(value: object) -> str:
    """``6 Nov 2026`` (the review's form, :func:`kpis.core.formatting.day_label`) for a date, a timestamp or a
    datetime64; a dash when missing."""
    return DASH if undefined(value) else day_label(pd.Timestamp(value).date())  # type: ignore[arg-type]


def period(start: object, grain: str, *, in_sentence: bool = False) -> str:
    """A period as the review names it (:func:`kpis.core.formatting.period_label`): ``week of 2 Nov 2026``,
    ``Nov 2026``, ``Q4 2026``, ``2027``, for a date, a timestamp or a datetime64; a dash when missing."""
    if start is None or undefined(start):
        return DASH
    return period_label(pd.Timestamp(start).date(), grain, in_sentence=in_sentence)  # type: ignore[arg-type]


def plotly_locale() -> dict[str, object]:
    """Plotly's configuration that makes a d3 ``$`` format (see :func:`plotly_format`) write the reporting
    currency's symbol: a locale of our own, English otherwise.

    >>> plotly_locale()["locales"]["en-reporting"]["format"]["currency"]  # before use_currency: dollars
    ['$', '']
    """
    sign = currency_symbol()
    return {"locale": "en-reporting", "locales": {"en-reporting": {"format": {"currency": [sign, ""]}}}}


def plotly_format(kpi: Kpi) -> str:
    """A d3 format for a KPI's axis and hover labels (``$``: the currency of :func:`plotly_locale`)."""
    if kpi.unit == "currency":
        return "$.3~s"
    if kpi.unit == "count":
        return ",.0f"
    return ".1%" if is_rate(kpi) else ".2~f"


def duration(seconds: object) -> str:
    """A time between two events as people say it: ``40 s``, ``45 min``, ``3.5 h``, ``2.3 days``; a dash when
    undefined.

    >>> [duration(s) for s in (40, 2700, 12600, 86400, 198720, float("nan"))]
    ['40 s', '45 min', '3.5 h', '1.0 day', '2.3 days', '—']
    """
    if undefined(seconds):
        return DASH
    value = float(seconds)  # type: ignore[arg-type]
    if value < 60:
        return f"{value:.0f} s"
    if value < 3600:
        return f"{value / 60:.0f} min"
    if value < 86400:
        return f"{value / 3600:.1f} h"
    days = f"{value / 86400:.1f}"
    return f"{days} {'day' if days == '1.0' else 'days'}"
