"""Event exports in JSON lines (Amplitude, Mixpanel): DuckDB reads them in one pass with explicit columns; every
DuckDB error becomes a message naming the line."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from kpis.core.errors import InputError
from kpis.ingest.sources.base import Sniff, Staged, shown_value
from kpis.ingest.sources.sqltext import literal as sql_literal
from kpis.ingest.sources.sqltext import path_literal
from kpis.store.db import first

#: Marker of the error raised (by SQL ``error()``) for a time we cannot read; the raw value follows it.
BAD_TIME = "kpis-bad-time:"
_LINE_HINT = re.compile(r"\bline (\d+)")
_FILE_IN_MESSAGE = re.compile(r' in file "[^"]*"')

# -- SQL building blocks ---------------------------------------------------------------------------------------------

def timestamp_sql(raw: str) -> str:
    """SQL turning the text ``raw`` into a naive UTC TIMESTAMP, or NULL when it is NULL.

    ISO text with an offset is converted to UTC, without one it is taken as UTC; digits are Unix seconds
    (milliseconds above 10^11; 9 to 13 digits). Anything else raises ``error('kpis-bad-time:<value>')`` so that
    :func:`stage_events_jsonl` can name the line.
    """
    number = f"TRY_CAST({raw} AS DOUBLE)"
    epoch = (f"CASE WHEN {number} > 1e11 THEN make_timestamp(CAST({number} * 1000 AS BIGINT)) "
             f"ELSE make_timestamp(CAST({number} * 1000000 AS BIGINT)) END")
    # epoch arithmetic instead of a time-zone cast: the session zone is UTC, and it needs no ICU
    text = f"make_timestamp(epoch_us(TRY_CAST({raw} AS TIMESTAMPTZ)))"
    parsed = f"CASE WHEN regexp_full_match({raw}, '[0-9]{{9,13}}([.][0-9]+)?') THEN {epoch} ELSE {text} END"
    return (f"CASE WHEN {raw} IS NULL THEN NULL::TIMESTAMP "
            f"ELSE coalesce({parsed}, error({sql_literal(BAD_TIME)} || {raw})::TIMESTAMP) END")


def first_value_sql(value: str) -> str:
    """SQL for the text of a JSON value: a scalar as is, the first element of an array, NULL for objects/empty."""
    return (f"nullif(CASE json_type({value}) WHEN 'ARRAY' THEN {value}->>'$[0]' WHEN 'OBJECT' THEN NULL "
            f"ELSE {value}->>'$' END, '')")


def json_path(*keys: str) -> str:
    """A JSON path literal for nested keys that may hold ``$`` or dots: ``'$."$insert_id"'``."""
    return sql_literal("$" + "".join("." + json.dumps(k) for k in keys))


# -- staging ---------------------------------------------------------------------------------------------------------

def stage_events_jsonl(cur: duckdb.DuckDBPyConnection, sniff: Sniff, *, columns: dict[str, str], query: str,
                       time_field: str, raw_time: Callable[[dict[str, Any]], Any],
                       record_problem: Callable[[dict[str, Any]], str | None] | None = None) -> Staged:
    """Create the temp table ``stage_events`` from a JSON-lines file in one DuckDB pass.

    ``query`` is a SELECT of the canonical columns (uuid, user_id, event, ts, account_id) from ``src``: the
    file read with the types in ``columns`` (other keys are ignored). DuckDB errors become an
    :class:`InputError` with the line: malformed JSON (a truncated last line), a record that is not an object
    (or fails ``record_problem``, which mirrors the struct types in ``columns``), and a time
    :func:`timestamp_sql` cannot read (``raw_time`` picks that value from a parsed record; ``time_field``
    names it in the message).
    """
    types = "{" + ", ".join(f"{sql_literal(k)}: {sql_literal(v)}" for k, v in columns.items()) + "}"
    source = (f"read_json({path_literal(sniff.file.path)}, format = 'newline_delimited', "
              f"columns = {types})")
    try:
        cur.execute(f"CREATE OR REPLACE TEMP TABLE stage_events AS WITH src AS (SELECT * FROM {source}) {query}")
    except (duckdb.InvalidInputException, duckdb.ConversionException) as exc:
        raise _explain(sniff, str(exc), time_field, raw_time, record_problem) from None
    count, as_of = first(cur.execute("SELECT count(*), max(ts) FROM stage_events"))
    return Staged(rows={"events": count}, read=count, as_of=as_of)


def _explain(sniff: Sniff, message: str, time_field: str, raw_time: Callable[[dict[str, Any]], Any],
             record_problem: Callable[[dict[str, Any]], str | None] | None) -> InputError:
    """The DuckDB error as an InputError located on its line (found again in Python: error path only)."""
    path = Path(sniff.file.path)
    if BAD_TIME in message:
        value = message.split(BAD_TIME, 1)[1].split("\n", 1)[0]
        line = _line_with_time(path, value, raw_time)
        return InputError(f'cannot read "{shown_value(value)}" as a date and time (expected e.g. 2026-01-05 10:00:00, '
                          "an ISO time with an offset, or Unix seconds)", file=sniff.name, line=line,
                          column=time_field)
    hint = _LINE_HINT.search(message)
    found = None
    if hint:  # DuckDB counts non-blank lines, sometimes one too many: try both before a full scan
        number = int(hint.group(1))
        found = _bad_line(path, record_problem, {number - 1, number})
    if found is None:
        found = _bad_line(path, record_problem, None)
    if found is None:
        detail = _FILE_IN_MESSAGE.sub("", message.split("\n", 1)[0]).replace("Invalid Input Error: ", "")
        return InputError(f"the file cannot be read as JSON lines ({detail})", file=sniff.name)
    line, problem, last = found
    if last and problem.startswith("not valid JSON"):
        return InputError("the last line is cut short (it is not complete JSON): the file looks truncated; "
                          "export or copy it again", file=sniff.name, line=line)
    return InputError(f"this line is {problem}", file=sniff.name, line=line)


def _bad_line(path: Path, record_problem: Callable[[dict[str, Any]], str | None] | None,
              candidates: set[int] | None) -> tuple[int, str, bool] | None:
    """The first bad line (number, problem, whether it is the last non-blank line); only ``candidates`` (ordinal
    numbers among non-blank lines) are parsed when given."""
    limit = max(candidates) if candidates else None
    with open(path, "rb") as fh:
        ordinal = 0
        for number, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            ordinal += 1
            if candidates is not None:
                if ordinal not in candidates:
                    if limit is not None and ordinal > limit:
                        return None
                    continue
            problem = _problem(raw, record_problem)
            if problem:
                last = not any(rest.strip() for rest in fh)
                return number, problem, last
    return None


def _problem(raw: bytes, record_problem: Callable[[dict[str, Any]], str | None] | None) -> str | None:
    try:
        value = json.loads(raw.rstrip(b"\r\n"))
    except json.JSONDecodeError as exc:
        return f"not valid JSON ({exc.msg} at character {exc.pos + 1})"
    except RecursionError:
        return "JSON nested too deeply to read (hundreds of levels), not an event object"
    except (UnicodeDecodeError, ValueError) as exc:
        return f"not valid JSON ({exc})"
    if not isinstance(value, dict):
        return f"{_kind(value)}, not an event object"
    return record_problem(value) if record_problem else None


def _kind(value: object) -> str:
    if isinstance(value, list):
        return "a JSON array"
    if isinstance(value, str):
        return "a JSON string"
    if value is None:
        return "JSON null"
    return "a JSON boolean" if isinstance(value, bool) else "a JSON number"


def _line_with_time(path: Path, value: str, raw_time: Callable[[dict[str, Any]], Any]) -> int | None:
    """The first line whose time field reads as ``value`` (lines that cannot hold it are not parsed)."""
    # the value as the file may spell it: raw UTF-8 (``"à"``) or escaped (``"\\u00e0"``)
    needles = {json.dumps(value, ensure_ascii=escaped)[1:-1].encode() for escaped in (False, True)}
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, 1):
            if not any(needle in raw for needle in needles):
                continue
            try:
                record = json.loads(raw)
            except ValueError:
                continue
            if isinstance(record, dict):
                found = raw_time(record)
                if found is not None and str(found).strip() == value:
                    return number
    return None


# -- Amplitude -------------------------------------------------------------------------------------------------------

