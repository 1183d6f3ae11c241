"""GA4 report downloads (CSV from the UI) as daily ``metric_points`` (source ``ga4``).

A download is a ``#`` preamble (report name, date range) followed by sections separated by blank or ``#`` lines,
each with its own header. base.read_rows reads one header only, so this module walks the file itself, keeping
real line numbers for error messages.

- Only sections whose first column is a date (header ``Date``, or any dimension whose values are ``YYYYMMDD``)
  become points: metric = the column header as written, day = the date, series = "" or, when the section has a
  second dimension column before its metrics, that dimension's value. Other sections are ignored with a note.
- Totals rows (empty first cell, or ``Total`` / ``Grand total``) are skipped, not counted as read or rejected;
  a note says how many.
- ``Staged.read`` counts metric values read (one per point), so values repeated across sections show up as
  duplicates in the import log. Empty cells are no data and are not stored.
- Numbers may be quoted with thousands separators (``"1,200"``); rates are fractions (``0.4889``); a value
  written as a percentage (``48.89%``) is turned into a fraction too.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import duckdb

from kpis.core.errors import InputError
from kpis.ingest.sources.base import (
    NULLS,
    Sniff,
    Source,
    Staged,
    latest,
    norm,
    number_parser,
    parse_date,
    shown_value,
    stage_records,
)

SOURCE = "ga4"

#: GA4's metric names as the UI writes them (normalised): how the file is recognised, and how a second
#: column is told apart from a dimension.
METRICS = frozenset({
    "active users", "new users", "total users", "returning users", "1-day active users", "7-day active users",
    "28-day active users", "dau / mau", "dau / wau", "wau / mau", "sessions", "engaged sessions",
    "engagement rate", "bounce rate", "sessions per user", "engaged sessions per active user",
    "average session duration", "average engagement time", "average engagement time per session",
    "average engagement time per active user", "user engagement", "views", "views per user",
    "views per active user", "views per session", "event count", "event count per active user",
    "events per session", "key events", "conversions", "session key event rate", "user key event rate",
    "total revenue", "purchase revenue", "ecommerce purchases", "transactions", "total purchasers",
    "first time purchasers", "average purchase revenue", "arpu", "arppu", "add to carts", "checkouts",
    "items viewed", "user stickiness",
})

#: GA4 dimensions that may stand in the second column of a date section (their values can look numeric).
DIMENSIONS = frozenset({
    "first user default channel group", "session default channel group", "default channel group",
    "first user source / medium", "session source / medium", "session source", "session medium",
    "first user source", "first user medium", "source", "medium", "campaign", "session campaign",
    "first user campaign", "country", "region", "city", "language", "device category", "platform",
    "operating system", "browser", "page path and screen class", "page title and screen class", "page path",
    "page title", "landing page", "event name", "hour", "stream name", "app version", "audience name",
    "new / established", "gender", "age",
})

_DATE_VALUE = re.compile(r"^(\d{8}|\d{4}-\d{2}-\d{2})$")
_TOTALS = frozenset({"total", "totals", "grand total"})


@dataclass
class _Section:
    """One header and the records under it, each with its line number."""

    line: int
    header: list[str]
    rows: list[tuple[int, list[str]]] = field(default_factory=list)


def _detect(sniff: Sniff) -> bool:
    """A known GA4 metric in the first header, and either a ``Date`` first column or a ``#`` preamble."""
    if sniff.kind != "csv" or len(sniff.header) < 2 or not sniff.columns & METRICS:
        return False
    return norm(sniff.header[0]) == "date" or _has_preamble(sniff)


def _has_preamble(sniff: Sniff) -> bool:
    before_header = sniff.file.sample.lstrip("\ufeff").splitlines()[: sniff.header_line - 1]
    return any(line.lstrip().startswith("#") for line in before_header)


def _sections(sniff: Sniff) -> Iterator[_Section]:
    """The file's sections; a blank line, a line of empty fields or a ``#`` line ends one."""
    current: _Section | None = None
    with open(sniff.file.path, encoding="utf-8", newline="") as fh:
        for number, raw in enumerate(fh, start=1):
            text = raw.rstrip("\r\n")
            fields = next(csv.reader([text], delimiter=sniff.delimiter), []) if text.strip() else []
            if not any(f.strip() for f in fields) or text.lstrip().startswith("#"):
                if current is not None:
                    yield current
                current = None
            elif current is None:
                current = _Section(number, [f.strip() for f in fields])
            else:
                if len(fields) > len(current.header) and any(f.strip() for f in fields[len(current.header):]):
                    raise InputError(f"this line has {len(fields)} fields but its section's header (line "
                                     f"{current.line}) has {len(current.header)}", file=sniff.name, line=number)
                current.rows.append((number, fields))
    if current is not None:
        yield current


def _is_total(fields: list[str]) -> bool:
    return fields[0].strip().lower() in _TOTALS or not fields[0].strip()


def _is_number(text: str, number: Callable[[str], float]) -> bool:
    try:
        number(text)
    except ValueError:
        return False
    return True


def _dimension_count(section: _Section, body: list[tuple[int, list[str]]], number: Callable[[str], float]) -> int:
    """2 when the second column is a dimension (a known one, or one with a non-numeric value), else 1."""
    if len(section.header) < 3:
        return 1
    second = norm(section.header[1])
    if second in METRICS:
        return 1
    if second in DIMENSIONS:
        return 2
    values = (f[1].strip() for _, f in body if len(f) > 1)
    return 2 if any(v.lower() not in NULLS and not _is_number(v, number) for v in values) else 1


def _value_parser(number: Callable[[str], float]) -> Callable[[str], float]:
    """GA4 writes rates as fractions; a ``48.89%`` someone typed becomes 0.4889 too."""
    return lambda text: number(text) / 100 if "%" in text else number(text)


def _section_points(sniff: Sniff, section: _Section, body: list[tuple[int, list[str]]],
                    number: Callable[[str], float]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line, point) for each filled metric cell of a date section."""
    dims = _dimension_count(section, body, number)
    value_of = _value_parser(number)
    metrics = section.header[dims:]
    for line, fields in body:
        day = _parse(parse_date, fields[0], sniff, line, section.header[0])
        series = (fields[1].strip() or "(not set)") if dims == 2 else ""
        for index, metric in enumerate(metrics, start=dims):
            raw = fields[index].strip() if index < len(fields) else ""
            if raw.lower() in NULLS:
                continue
            value = _parse(value_of, raw, sniff, line, metric)
            yield line, {"source": SOURCE, "metric": metric, "series": series, "day": day, "value": value}


def _parse(parser: Callable[[str], Any], raw: str, sniff: Sniff, line: int, column: str) -> Any:
    try:
        return parser(raw.strip())
    except ValueError as exc:
        raise InputError(f'cannot read "{shown_value(raw.strip())}": {exc}', file=sniff.name, line=line,
                         column=column) from None


def _stage(cur: duckdb.DuckDBPyConnection, sniff: Sniff) -> Staged:
    """Walk the sections, turn the date ones into points; a key given two different values is an error."""
    number = number_parser(sniff.decimal_comma)
    points: dict[tuple[str, str, date], tuple[int, dict[str, Any]]] = {}
    read, totals, date_sections, notes = 0, 0, 0, []
    for section in _sections(sniff):
        body = [(line, fields) for line, fields in section.rows if not _is_total(fields)]
        totals += len(section.rows) - len(body)
        first = norm(section.header[0])
        if first != "date" and not (body and _DATE_VALUE.match(body[0][1][0].strip())):
            notes.append(f"section at line {section.line} ({section.header[0]}) has no date dimension: ignored")
            continue
        date_sections += 1
        for line, point in _section_points(sniff, section, body, number):
            read += 1
            key = (point["metric"], point["series"], point["day"])
            if key in points and points[key][1]["value"] != point["value"]:
                earlier, old = points[key]
                raise InputError(
                    f"{point['metric']} on {point['day']}{' for ' + point['series'] if point['series'] else ''} "
                    f"is {old['value']:g} on line {earlier} and {point['value']:g} here: export the report with "
                    "Date and at most one other dimension", file=sniff.name, line=line, column=point["metric"])
            points[key] = (line, point)
    if not date_sections:
        raise InputError("this GA4 report has no section by date: add the Date dimension to the report (or "
                         "download a report over time) and export it again", file=sniff.name)
    if totals:
        notes.append(f"skipped {totals} totals row{'s' if totals != 1 else ''}")
    records = [point for _, point in points.values()]
    staged = Staged(read=read, as_of=latest(*(p["day"] for p in records)), notes=notes)
    staged.rows["metric_points"] = stage_records(cur, "metric_points", records)
    return staged


GA4 = Source(
    "ga4_report", "Google Analytics 4 report download (CSV)", _detect, _stage,
    "# preamble, then Date,Active users,New users,... (dates as YYYYMMDD; sections separated by blank lines)",
)

SOURCES = [GA4]
