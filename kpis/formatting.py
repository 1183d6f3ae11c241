"""Numbers and periods as the review writes them: ``$1.2M``, ``$12.3k``, ``4.5%``, ``12,345``, "—" when undefined.

One set of rules for the dashboard (``app_pages/format.py`` adds the UI-only ones) and the review.

>>> [money(v) for v in (1_234_567.89, 12_345.6, 1_234.5, 987.4, -3_058.0, None)]
['$1.2M', '$12.3k', '$1.23k', '$987', '-$3.06k', '—']
>>> [count(12345), count(203.49), percent(0.04512), percent(float("nan")), ratio(5.9005)]
['12,345', '203', '4.5%', '—', '5.90']
>>> from kpis.registry import KPIS
>>> [delta(KPIS["nrr"], -0.017), delta(KPIS["mrr"], 4_640.2), delta(KPIS["active_customers"], 9.0)]
['-1.7 pp', '+$4.64k', '+9']
>>> [relative(0.0321), relative(-0.5), relative(float("nan"))]
['+3.2%', '-50.0%', '—']
>>> period_label(date(2026, 11, 16), "week"), period_label(date(2026, 10, 1), "quarter")
('week of 16 Nov 2026', 'Q4 2026')
"""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd

from kpis.registry import Kpi

DASH = "—"
#: KPIs whose unit is "ratio" but that read as a plain number, not a percentage.
PLAIN_RATIOS = frozenset({"quick_ratio", "events_per_active_user"})
#: Currency symbols; any other currency is written as its code (``CHF 12.3k``).
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}


def undefined(value: object) -> bool:
    """True for None, NaN, infinities and pandas' missing values (NA, NaT); a date or a text is defined.

    >>> [undefined(v) for v in (None, float("nan"), float("inf"), 0, date(2026, 1, 5), pd.NaT)]
    [True, True, True, False, False, True]
    """
    if value is None:
        return True
    if isinstance(value, int | float):
        return not math.isfinite(float(value))
    try:
        missing = pd.isna(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return bool(missing) if isinstance(missing, bool | np.bool_) else False


def symbol(currency: str | None) -> str:
    """The prefix for amounts in ``currency`` (``$`` when unknown).

    >>> symbol("EUR"), symbol("CHF"), symbol(None)
    ('€', 'CHF ', '$')
    """
    if not currency:
        return "$"
    return SYMBOLS.get(currency.upper(), f"{currency.upper()} ")


def _short(size: float) -> str:
    if size >= 999_950:
        return f"{size / 1e6:.1f}M"
    if size >= 9_999.5:
        return f"{size / 1e3:.1f}k"
    if size >= 999.5:
        return f"{size / 1e3:.2f}k"
    return f"{size:.0f}"


def money(value: object, currency: str = "$") -> str:
    """``$1.2M``, ``$12.3k``, ``$1.23k``, ``$987``; negative amounts as ``-$3.06k``."""
    if undefined(value):
        return DASH
    number = float(value)  # type: ignore[arg-type]
    sign = "-" if number < 0 and round(abs(number)) > 0 else ""
    return f"{sign}{currency}{_short(abs(number))}"


def delta_amount(value: object, currency: str = "$") -> str:
    """A signed amount: ``+$4.82k``, ``-$583``, ``+$0``.

    >>> delta_amount(4_817.7), delta_amount(-583.3), delta_amount(0.0)
    ('+$4.82k', '-$583', '+$0')
    """
    if undefined(value):
        return DASH
    number = float(value)  # type: ignore[arg-type]
    return f"{'-' if number < 0 and round(abs(number)) > 0 else '+'}{money(abs(number), currency)}"


def finite(value: object) -> bool:
    """True for a real, finite number."""
    return not undefined(value)


def count(value: object) -> str:
    """A whole number with thousands separators (means such as DAU are rounded)."""
    if undefined(value):
        return DASH
    return f"{round(float(value)):,}"  # type: ignore[arg-type]


def percent(value: object, digits: int = 1) -> str:
    """A fraction as a percentage: 0.045 -> ``4.5%``."""
    if undefined(value):
        return DASH
    return f"{float(value) * 100:.{digits}f}%"  # type: ignore[arg-type]


def ratio(value: object) -> str:
    """A plain ratio with two decimals (quick ratio, events per user)."""
    if undefined(value):
        return DASH
    return f"{float(value):.2f}"  # type: ignore[arg-type]


def value(kpi: Kpi, number: object, currency: str = "$") -> str:
    """``number`` formatted for ``kpi``'s unit."""
    if kpi.unit == "currency":
        return money(number, currency)
    if kpi.unit == "count":
        return count(number)
    return ratio(number) if kpi.id in PLAIN_RATIOS else percent(number)


def delta(kpi: Kpi, change: object, currency: str = "$") -> str:
    """A signed change in ``kpi``'s unit: ratios in percentage points (``+0.6 pp``); "—" when undefined."""
    if undefined(change):
        return DASH
    number = float(change)  # type: ignore[arg-type]
    sign = "+" if number >= 0 else "-"
    if kpi.unit == "currency":
        return f"{sign}{money(abs(number), currency)}"
    if kpi.unit == "count":
        return f"{sign}{count(abs(number))}"
    if kpi.id in PLAIN_RATIOS:
        return f"{sign}{abs(number):.2f}"
    return f"{sign}{abs(number) * 100:.1f} pp"


def relative(change: object) -> str:
    """A relative change with its sign: ``+3.2%``; "—" when undefined."""
    if undefined(change):
        return DASH
    number = float(change)  # type: ignore[arg-type]
    return f"{'+' if number >= 0 else '-'}{abs(number) * 100:.1f}%"


def period_label(start: date | None, grain: str) -> str:
    """A period as people name it: ``week of 16 Nov 2026``, ``Nov 2026``, ``Q4 2026``."""
    if start is None:
        return DASH
    if grain == "week":
        return f"week of {start.day} {start:%b %Y}"
    if grain == "month":
        return f"{start:%b %Y}"
    if grain == "quarter":
        return f"Q{(start.month - 1) // 3 + 1} {start.year}"
    return day_label(start)


def day_label(day: date | None) -> str:
    """``16 Nov 2026``.

    >>> day_label(date(2026, 11, 6))
    '6 Nov 2026'
    """
    return DASH if day is None else f"{day.day} {day:%b %Y}"
