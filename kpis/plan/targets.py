"""Strategy targets: attainment, status and pace, and how a target appears at another grain.

A target is ``(kpi, grain, period_start, value)``, e.g. "mrr, quarter, 2026-10-01, 1.2M". Three kinds of KPI
need different arithmetic (each KPI's ``kind`` in the registry says which):

- **snapshots** (mrr, active_customers, dau, ...): the value at the period's end. At a finer grain the target is
  a straight path from the actual value the day before the target's period to the target at its end. The
  running period is projected with the linear trend (least squares) of the last 8 weekly values.
- **flows** (new_customers, net_new_mrr, ...): summed over the period. At a finer grain the target is pro rata
  by days. The running period is projected at its run rate (so far / days elapsed x days in the period).
- **ratios** (logo_churn_rate, stickiness, ...): the same target at every grain; not projected (the value so
  far is the best estimate).
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import pandas as pd

from kpis.core.calendar import last_day, next_start, period_start, previous_start, spine
from kpis.core.csv_safety import csv_line
from kpis.core.errors import DataError, InputError
from kpis.core.formatting import undefined
from kpis.core.registry import KPIS, MAGNITUDE, Kpi
from kpis.metrics import engine
from kpis.metrics.reporting import LastComplete, last_complete_period
from kpis.metrics.series import series, trend_series
from kpis.store.db import Store

ON_TRACK, AT_RISK, OFF_TRACK = "on track", "at risk", "off track"
#: KPIs stored as negative numbers whose magnitude is what a target speaks of.
NEGATIVE = tuple(sorted(MAGNITUDE))
TREND_POINTS = 8
#: A target's recent values are the KPI's last complete periods of its grain; a target outside [smallest / FAR,
#: largest x FAR] of them is far from them.
RECENT_PERIODS = 4
FAR = 3.0
#: The columns of a targets CSV, in order (what the importer reads, the export writes and the editor edits).
CSV_COLUMNS = ("kpi", "grain", "period_start", "target", "owner", "note")


def attainment(actual: float | None, target: float | None, higher_is_better: bool, kpi_id: str = "") -> float:
    """actual / target, or target / actual for lower-is-better KPIs; NaN when undefined.

    >>> attainment(120, 100, True), attainment(0.04, 0.02, False)
    (1.2, 0.5)
    """
    if undefined(actual) or undefined(target):
        return math.nan
    if kpi_id in NEGATIVE:
        actual, target = abs(actual), abs(target)
    numerator, denominator = (actual, target) if higher_is_better else (target, actual)
    return numerator / denominator if denominator != 0 else math.nan


def status(value: float | None, target: float | None, higher_is_better: bool, kpi_id: str = "") -> str | None:
    """``on track`` (attainment >= 1), ``at risk`` (>= 0.9) or ``off track``; None when it cannot be told.

    A lower-is-better KPI at 0 is on track whatever its target (nothing can be lower), though its attainment
    is undefined.

    >>> status(0.0, 0.02, False), status(95, 100, True), status(80, 100, True)
    ('on track', 'at risk', 'off track')
    """
    if undefined(value) or undefined(target):
        return None
    if not higher_is_better and value == 0 and target >= 0:
        return ON_TRACK
    share = attainment(value, target, higher_is_better, kpi_id)
    if undefined(share):
        return None
    return ON_TRACK if share >= 1 else AT_RISK if share >= 0.9 else OFF_TRACK


def load_targets(store: Store) -> pd.DataFrame:
    """The targets in force: ``kpi, grain, period_start, period_end, target, owner, note`` (read once per data
    version: targets arrive by import)."""
    return engine.memoized(store, "targets", _read_targets).copy(deep=False)


def _read_targets(store: Store) -> pd.DataFrame:
    table = store.df("""SELECT kpi, grain, period_start, "value" AS target, owner, note FROM targets
                        ORDER BY period_start, kpi, grain""")
    table["period_start"] = pd.to_datetime(table["period_start"]).dt.date
    table["period_end"] = [last_day(s, g) for s, g in zip(table["period_start"], table["grain"], strict=True)]
    return table[["kpi", "grain", "period_start", "period_end", "target", "owner", "note"]]


def export_csv(targets: pd.DataFrame, line_end: str = "\r\n") -> str:
    """``targets`` (:func:`load_targets`) as a targets CSV (:data:`CSV_COLUMNS`) that imports again as the same
    targets, for the Targets page's download and ``python -m kpis targets export``: numbers as plain decimals,
    every text cell neutralised (:func:`kpis.core.csv_safety.text_cell`), a cell holding a line break quoted.

    >>> targets = pd.DataFrame({"kpi": ["mrr"], "grain": ["month"], "period_start": [date(2026, 1, 1)],
    ...                         "target": [1234567.891234567], "owner": ["=CPO"], "note": [None]})
    >>> export_csv(targets, line_end="|")
    "kpi,grain,period_start,target,owner,note|mrr,month,2026-01-01,1234567.891234567,'=CPO,|"
    """
    lines = [csv_line(CSV_COLUMNS)]
    lines += [csv_line([t.kpi, t.grain, t.period_start, t.target, t.owner, t.note])
              for t in targets.itertuples(index=False)]
    return "".join(line + line_end for line in lines)


def evaluate(store: Store, as_of: date | None = None, segment: tuple[str, str] | None = None) -> pd.DataFrame:
    """Every target with its actual, attainment and status on ``as_of`` (default: the reporting as-of date, the
    earlier source's); a running period is judged on its projection."""
    rows = []
    period = None if as_of else last_complete_period(store, "day")
    for t in load_targets(store).itertuples(index=False):
        kpi = KPIS.get(t.kpi)
        row = {**t._asdict(), "actual": math.nan, "projected_value": math.nan, "attainment": math.nan,
               "status": None, "projected": False, "partial": False}
        if kpi is None:
            rows.append(row)
            continue
        try:
            source_as_of = as_of or _judged_on(period, kpi)
            if source_as_of is None or t.period_start > source_as_of:
                rows.append(row)
                continue
            cut = min(t.period_end, source_as_of)
            actual = period_value(store, kpi, t.grain, t.period_start, cut, segment, read_to=source_as_of)
            row["actual"] = actual
            row["partial"] = cut < t.period_end
            judged = actual
            if row["partial"]:
                judged = project(store, kpi, t.period_start, t.period_end, cut, actual, segment)
                row["projected_value"], row["projected"] = judged, True
            row["attainment"] = attainment(judged, t.target, kpi.higher_is_better, kpi.id)
            row["status"] = status(judged, t.target, kpi.higher_is_better, kpi.id)
        except (DataError, InputError):
            pass
        rows.append(row)
    columns = ["kpi", "grain", "period_start", "period_end", "target", "actual", "projected_value", "attainment",
               "status", "projected", "partial", "owner", "note"]
    return pd.DataFrame(rows, columns=columns)


def period_value(store: Store, kpi: Kpi, grain: str, start: date, cut: date,
                 segment: tuple[str, str] | None = None, *, read_to: date | None = None) -> float:
    """The KPI over the period starting ``start`` at ``grain``, as known on ``cut`` (NaN when undefined).

    ``read_to`` (on or after ``cut``): the as-of date of the table to read it from. A period complete on ``cut``
    has the same value in every table that runs past it, so the targets of one KPI share one table."""
    end = read_to if read_to is not None and (cut == read_to or cut == last_day(start, grain)) else cut
    if grain in kpi.grains:
        table = series(store, kpi.id, grain, start=start, end=end, segment=segment)
        match = table[table["period_start"] == start]
        return float(match["value"].iloc[0]) if not match.empty else math.nan
    months = series(store, kpi.id, "month", start=start, end=end, segment=segment)  # a year, from its months
    months = months[months["period_start"] <= cut]
    if months.empty:
        return math.nan
    if kpi.kind == "flow":
        return float(months["value"].sum(min_count=1))
    return float(months["value"].iloc[-1])


def project(store: Store, kpi: Kpi, start: date, end: date, cut: date, actual: float,
            segment: tuple[str, str] | None = None) -> float:
    """Where the running period starting ``start`` will land on ``end``, from what is known on ``cut``."""
    if undefined(actual) or kpi.kind == "ratio":
        return actual
    if kpi.kind == "flow":
        elapsed, total = (cut - start).days + 1, (end - start).days + 1
        return actual * total / elapsed
    line = _trend(store, kpi, cut, segment)
    if line is None:
        return actual
    slope, intercept = line
    return intercept + slope * (end - cut).days


def projection_path(store: Store, kpi: Kpi, grain: str, starts: tuple[date, ...], cut: date, so_far: float,
                    segment: tuple[str, str] | None = None) -> list[float]:
    """Where each period of ``starts`` will land, from what is known on ``cut``: ``starts[0]`` is the period
    holding ``cut`` (its value so far is ``so_far``), the others the periods after it, so that a chart can run
    its projection up to a target ahead. Snapshots follow the weekly trend read on each period's last day,
    flows the daily run rate of the period holding ``cut``, ratios stay at their value so far."""
    if not starts or undefined(so_far) or kpi.kind == "ratio":
        return [so_far] * len(starts)
    ends = [last_day(s, grain) for s in starts]
    if kpi.kind == "flow":
        rate = so_far / ((cut - starts[0]).days + 1)
        return [rate * ((e - s).days + 1) for s, e in zip(starts, ends, strict=True)]
    line = _trend(store, kpi, cut, segment)
    if line is None:
        return [so_far] * len(starts)
    slope, intercept = line
    return [intercept + slope * (e - cut).days for e in ends]


def _trend(store: Store, kpi: Kpi, cut: date, segment: tuple[str, str] | None) -> tuple[float, float] | None:
    """The least-squares line (slope a day, value on ``cut``) through the last weekly values of a snapshot up to
    ``cut``; None with fewer than two."""
    weekly = trend_series(store, kpi.id, "week", end=cut, segment=segment)  # from the first day with data
    weekly = weekly.dropna(subset=["value"]).tail(TREND_POINTS)
    if len(weekly) < 2:
        return None
    xs = [(min(p + timedelta(days=6), cut) - cut).days for p in weekly["period_start"]]
    return _least_squares(xs, list(weekly["value"]))


def target_path(store: Store, kpi_id: str, grain: str, periods: list[tuple[date, date]],
                segment: tuple[str, str] | None = None) -> list[float]:
    """The target of each display period (start, end): the target of the same grain when there is one, else
    the path of a coarser target (see the module's docstring); NaN where no target applies.

    Every target shows in at least one display period of a span that holds its period: a period whose end no
    target covers takes the latest target ending inside it (a monthly target at quarter grain, the week across
    a quarter's end), and a snapshot target whose path has no start (the day before its period is after the
    as-of date, or has no data) is drawn at the last display period ending inside it.
    """
    kpi = KPIS[kpi_id]
    targets = load_targets(store)
    targets = targets[targets["kpi"] == kpi_id]
    as_of = _source_as_of(store, kpi) if not targets.empty else None
    out = []
    baselines: dict[date, float] = {}
    for p_start, p_end in periods:
        chosen = _target_for(targets, grain, p_start, p_end)
        if chosen is None:
            out.append(math.nan)
            continue
        t_start, t_end, value = chosen["period_start"], chosen["period_end"], float(chosen["target"])
        if chosen["grain"] == grain or kpi.kind == "ratio":
            out.append(value)
        elif kpi.kind == "flow":
            out.append(value * ((p_end - p_start).days + 1) / ((t_end - t_start).days + 1))
        elif p_end > t_end:  # a snapshot target whose last day this longer display period holds
            out.append(value)
        else:
            day_before = t_start - timedelta(days=1)
            if day_before not in baselines:
                known = as_of is not None and day_before <= as_of
                baselines[day_before] = _value_on(store, kpi, day_before, as_of, segment) if known else math.nan
            base = baselines[day_before]
            if undefined(base):
                out.append(value if last_day(next_start(p_start, grain), grain) > t_end else math.nan)
            else:
                share = (p_end - day_before).days / (t_end - day_before).days
                out.append(base + (value - base) * share)
    return out


def _target_for(targets: pd.DataFrame, grain: str, p_start: date, p_end: date) -> pd.Series | None:
    """The target drawn in the display period ``p_start``..``p_end``: one whose period holds ``p_end`` (of the
    display grain first, else the one ending first), else the latest one ending inside the display period."""
    covering = targets[(targets["period_start"] <= p_end) & (targets["period_end"] >= p_end)]
    if not covering.empty:
        same = covering[covering["grain"] == grain]
        return same.iloc[0] if not same.empty else covering.sort_values("period_end").iloc[0]
    ending = targets[(targets["period_end"] >= p_start) & (targets["period_end"] < p_end)]
    return ending.sort_values("period_end").iloc[-1] if not ending.empty else None


def ahead(store: Store, kpi_id: str, last_start: date, grain: str) -> tuple[date, ...]:
    """The display periods after the one starting ``last_start``, up to the one holding the last day of the
    KPI's latest target: the span a chart adds so that a target ahead of the data is on it."""
    ends = load_targets(store).loc[lambda t: t["kpi"] == kpi_id, "period_end"]
    if ends.empty:
        return ()
    return tuple(p.start for p in spine(next_start(last_start, grain), max(ends), grain))


def recent_range(store: Store, kpi_id: str, grain: str) -> tuple[float, float] | None:
    """The smallest and largest size (absolute value) of a KPI over its last :data:`RECENT_PERIODS` complete
    periods of ``grain`` with a value, up to its source's as-of date; None when it has none. A target far from
    them (:func:`far_from`) is more likely a slip (a fraction typed for a percentage, a monthly number for a
    quarter) than a plan."""
    kpi = KPIS[kpi_id]
    as_of = _source_as_of(store, kpi)
    if as_of is None:
        return None
    start = period_start(as_of, grain)
    if last_day(start, grain) > as_of:
        start = previous_start(start, grain)  # the running period is not complete
    sizes = []
    for _ in range(RECENT_PERIODS):
        value = period_value(store, kpi, grain, start, last_day(start, grain), read_to=as_of)
        if not undefined(value):
            sizes.append(abs(value))
        start = previous_start(start, grain)
    return (min(sizes), max(sizes)) if sizes else None


def far_from(value: float, recent: tuple[float, float]) -> bool:
    """Whether a target is far from a KPI's recent sizes: more than :data:`FAR` times the largest, or less than
    the smallest divided by :data:`FAR`.

    >>> far_from(200, (21_800, 23_400)), far_from(60_000, (21_800, 23_400)), far_from(0.0002, (0.015, 0.025))
    (True, False, True)
    """
    size = abs(value)
    low, high = recent
    return size > high * FAR or size < low / FAR


def _value_on(store: Store, kpi: Kpi, day: date, as_of: date, segment: tuple[str, str] | None) -> float:
    """The KPI on ``day`` (a day is complete on itself: read from the day table up to ``as_of``)."""
    try:
        table = series(store, kpi.id, "day", start=day, end=as_of, segment=segment)
        table = table[table["period_start"] <= day]
    except (DataError, InputError):
        return math.nan
    return float(table["value"].iloc[-1]) if not table.empty else math.nan


def _judged_on(period: LastComplete | None, kpi: Kpi) -> date | None:
    """The reporting as-of date (the earlier source's, :mod:`kpis.metrics.reporting`), or None when the KPI's own source
    holds no data: every target is judged on the day the pages' and the review's last complete period ends by."""
    if period is None:
        return None
    own = period.revenue_as_of if kpi.source == "revenue" else period.events_as_of
    return period.as_of if own is not None else None


def _source_as_of(store: Store, kpi: Kpi) -> date | None:
    """The as-of date of the KPI's own source: how far its charts and their target paths run."""
    revenue_as_of, events_as_of = engine.as_of_dates(store)
    return revenue_as_of if kpi.source == "revenue" else events_as_of


def _least_squares(xs: list[float], ys: list[float]) -> tuple[float, float]:
    n = len(xs)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    var = sum((x - mean_x) ** 2 for x in xs)
    if var == 0:
        return 0.0, mean_y
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / var
    return slope, mean_y - slope * mean_x
