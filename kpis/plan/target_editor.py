"""The targets editor's rules: a target as typed (``2%``, ``$170,000``) and as shown, the periods offered by
name, each edited row checked, and the changed rows written as a targets CSV to import, so that every change
made in the editor is an import (listed, undoable) exactly like an uploaded file. The page keeps the widgets."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping
from datetime import date

import pandas as pd

from kpis.core.calendar import spine
from kpis.core.formatting import is_rate, period_label, undefined
from kpis.core.registry import KPIS, Kpi
from kpis.core.target_rules import TARGET_GRAINS, check_target
from kpis.plan.targets import CSV_COLUMNS


def _text(value: object) -> str:
    return "" if value is None or undefined(value) else str(value)


def _number(value: object) -> str:
    return f"{float(value):.15g}"  # type: ignore[arg-type]


#: The editor's columns: a KPI by its label, a period by its name (``Q1 2027``), the target as written (``2%``).
EDITOR_COLUMNS = ("kpi", "grain", "period", "target", "owner", "note")
#: The periods the editor offers, quarters and months first, the many weeks last.
CHOICE_GRAINS = ("quarter", "month", "year", "week")
#: KPI label -> id, for the editor's KPI column.
BY_LABEL = {kpi.label: kpi.id for kpi in KPIS.values()}


def target_text(kpi: Kpi, value: object) -> str:
    """A target as the editor shows it: a percentage with its % sign, other numbers with thousands separators.

    >>> target_text(KPIS["logo_churn_rate"], 0.02), target_text(KPIS["mrr"], 170000.0)
    ('2%', '170,000')
    >>> target_text(KPIS["quick_ratio"], 2.5), target_text(KPIS["churned_mrr"], -1500.0)
    ('2.5', '-1,500')
    """
    if value is None or undefined(value):
        return ""
    number = float(value)  # type: ignore[arg-type]
    return f"{number * 100:.12g}%" if is_rate(kpi) else f"{number:,.12g}"


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
    example = "2%" if is_rate(kpi) else "170,000" if kpi.unit == "currency" else "86"
    try:
        value = float(number.removesuffix("%"))
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ValueError(f"the target must be a number such as {example}, not {raw!r}")
    if percent and not is_rate(kpi):
        raise ValueError(f"{kpi.label} is not a percentage: write a number such as {example}")
    return value / 100 if is_rate(kpi) else value


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
    return {period_label(start, grain): (grain, start) for grain in CHOICE_GRAINS for start in sorted(found[grain])}


def editable(targets: pd.DataFrame) -> pd.DataFrame:
    """The targets in force in the editor's shape (:data:`EDITOR_COLUMNS`: a KPI's label, a period's name, the
    target as written), the latest periods first, as in the evaluation table."""
    ordered = targets.assign(_order=range(len(targets))).sort_values(
        ["period_end", "_order"], ascending=[False, True], kind="stable")
    rows = []
    for t in ordered.itertuples(index=False):
        kpi = KPIS.get(str(t.kpi))
        rows.append({"kpi": kpi.label if kpi else str(t.kpi), "grain": str(t.grain),
                     "period": period_label(pd.Timestamp(t.period_start).date(), str(t.grain)),
                     "target": target_text(kpi, t.target) if kpi else _number(t.target),
                     "owner": None if undefined(t.owner) else str(t.owner),
                     "note": None if undefined(t.note) else str(t.note)})
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


def edits_csv(rows: pd.DataFrame) -> str:
    """Rows (:data:`kpis.plan.targets.CSV_COLUMNS`) as a targets CSV to import, the text as typed (a line break
    written as a line feed); unlike the export, nothing is neutralised: the store keeps what was typed.

    >>> rows = pd.DataFrame({"kpi": ["mrr"], "grain": ["month"], "period_start": [date(2027, 1, 1)],
    ...                      "target": [170000.0], "owner": ["=CPO"], "note": ["a\\r\\nb"]})
    >>> edits_csv(rows).split("\\r\\n")
    ['kpi,grain,period_start,target,owner,note', 'mrr,month,2027-01-01,170000,=CPO,"a\\nb"', '']
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # CRLF: a CR inside a cell is quoted
    writer.writerow(CSV_COLUMNS)
    for t in rows.itertuples(index=False):
        writer.writerow((_lines(t.kpi), _lines(t.grain), pd.Timestamp(t.period_start).date().isoformat(),
                         _number(t.target), _lines(t.owner), _lines(t.note)))
    return out.getvalue()


def _lines(text: object) -> str:
    """Line breaks as line feeds, whatever the editor was given."""
    return _text(text).replace("\r\n", "\n").replace("\r", "\n")
