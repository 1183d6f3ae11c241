"""The plan on the dashboard: targets (their evaluation, the editor's warnings), targets and pace on the
charts, and the anomaly flags of a page (the tiles' own captions are :mod:`app_pages.ui.cards`).

UI glue only: the arithmetic lives in :mod:`kpis.plan.targets`, :mod:`kpis.plan.anomalies` and
:mod:`kpis.plan.annotations`; the editor's rules (a target as typed, the periods offered, each row checked, the
targets CSV a save imports) in :mod:`kpis.plan.target_editor`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date

import pandas as pd
import streamlit as st
from pandas.io.formats.style import Styler

from app_pages.ui import cache
from app_pages.ui import format as fmt
from app_pages.ui.cards import method_text, range_text
from app_pages.ui.text import plain
from kpis.core.calendar import last_day
from kpis.core.errors import DataError, InputError
from kpis.core.registry import KPIS, Kpi
from kpis.metrics.series import series_of
from kpis.plan import anomalies as anomalies_module
from kpis.plan import targets as targets_module
from kpis.store.db import Store

STATUS_COLORS = {targets_module.ON_TRACK: "#15803d", targets_module.AT_RISK: "#b45309",
                 targets_module.OFF_TRACK: "#b91c1c"}


# -- the evaluation table -----------------------------------------------------------------------------------------

def _text(value: object) -> str:
    return "" if value is None or fmt.undefined(value) else str(value)


#: What each source's data is called when a target has no actual yet.
SOURCE_WORDS = {"revenue": "revenue data", "engagement": "events"}


def no_actual(kpi: Kpi | None, start: date, as_of: Mapping[str, date | None], range_end: date | None = None) -> str:
    """Why a target has no actual: its period starts after the last day with data of its KPI's source (``as_of``:
    source -> that day), or after the date range's end (``range_end``, when earlier); a plain dash otherwise.

    >>> from kpis.core.registry import KPIS
    >>> no_actual(KPIS["dau"], date(2027, 1, 1), {"engagement": date(2026, 11, 22)})
    '— no events after 22 Nov 2026'
    >>> no_actual(KPIS["mrr"], date(2026, 10, 1), {"revenue": date(2026, 11, 22)}, range_end=date(2026, 9, 30))
    "— after the date range's end (30 Sep 2026)"
    >>> no_actual(KPIS["mrr"], date(2026, 10, 1), {"revenue": None})
    '— no revenue data loaded'
    """
    if kpi is None or kpi.source not in as_of:
        return fmt.DASH
    words, last = SOURCE_WORDS.get(kpi.source, "data"), as_of[kpi.source]
    if last is None:
        return f"{fmt.DASH} no {words} loaded"
    if range_end is not None and range_end < last and start > range_end:
        return f"{fmt.DASH} after the date range's end ({fmt.day(range_end)})"
    return f"{fmt.DASH} no {words} after {fmt.day(last)}" if start > last else fmt.DASH


def evaluation_frame(table: pd.DataFrame, as_of: Mapping[str, date | None] | None = None,
                     range_end: date | None = None) -> pd.DataFrame:
    """:func:`kpis.plan.targets.evaluate`'s table as people read it, the latest periods first: labels, formatted
    numbers, the projection of a running period marked "projected", attainment in percent, the status
    (" (projected)" when judged on pace, " (so far)" for a running ratio, which is not projected). A target
    with no actual says why (:func:`no_actual`; ``as_of``: each source's last day with data)."""
    rows = []
    ordered = table.assign(_order=range(len(table))).sort_values(["period_end", "_order"], ascending=[False, True],
                                                                 kind="stable")
    for t in ordered.itertuples(index=False):
        kpi = KPIS.get(t.kpi)
        shown = (lambda v, k=kpi: fmt.value(k, v)) if kpi else (lambda v: fmt.DASH if fmt.undefined(v) else f"{v:g}")
        actual = shown(t.actual)
        if t.partial and fmt.finite(t.actual):
            actual += " so far"
        elif not fmt.finite(t.actual):
            actual = no_actual(kpi, t.period_start, as_of or {}, range_end)
        projected = ""
        # ratios are not projected: their value so far is the estimate, and the status says "so far"
        paced = (t.projected and fmt.finite(t.projected_value)
                 and not (fmt.finite(t.actual) and math.isclose(t.projected_value, t.actual, rel_tol=1e-9)))
        if paced:
            projected = f"{shown(t.projected_value)} projected"
        status = _text(t.status) or fmt.DASH
        if t.status and t.projected:
            status += " (projected)" if paced else " (so far)"
        rows.append({"KPI": kpi.label if kpi else str(t.kpi), "Period": fmt.period(t.period_start, t.grain),
                     "Target": shown(t.target), "Actual": actual, "Projected": projected,
                     "Attainment": fmt.percent(t.attainment, 0), "Status": status, "Owner": _text(t.owner),
                     "Note": _text(t.note)})
    columns = ["KPI", "Period", "Target", "Actual", "Projected", "Attainment", "Status", "Owner", "Note"]
    return pd.DataFrame(rows, columns=columns)


def _status_style(text: object) -> str:
    for status, color in STATUS_COLORS.items():
        if str(text).startswith(status):
            return f"color: {color}; font-weight: 600"
    return "color: #71717a"


def styled(frame: pd.DataFrame) -> Styler:
    """The evaluation table with each status in its colour (green, amber, red)."""
    return frame.style.map(_status_style, subset=["Status"])


# -- export ----------------------------------------------------------------------------------------------------------

# -- the editor ------------------------------------------------------------------------------------------------------

def far_targets(store: Store, rows: pd.DataFrame) -> list[str]:
    """One line per row (of :func:`check_rows`) whose target is far from its KPI's recent values
    (:func:`kpis.plan.targets.far_from`): ``Row 17 (MRR, Q1 2027): $200 is far from ...``, to confirm before saving."""
    lines = []
    for r in rows.itertuples(index=False):
        recent = cache.computed(store, targets_module.recent_range, r.kpi, r.grain)
        if recent is None or not targets_module.far_from(float(r.target), recent):
            continue
        kpi = KPIS[str(r.kpi)]
        lines.append(f"Row {r.row} ({kpi.label}, {fmt.period(r.period_start, str(r.grain))}): "
                     f"{fmt.value(kpi, r.target)} is far from its last complete {r.grain}s "
                     f"({fmt.value(kpi, recent[0])} to {fmt.value(kpi, recent[1])}).")
    return lines


# -- targets and pace on charts --------------------------------------------------------------------------------------

def has_targets(store: Store, kpi_id: str) -> bool:
    targets = cache.cached(store, targets_module.load_targets)
    return bool((targets["kpi"] == kpi_id).any())


def chart_target(store: Store, kpi_id: str, table: pd.DataFrame, grain: str,
                 segment: tuple[str, str] | None, *, ahead: bool = False) -> pd.Series:
    """The target of each period of a KPI series, by period start (NaN where none; none at all for a segment,
    since targets are the company's). ``ahead`` (the chart runs to the data's as-of date): the periods after
    the series up to the end of the KPI's latest target are added, so that a target ahead is on the chart."""
    if segment is not None or table.empty or not has_targets(store, kpi_id):
        return pd.Series(dtype="float64")
    starts = [pd.Timestamp(s).date() for s in table["period_start"]]
    if ahead:
        starts += cache.computed(store, targets_module.ahead, kpi_id, starts[-1], grain)
    periods = tuple((s, last_day(s, grain)) for s in starts)
    try:
        values = cache.computed(store, targets_module.target_path, kpi_id, grain, periods, segment=segment)
    except (DataError, InputError):
        return pd.Series(dtype="float64")
    return pd.Series(list(values), index=pd.to_datetime(pd.Series(starts)).to_numpy(), dtype="float64")


def chart_projection(store: Store, kpi_id: str, table: pd.DataFrame, grain: str, cut: date | None,
                     segment: tuple[str, str] | None, *, ahead: bool = False) -> pd.Series:
    """Where the running period (the series' last row, when partial) is projected to end, from ``cut``, by
    period start; with ``ahead``, also each period after the series up to the end of the KPI's latest target."""
    if table.empty or cut is None or not fmt.finite(table["value"].iloc[-1]):
        return pd.Series(dtype="float64")
    last = pd.Timestamp(table["period_start"].iloc[-1]).date()
    future = cache.computed(store, targets_module.ahead, kpi_id, last, grain) if ahead else ()
    partial = bool(table["partial"].iloc[-1])
    if not partial and not future:
        return pd.Series(dtype="float64")
    starts = (last, *future)
    try:
        values = cache.computed(store, targets_module.projection_path, KPIS[kpi_id], grain, starts, cut,
                                float(table["value"].iloc[-1]), segment=segment)
    except (DataError, InputError):
        return pd.Series(dtype="float64")
    shown = list(zip(starts, values, strict=True))[0 if partial else 1:]
    return pd.Series([v for _, v in shown], index=pd.to_datetime(pd.Series([s for s, _ in shown])).to_numpy(),
                     dtype="float64")


def on_chart(store: Store, lines: Mapping[str, tuple[str, pd.DataFrame]], grain: str, cut: date | None,
             segment: tuple[str, str] | None, *, ahead: bool, project: bool = False) -> dict[str, dict[str, pd.Series]]:
    """The ``targets`` and ``projected`` arguments of :func:`app_pages.ui.charts.lines` for its series (name ->
    (KPI id, series)): every target of those KPIs, and the projection of those with a target (of all with
    ``project``), ratios aside (they are not projected); ``ahead`` when the chart runs to its source's as-of
    date, so that targets after it are drawn with the projection up to them."""
    targets = {name: chart_target(store, kpi_id, table, grain, segment, ahead=ahead)
               for name, (kpi_id, table) in lines.items()}
    projected = {name: chart_projection(store, kpi_id, table, grain, cut, segment, ahead=ahead)
                 for name, (kpi_id, table) in lines.items()
                 if KPIS[kpi_id].unit != "ratio" and (project or has_targets(store, kpi_id))}
    return {"targets": targets, "projected": projected}


def bar_targets(store: Store, table: pd.DataFrame, columns: tuple[str, ...], grain: str,
                segment: tuple[str, str] | None, *, ahead: bool, negated: tuple[str, ...] = ()) -> dict[str, pd.Series]:
    """The ``targets`` argument of :func:`app_pages.ui.charts.stacked_bars`: the target of each KPI column that has
    one, by period start (``negated``: the columns the chart draws below zero)."""
    found = {}
    for column in columns:
        goal = chart_target(store, column, series_of(table, column), grain, segment, ahead=ahead)
        if goal.notna().any():
            found[column] = -goal if column in negated else goal
    return found


# -- anomaly flags -------------------------------------------------------------------------------------------------

def anomaly_flags(store: Store, grain: str, as_of: date | None, segment: tuple[str, str] | None,
                  kpis: tuple[str, ...]) -> dict[str, dict[str, object]]:
    """``{kpi: anomaly row}`` of the KPIs among ``kpis`` whose last complete period lies outside its usual range."""
    wanted = tuple(k for k in kpis if k in anomalies_module.JUDGED)
    if as_of is None or not wanted:
        return {}
    table = cache.computed(store, anomalies_module.anomalies, grain, as_of=as_of, segment=segment, kpis=wanted)
    return {str(r["kpi"]): r for r in table.to_dict("records")}


def anomaly_notes(flags: Mapping[str, Mapping[str, object]], kpi_ids: tuple[str, ...], grain: str) -> None:
    """One line per flagged KPI of a page (below its tiles)."""
    for kpi_id in kpi_ids:
        flag = flags.get(kpi_id)
        if flag is None:
            continue
        kpi = KPIS[kpi_id]
        st.warning(plain(
            f"Unusual: {kpi.label} in {fmt.period(flag['period_start'], grain)} "  # type: ignore[arg-type]
            f"({fmt.value(kpi, flag['value'])}) was {flag['direction']} its usual range of "
            f"{range_text(kpi, flag['low'], flag['high'])} ({method_text(grain)})."), icon=":material/troubleshoot:")


def tile_targets(evaluation: pd.DataFrame, as_of_by_source: Mapping[str, date | None]) -> dict[str, dict[str, object]]:
    """``{kpi: evaluation row}``: for each KPI with a target, the target of the period still running on its
    source's as-of date, else the latest one already over."""
    chosen: dict[str, dict[str, object]] = {}
    for row in evaluation.sort_values("period_end").to_dict("records"):
        kpi = KPIS.get(str(row["kpi"]))
        as_of = as_of_by_source.get(kpi.source) if kpi else None
        if kpi is None or as_of is None or row["period_start"] > as_of:
            continue
        running = row["period_start"] <= as_of <= row["period_end"]
        current = chosen.get(kpi.id)
        if current is None or running or not (current["period_start"] <= as_of <= current["period_end"]):
            chosen[kpi.id] = row
    return chosen


