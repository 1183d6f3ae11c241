"""PostHog exports: the events CSV (read by DuckDB) and the trends CSV (an aggregated, wide series).

Events: ``uuid, event, distinct_id, properties.<key>…, timestamp, person, elements_chain``; older exports say
``id`` for the uuid; "events query" exports prefix columns with ``*.`` (``*.uuid, *.event, …``). Property values
and ``elements_chain`` hold commas, quotes and newlines inside quotes.

Trends: ``series[,custom name][,breakdown],21-Mar-2023,22-Mar-2023,…[,total]`` into metric_points.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import duckdb

from kpis.core.errors import InputError
from kpis.ingest.sources.base import (
    ACCOUNT_GROUP_TYPES,
    MAX_FIELD_BYTES,
    Sniff,
    Source,
    Staged,
    latest,
    norm,
    number_parser,
    read_rows,
    shown_value,
    stage_records,
)
from kpis.ingest.sources.events_csv import explain_reject, unclosed_quote_line, unique_names
from kpis.ingest.sources.events_jsonl import first_value_sql, json_path
from kpis.ingest.sources.sqltext import identifier, line_at, literal, path_literal
from kpis.store.db import first

#: Where an event names its account, in order of preference (each column also as ``*.<name>``): an explicit
#: ``account_id`` property; the ``$groups`` object (``{"company": "acme"}``, as JSON text or flattened into
#: ``properties.$groups.<type>`` columns) by the group types of :data:`ACCOUNT_GROUP_TYPES`; the first group
#: (``$group_0``); any other group in ``$groups``; then ``customer_id`` and ``company_id`` properties.
GROUPS_COLUMNS = ("properties.$groups", "$groups")
FIRST_GROUP_COLUMNS = ("properties.$group_0", "$group_0")
LAST_ACCOUNT_COLUMNS = ("properties.customer_id", "properties.company_id")
_NULLS = "['', ' ', 'N/A', 'null', 'NULL', '-']"


# -- events ----------------------------------------------------------------------------------------------------------

def column(sniff: Sniff, *aliases: str) -> str | None:
    """The header (as read, de-duplicated) of the first alias present as ``alias`` or ``*.alias``.

    >>> s = Sniff(None, "csv", header=("event", "*.uuid", "*.event", "*.timestamp"))  # type: ignore[arg-type]
    >>> column(s, "uuid", "id"), column(s, "event"), column(s, "distinct_id")
    ('*.uuid', 'event', None)
    """
    names = list(zip(unique_names(sniff.header), (norm(h) for h in sniff.header), strict=True))
    for alias in aliases:
        for wanted in (alias, "*." + alias):
            for name, normalised in names:
                if normalised == wanted:
                    return name
    return None


def _detect_events(sniff: Sniff) -> bool:
    return sniff.kind == "csv" and all(column(sniff, c) for c in ("event", "distinct_id", "timestamp"))


def _account_sql(sniff: Sniff) -> str:
    """SQL for the event's account id from the columns the export has (see :data:`GROUPS_COLUMNS`)."""
    def present(*names: str) -> list[str]:
        return [identifier(c) for c in (column(sniff, n) for n in names) if c]

    # json_valid first: a cast of a CSV column is done by the reader, which would reject the line
    valid = [f"CASE WHEN json_valid({g}) THEN {g}::JSON END" for g in present(*GROUPS_COLUMNS)]
    groups = [f"CASE WHEN json_type({v}) = 'OBJECT' THEN {v} END" for v in valid]
    by_type = [first_value_sql(f"({g})->{json_path(t)}") for t in ACCOUNT_GROUP_TYPES for g in groups]
    flattened = present(*(f"properties.$groups.{t}" for t in ACCOUNT_GROUP_TYPES))
    any_group = [f"list_filter(json_extract_string({g}, '$.*'), lambda v: v <> '')[1]" for g in groups]
    parts = (present("properties.account_id") + by_type + flattened + present(*FIRST_GROUP_COLUMNS) + any_group
             + present(*LAST_ACCOUNT_COLUMNS))
    return f"coalesce({', '.join(parts)})" if parts else "NULL::VARCHAR"


def _stage_events(cur: duckdb.DuckDBPyConnection, sniff: Sniff) -> Staged:
    """Read the CSV into the temp table ``stage_events`` with DuckDB; a bad line is an InputError before any
    insert, with its physical line (newlines inside quoted fields count) and the right column.

    A table rather than :func:`~kpis.ingest.sources.events_csv.stage_events_csv`'s view, so that the rejects can be
    checked here, where the file is known: PostHog caps a CSV export at 300,000 rows, so this costs little.
    """
    ts = column(sniff, "timestamp")
    assert ts is not None
    types = {name: "VARCHAR" for name in unique_names(sniff.header)}
    types[ts] = "TIMESTAMPTZ"
    uuid = column(sniff, "uuid", "id")
    account = _account_sql(sniff)
    columns_sql = "{" + ", ".join(f"{literal(n)}: {literal(t)}" for n, t in types.items()) + "}"
    path = Path(sniff.file.path)
    if sniff.file.odd_quotes:
        raise InputError("a quote opens here and is never closed: the file looks truncated or damaged",
                         file=sniff.name, line=unclosed_quote_line(str(path)))
    try:
        # no null_padding: DuckDB's parallel reader does not combine it with quoted newlines, and PostHog
        # writes every column on every line
        cur.execute(f"""CREATE OR REPLACE TEMP TABLE stage_events AS
            SELECT {identifier(uuid) if uuid else "NULL::VARCHAR"} AS uuid,
                   {identifier(column(sniff, "distinct_id"))} AS user_id,
                   {identifier(column(sniff, "event"))} AS event, make_timestamp(epoch_us({identifier(ts)})) AS ts,
                   {account} AS account_id
            FROM read_csv({path_literal(path)}, header = true, skip = {sniff.header_line - 1},
                          delim = {literal(sniff.delimiter)}, quote = '"', escape = '"', columns = {columns_sql},
                          nullstr = {_NULLS}, store_rejects = true, max_line_size = {MAX_FIELD_BYTES * 4},
                          null_padding = false)""")
    except duckdb.InvalidInputException as exc:
        raise _unreadable(sniff, path, str(exc)) from None
    _raise_rejects(cur, sniff, path, ts)
    count, as_of = first(cur.execute("SELECT count(*), max(ts) FROM stage_events"))
    return Staged(rows={"events": count}, read=count, as_of=as_of)


def _raise_rejects(cur: duckdb.DuckDBPyConnection, sniff: Sniff, path: Path, ts: str) -> None:
    """The first line DuckDB rejected, as an InputError.

    DuckDB's own ``line`` counts records (not the newlines inside quotes) and its ``column_name`` is wrong when
    columns are pruned, so the line comes from the byte position and a CAST error is always the time column
    (every other column is text).
    """
    row = first(cur.execute("""SELECT line_byte_position, error_type, error_message, csv_line,
                                      (SELECT count(DISTINCT line) FROM reject_errors)
                               FROM reject_errors ORDER BY line LIMIT 1"""))
    if row is None:
        return
    position, error_type, message, text, total = row
    more = f" ({total - 1} more bad lines after it)" if total > 1 else ""
    raise InputError(explain_reject(error_type, message, text) + more, file=sniff.name,
                     line=line_at(path, int(position)), column=ts if error_type == "CAST" else None)


def _unreadable(sniff: Sniff, path: Path, message: str) -> InputError:
    """DuckDB gave up on the file as a whole (its sniffer failed): find the line in Python (small files only)."""
    for _ in read_rows(sniff):  # raises for a line with more fields than the header, ...
        pass
    detail = re.sub(r' ?"[^"]*"', "", message.split("\n", 1)[0].replace("Invalid Input Error: ", ""))
    return InputError(f"the file cannot be read as CSV ({detail})", file=sniff.name)


EVENTS = Source(
    "posthog_events", "PostHog events export (CSV)", _detect_events, _stage_events,
    "uuid,event,distinct_id,properties.<key>...,timestamp,person,elements_chain (or *.uuid,*.event,...)",
)


# -- trends ----------------------------------------------------------------------------------------------------------

_MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
                                       "dec"), start=1)}
_DAY_LABEL = re.compile(r"^(\d{1,2})-([A-Za-z]{3})-(\d{4})$")
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_HOUR_LABEL = re.compile(r"^(\d{1,2}-[A-Za-z]{3}-\d{4}|\d{4}-\d{2}-\d{2})[ T]\d{1,2}:\d{2}")


def day_label(text: str) -> date | None:
    """The day of a trends column label (``21-Mar-2023`` or ``2023-03-21``), or None for other columns.

    >>> day_label("21-Mar-2023"), day_label("1-sep-2026"), day_label("2023-03-21"), day_label("total")
    (datetime.date(2023, 3, 21), datetime.date(2026, 9, 1), datetime.date(2023, 3, 21), None)
    """
    value = text.strip()
    try:
        if _ISO_DAY.match(value):
            return date.fromisoformat(value)
        found = _DAY_LABEL.match(value)
        if found and found.group(2).lower() in _MONTHS:
            return date(int(found.group(3)), _MONTHS[found.group(2).lower()], int(found.group(1)))
    except ValueError:
        return None
    return None


def _detect_trends(sniff: Sniff) -> bool:
    if sniff.kind != "csv" or not sniff.header or norm(sniff.header[0]) != "series":
        return False
    return any(day_label(h) or _HOUR_LABEL.match(h.strip()) for h in sniff.header[1:])


def _stage_trends(cur: duckdb.DuckDBPyConnection, sniff: Sniff) -> Staged:
    """One metric point per series and day; the metric is the series' custom name, else its label."""
    hourly = [h for h in sniff.header if _HOUR_LABEL.match(h.strip())]
    if hourly:
        raise InputError(f'this trends export is by hour ("{shown_value(hourly[0])}"); export the insight by day, '
                         "week or month", file=sniff.name)
    days = [(norm(h), d) for h in sniff.header if (d := day_label(h))]
    number = number_parser(sniff.decimal_comma)
    records, seen, as_of = [], {}, None
    for row in read_rows(sniff):
        metric = row.get("custom name") or row.require("series")
        series = row.get("breakdown") or ""
        if (metric, series) in seen:
            raise InputError(f'the series "{shown_value(metric)}" appears twice (first on line '
                             f"{seen[metric, series]}); give the series distinct custom names in PostHog",
                             file=sniff.name, line=row.line)
        seen[metric, series] = row.line
        for name, day in days:
            records.append({"source": "posthog", "metric": metric, "series": series, "day": day,
                            "value": row.parse(number, name)})
            as_of = latest(as_of, day)
    staged = Staged(read=len(records), as_of=as_of)
    staged.rows["metric_points"] = stage_records(cur, "metric_points", records)
    return staged


TRENDS = Source(
    "posthog_trends", "PostHog trends export (CSV)", _detect_trends, _stage_trends,
    "series,21-Mar-2023,22-Mar-2023,... (optional custom name, breakdown, total)",
)

SOURCES = [EVENTS, TRENDS]
