"""Numbers and periods as the review writes them: ``$1.2M``, ``$12.3k``, ``4.5%``, ``12,345``, "—" when undefined.

One set of rules for the dashboard (``app_pages/ui/format.py`` adds the UI-only ones) and the review.

>>> [money(v) for v in (1_234_567.89, 12_345.6, 1_234.5, 987.4, -3_058.0, None)]
['$1.2M', '$12.3k', '$1.23k', '$987', '-$3.06k', '—']
>>> [count(12345), count(203.49), percent(0.04512), percent(float("nan")), ratio(5.9005)]
['12,345', '203', '4.5%', '—', '5.90']
>>> from kpis.core.registry import KPIS
>>> [delta(KPIS["nrr"], -0.017), delta(KPIS["mrr"], 4_640.2), delta(KPIS["active_customers"], 9.0)]
['-1.7 pp', '+$4.64k', '+9']
>>> [delta(KPIS["nrr"], -0.0004), delta(KPIS["mrr"], -0.3)]  # nothing shown, no sign: never "-0.0 pp"
['0.0 pp', '$0']
>>> [relative(0.0321), relative(-0.5), relative(float("nan")), relative(-0.0002)]
['+3.2%', '-50.0%', '—', '0.0%']
>>> period_label(date(2026, 11, 16), "week"), period_label(date(2026, 10, 1), "quarter")
('week of 16 Nov 2026', 'Q4 2026')
"""

from __future__ import annotations

import math
import sys
from datetime import date

from kpis.core.registry import Kpi

DASH = "—"
#: KPIs whose unit is "ratio" but that read as a plain number, not a percentage.
PLAIN_RATIOS = frozenset({"quick_ratio", "events_per_active_user", "user_quick_ratio"})
#: Currency symbols; any other currency is written as its code (``CHF 12.3k``).
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}


def undefined(value: object) -> bool:
    """True for None, NaN, infinities and pandas' missing values (NA, NaT); a date or a text is defined.

    Imports no pandas: without pandas loaded no pandas value exists, and the NaN of any other number type (or
    NumPy's NaT) is the value unequal to itself.

    >>> import pandas as pd
    >>> [undefined(v) for v in (None, float("nan"), float("inf"), 0, date(2026, 1, 5), pd.NaT, pd.NA)]
    [True, True, True, False, False, True, True]
    """
    if value is None:
        return True
    if isinstance(value, int | float):
        return not math.isfinite(float(value))
    pandas = sys.modules.get("pandas")
    try:
        missing = pandas.isna(value) if pandas is not None else value != value
    except (TypeError, ValueError):
        return False
    return _is_true(missing)


def _is_true(found: object) -> bool:
    """Whether ``found`` is the truth value True, Python's or NumPy's (an array or any other object is not).

    >>> _is_true(True), _is_true(1), _is_true([True])
    (True, False, False)
    """
    kind = type(found)
    return found is True or (kind.__module__ == "numpy" and kind.__name__ in ("bool", "bool_") and bool(found))


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
    """A signed amount: ``+$4.82k``, ``-$583``, ``$0``.

    >>> delta_amount(4_817.7), delta_amount(-583.3), delta_amount(0.0)
    ('+$4.82k', '-$583', '$0')
    """
    return signed(value, "currency", currency=currency)


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
    return _unsigned_zero(f"{float(value) * 100:.{digits}f}%")  # type: ignore[arg-type]


def ratio(value: object) -> str:
    """A plain ratio with two decimals (quick ratio, events per user)."""
    if undefined(value):
        return DASH
    return _unsigned_zero(f"{float(value):.2f}")  # type: ignore[arg-type]


def _unsigned_zero(text: str) -> str:
    """``-0.0%`` -> ``0.0%``: a number that rounds to nothing has no sign.

    >>> percent(-0.00001), ratio(-0.001)
    ('0.0%', '0.00')
    """
    return text[1:] if text.startswith("-") and _nothing(text) else text


def value(kpi: Kpi, number: object, currency: str = "$") -> str:
    """``number`` formatted for ``kpi``'s unit; an undefined value is "—", or what it means when it has one
    meaning (the quick ratio of a period that lost nothing: ``no MRR lost``)."""
    if undefined(number) and kpi.undefined_means:
        return kpi.undefined_means
    if kpi.unit == "currency":
        return money(number, currency)
    if kpi.unit == "count":
        return count(number)
    return ratio(number) if kpi.id in PLAIN_RATIOS else percent(number)


def _nothing(text: str) -> bool:
    """True when a formatted number shows no digit but 0 (``$0``, ``0.0 pp``)."""
    return not any(char in "123456789" for char in text)


def signed(change: object, unit: str, *, plain_ratio: bool = False, currency: str = "$") -> str:
    """A change with its sign, in a unit (``currency``, ``count``, ``ratio``): ``+$4.64k``, ``-12``, ``+0.6 pp``
    (rates change in percentage points), ``-1.25`` for a plain ratio; "—" when undefined. A change that rounds to
    nothing has no sign (``0.0 pp``, never ``-0.0 pp``). The one delta formatter of the review and the dashboard.

    >>> [signed(-3058.0, "currency"), signed(0.0123, "ratio"), signed(12.0, "count"), signed(-0.004, "ratio")]
    ['-$3.06k', '+1.2 pp', '+12', '-0.4 pp']
    """
    if undefined(change):
        return DASH
    number = float(change)  # type: ignore[arg-type]
    size = abs(number)
    if unit == "currency":
        text = money(size, currency)
    elif unit == "count":
        text = count(size)
    elif plain_ratio:
        text = f"{size:.2f}"
    else:
        text = f"{size * 100:.1f} pp"
    if _nothing(text):
        return text
    return ("+" if number > 0 else "-") + text


def delta(kpi: Kpi, change: object, currency: str = "$") -> str:
    """A signed change in ``kpi``'s unit (:func:`signed`): ratios in percentage points (``+0.6 pp``)."""
    return signed(change, kpi.unit, plain_ratio=kpi.id in PLAIN_RATIOS, currency=currency)


def relative(change: object) -> str:
    """A relative change with its sign: ``+3.2%``; "—" when undefined; ``0.0%`` when it rounds to nothing."""
    if undefined(change):
        return DASH
    number = float(change)  # type: ignore[arg-type]
    text = f"{abs(number) * 100:.1f}%"
    return text if _nothing(text) else ("+" if number > 0 else "-") + text


#: Beyond this many times its earlier size, a KPI's earlier value was next to nothing: no percentage is written.
MAX_FACTOR = 10.0


def meaningful(value: object, previous: object) -> bool:
    """Whether a percentage change from ``previous`` to ``value`` means something: both defined, the earlier one
    not zero, both on the same side of zero (no sign flip), and the later at most :data:`MAX_FACTOR` times the
    earlier in size.

    >>> [meaningful(4_820.0, 989.0), meaningful(-15_800.0, 1_130.0), meaningful(-1_140.0, -20.0), meaningful(5, 0)]
    [True, False, False, False]
    """
    if undefined(value) or undefined(previous):
        return False
    now, before = float(value), float(previous)  # type: ignore[arg-type]
    if round(before, 6) == 0 or now * before < 0:
        return False
    return abs(now) <= MAX_FACTOR * abs(before)


def is_rate(kpi: Kpi) -> bool:
    """A ratio read as a percentage (churn, NRR, stickiness): it changes in percentage points."""
    return kpi.unit == "ratio" and kpi.id not in PLAIN_RATIOS


def change_text(kpi: Kpi, value: object, previous: object, currency: str = "$", *, magnitude: bool = False) -> str:
    """How a KPI moved from ``previous`` to ``value``: a rate in percentage points (``+8.5 pp``); any other KPI as a
    percentage when that means something (:func:`meaningful`), else as the change in its unit (``-$16.9k``).
    ``magnitude``: the KPI is a loss stored as a negative amount, so its change is said in size.

    >>> from kpis.core.registry import KPIS
    >>> change_text(KPIS["revenue_churn_rate"], 0.097, 0.012)
    '+8.5 pp'
    >>> change_text(KPIS["contraction_mrr"], -1_140.0, -20.0, magnitude=True)
    '+$1.12k in size'
    >>> change_text(KPIS["net_new_mrr"], -15_800.0, 1_130.0), change_text(KPIS["new_mrr"], 4_820.0, 989.0)
    ('-$16.9k', '+387.4%')
    """
    if undefined(value) or undefined(previous):
        return DASH
    now, before = float(value), float(previous)  # type: ignore[arg-type]
    if is_rate(kpi):
        return delta(kpi, now - before, currency)
    suffix = " in size" if magnitude else ""
    if magnitude:
        now, before = abs(now), abs(before)
    if meaningful(now, before):
        return relative((now - before) / abs(before)) + suffix
    return delta(kpi, now - before, currency) + suffix


def range_text(kpi: Kpi, low: object, high: object, currency: str = "$") -> str:
    """A usual range in ``kpi``'s unit: ``$127.2k to $136.9k``, ``194 to 200``, ``0.0% to 2.1%``.

    >>> from kpis.core.registry import KPIS
    >>> range_text(KPIS["active_customers"], 194.0, 200.0), range_text(KPIS["logo_churn_rate"], 0.0, 0.021)
    ('194 to 200', '0.0% to 2.1%')
    """
    return f"{value(kpi, low, currency)} to {value(kpi, high, currency)}"


def period_label(start: date | None, grain: str, *, in_sentence: bool = False) -> str:
    """A period as people name it: ``week of 16 Nov 2026``, ``Nov 2026``, ``Q4 2026``, ``2027`` (a plan's year);
    ``in_sentence`` for where it follows a preposition (``in the week of 16 Nov 2026``, ``in Nov 2026``).

    >>> period_label(date(2027, 1, 1), "year"), period_label(date(2026, 11, 16), "week", in_sentence=True)
    ('2027', 'the week of 16 Nov 2026')
    """
    if start is None:
        return DASH
    if grain == "year":
        return str(start.year)
    if grain == "week":
        return f"{'the ' if in_sentence else ''}week of {start.day} {start:%b %Y}"
    if grain == "month":
        return f"{start:%b %Y}"
    if grain == "quarter":
        return f"Q{(start.month - 1) // 3 + 1} {start.year}"
    if grain == "year":
        return str(start.year)
    return day_label(start)


def day_label(day: date | None) -> str:
    """``16 Nov 2026``.

    >>> day_label(date(2026, 11, 6))
    '6 Nov 2026'
    """
    return DASH if day is None else f"{day.day} {day:%b %Y}"
