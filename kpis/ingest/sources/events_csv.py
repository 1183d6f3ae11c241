"""The fast path for event CSVs (ours and PostHog's): DuckDB reads the file, Python only looks at the sample.

Tens of millions of rows go straight from ``read_csv`` into the events table in one pass; bad rows are
collected with ``store_rejects`` and reported with their line and column.
"""

from __future__ import annotations

import csv
import re
from functools import partial

import duckdb

from kpis.core.errors import InputError
from kpis.ingest.sources.base import MAX_FIELD_BYTES, NULLS, Sniff, Staged, norm
from kpis.ingest.sources.sqltext import identifier, line_at, literal, path_literal
from kpis.store.db import first

#: The empty spellings of base.NULLS as DuckDB's null strings (it compares them case-sensitively).
_NULLSTR = ", ".join(literal(v) for v in sorted({f(n) for n in NULLS for f in (str, str.upper, str.title)} | {" "}))
_EPOCH = re.compile(r"^\d{9,13}(\.\d+)?$")


def stage_events_csv(cur: duckdb.DuckDBPyConnection, sniff: Sniff, *, user: tuple[str, ...], event: str,
                     ts: str, uuid: str | None = None, account: tuple[str, ...] = ()) -> Staged:
    """Create the view ``stage_events`` over the file; ``user`` and ``account`` list columns in order of
    preference (e.g. user id, then device id). Names are normalised header names."""
    if sniff.file.odd_quotes:
        line = unclosed_quote_line(str(sniff.file.path))
        raise InputError("a quote opens here and is never closed: the file looks truncated or damaged",
                         file=sniff.name, line=line)
    originals = unique_names(sniff.header)
    by_norm: dict[str, str] = {}
    for original in originals:
        by_norm.setdefault(norm(original), original)
    ts_col = by_norm[ts]
    ts_type, ts_expr = _timestamp_reading(sniff, list(map(norm, sniff.header)).index(ts), ts_col)
    types = {name: "VARCHAR" for name in originals}
    types[ts_col] = ts_type

    def pick(names: tuple[str, ...]) -> str:
        present = [identifier(by_norm[n]) for n in names if n in by_norm]
        if not present:
            return "NULL::VARCHAR"
        return present[0] if len(present) == 1 else f"coalesce({', '.join(present)})"

    uuid_expr = identifier(by_norm[uuid]) if uuid and uuid in by_norm else "NULL::VARCHAR"
    columns_sql = "{" + ", ".join(f"{literal(n)}: {literal(t)}" for n, t in types.items()) + "}"
    view = f"""CREATE OR REPLACE TEMP VIEW stage_events AS
        SELECT {uuid_expr} AS uuid, {pick(user)} AS user_id, {identifier(by_norm[event])} AS event,
               {ts_expr} AS ts, {pick(account)} AS account_id
        FROM read_csv({path_literal(sniff.file.path)}, header = true, skip = {sniff.header_line - 1},
                      delim = {literal(sniff.delimiter)}, quote = '"', escape = '"', columns = {columns_sql},
                      nullstr = [{_NULLSTR}], store_rejects = true,
                      max_line_size = {MAX_FIELD_BYTES * 4})"""
    try:
        cur.execute(view)
    except (duckdb.InvalidInputException, duckdb.ConversionException) as exc:
        raise csv_error(exc, sniff.name) from None
    return Staged(rows={"events": 0}, views=frozenset({"events"}), read_error=partial(csv_error, file=sniff.name),
                  check=partial(raise_csv_rejects, file=sniff.name, path=str(sniff.file.path), ts_column=ts_col))


def raise_csv_rejects(cur: duckdb.DuckDBPyConnection, file: str, path: str | None = None,
                      ts_column: str | None = None) -> None:
    """After a scan with ``store_rejects``: the first bad line, if any, as an :class:`InputError`.

    DuckDB's line numbers skip newlines inside quotes, so the line is recomputed from the byte position; the
    time column is the only typed one, so every conversion error is in it.
    """
    try:
        row = first(cur.execute("""SELECT line, column_name, error_type, error_message, csv_line,
                                    (SELECT count(DISTINCT line) FROM reject_errors), line_byte_position
                             FROM reject_errors ORDER BY line LIMIT 1"""))
    except duckdb.CatalogException:
        return
    if row is None:
        return
    line, column, error_type, message, text, total, position = row
    if path is not None and position is not None:
        line = line_at(path, int(position))
    if error_type == "CAST" and ts_column:
        column = ts_column
    more = f" ({total - 1} more bad lines after it)" if total > 1 else ""
    raise InputError(explain_reject(error_type, message, text) + more, file=file, line=int(line),
                     column=column if error_type == "CAST" else None)


def csv_error(exc: Exception, file: str) -> InputError:
    """A DuckDB error raised while reading a CSV, as a message for people (line number when DuckDB gave one)."""
    text = str(exc)
    size = re.search(r"Maximum line size of \d+ bytes exceeded. Actual Size:(\d+)", text)
    if size:
        return InputError(f"a line of {int(size.group(1)) / 2**20:.1f} MB is longer than the "
                          f"{MAX_FIELD_BYTES * 4 // 2**20} MB limit; the file is not a plain export", file=file)
    found = re.search(r"Line: (\d+)", text)
    first_line = next((ln for ln in text.splitlines() if ln.strip() and "Error" not in ln[:12]), text)
    return InputError(f"the file cannot be read as CSV ({first_line.strip()[:160]})", file=file,
                      line=int(found.group(1)) if found else None)


def unclosed_quote_line(path: str) -> int | None:
    """The line where a quote opens and is never closed (a truncated file), or None."""
    quoted, opened_at = False, None
    with open(path, encoding="utf-8", newline="") as fh:
        for number, line in enumerate(fh, start=1):
            for _ in range(line.count('"')):
                quoted = not quoted
                opened_at = number if quoted else None
    return opened_at if quoted else None


def explain_reject(error_type: str, message: str, text: str | None) -> str:
    shown = (text or "")[:80]
    if error_type == "CAST":
        found = re.search(r'string "(.*?)"', message or "")
        value = found.group(1)[:60] if found else shown
        return f'cannot read "{value}" as a date and time (expected e.g. 2026-01-05T10:00:00Z)'
    if error_type in ("UNQUOTED VALUE", "INVALID UNICODE"):
        return f"a quote is never closed or the line is damaged: {shown!r}; the file looks truncated"
    if error_type == "LINE SIZE OVER MAXIMUM":
        return f"a line is longer than {MAX_FIELD_BYTES * 4 // 2**20} MB; the file is not a plain export"
    if error_type == "TOO MANY COLUMNS":
        return f"this line has more fields than the header: {shown!r}; check the delimiter and quotes"
    if error_type == "MISSING COLUMNS":
        return f"this line has fewer fields than the header: {shown!r}; the file looks truncated"
    return f"cannot read this line ({(message or error_type).splitlines()[0]})"


def _timestamp_reading(sniff: Sniff, index: int, column: str) -> tuple[str, str]:
    """How to read the timestamp column, chosen from the sample: epoch numbers or ISO text."""
    values = []
    reader = csv.reader(sniff.file.sample.splitlines()[sniff.header_line:], delimiter=sniff.delimiter)
    for record in reader:
        if len(record) > index and record[index].strip():
            values.append(record[index].strip())
        if len(values) >= 200:
            break
    if values and all(_EPOCH.match(v) for v in values):
        c = identifier(column)
        return "DOUBLE", (f"CASE WHEN {c} > 1e11 THEN make_timestamp(CAST({c} * 1000 AS BIGINT)) "
                          f"ELSE make_timestamp(CAST({c} * 1000000 AS BIGINT)) END")
    # epoch arithmetic instead of a time-zone cast: same UTC result (the session zone is UTC), far cheaper
    return "TIMESTAMPTZ", f"make_timestamp(epoch_us({identifier(column)}))"


def unique_names(names: tuple[str, ...]) -> list[str]:
    seen: dict[str, int] = {}
    result = []
    for name in names:
        base = name or "column"
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.append(base if count == 0 else f"{base}_{count}")
    return result
