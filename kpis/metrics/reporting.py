"""The one rule for "the last complete period", used by every page, the review and the command line.

Each source has its own as-of date, the last day it has data for (:func:`kpis.metrics.revenue.revenue_as_of`,
:func:`kpis.metrics.engagement.engagement_as_of`); neither depends on the machine's clock. When they end on different
days, a period that is complete in one source may still be running in the other. The rule:

- the **reporting as-of date** is the date chosen by hand (the date range's end moved off its default,
  ``--as-of``, ``--end``) or, by default, the *earlier* of the as-of dates of the sources that hold data;
- the **last complete period** at a grain is the last period that ends on or before it.

So with revenue to Friday 10 Apr 2026 and product events to Sunday 29 Mar 2026, every headline, the review, the
anomalies and the targets speak of the week of 23 Mar 2026, the last one complete in both, and say so
(:meth:`LastComplete.statement`). See ``docs/kpis.md`` ("The last complete period").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from kpis.core.calendar import next_start, period_start, previous_start
from kpis.core.formatting import day_label, period_label
from kpis.metrics import engine
from kpis.store.db import Store


def complete_period(as_of: date, grain: str) -> tuple[date, date]:
    """The first and last day of the last period at ``grain`` that ends on or before ``as_of``.

    >>> complete_period(date(2026, 11, 22), "week")  # a Sunday: its week is complete
    (datetime.date(2026, 11, 16), datetime.date(2026, 11, 22))
    >>> complete_period(date(2026, 4, 10), "week")  # a Friday: the week before
    (datetime.date(2026, 3, 30), datetime.date(2026, 4, 5))
    >>> complete_period(date(2026, 11, 26), "month")
    (datetime.date(2026, 10, 1), datetime.date(2026, 10, 31))
    """
    start = period_start(as_of, grain)
    if next_start(start, grain) - timedelta(days=1) > as_of:
        start = previous_start(start, grain)
    return start, next_start(start, grain) - timedelta(days=1)


def reporting_as_of(revenue: date | None, events: date | None, end: date | None = None) -> date | None:
    """``end`` when a date is chosen by hand, else the earlier of the sources' as-of dates (those that hold
    data); None without data.

    >>> reporting_as_of(date(2026, 4, 10), date(2026, 3, 29))
    datetime.date(2026, 3, 29)
    >>> reporting_as_of(date(2026, 4, 10), None, end=date(2026, 3, 20))
    datetime.date(2026, 3, 20)
    >>> reporting_as_of(None, None, end=date(2026, 3, 20)) is None
    True
    """
    known = [d for d in (revenue, events) if d is not None]
    if not known:
        return None
    return end if end is not None else min(known)


@dataclass(frozen=True)
class LastComplete:
    """The last complete period at one grain, and the dates it was chosen by."""

    grain: str
    start: date
    last_day: date
    #: the reporting as-of date: ``end`` when chosen, else the earlier source's as-of date
    as_of: date
    revenue_as_of: date | None
    events_as_of: date | None
    #: the date chosen by hand, if any
    end: date | None = None

    @property
    def label(self) -> str:
        """``the week of 23 Mar 2026``, ``Oct 2026``, ``Q3 2026``."""
        return period_label(self.start, self.grain, in_sentence=True)

    @property
    def chosen(self) -> bool:
        """True when the as-of date was chosen by hand rather than given by the data."""
        return self.end is not None

    def sources(self) -> str:
        """``Revenue to 10 Apr 2026, product events to 29 Mar 2026`` (``, as of D`` when a date was chosen)."""
        revenue, events = self.revenue_as_of, self.events_as_of
        if revenue == events:
            text = f"Revenue and product events to {day_label(revenue)}"
        elif revenue is None:
            text = f"Product events to {day_label(events)} (no revenue data)"
        elif events is None:
            text = f"Revenue to {day_label(revenue)} (no product events)"
        else:
            text = f"Revenue to {day_label(revenue)}, product events to {day_label(events)}"
        return text + (f", as of {day_label(self.end)}" if self.end is not None else "")

    def _where(self) -> str:
        if self.chosen:
            return " by then"
        return " in both" if self.revenue_as_of is not None and self.events_as_of is not None else ""

    def _beyond(self, day: date, tail: str = "") -> str:
        """``; product events stop on 29 Mar 2026`` + ``tail`` for each source that ends before ``day`` (a date
        chosen past its data)."""
        return "".join(f"; {name} {'stops' if name == 'revenue' else 'stop'} on {day_label(last)}{tail}"
                       for name, last in (("revenue", self.revenue_as_of), ("product events", self.events_as_of))
                       if last is not None and last < day)

    def statement(self, lead: str = "showing") -> str:
        """Where each source ends and which period that leaves, in one sentence: ``Revenue to 10 Apr 2026,
        product events to 29 Mar 2026: showing the week of 23 Mar 2026, the last week complete in both.``"""
        return (f"{self.sources()}: {lead} {self.label}, the last {self.grain} complete{self._where()}"
                f"{self._beyond(self.last_day, f', before the {self.grain} ends')}.")

    def as_of_statement(self, lead: str = "judged") -> str:
        """The same for what is judged on a day (targets): ``Revenue to 10 Apr 2026, product events to 29 Mar
        2026: targets judged as of 29 Mar 2026, the last day with data in both.``"""
        last = "the day chosen" if self.chosen else "the last day with data" + self._where()
        return f"{self.sources()}: {lead} as of {day_label(self.as_of)}, {last}{self._beyond(self.as_of)}."


def last_complete_period(store: Store, grain: str, end: date | None = None) -> LastComplete | None:
    """The last complete period at ``grain`` by the reporting as-of date (see the module); None without data.

    Every page, the review, the anomalies, the targets and the CLI pick their period here, so that they never
    disagree on which week or month is "the last complete one".
    """
    revenue, events = engine.as_of_dates(store)
    as_of = reporting_as_of(revenue, events, end)
    if as_of is None:
        return None
    start, last_day = complete_period(as_of, grain)
    return LastComplete(grain, start, last_day, as_of, revenue, events, end)
