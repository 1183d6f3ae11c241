"""The plan on the dashboard: targets (their evaluation, the editor, CSV import and export), targets and pace on the
charts, anomaly flags under the scorecard tiles, and notes on dates.

UI glue only: the arithmetic lives in :mod:`kpis.targets`, :mod:`kpis.anomalies` and :mod:`kpis.annotations`.
Saving edited targets writes a targets CSV and imports it, so that every change is an import (listed on the Data
page, undoable) exactly like an uploaded file.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import os
import tempfile
from collections.abc import Mapping
from datetime import date
from typing import IO

import pandas as pd
import streamlit as st
from pandas.io.formats.style import Styler

from app_pages import components
from app_pages import format as fmt
from kpis import anomalies as anomalies_module
from kpis import csv_safety
from kpis import formatting as kformat
from kpis import targets as targets_module
from kpis.calendar import last_day
from kpis.errors import DataError, InputError
from kpis.importer import import_file
from kpis.registry import KPIS, Kpi
from kpis.scorecard import last_complete
from kpis.store import Store

logger = logging.getLogger(__name__)

STATUS_COLORS = {targets_module.ON_TRACK: "#15803d", targets_module.AT_RISK: "#b45309",
                 targets_module.OFF_TRACK: "#b91c1c"}
#: The columns of a targets CSV, in order (what the editor edits and the export writes).
CSV_COLUMNS = ("kpi", "grain", "period_start", "target", "owner", "note")
KEY_COLUMNS = ("kpi", "grain", "period_start")


# -- the evaluation table -----------------------------------------------------------------------------------------

def period_text(start: object, grain: str) -> str:
    """``Q4 2026``, ``Nov 2026``, ``week of 16 Nov 2026``, or ``2026`` for a yearly target."""
    if grain == "year" and not fmt.undefined(start):
        return str(pd.Timestamp(start).year)  # type: ignore[arg-type]
    return fmt.period(start, grain)  # type: ignore[arg-type]


def _text(value: object) -> str:
    return "" if value is None or fmt.undefined(value) else str(value)


def evaluation_frame(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`kpis.targets.evaluate`'s table as people read it, the latest periods first: labels, formatted
    numbers, the projection of a running period marked "projected", attainment in percent, the status
    (" (projected)" when judged on pace, " (so far)" for a running ratio, which is not projected)."""
    rows = []
    ordered = table.assign(_order=range(len(table))).sort_values(["period_end", "_order"], ascending=[False, True],
                                                                 kind="stable")
    for t in ordered.itertuples(index=False):
        kpi = KPIS.get(t.kpi)
        shown = (lambda v, k=kpi: fmt.value(k, v)) if kpi else (lambda v: fmt.DASH if fmt.undefined(v) else f"{v:g}")
        actual = shown(t.actual)
        if t.partial and fmt.finite(t.actual):
            actual += " so far"
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
    leading single quote, so that it is shown as text (:func:`kpis.csv_safety.neutralise`); empty when missing.

    >>> neutralise("=1+1"), neutralise("CPO"), neutralise(None), neutralise("-12.5")
    ("'=1+1", 'CPO', '', '-12.5')
    """
    return csv_safety.neutralise(_text(text))


def _lines(text: object) -> str:
    """A lone CR made a line feed: the importer reads line feeds inside quotes, not lone CRs."""
    return _text(text).replace("\r\n", "\n").replace("\r", "\n")


def _cell(text: object) -> str:
    """A text cell of the export: neutralised, line breaks as line feeds."""
    return _lines(neutralise(text))


def _number(value: float) -> str:
    return f"{float(value):.15g}"


def export_csv(targets: pd.DataFrame) -> str:
    """The targets in force as a targets CSV (``kpi,grain,period_start,target,owner,note``), re-importable: the
    targets stay numbers; every text cell is neutralised (:func:`neutralise`)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # CRLF: a CR inside a cell is quoted
    writer.writerow(CSV_COLUMNS)
    for t in targets.itertuples(index=False):
        writer.writerow([_cell(t.kpi), _cell(t.grain), pd.Timestamp(t.period_start).date().isoformat(),
                         _number(t.target), _cell(t.owner), _cell(t.note)])
    return out.getvalue()


# -- the editor ------------------------------------------------------------------------------------------------------

def editable(targets: pd.DataFrame) -> pd.DataFrame:
    """The targets in force in the editor's shape (``kpi, grain, period_start, target, owner, note``), the latest
    periods first, as in the evaluation table."""
    frame = targets.assign(_order=range(len(targets))).sort_values(
        ["period_end", "_order"], ascending=[False, True], kind="stable").loc[:, list(CSV_COLUMNS)].copy()
    frame["period_start"] = pd.to_datetime(frame["period_start"]).dt.date
    frame["target"] = frame["target"].astype("float64")
    for column in ("owner", "note"):
        frame[column] = frame[column].map(lambda v: None if fmt.undefined(v) else str(v)).astype("object")
    return frame.reset_index(drop=True)


def _day(value: object) -> date | None:
    if value is None or fmt.undefined(value):
        return None
    try:
        return pd.Timestamp(value).date()  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _row_name(number: int, row: Mapping[str, object]) -> str:
    parts = [_text(row.get("kpi")), _text(row.get("grain")), _text(_day(row.get("period_start")) or "")]
    described = ", ".join(p for p in parts if p)
    return f"Row {number}" + (f" ({described})" if described else "")


def check_rows(original: pd.DataFrame, edited: pd.DataFrame) -> tuple[pd.DataFrame, str | None]:
    """The rows to save (changed or added, in the CSV's columns) or a message naming the first bad row.

    Every row is checked: a KPI, grain and first day of the period that :func:`kpis.targets.check_target`
    accepts, and a target that is a finite number. A row of the targets in force keeps its KPI, grain and period
    (changing them would add a target and keep the old one); two rows may not restate the same target.
    """
    keys_seen: dict[tuple[str, str, date], int] = {}
    changed = []
    before = original.reset_index(drop=True)
    rows = edited.reset_index(drop=True)
    if len(rows) < len(before):
        return rows.iloc[0:0], ("A target in force cannot be deleted here: undo the import that brought it on the "
                                "Data page. Nothing was saved.")
    for i, row in enumerate(rows.to_dict("records")):
        number = i + 1
        name = _row_name(number, row)
        kpi_id, grain = _text(row.get("kpi")).strip().lower(), _text(row.get("grain")).strip().lower()
        start = _day(row.get("period_start"))
        if not kpi_id or not grain or start is None:
            return rows.iloc[0:0], f"{name}: fill in the KPI, the grain and the period start. Nothing was saved."
        try:
            targets_module.check_target(kpi_id, grain, start)
        except ValueError as exc:
            return rows.iloc[0:0], f"{name}: {exc}. Nothing was saved."
        try:
            value = float(row.get("target"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            value = math.nan
        if not math.isfinite(value):
            return rows.iloc[0:0], f"{name}: the target must be a number. Nothing was saved."
        key = (kpi_id, grain, start)
        if key in keys_seen:
            return rows.iloc[0:0], (f"{name} restates row {keys_seen[key]}: one target per KPI, grain and period. "
                                    "Nothing was saved.")
        keys_seen[key] = number
        clean = {"kpi": kpi_id, "grain": grain, "period_start": start, "target": value,
                 "owner": _text(row.get("owner")).strip() or None, "note": _text(row.get("note")).strip() or None}
        if i < len(before):
            old = before.iloc[i]
            if (str(old["kpi"]), str(old["grain"]), _day(old["period_start"])) != key:
                return rows.iloc[0:0], (f"{name}: the KPI, grain and period of a target in force stay as they are "
                                        "(changing them would add a target and keep the old one); add a new row "
                                        "instead. Nothing was saved.")
            same = (math.isclose(float(old["target"]), value, rel_tol=0, abs_tol=1e-12)
                    and (_text(old["owner"]).strip() or None) == clean["owner"]
                    and (_text(old["note"]).strip() or None) == clean["note"])
            if same:
                continue
        changed.append(clean)
    return pd.DataFrame(changed, columns=list(CSV_COLUMNS), dtype="object"), None


def targets_csv(rows: pd.DataFrame) -> str:
    """Rows (``kpi, grain, period_start, target, owner, note``) as a targets CSV to import, the text as typed (a
    lone CR made a line feed); the export neutralises formulas, not the store."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # CRLF: a CR inside a cell is quoted
    writer.writerow(CSV_COLUMNS)
    for r in rows.itertuples(index=False):
        writer.writerow([r.kpi, r.grain, pd.Timestamp(r.period_start).date().isoformat(), _number(r.target),
                         _lines(r.owner), _lines(r.note)])
    return out.getvalue()


def import_targets(store: Store, name: str, data: IO[bytes] | bytes, who: str = "local") -> tuple[str, str]:
    """Import a targets CSV (an upload, or the editor's changes) through the importer, accepting targets only;
    returns ``(level, message)``."""
    handle, tmp_path = tempfile.mkstemp(prefix="kpi-targets-", suffix=".csv")
    try:
        with os.fdopen(handle, "wb") as tmp:
            if isinstance(data, bytes):
                tmp.write(data)
            else:
                data.seek(0)
                tmp.write(data.read())
        result = import_file(store, tmp_path, name=name, who=who, expect=("targets_csv",))
    except InputError as exc:
        return "error", str(exc)
    except Exception as exc:
        logger.exception("importing targets %r failed", name)
        return "error", f"{name}: the import failed unexpectedly ({type(exc).__name__}); nothing was stored."
    finally:
        os.unlink(tmp_path)
        components.forget_cached()
    return ("info" if result.status == "duplicate" else "success"), result.summary()


# -- targets and pace on charts --------------------------------------------------------------------------------------

def has_targets(store: Store, kpi_id: str) -> bool:
    targets = components.cached(store, targets_module.load_targets)
    return bool((targets["kpi"] == kpi_id).any())


def chart_target(store: Store, kpi_id: str, table: pd.DataFrame, grain: str,
                 segment: tuple[str, str] | None) -> list[float]:
    """The target of each row of a KPI series (NaN where none; none at all for a segment, since targets are the
    company's)."""
    if segment is not None or table.empty or not has_targets(store, kpi_id):
        return []
    periods = tuple((pd.Timestamp(s).date(), last_day(pd.Timestamp(s).date(), grain)) for s in table["period_start"])
    try:
        return list(components.computed(store, targets_module.target_path, kpi_id, grain, periods, segment=segment))
    except (DataError, InputError):
        return []


def chart_projection(store: Store, kpi_id: str, table: pd.DataFrame, grain: str, cut: date | None,
                     segment: tuple[str, str] | None) -> float | None:
    """Where the running period (the series' last row, when partial) is projected to end, from ``cut``."""
    if table.empty or cut is None or not bool(table["partial"].iloc[-1]) or not fmt.finite(table["value"].iloc[-1]):
        return None
    start = pd.Timestamp(table["period_start"].iloc[-1]).date()
    try:
        value = components.computed(store, targets_module.project, KPIS[kpi_id], start, last_day(start, grain), cut,
                                    float(table["value"].iloc[-1]), segment=segment)
    except (DataError, InputError):
        return None
    return float(value) if fmt.finite(value) else None


# -- anomaly flags -------------------------------------------------------------------------------------------------

def anomaly_flags(store: Store, grain: str, as_of: date | None, segment: tuple[str, str] | None,
                  kpis: tuple[str, ...]) -> dict[str, dict[str, object]]:
    """``{kpi: anomaly row}`` of the KPIs among ``kpis`` whose last complete period lies outside its usual range."""
    wanted = tuple(k for k in kpis if k in anomalies_module.HEADLINE)
    if as_of is None or not wanted:
        return {}
    table = components.computed(store, anomalies_module.anomalies, grain, as_of=as_of, segment=segment, kpis=wanted)
    return {str(r["kpi"]): r for r in table.to_dict("records")}


def range_text(kpi: Kpi, low: object, high: object) -> str:
    """``$127.2k to $136.9k``, ``194 to 200``: :func:`kpis.formatting.range_text`, the review's own (within
    what the KPI can take, counts in whole numbers)."""
    return kformat.range_text(kpi, low, high)


def method_text(grain: str) -> str:
    """How the usual range is found, in a clause for the flag's help and note."""
    return (f"the trend line of up to {anomalies_module.WINDOW} {grain}s before (periods warming up left out), "
            f"± {anomalies_module.WIDTH:g} prediction standard errors, and at least "
            f"{anomalies_module.MIN_SHARE:.0%} of the KPI's usual size ({anomalies_module.MIN_POINTS * 100:g} "
            "percentage point for a rate)")


def anomaly_caption(kpi: Kpi, flag: Mapping[str, object], grain: str) -> None:
    """The short flag under a tile, with the usual range and the method in its help."""
    st.caption(f":orange[:material/warning: unusual: {flag['direction']} its usual range]",
               help=f"{kpi.label} in {fmt.period(flag['period_start'], grain)} was "  # type: ignore[arg-type]
                    f"{fmt.value(kpi, flag['value'])}, {flag['direction']} its usual range of "
                    f"{range_text(kpi, flag['low'], flag['high'])}: {method_text(grain)}.")


def anomaly_notes(flags: Mapping[str, Mapping[str, object]], kpi_ids: tuple[str, ...], grain: str) -> None:
    """One line per flagged KPI of a page (below its tiles)."""
    for kpi_id in kpi_ids:
        flag = flags.get(kpi_id)
        if flag is None:
            continue
        kpi = KPIS[kpi_id]
        st.warning(components.plain(
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


def target_caption(kpi: Kpi, row: Mapping[str, object]) -> None:
    """``Target Q4 2026: $170.0k · 96% · at risk (projected)`` under a tile, the status in its colour."""
    status = _text(row.get("status"))
    colour = {"on track": "green", "at risk": "orange", "off track": "red"}.get(status, "gray")
    paced = bool(row.get("projected")) and kpi.unit != "ratio"
    share = fmt.percent(row.get("attainment"), 0)
    label = f"{status} ({'projected' if paced else 'so far'})" if status and row.get("partial") else status
    st.caption(components.plain(f"Target {period_text(row['period_start'], str(row['grain']))}: "  # type: ignore[arg-type]
                                f"{fmt.value(kpi, row['target'])} · {share}")
               + (f" · :{colour}[{components.plain(label)}]" if label else ""))


def kpi_grid(cards: list[tuple[Kpi, pd.DataFrame, str]], against: str, flags: Mapping[str, Mapping[str, object]],
             *, per_row: int = 4, shown_from_day: object = None,
             data_start: dict[str, date | None] | None = None,
             targets: Mapping[str, Mapping[str, object]] | None = None) -> None:
    """:func:`app_pages.components.kpi_grid` with the target and its status under each tile that has one, and
    the anomaly flag under each tile whose last complete period is unusual."""
    for offset in range(0, len(cards), per_row):
        columns = st.columns(per_row)
        for column, (kpi, table, grain) in zip(columns, cards[offset:offset + per_row], strict=False):
            with column:
                start = (data_start or {}).get(kpi.source)
                components.kpi_card(kpi, table, grain, against, shown_from_day=shown_from_day, data_start=start)
                if targets and kpi.id in targets:
                    target_caption(kpi, targets[kpi.id])
                flag, at = flags.get(kpi.id), last_complete(table)
                if flag is not None and at is not None and pd.Timestamp(table["period_start"].iloc[at]) == \
                        pd.Timestamp(flag["period_start"]):  # type: ignore[arg-type]
                    anomaly_caption(kpi, flag, grain)
