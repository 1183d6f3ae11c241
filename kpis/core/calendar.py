"""Periods of the reporting calendar: ISO weeks, calendar months and quarters, each labelled by its first day."""

from __future__ import annotations

import calendar as _calendar
from dataclasses import dataclass
from datetime import date, timedelta

from kpis.core.registry import COHORT_GRAINS, GRAINS


def period_start(day: date, grain: str) -> date:
    """The first day of the period holding ``day``.

    >>> period_start(date(2027, 1, 1), "week")  # a Friday of ISO week 53 of 2026
    datetime.date(2026, 12, 28)
    >>> period_start(date(2026, 11, 27), "quarter")
    datetime.date(2026, 10, 1)
    """
    if grain == "day":
        return day
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    if grain == "quarter":
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    if grain == "year":
        return date(day.year, 1, 1)
    raise ValueError(f"unknown grain {grain!r}; expected one of {', '.join(GRAINS)}")


def cohort_grain(grain: str) -> str:
    """The cohorts shown at ``grain``: weekly ones at week grain, monthly ones at any coarser (or finer) grain, so
    that a cohort always holds enough sign-ups to read.

    >>> [cohort_grain(g) for g in ("day", "week", "month", "quarter", "year")]
    ['month', 'week', 'month', 'month', 'month']
    """
    weekly, monthly = COHORT_GRAINS
    return weekly if grain == weekly else monthly


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole calendar months; a day that does not exist becomes the month's last day.

    >>> add_months(date(2028, 2, 29), -12)
    datetime.date(2027, 2, 28)
    """
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = _calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def next_start(start: date, grain: str) -> date:
    """The first day of the period after the one starting on ``start``."""
    if grain == "day":
        return start + timedelta(days=1)
    if grain == "week":
        return start + timedelta(days=7)
    return add_months(start, {"month": 1, "quarter": 3, "year": 12}[grain])


def last_day(start: date, grain: str) -> date:
    """The last day of the period starting on ``start``.

    >>> last_day(date(2026, 10, 1), "quarter")
    datetime.date(2026, 12, 31)
    """
    return next_start(start, grain) - timedelta(days=1)


def previous_start(start: date, grain: str) -> date:
    """The first day of the period before the one starting on ``start``."""
    if grain == "day":
        return start - timedelta(days=1)
    if grain == "week":
        return start - timedelta(days=7)
    return add_months(start, {"month": -1, "quarter": -3, "year": -12}[grain])


@dataclass(frozen=True)
class Period:
    """One period of a series: its first day, its end ``end(P)`` and whether the as-of date cuts it short."""

    start: date
    last_day: date
    end: date
    partial: bool


def spine(first: date, as_of: date, grain: str) -> list[Period]:
    """Every period from the one holding ``first`` to the one holding ``as_of`` (a date spine, not SQL series).

    >>> periods = spine(date(2026, 1, 30), date(2026, 2, 3), "month")
    >>> [(p.start.isoformat(), p.end.isoformat(), p.partial) for p in periods]
    [('2026-01-01', '2026-01-31', False), ('2026-02-01', '2026-02-03', True)]
    """
    periods = []
    start = period_start(first, grain)
    while start <= as_of:
        last_day = next_start(start, grain) - timedelta(days=1)
        periods.append(Period(start, last_day, min(last_day, as_of), as_of < last_day))
        start = next_start(start, grain)
    return periods
