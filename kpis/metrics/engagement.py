"""Engagement KPIs from events: DAU/WAU/MAU, active and new users, stickiness, events per active user,
adoption of an event, the power-user curve.

Rolling WAU/MAU use a linear algorithm: each active day of a user covers the days up to the user's next
active day or the end of its window, whichever comes first. Those stretches do not overlap, so the number of
users covering a day is a running sum of +1 at each stretch's start and -1 after its end, over a date spine.
No day is joined with its 30-day window and no ``COUNT(DISTINCT ...)`` runs inside a window.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from kpis.core.calendar import period_start, spine
from kpis.core.registry import COHORT_GRAINS
from kpis.metrics.event_days import engagement_as_of, event_periods, first_active_day
from kpis.metrics.segments import segment_sql
from kpis.store.db import Store
from kpis.store.derived import counted_events_sql, day_sql
from kpis.store.settings import event_sources, timezone

ENGAGEMENT_COLUMNS = ("dau", "wau", "mau", "active_users", "new_users", "stickiness", "events_per_active_user")
#: Rolling windows in days.
WINDOWS = {"dau": 1, "wau": 7, "mau": 30}


def daily(store: Store, *, end: date | None = None, segment: tuple[str, str] | None = None,
          windows: tuple[str, ...] = ("dau", "wau", "mau"), gaps: pd.DataFrame | None = None) -> pd.DataFrame:
    """``day`` and the requested rolling counts (dau, wau, mau) for every day from the first active day to
    the as-of date; days without events count as 0. ``gaps``: :func:`day_gaps` up to the same date, when at
    hand already."""
    as_of = end or engagement_as_of(store)
    first = first_active_day(store)
    if as_of is None or first is None or first > as_of:
        return pd.DataFrame(columns=["day", *windows])
    if gaps is None:
        gaps = day_gaps(store, as_of, segment)
    day = pd.to_datetime(gaps["day"])
    days = pd.date_range(first, as_of, freq="D")
    out = pd.DataFrame({"day": days.date})
    starts = _on_days(pd.DataFrame({"d": day, "n": gaps["n"]}), days)
    for name in windows:  # a stretch ends at its window's end or at the user's next active day, if sooner
        ends_at = day + pd.to_timedelta(gaps["gap"].clip(upper=WINDOWS[name]), unit="D")
        ends = _on_days(pd.DataFrame({"d": ends_at, "n": gaps["n"]}), days)
        out[name] = (starts - ends).cumsum().astype("int64").to_numpy()
    return out


#: The days to a user's next active day are counted up to this, which also stands for "none": more than any
#: rolling window and any period (a quarter), so every rule reads the same from the capped number.
GAP_CAP = 93


def day_gaps(store: Store, as_of: date, segment: tuple[str, str] | None,
              days: tuple[date, date] | None = None) -> pd.DataFrame:
    """``day``, ``gap`` (days to the user's next active day, at most :data:`GAP_CAP`), ``n`` (active users) and
    ``events``: the user-days up to ``as_of`` (on ``days`` only, when given) added up per day and gap, in one pass
    over ``user_days``. Every engagement count but new users follows from these few thousand rows."""
    where, params = segment_sql(segment)
    if days is not None:
        where += " AND day BETWEEN $first AND $last"
        params |= {"first": days[0], "last": days[1]}
    return store.df(f"""
        SELECT day, least(coalesce(date_diff('day', day, next_active_day), {GAP_CAP}), {GAP_CAP}) AS gap,
               count(*) FILTER (WHERE active_events > 0) AS n, sum(events) AS events
        FROM user_days WHERE day <= $as_of {where} GROUP BY ALL""", {"as_of": as_of, **params})


def _on_days(rows: pd.DataFrame, days: pd.DatetimeIndex) -> pd.Series:
    """Counts placed on the day spine (0 elsewhere)."""
    series = pd.Series(rows["n"].to_numpy(dtype="int64"), index=pd.to_datetime(rows["d"]))
    return series.groupby(level=0).sum().reindex(days, fill_value=0)


def engagement_table(store: Store, grain: str, *, start: date | None = None, end: date | None = None,
                     segment: tuple[str, str] | None = None,
                     kpis: tuple[str, ...] = ENGAGEMENT_COLUMNS, per_day: pd.DataFrame | None = None,
                     gaps: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per period with the requested engagement KPIs; ``partial`` marks a period cut short by the
    as-of date. Only what ``kpis`` needs is computed; ``per_day``: the rolling counts of every day (:func:`daily`
    with every window, up to the same ``end``) and ``gaps`` (:func:`day_gaps` up to it), when they are at hand
    already (neither depends on the grain).

    The periods run from the first event day, or from ``start`` when it is earlier: periods before any event
    count 0 users and have undefined means and rolling counts.
    """
    columns = ["period_start", "period_end", "partial", *kpis]
    found = event_periods(store, grain, start, end)
    if found is None:
        return pd.DataFrame(columns=columns)
    as_of, periods = found
    out = pd.DataFrame({"period_start": [p.start for p in periods], "period_end": [p.end for p in periods],
                        "partial": [p.partial for p in periods]})
    needed = {w for w in ("dau", "wau", "mau") if w in kpis}
    if "stickiness" in kpis:
        needed |= {"dau", "mau"}
    if needed:
        if per_day is None:
            per_day = daily(store, end=as_of, segment=segment, windows=tuple(w for w in WINDOWS if w in needed),
                            gaps=gaps)
        per_day = per_day.copy(deep=False)
        per_day["period_start"] = [period_start(d, grain) for d in per_day["day"]]
        means = per_day.groupby("period_start").mean(numeric_only=True)
        at_end = per_day.set_index("day")
        if "dau" in kpis:
            out["dau"] = [float(means["dau"].get(p.start, float("nan"))) for p in periods]
        for name in ("wau", "mau"):
            if name in kpis:
                out[name] = [float(at_end[name].get(p.end, float("nan"))) for p in periods]
        if "stickiness" in kpis:
            out["stickiness"] = [_ratio(means["dau"].get(p.start), means["mau"].get(p.start)) for p in periods]
    if {"active_users", "events_per_active_user"} & set(kpis):
        counts = _period_counts(store, grain, as_of, segment, gaps=gaps)
        active = [int(counts["active_users"].get(p.start, 0)) for p in periods]
        if "active_users" in kpis:
            out["active_users"] = active
        if "events_per_active_user" in kpis:
            events = [int(counts["events"].get(p.start, 0)) for p in periods]
            out["events_per_active_user"] = [_ratio(e, a) for e, a in zip(events, active, strict=True)]
    if "new_users" in kpis:
        where, params = segment_sql(segment)
        new = _by_period(store.df(f"""SELECT first_day AS d, count(*) AS n FROM users
                                      WHERE first_day <= $as_of {where} GROUP BY first_day""",
                                  {"as_of": as_of, **params}), grain)
        out["new_users"] = [int(new.get(p.start, 0)) for p in periods]
    return out[columns]


def last_active_in_period_sql(grain: str) -> str:
    """A condition true on one row per user and period among the user's active days up to ``$as_of``: the last
    one (the user's next active day is later than ``$as_of`` or in another period). Counting those rows counts the
    users active in each period without a ``count(DISTINCT user_id)``.

    >>> last_active_in_period_sql("week")  # doctest: +NORMALIZE_WHITESPACE
    "active_events > 0 AND (next_active_day IS NULL OR next_active_day > $as_of
     OR date_trunc('week', next_active_day) <> date_trunc('week', day))"
    """
    return (f"active_events > 0 AND (next_active_day IS NULL OR next_active_day > $as_of "
            f"OR date_trunc('{grain}', next_active_day) <> date_trunc('{grain}', day))")


def _period_counts(store: Store, grain: str, as_of: date, segment: tuple[str, str] | None,
                   days: tuple[date, date] | None = None, gaps: pd.DataFrame | None = None) -> pd.DataFrame:
    """Active users (distinct, over the period) and events per period (on ``days`` only, when given), indexed by
    period start. A user counts once per period: on their last active day of it up to ``as_of``, the one whose
    next active day is later than ``as_of`` or in another period (:func:`last_active_in_period_sql`'s rule)."""
    if gaps is None:
        gaps = day_gaps(store, as_of, segment, days)
    if gaps.empty:
        return pd.DataFrame({"active_users": [], "events": []}, index=pd.Index([], name="period_start"))
    day = list(pd.to_datetime(gaps["day"]).dt.date)
    nxt = [d + timedelta(days=int(g)) for d, g in zip(day, gaps["gap"], strict=True)]
    start_of = {d: period_start(d, grain) for d in {*day, *nxt}}
    period = [start_of[d] for d in day]
    last = [g >= GAP_CAP or n > as_of or start_of[n] != p
            for g, n, p in zip(gaps["gap"], nxt, period, strict=True)]
    counted = gaps.assign(period_start=period, active_users=gaps["n"].where(last, 0))
    return counted.groupby("period_start")[["active_users", "events"]].sum()


def _by_period(rows: pd.DataFrame, grain: str) -> pd.Series:
    """Sum the ``n`` of day rows ``d`` per period start."""
    if rows.empty:
        return pd.Series(dtype="int64")
    keys = [period_start(d, grain) for d in pd.to_datetime(rows["d"]).dt.date]
    return rows.assign(p=keys).groupby("p")["n"].sum()


def _ratio(numerator: float | None, denominator: float | None) -> float:
    """numerator / denominator, NaN when the denominator is 0 or missing (never 0, never infinity)."""
    if numerator is None or denominator is None or denominator != denominator or denominator == 0:
        return float("nan")
    return float(numerator) / float(denominator)


def adoption(store: Store, event: str, grain: str, *, start: date | None = None, end: date | None = None,
             segment: tuple[str, str] | None = None) -> pd.DataFrame:
    """Users who did ``event`` in each period / active users of the period."""
    found = _adoption(store, grain, start, end, segment, event)
    if event in found:
        return found[event]
    return _empty_adoption(engagement_table(store, grain, start=start, end=end, segment=segment,
                                            kpis=("active_users",)))


def adoption_by_event(store: Store, grain: str, *, start: date | None = None, end: date | None = None,
                      segment: tuple[str, str] | None = None) -> dict[str, pd.DataFrame]:
    """:func:`adoption` of every event, from one pass over the events (a page lists them all: one query per
    event would read the events once per name)."""
    return _adoption(store, grain, start, end, segment, None)


_ADOPTION_COLUMNS = ["period_start", "period_end", "partial", "users", "active_users", "adoption"]


def _empty_adoption(table: pd.DataFrame) -> pd.DataFrame:
    """The adoption table of an event nobody did: 0 users in every period."""
    if table.empty:
        return pd.DataFrame(columns=_ADOPTION_COLUMNS)
    table = table.copy()
    table["users"] = 0
    table["adoption"] = [_ratio(0, a) for a in table["active_users"]]
    return table[_ADOPTION_COLUMNS]


def _adoption(store: Store, grain: str, start: date | None, end: date | None, segment: tuple[str, str] | None,
              event: str | None) -> dict[str, pd.DataFrame]:
    table = engagement_table(store, grain, start=start, end=end, segment=segment, kpis=("active_users",))
    if table.empty:
        return {}
    did = _users_by_event(store, grain, table["period_end"].iloc[-1], segment, event)
    return {str(name): _with_users(table, rows) for name, rows in did.groupby("event", sort=False)}


def adoption_in(store: Store, grain: str, periods: tuple[date, ...], *, end: date | None = None,
                segment: tuple[str, str] | None = None) -> dict[str, pd.DataFrame]:
    """:func:`adoption_by_event` in ``periods`` only (by their first days; those outside the series are left
    out): a page that shows one period against another reads the events of those periods, not of the whole
    history. Every event done up to the as-of date has its table, with 0 users where nobody did it then."""
    as_of = end or engagement_as_of(store)
    first = first_active_day(store)
    if as_of is None or first is None or first > as_of:
        return {}
    wanted = [p for p in spine(first, as_of, grain) if p.start in set(periods)]
    active = _period_counts(store, grain, as_of, segment, days=(wanted[0].start, wanted[-1].end)) if wanted else None
    table = pd.DataFrame({"period_start": [p.start for p in wanted], "period_end": [p.end for p in wanted],
                          "partial": [p.partial for p in wanted],
                          "active_users": [int(active["active_users"].get(p.start, 0)) for p in wanted]})
    did = pd.concat([_users_by_event(store, grain, as_of, segment, None, days=(p.start, p.end)) for p in wanted]
                    or [pd.DataFrame(columns=["event", "period_start", "users"])], ignore_index=True)
    by_event = dict(iter(did.groupby("event", sort=False)))
    empty = did.iloc[:0]
    return {name: _with_users(table, by_event.get(name, empty)) for name in _events_done(store, as_of, segment)}


def _with_users(table: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """The adoption table of one event: ``table``'s periods and active users, with the event's ``rows``
    (``period_start``, ``users``) and their ratio."""
    users = dict(zip(rows["period_start"], rows["users"].astype(int), strict=True))
    one = table.copy()
    one["users"] = [users.get(p, 0) for p in one["period_start"]]
    one["adoption"] = [_ratio(u, a) for u, a in zip(one["users"], one["active_users"], strict=True)]
    return one[_ADOPTION_COLUMNS]


def _events_sql(store: Store, segment: tuple[str, str] | None,
                days: tuple[date, date] | None) -> tuple[str, dict[str, object]]:
    """The counted events (``event``, ``user_id``, ``day`` in the reporting zone) of ``segment``, up to ``$as_of``
    or, with ``days``, on those days only: a range on the stored UTC timestamps, a day wider on each side than any
    zone's offset, lets the scan skip what lies outside them."""
    tz, sources = timezone(store), event_sources(store)
    where, params = segment_sql(segment)
    if tz != "UTC":
        params["tz"] = tz
    if sources:
        params["event_sources"] = sources
    within = "day <= $as_of"
    if days is not None:
        params |= {"first": days[0], "last": days[1], "ts_from": days[0] - timedelta(days=1),
                   "ts_to": days[1] + timedelta(days=2)}
        within += " AND day BETWEEN $first AND $last"
    sql = f"""
        SELECT * FROM (SELECT e.event, e.user_id, {day_sql(tz, 'e.ts')} AS day FROM {counted_events_sql(sources, tz)} e
              WHERE e.event IS NOT NULL
                {'AND e.ts >= $ts_from AND e.ts < $ts_to' if days is not None else ''}
                {f'AND e.user_id IN (SELECT user_id FROM users WHERE true {where})' if segment else ''}) t
        WHERE {within}"""
    return sql, params


def _users_by_event(store: Store, grain: str, as_of: date, segment: tuple[str, str] | None, event: str | None,
                    days: tuple[date, date] | None = None) -> pd.DataFrame:
    """``event``, ``period_start``, ``users``: the users who did each event (or ``event``) per period."""
    events, params = _events_sql(store, segment, days)
    if event is not None:
        params["event"] = event
    did = store.df(f"""
        SELECT event, CAST(date_trunc('{grain}', day) AS DATE) AS period_start, count(DISTINCT user_id) AS users
        FROM ({events}) t {'WHERE event = $event' if event is not None else ''} GROUP BY ALL""",
                   {"as_of": as_of, **params})
    did["period_start"] = pd.to_datetime(did["period_start"]).dt.date
    return did


def _events_done(store: Store, as_of: date, segment: tuple[str, str] | None) -> list[str]:
    """The events done (by ``segment``) up to ``as_of``."""
    events, params = _events_sql(store, segment, None)
    return [str(r[0]) for r in store.query(f"SELECT DISTINCT event FROM ({events}) t", {"as_of": as_of, **params})]


def power_curve(store: Store, grain: str, period: date, *, segment: tuple[str, str] | None = None) -> pd.DataFrame:
    """For the week (L7) or calendar month holding ``period``: how many users were active on exactly n days."""
    if grain not in COHORT_GRAINS:
        raise ValueError("the power-user curve exists at week and month grain")
    the_period = spine(period, period, grain)[0]
    where, params = segment_sql(segment)
    counts = store.df(f"""
        SELECT days_active, count(*) AS users FROM (
            SELECT user_id, count(*) AS days_active FROM user_days
            WHERE active_events > 0 AND day BETWEEN $first AND $last {where} GROUP BY user_id
        ) t GROUP BY days_active""", {"first": the_period.start, "last": the_period.last_day, **params})
    found = dict(zip(counts["days_active"].astype(int), counts["users"].astype(int), strict=True))
    size = (the_period.last_day - the_period.start).days + 1
    return pd.DataFrame({"days_active": list(range(1, size + 1)),
                         "users": [found.get(n, 0) for n in range(1, size + 1)]})
