"""What the dashboard's scorecard and filters pick from: the last complete period, the period to compare it
with (the one before, or the same period a year earlier), and the choices the shared filters offer
(segments, event names, the span of dates with data). Never imports streamlit.

>>> import pandas as pd
>>> from datetime import date, timedelta
>>> table = pd.DataFrame({"period_start": [date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)],
...                       "value": [100.0, 110.0, 55.0], "partial": [False, False, True]})
>>> c = compare(table, "month", "previous")
>>> (c.period, c.value, c.reference, c.change, c.running_value)
(datetime.date(2026, 10, 1), 110.0, 100.0, 10.0, 55.0)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

from kpis.core.calendar import add_months, period_start, previous_start
from kpis.metrics import engine
from kpis.store.db import Store

#: What a period can be compared with: the period before it, or the period holding the same day a year earlier.
COMPARISONS = ("previous", "year_ago")


@dataclass(frozen=True)
class Comparison:
    """One KPI's headline: the last complete period, its value, and the value it is compared with.

    ``reference`` is NaN when there is no period to compare with (or its value is undefined); ``change`` is then
    NaN too. ``running_*`` describe the period still running (partial), if any.
    """

    period: date | None
    value: float
    reference_period: date | None
    reference: float
    running_period: date | None
    running_value: float

    @property
    def change(self) -> float:
        """value - reference (NaN when either is undefined)."""
        return self.value - self.reference


def reference_start(start: date, grain: str, against: str) -> date:
    """The first day of the period ``start``'s period is compared with. A year ago is 52 weeks back at week grain
    (weeks keep their weekdays, so the same ISO week number in most years), 12 calendar months back otherwise.

    >>> reference_start(date(2026, 11, 16), "week", "year_ago")  # ISO week 47 of 2026 -> week 47 of 2025
    datetime.date(2025, 11, 17)
    >>> reference_start(date(2026, 10, 1), "quarter", "previous")
    datetime.date(2026, 7, 1)
    """
    if against == "previous":
        return previous_start(start, grain)
    if against == "year_ago":
        if grain == "week":
            return start - timedelta(weeks=52)
        return period_start(add_months(start, -12), grain)
    raise ValueError(f"unknown comparison {against!r}; expected one of {', '.join(COMPARISONS)}")


def last_complete(table: pd.DataFrame) -> int | None:
    """The position of the last row of ``table`` that is not partial, or None."""
    if table.empty:
        return None
    complete = [i for i, partial in enumerate(table["partial"].astype(bool)) if not partial]
    return complete[-1] if complete else None


def headline_row(table: pd.DataFrame, period: date | None) -> int | None:
    """The position of ``period``'s row when it is complete, or of the last complete row when ``period`` is None.

    ``period`` is the last complete period by :func:`kpis.metrics.reporting.last_complete_period`: a source that runs
    further than the others shows the same period as they do, not a later one.

    >>> table = pd.DataFrame({"period_start": [date(2026, 3, 23), date(2026, 3, 30), date(2026, 4, 6)],
    ...                       "partial": [False, False, True]})
    >>> headline_row(table, date(2026, 3, 23)), headline_row(table, None), headline_row(table, date(2026, 4, 6))
    (0, 1, None)
    """
    if period is None:
        return last_complete(table)
    for i, (start, partial) in enumerate(zip(table["period_start"], table["partial"].astype(bool), strict=True)):
        if pd.Timestamp(start) == pd.Timestamp(period) and not partial:
            return i
    return None


def compare(table: pd.DataFrame, grain: str, against: str, column: str = "value", *,
            data_start: date | None = None, period: date | None = None) -> Comparison:
    """The headline of ``column`` in a series table (``period_start``, ``partial``, ``column``): its value in the
    last complete period (``period``, see :func:`headline_row`) and in the period it is compared with
    (``against``: previous or year_ago).

    ``data_start`` is the source's first day with data: a reference period that starts before it is cut short at
    its start (a few days of events, every customer counted as new), so it is not compared with (no reference).
    """
    nan = float("nan")
    running_period, running_value = None, nan
    if not table.empty and bool(table["partial"].iloc[-1]):
        running_period, running_value = table["period_start"].iloc[-1], float(table[column].iloc[-1])
    at = None if table.empty else headline_row(table, period)
    if at is None:
        return Comparison(None, nan, None, nan, running_period, running_value)
    period = table["period_start"].iloc[at]
    ref_start = reference_start(period, grain, against)
    by_start = dict(zip(table["period_start"], table[column].astype("float64"), strict=True))
    reference = by_start.get(ref_start, nan)
    if data_start is not None and ref_start < data_start:
        reference = nan
    return Comparison(period, float(table[column].iloc[at]), ref_start if ref_start in by_start else None,
                      float(reference), running_period, running_value)


def first_period_retention(cohorts: pd.DataFrame) -> pd.DataFrame:
    """Period-1 retention per cohort as a series table (``period_start`` = cohort, ``value``, ``partial``),
    for the cohorts whose period 1 has started; ``partial`` when that period is still running."""
    cells = cohorts[cohorts["period"] == 1] if not cohorts.empty else cohorts
    return pd.DataFrame({"period_start": list(cells["cohort_start"]) if not cells.empty else [],
                         "value": cells["retention"].astype("float64").tolist() if not cells.empty else [],
                         "partial": cells["partial"].astype(bool).tolist() if not cells.empty else []})


#: Prefixes of machine ids a billing tool puts before a plan's name (``price_enterprise_quarterly``).
_ID_PREFIXES = ("price_", "plan_", "prod_")
_SNAKE_ID = re.compile(r"[a-z0-9]+(?:_[a-z0-9]+)+")


def _plain(text: str) -> str:
    """A snake_case id as words (``price_enterprise_quarterly`` -> "Enterprise quarterly"); other text as is."""
    if not _SNAKE_ID.fullmatch(text):
        return text
    for prefix in _ID_PREFIXES:
        if text.startswith(prefix) and len(text) > len(prefix):
            text = text[len(prefix):]
            break
    words = text.replace("_", " ")
    return words[0].upper() + words[1:]


def segment_label(segment: tuple[str, str]) -> str:
    """A segment as a person reads it: "Plan: Enterprise quarterly", "Segment: ent", "Country: US".

    >>> segment_label(("plan", "price_enterprise_quarterly")), segment_label(("segment", "ent"))
    ('Plan: Enterprise quarterly', 'Segment: ent')
    >>> segment_label(("billing_country", "US")), segment_label(("plan", "Team Monthly"))
    ('Billing country: US', 'Plan: Team Monthly')
    """
    key, value = segment
    return f"{_plain(key) if '_' in key else key[:1].upper() + key[1:]}: {_plain(value)}"


def segment_labels(choices: list[tuple[str, str]]) -> dict[str, tuple[str, str]]:
    """``{label: (key, value)}`` for the segment filter, one label per choice: where two choices would read the
    same ("plan_pro" and "price_pro"), they are written as stored (``plan: plan_pro``).

    >>> list(segment_labels([("plan", "plan_pro"), ("plan", "price_pro"), ("segment", "SMB")]))
    ['plan: plan_pro', 'plan: price_pro', 'Segment: SMB']
    """
    labels = [segment_label(c) for c in choices]
    taken = {label for label in labels if labels.count(label) > 1}
    return {(f"{k}: {v}" if label in taken else label): (k, v) for label, (k, v) in zip(labels, choices, strict=True)}


def event_names(store: Store) -> list[str]:
    """Every event name, the most frequent first."""
    return [str(r[0]) for r in store.query(
        "SELECT event FROM events WHERE event IS NOT NULL GROUP BY event ORDER BY count(*) DESC, event")]


def data_span(store: Store) -> tuple[date, date] | None:
    """The first and the last day with data of any source (events, subscriptions), from the data alone."""
    firsts = [engine.first_days(store)["engagement"]]
    firsts += [r[0] for r in store.query("SELECT min(started_at)::DATE FROM subscriptions")]
    lasts = list(engine.as_of_dates(store))
    firsts = [d for d in firsts if d is not None]
    lasts = [d for d in lasts if d is not None]
    if not firsts or not lasts:
        return None
    return min(firsts), max(lasts)
