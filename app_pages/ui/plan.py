"""The plan on the dashboard: targets (their evaluation, the editor, the CSV export), targets and pace on the
charts, and the anomaly flags of a page (the tiles' own captions are :mod:`app_pages.ui.cards`).

UI glue only: the arithmetic lives in :mod:`kpis.plan.targets`, :mod:`kpis.plan.anomalies` and
:mod:`kpis.plan.annotations`.
Saving edited targets writes a targets CSV (:func:`targets_csv`) that :func:`app_pages.ui.actions.import_targets`
imports, so that every change is an import (listed on the Data page, undoable) exactly like an uploaded file.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date

import pandas as pd
import streamlit as st
from pandas.io.formats.style import Styler

from app_pages.ui import cache
from app_pages.ui import format as fmt
from app_pages.ui.cards import method_text, range_text
from app_pages.ui.format import period_text
from app_pages.ui.text import plain
from kpis.core import csv_safety
from kpis.core.calendar import last_day, spine
from kpis.core.errors import DataError, InputError
from kpis.core.registry import KPIS, Kpi
from kpis.core.target_rules import TARGET_GRAINS, check_target
from kpis.metrics.series import series_of
from kpis.plan import anomalies as anomalies_module
from kpis.plan import targets as targets_module
from kpis.store.db import Store

STATUS_COLORS = {targets_module.ON_TRACK: "#15803d", targets_module.AT_RISK: "#b45309",
                 targets_module.OFF_TRACK: "#b91c1c"}
#: The columns of a targets CSV, in order (what the editor edits and the export writes).
CSV_COLUMNS = ("kpi", "grain", "period_start", "target", "owner", "note")
KEY_COLUMNS = ("kpi", "grain", "period_start")


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
        rows.append({"KPI": kpi.label if kpi else str(t.kpi), "Period": period_text(t.period_start, t.grain),
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

def neutralise(text: object) -> str:
    """A text cell that a spreadsheet would run as a formula (``=HYPERLINK(...)``, ``+1``, ``@x``...) gets a
    leading single quote, so that it is shown as text (:func:`kpis.core.csv_safety.neutralise`); empty when missing.

    >>> neutralise("=1+1"), neutralise("CPO"), neutralise(None), neutralise("-12.5")
    ("'=1+1", 'CPO', '', '-12.5')
    """
    return csv_safety.neutralise(_text(text))


def _lines(text: object) -> str:
    """A lone CR made a line feed: the importer reads line feeds inside quotes, not lone CRs."""
    return _text(text).replace("\r\n", "\n").replace("\r", "\n")


def _number(value: float) -> str:
    return f"{float(value):.15g}"


def _write_csv(rows: Iterable[tuple[object, ...]]) -> str:
    """A targets CSV (:data:`CSV_COLUMNS`) of rows already written as text."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # CRLF: a CR inside a cell is quoted
    writer.writerow(CSV_COLUMNS)
    writer.writerows(rows)
    return out.getvalue()


def _csv_rows(targets: pd.DataFrame, cell: Callable[[object], str]) -> Iterator[tuple[object, ...]]:
    """The rows of a targets CSV, each text cell written by ``cell``: the targets stay numbers."""
    for t in targets.itertuples(index=False):
        yield (cell(t.kpi), cell(t.grain), pd.Timestamp(t.period_start).date().isoformat(), _number(t.target),
               cell(t.owner), cell(t.note))


# -- the editor ------------------------------------------------------------------------------------------------------

#: The editor's columns: a KPI by its label, a period by its name (``Q1 2027``), the target as written (``2%``).
EDITOR_COLUMNS = ("kpi", "grain", "period", "target", "owner", "note")
#: The periods the editor offers, quarters and months first, the many weeks last.
CHOICE_GRAINS = ("quarter", "month", "year", "week")
#: KPI label -> id, for the editor's KPI column.
BY_LABEL = {kpi.label: kpi.id for kpi in KPIS.values()}


def in_percent(kpi: Kpi) -> bool:
    """Whether a KPI's targets are written as percentages (2% for a stored 0.02): every ratio but those shown as
    plain numbers (quick ratio, events per active user)."""
    return kpi.unit == "ratio" and kpi.id not in fmt.PLAIN_RATIOS


def target_text(kpi: Kpi, value: object) -> str:
    """A target as the editor shows it: a percentage with its % sign, other numbers with thousands separators.

    >>> target_text(KPIS["logo_churn_rate"], 0.02), target_text(KPIS["mrr"], 170000.0)
    ('2%', '170,000')
    >>> target_text(KPIS["quick_ratio"], 2.5), target_text(KPIS["churned_mrr"], -1500.0)
    ('2.5', '-1,500')
    """
    if value is None or fmt.undefined(value):
        return ""
    number = float(value)  # type: ignore[arg-type]
    return f"{number * 100:.12g}%" if in_percent(kpi) else f"{number:,.12g}"


def parse_target(kpi: Kpi, text: object) -> float:
    """A target as typed in the editor, as stored: ``2%`` (or ``2``) is 0.02 for a percentage KPI; thousands
    separators and a leading currency sign are allowed. Raises ValueError with what to write instead.

    >>> parse_target(KPIS["logo_churn_rate"], "2%"), parse_target(KPIS["logo_churn_rate"], "2.5")
    (0.02, 0.025)
    >>> parse_target(KPIS["mrr"], " $170,000 "), parse_target(KPIS["churned_mrr"], "-1,500")
    (170000.0, -1500.0)
    """
    raw = _text(text).strip()
    number = raw.replace(",", "").replace(" ", "").replace("_", "")
    sign = "-" if number.startswith("-") else ""
    number = sign + number.removeprefix("-").lstrip("$€£¥")
    percent = number.endswith("%")
    example = "2%" if in_percent(kpi) else "170,000" if kpi.unit == "currency" else "86"
    try:
        value = float(number.removesuffix("%"))
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ValueError(f"the target must be a number such as {example}, not {raw!r}")
    if percent and not in_percent(kpi):
        raise ValueError(f"{kpi.label} is not a percentage: write a number such as {example}")
    return value / 100 if in_percent(kpi) else value


def period_choices(around: date, extra: Iterable[tuple[str, date]] = ()) -> dict[str, tuple[str, date]]:
    """The periods the editor offers, by name -> (grain, first day): every quarter, month, year and week of
    ``around``'s year and the next (the data's last day: targets are set for the periods ahead), and the periods
    of ``extra`` (the targets in force, whatever their year).

    >>> choices = period_choices(date(2026, 11, 22))
    >>> choices["Q1 2027"], choices["Nov 2026"], choices["2027"]
    (('quarter', datetime.date(2027, 1, 1)), ('month', datetime.date(2026, 11, 1)), ('year', datetime.date(2027, 1, 1)))
    >>> list(choices)[:2], len(choices)
    (['Q1 2026', 'Q2 2026'], 139)
    """
    found: dict[str, set[date]] = {grain: set() for grain in CHOICE_GRAINS}
    first, last = date(around.year, 1, 1), date(around.year + 1, 12, 31)
    for grain in CHOICE_GRAINS:
        found[grain].update(p.start for p in spine(first, last, grain))
    for grain, start in extra:
        if grain in found:
            found[grain].add(start)
    return {period_text(start, grain): (grain, start) for grain in CHOICE_GRAINS for start in sorted(found[grain])}


def editable(targets: pd.DataFrame) -> pd.DataFrame:
    """The targets in force in the editor's shape (:data:`EDITOR_COLUMNS`: a KPI's label, a period's name, the
    target as written), the latest periods first, as in the evaluation table."""
    ordered = targets.assign(_order=range(len(targets))).sort_values(
        ["period_end", "_order"], ascending=[False, True], kind="stable")
    rows = []
    for t in ordered.itertuples(index=False):
        kpi = KPIS.get(str(t.kpi))
        rows.append({"kpi": kpi.label if kpi else str(t.kpi), "grain": str(t.grain),
                     "period": period_text(t.period_start, str(t.grain)),
                     "target": target_text(kpi, t.target) if kpi else _number(t.target),
                     "owner": None if fmt.undefined(t.owner) else str(t.owner),
                     "note": None if fmt.undefined(t.note) else str(t.note)})
    return pd.DataFrame(rows, columns=list(EDITOR_COLUMNS), dtype="object")


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _read_row(number: int, row: Mapping[str, object],
              choices: Mapping[str, tuple[str, date]]) -> tuple[dict[str, object] | None, str | None]:
    """One row of the editor as a target in the CSV's columns; ``(None, None)`` for a row left empty, ``(None,
    message)`` for a row with something wrong, the message naming the row."""
    label, grain, period, target = (_text(row.get(c)).strip() for c in ("kpi", "grain", "period", "target"))
    owner, note = (_text(row.get(c)).strip() or None for c in ("owner", "note"))
    if not any((label, grain, period, target, owner, note)):
        return None, None
    missing = [word for word, value in (("a KPI", label), ("a grain", grain), ("a period", period)) if not value]
    if missing or not target:
        asks = ([f"choose {_and(missing)}"] if missing else []) + ([] if target else ["enter the target"])
        return None, f"Row {number}: {', and '.join(asks)}."
    name = f"Row {number} ({label}, {grain}, {period})"
    kpi_id = BY_LABEL.get(label) or (label.lower() if label.lower() in KPIS else None)
    if kpi_id is None:
        return None, f"{name}: there is no KPI {label!r}; choose one from the list."
    if period not in choices:
        return None, f"{name}: choose the period from the list (Q1 2027, Jan 2027, 2027, week of 4 Jan 2027)."
    period_grain, start = choices[period]
    grain = grain.lower()
    if grain in TARGET_GRAINS and period_grain != grain:
        return None, f"{name}: {period} is not a {grain}; choose a {grain}, or the grain {period_grain}."
    try:
        check_target(kpi_id, grain, start)
        value = parse_target(KPIS[kpi_id], target)
    except ValueError as exc:
        return None, f"{name}: {exc}."
    return {"kpi": kpi_id, "grain": grain, "period_start": start, "target": value, "owner": owner, "note": note}, None


def check_rows(original: pd.DataFrame, edited: pd.DataFrame,
               choices: Mapping[str, tuple[str, date]]) -> tuple[pd.DataFrame, str | None]:
    """The rows to save (changed or added: their editor row number, then the CSV's columns) or a message naming
    the first bad row.

    Every row is checked: a KPI, grain and period that :func:`kpis.core.target_rules.check_target` accepts, and a target
    that is a number (:func:`parse_target`); a row left incomplete says what it lacks; a row left empty is
    ignored. A row of the targets in force keeps its KPI, grain and period (changing them would add a target and
    keep the old one); two rows may not restate the same target.
    """
    nothing = pd.DataFrame(columns=["row", *CSV_COLUMNS], dtype="object")
    before = original.reset_index(drop=True)
    rows = edited.reset_index(drop=True)
    deleted = ("A target in force cannot be deleted here: undo the import that brought it on the Data page. "
               "Nothing was saved.")
    if len(rows) < len(before):
        return nothing, deleted
    keys_seen: dict[tuple[object, ...], int] = {}
    changed = []
    for i, row in enumerate(rows.to_dict("records")):
        number = i + 1
        clean, problem = _read_row(number, row, choices)
        if problem is not None:
            return nothing, f"{problem} Nothing was saved."
        if clean is None:
            if i < len(before):
                return nothing, deleted
            continue
        key = (clean["kpi"], clean["grain"], clean["period_start"])
        name = f"Row {number} ({row.get('kpi')}, {clean['grain']}, {row.get('period')})"
        if key in keys_seen:
            return nothing, (f"{name} restates row {keys_seen[key]}: one target per KPI, grain and period. "
                             "Nothing was saved.")
        keys_seen[key] = number
        if i < len(before):
            old, _ = _read_row(number, before.iloc[i].to_dict(), choices)
            if old is None or (old["kpi"], old["grain"], old["period_start"]) != key:
                return nothing, (f"{name}: the KPI, grain and period of a target in force stay as they are "
                                 "(changing them would add a target and keep the old one); add a new row "
                                 "instead. Nothing was saved.")
            if (math.isclose(float(old["target"]), float(clean["target"]), rel_tol=1e-9, abs_tol=1e-12)  # type: ignore[arg-type]
                    and (old["owner"], old["note"]) == (clean["owner"], clean["note"])):
                continue
        changed.append({"row": number, **clean})
    return pd.DataFrame(changed, columns=["row", *CSV_COLUMNS], dtype="object"), None


def far_targets(store: Store, rows: pd.DataFrame) -> list[str]:
    """One line per row (of :func:`check_rows`) whose target is far from its KPI's recent values
    (:func:`kpis.plan.targets.far_from`): ``Row 17 (MRR, Q1 2027): $200 is far from ...``, to confirm before saving."""
    lines = []
    for r in rows.itertuples(index=False):
        recent = cache.computed(store, targets_module.recent_range, r.kpi, r.grain)
        if recent is None or not targets_module.far_from(float(r.target), recent):
            continue
        kpi = KPIS[str(r.kpi)]
        lines.append(f"Row {r.row} ({kpi.label}, {period_text(r.period_start, str(r.grain))}): "
                     f"{fmt.value(kpi, r.target)} is far from its last complete {r.grain}s "
                     f"({fmt.value(kpi, recent[0])} to {fmt.value(kpi, recent[1])}).")
    return lines


def targets_csv(rows: pd.DataFrame) -> str:
    """Rows (``kpi, grain, period_start, target, owner, note``) as a targets CSV to import, the text as typed (a
    lone CR made a line feed); the export neutralises formulas, not the store."""
    return _write_csv(_csv_rows(rows, _lines))


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
    wanted = tuple(k for k in kpis if k in anomalies_module.HEADLINE)
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


