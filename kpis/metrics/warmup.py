"""Warm-up: the periods at the start of the data in which a KPI does not yet mean what it says.

MAU counts the users of the 30 days ending on a day, so during the first 29 days of events it counts fewer days
and grows for no reason but the data's start; stickiness divides by that MAU; NRR and GRR compare with the
customers paying twelve months earlier, which needs twelve months of subscriptions; a retention cohort whose
week or month is cut short by the data's start or end holds fewer days of first events than its period. Such
periods are drawn shaded as "warming up", never judged as anomalies and never compared with ("vs previous").
How long each KPI warms up is data: :class:`kpis.core.registry.WarmUp` in the registry.

>>> from kpis.core.registry import KPIS
>>> first = date(2025, 11, 23)
>>> ready_day(KPIS["mau"], first), warming_up(KPIS["mau"], date(2025, 12, 1), date(2025, 12, 21), first)
(datetime.date(2025, 12, 22), True)
>>> warming_up(KPIS["stickiness"], date(2025, 12, 15), date(2025, 12, 31), first)  # Dec 15-21 warm up
True
>>> warming_up(KPIS["nrr"], date(2026, 11, 1), date(2026, 11, 30), date(2025, 12, 1))  # looks back to 30 Nov 2025
True
>>> warming_up(KPIS["nrr"], date(2026, 12, 1), date(2026, 12, 31), date(2025, 12, 1))
False
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

import pandas as pd

from kpis.core.calendar import add_months, last_day, next_start, period_start
from kpis.core.formatting import day_label
from kpis.core.registry import Kpi

#: What each source's first day is the first day of, for the reasons.
NOUNS = {"revenue": "subscriptions", "engagement": "events", "accounts": "events"}


def ready_day(kpi: Kpi, first: date) -> date:
    """The first snapshot day on which ``kpi`` means what it says, when its data starts on ``first``.

    >>> from kpis.core.registry import KPIS
    >>> ready_day(KPIS["nrr"], date(2024, 2, 29))  # 29 Feb 2025 does not exist; 28 Feb looks back to 28 Feb 2024
    datetime.date(2025, 3, 1)
    """
    warm = kpi.warm_up
    if warm is None:
        return first
    if warm.months:
        ready = add_months(first, warm.months)
        return ready if add_months(ready, -warm.months) >= first else ready + timedelta(days=1)
    return first + timedelta(days=warm.days)


def warming_up(kpi: Kpi, start: date, end: date, first: date | None) -> bool:
    """Whether ``kpi``'s period from ``start`` to its snapshot day ``end`` warms up, the data starting on
    ``first`` (never, without data or without a warm-up)."""
    if kpi.warm_up is None or first is None:
        return False
    ready = ready_day(kpi, first)
    if kpi.warm_up.whole_period:
        return max(start, first) < ready
    return end < ready


def period_warming_up(kpi: Kpi, start: object, grain: str, first: date | None, as_of: date | None = None) -> bool:
    """:func:`warming_up` for the period starting on ``start`` at ``grain``: its snapshot day is its last day,
    or ``as_of`` when that is earlier (a running period)."""
    if start is None or first is None:
        return False
    begin = pd.Timestamp(start).date()  # type: ignore[arg-type]
    end = last_day(begin, grain)
    return warming_up(kpi, begin, min(end, as_of) if as_of else end, first)


def flags(kpi: Kpi, starts: Iterable[object], grain: str, first: date | None,
          as_of: date | None = None) -> list[bool]:
    """:func:`period_warming_up` for each period of a series."""
    return [period_warming_up(kpi, s, grain, first, as_of) for s in starts]


def reason(kpi: Kpi, first: date) -> str:
    """Why ``kpi`` warms up, in one sentence for a tooltip or a caveat.

    >>> from kpis.core.registry import KPIS
    >>> reason(KPIS["mau"], date(2025, 11, 23))
    'MAU counts the users active in the 30 days ending each day, and the events start on 23 Nov 2025: its value \
is complete from 22 Dec 2025 on.'
    """
    why = kpi.warm_up.why if kpi.warm_up else "needs no warm-up"
    return (f"{kpi.label} {why}, and the {NOUNS.get(kpi.source, 'data')} start on {day_label(first)}: its value is "
            f"complete from {day_label(ready_day(kpi, first))} on.")


def cohort_warming_up(cohort: date, grain: str, first: date | None, as_of: date | None) -> bool:
    """Whether a retention cohort is younger than its period: the data start after its week or month starts, or
    the as-of date falls before it ends, so it holds fewer days of first events than its period (and, at the
    data's start, users who were active before the data began).

    >>> cohort_warming_up(date(2025, 11, 17), "week", date(2025, 11, 23), date(2026, 11, 22))
    True
    >>> cohort_warming_up(date(2025, 11, 24), "week", date(2025, 11, 23), date(2026, 11, 22))
    False
    """
    if first is None:
        return False
    start = period_start(cohort, grain)
    return start < first or (as_of is not None and next_start(start, grain) - timedelta(days=1) > as_of)


def cohort_reason(grain: str, first: date, as_of: date) -> str:
    """Why a cohort is marked warming up, for the heatmap's hover."""
    return (f"a cohort is the users whose first event falls in its {grain}; the events run from {day_label(first)} "
            f"to {day_label(as_of)}, so this {grain} holds only part of its days (and, at the start, users active "
            "before the data began)")


def warming_periods(kpis: Iterable[Kpi], starts: Iterable[object], grain: str, first: date | None,
                    as_of: date | None = None) -> dict[date, str]:
    """``{period_start: why}`` for the periods of a chart in which any of ``kpis`` warms up; ``why`` holds the
    reason of each KPI that does, one line each.

    >>> from kpis.core.registry import KPIS
    >>> found = warming_periods([KPIS["wau"], KPIS["mau"]], [date(2025, 11, 17), date(2025, 11, 24)], "week",
    ...                         date(2025, 11, 23))
    >>> [(d.isoformat(), why.count("counts")) for d, why in found.items()]
    [('2025-11-17', 2), ('2025-11-24', 1)]
    """
    kpis, found = list(kpis), {}
    for start in starts:
        day = pd.Timestamp(start).date()  # type: ignore[arg-type]
        why = [reason(k, first) for k in kpis if first is not None and period_warming_up(k, day, grain, first, as_of)]
        if why:
            found[day] = "\n".join(why)
    return found
