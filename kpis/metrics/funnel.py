"""Funnels (as Amplitude's and PostHog's conversion funnels chart them): of the users who did a first event, how
many went on to do the next ones, in order, within a conversion window.

With steps e1..en (2 to 6 event names) and a window of W days:

- a user enters at t1, the time of their first e1 event whose day (in the reporting time zone) lies in the date
  range; the range decides who enters, nothing else (a later step may fall after its end);
- step k is reached at t_k, the time of the first e_k event at or after t_(k-1) (the same timestamp counts) and no
  later than t1 + W days, W days being W x 24 hours from t1 (t1 + W days itself counts);
- when a step repeats the event of an earlier step (``signup, signup``), it needs another occurrence of it, one that
  comes after the earlier step's (at the same time or later): a single event never reaches two steps;
- the counts never increase along the steps; ``from_previous`` = users(k) / users(k-1) (empty for step 1: it has
  no previous step), ``from_first`` = users(k) / users(1); ``median_seconds`` is the median of t_k - t_(k-1) over
  the users who reached step k (the mean of the two middle values for an even count).

The events that count are those of every other product KPI (``event_sources`` decides between tools that recorded
the same activity); ``inactive_events`` does not apply, since every step names its event. The segment filter keeps
the users whose account is a customer of the segment, as for the engagement KPIs.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from kpis.core import defaults
from kpis.core.errors import InputError
from kpis.metrics.segments import segment_sql
from kpis.store.db import Store
from kpis.store.derived import counted_events_sql, day_sql
from kpis.store.settings import event_sources, timezone

if TYPE_CHECKING:
    import pandas as pd

#: How many steps a funnel has, at least and at most.
MIN_STEPS, MAX_STEPS = 2, 6
#: The conversion window's bounds, in days.
MIN_WINDOW_DAYS, MAX_WINDOW_DAYS = 1, 365
#: The conversion window when none is chosen.
DEFAULT_WINDOW_DAYS = defaults.DEFAULT_WINDOW_DAYS
#: The funnel table's columns, one row per step.
FUNNEL_COLUMNS = ("step", "event", "users", "from_previous", "from_first", "median_seconds")
#: How many event names a message about an unknown one lists (the most frequent first).
_LISTED = 5


@dataclass(frozen=True)
class FunnelSpec:
    """A checked funnel: its steps (event names, in order), window in days and the date range of entry."""

    steps: tuple[str, ...]
    window_days: int
    start: date | None = None
    end: date | None = None


def known_events(store: Store) -> list[str]:
    """Every event name stored, the most frequent first: what a funnel's steps are chosen from."""
    return [str(r[0]) for r in store.query(
        "SELECT event FROM events WHERE event IS NOT NULL GROUP BY event ORDER BY count(*) DESC, event")]


def check_funnel(steps: Sequence[str], window_days: object, start: date | None, end: date | None,
                 known: Collection[str] | None) -> FunnelSpec:
    """The funnel asked for, checked in one place, or an :class:`InputError` saying what is wrong and where:
    2 to 6 steps, each an event name in ``known`` (None: the names are not looked up), a whole window of 1 to
    365 days, a date range whose start is not after its end.

    >>> check_funnel(["signup", "invite"], 7, None, None, {"signup", "invite"}).steps
    ('signup', 'invite')
    >>> check_funnel(["signup", "invit"], 7, None, None, {"signup", "invite"})
    Traceback (most recent call last):
    kpis.core.errors.InputError: step 2: no event is named 'invit' (close: invite)
    """
    names = tuple(str(s).strip() for s in steps)
    if not MIN_STEPS <= len(names) <= MAX_STEPS:
        raise InputError(f"a funnel has {MIN_STEPS} to {MAX_STEPS} steps, got {len(names)}")
    for number, name in enumerate(names, start=1):
        if not name:
            raise InputError(f"step {number} is empty: each step is an event name")
        if known is not None and name not in known:
            raise InputError(f"step {number}: no event is named {name!r} ({_hint(name, list(known))})")
    if isinstance(window_days, bool) or not isinstance(window_days, int) or not (
            MIN_WINDOW_DAYS <= window_days <= MAX_WINDOW_DAYS):
        raise InputError(f"the conversion window is a whole number of days from {MIN_WINDOW_DAYS} to "
                         f"{MAX_WINDOW_DAYS}, got {window_days!r}")
    if start is not None and end is not None and start > end:
        raise InputError(f"the date range starts after it ends: {start.isoformat()} to {end.isoformat()}")
    return FunnelSpec(names, window_days, start, end)


def _hint(name: str, known: list[str]) -> str:
    """What to write instead of an unknown event name: the close names, else the first names of ``known`` (the
    most frequent first).

    >>> _hint("sigup", ["signup", "invite"]), _hint("zzz", ["signup", "invite"]), _hint("zzz", [])
    ('close: signup', 'the events are signup, invite', 'no events are loaded')
    """
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    if close:
        return f"close: {', '.join(close)}"
    if not known:
        return "no events are loaded"
    return f"the events are {', '.join(known[:_LISTED])}{', ...' if len(known) > _LISTED else ''}"


#: One step of a funnel: ``step, event, users, from_previous, from_first, median_seconds`` (:data:`FUNNEL_COLUMNS`).
FunnelStep = tuple[int, str, int, float, float, float]


def funnel_steps(store: Store, steps: Sequence[str], window_days: int, *, start: date | None = None,
                 end: date | None = None, segment: tuple[str, str] | None = None) -> list[FunnelStep]:
    """:data:`FUNNEL_COLUMNS` for each step of the funnel (checked first: :func:`check_funnel`), in one query; the
    ratios and medians NaN where undefined. Builds no frame, so the command line computes a funnel without pandas.

    The names are looked up only when a step has no users (a name stored has at least one event): the funnel of
    stored events costs its one query."""
    spec = check_funnel(steps, window_days, start, end, None)
    sql, params = funnel_sql(store, spec, segment)
    found = store.query(sql, params)
    users = [int(row[1]) for row in found]
    if 0 in users:
        check_funnel(steps, window_days, start, end, known_events(store))
    medians = [float(row[2]) / 1e6 if row[2] is not None and row[2] == row[2] else math.nan for row in found]
    from_previous = [math.nan] + [_ratio(u, p) for u, p in zip(users[1:], users, strict=False)]
    return [(number, event, count, previous, _ratio(count, users[0]), median)
            for number, event, count, previous, median in zip(range(1, len(spec.steps) + 1), spec.steps, users,
                                                               from_previous, medians, strict=True)]


def funnel(store: Store, steps: Sequence[str], window_days: int, *, start: date | None = None,
           end: date | None = None, segment: tuple[str, str] | None = None) -> pd.DataFrame:
    """:func:`funnel_steps` as a table with the columns :data:`FUNNEL_COLUMNS` (for the Engagement page); pandas
    loads here, on first use."""
    import pandas as pd
    rows = funnel_steps(store, steps, window_days, start=start, end=end, segment=segment)
    return pd.DataFrame({name: [row[i] for row in rows] for i, name in enumerate(FUNNEL_COLUMNS)})


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else math.nan


def funnel_sql(store: Store, spec: FunnelSpec, segment: tuple[str, str] | None) -> tuple[str, dict[str, object]]:
    """The funnel's query: a chain of one step per CTE, each joining the users who reached the step before with
    their next occurrence of the step's event within the window; ``users`` and ``median_us`` per step. Each step
    reads the events of its own name, so the scan of each skips every other event."""
    tz, sources = timezone(store), event_sources(store)
    where, params = segment_sql(segment)
    distinct = list(dict.fromkeys(spec.steps))
    params |= {f"e{i}": name for i, name in enumerate(distinct)}
    params |= {"window": spec.window_days}
    if sources:
        params["event_sources"] = sources
    entry = []
    if spec.start is not None:
        entry.append(f"{day_sql(tz, 'ts')} >= $start")
        params["start"] = spec.start
    if spec.end is not None:
        entry.append(f"{day_sql(tz, 'ts')} <= $end")
        params["end"] = spec.end
    if tz != "UTC" and (entry or sources):  # bound only where the query names it
        params["tz"] = tz
    users = f"AND user_id IN (SELECT user_id FROM users WHERE true {where})" if segment else ""

    def occurrences(event: str) -> str:
        """The user's events named ``event``, numbered in time order when a step repeats it."""
        repeated = spec.steps.count(event) > 1
        seq = "row_number() OVER (PARTITION BY user_id ORDER BY ts, uuid)" if repeated else "0"
        return (f"(SELECT user_id, ts, {seq} AS seq FROM {counted_events_sql(sources, tz)} e "
                f"WHERE event = $e{distinct.index(event)} AND user_id IS NOT NULL AND ts IS NOT NULL {users})")

    repeats = len(distinct) < len(spec.steps)

    def order(k: int, alias: str) -> str:
        """Step k's occurrence number, carried only when a step repeats an event."""
        return f", min({alias}.seq) AS q{k}" if repeats else ""

    ctes = [f"""s1 AS (
            SELECT user_id, min(ts) AS t1 {order(1, 'h')} FROM {occurrences(spec.steps[0])} h
            {'WHERE ' + ' AND '.join(entry) if entry else ''} GROUP BY user_id)"""]
    carried = ["t1", "q1"] if repeats else ["t1"]
    for k in range(2, len(spec.steps) + 1):
        event = spec.steps[k - 1]
        same = [j for j in range(1, k) if spec.steps[j - 1] == event]
        after = f"AND h.seq > p.q{same[-1]}" if same else ""
        ctes.append(f"""s{k} AS (
            SELECT p.user_id, {', '.join(f'p.{c}' for c in carried)}, min(h.ts) AS t{k} {order(k, 'h')}
            FROM s{k - 1} p JOIN {occurrences(event)} h ON h.user_id = p.user_id
                 AND h.ts >= p.t{k - 1} AND h.ts <= p.t1 + $window * INTERVAL 1 DAY {after}
            GROUP BY ALL)""")
        carried += [f"t{k}", f"q{k}"] if repeats else [f"t{k}"]
    counts = ["SELECT 1 AS step, count(*) AS users, CAST(NULL AS DOUBLE) AS median_us FROM s1"]
    counts += [f"SELECT {k}, count(*), median(date_diff('microsecond', t{k - 1}, t{k})) FROM s{k}"
               for k in range(2, len(spec.steps) + 1)]
    sql = f"WITH {', '.join(ctes)}\nSELECT * FROM ({' UNION ALL '.join(counts)}) t ORDER BY step"
    return sql, params
