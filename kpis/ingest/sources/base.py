"""What every source module shares: the sniffed shape of a file, value parsers and staging helpers.

A source module lists its :class:`Source` objects in ``SOURCES``: a name (the id in the import log), a label
(what people call the export), ``detect(sniff) -> bool`` and ``stage(cur, sniff) -> Staged``. ``stage`` creates
temporary tables (or, for events, a view) named ``stage_<kind>`` with exactly the columns of
:data:`kpis.store.db.COLUMNS` and reports what it read; the importer merges them inside the same transaction.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import duckdb
import pandas as pd

from kpis.core.errors import InputError
from kpis.ingest.textfile import SAMPLE_BYTES, TextFile
from kpis.store.db import COLUMNS, VERSIONED, version_table

#: Values that mean "empty" in exports people touched.
NULLS = frozenset({"", "n/a", "na", "null", "none", "nan", "-", "--", "(none)", "(not set)"})
#: Longest field we accept: a bigger one is almost always a broken quote or a file that is not an export.
MAX_FIELD_BYTES = 1024 * 1024
#: Most columns a header may have: far more than any export we read (a wider one is not an export).
MAX_COLUMNS = 10_000
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))

_DELIMITERS = (",", ";", "\t", "|")

#: Group types (Amplitude ``groups``, PostHog ``$groups``) whose value is the account, in order of preference.
ACCOUNT_GROUP_TYPES = ("account", "account_id", "company", "company_id", "organization", "workspace")


@dataclass(frozen=True)
class Sniff:
    """The shape of an upload: CSV (delimiter, header) or JSON (first record)."""

    file: TextFile
    kind: str  # "csv", "jsonl" or "json"
    delimiter: str = ","
    header: tuple[str, ...] = ()
    header_line: int = 1
    first_record: dict[str, Any] | None = None

    @property
    def name(self) -> str:
        return self.file.name

    @property
    def columns(self) -> frozenset[str]:
        """Header names, normalised (lower case, trimmed)."""
        return frozenset(norm(h) for h in self.header)

    @property
    def decimal_comma(self) -> bool:
        """European exports separate with ``;`` and write ``99,00``."""
        return self.delimiter == ";"


@dataclass
class Staged:
    """What a source staged: rows per kind, rows read and skipped, and the latest date in the file.

    A source that stages a kind as a view (read only when the importer merges it) names it in ``views`` and may
    give ``read_error`` (a DuckDB error raised while reading the view, as a message for people) and ``check``
    (run once the view was read: raises for bad lines that reading skipped and recorded).
    """

    rows: dict[str, int] = field(default_factory=dict)
    read: int = 0
    rejected: int = 0
    as_of: datetime | None = None
    notes: list[str] = field(default_factory=list)
    views: frozenset[str] = frozenset()
    read_error: Callable[[duckdb.Error], InputError] | None = None
    check: Callable[[duckdb.DuckDBPyConnection], None] | None = None

    def explain(self, exc: duckdb.Error) -> Exception:
        """The error to raise when reading a staged kind failed with ``exc``."""
        return self.read_error(exc) if self.read_error else exc


@dataclass(frozen=True)
class Source:
    """One export format we recognise."""

    NAME: str
    LABEL: str
    detect: Callable[[Sniff], bool]
    stage: Callable[[duckdb.DuckDBPyConnection, Sniff], Staged]
    #: the header or first record that identifies it, for docs and the "unknown shape" message
    signature: str = ""
    #: for a format whose records are not one per line (an indented JSON page): ``(sniff, rows)`` -> how many
    #: records the file holds and its first ``rows`` records, for the preview; None: records are lines
    records: Callable[[Sniff, int], tuple[int, list[dict[str, Any]]]] | None = None


def norm(name: str) -> str:
    """Normalise a header for matching: lower case, trimmed, inner whitespace collapsed."""
    return " ".join(name.replace("\ufeff", "").strip().lower().split())


def sniff(file: TextFile) -> Sniff:
    """Work out whether the text is CSV-like or JSON, and its delimiter and header.

    The header (or first JSON record) must end within the first 256 KB and have at most :data:`MAX_COLUMNS`
    columns: anything longer is not an export (and would otherwise be read cut short).
    """
    text = file.sample.lstrip("\ufeff")
    if not file.sample_complete and not text.endswith(("\n", "\r")):
        raise InputError(f"the first line is longer than {SAMPLE_BYTES // 1024} KB: no export starts with a header "
                         "or a first record that long", file=file.name, line=1)
    stripped = text.lstrip()
    if stripped.startswith("{"):
        line = 1 + text[: len(text) - len(stripped)].count("\n")
        return Sniff(file, "jsonl", first_record=_first_record(stripped.split("\n", 1)[0], file.name, line))
    if stripped.startswith("["):
        return Sniff(file, "json")
    lines = text.splitlines()
    index = 0
    while index < len(lines) and (not lines[index].strip() or lines[index].lstrip().startswith("#")):
        index += 1
    if index == len(lines):
        raise InputError("the file holds no header row and no data", file=file.name)
    header_text = lines[index]
    delimiter = max(_DELIMITERS, key=lambda d: _count_outside_quotes(header_text, d))
    if _count_outside_quotes(header_text, delimiter) == 0:
        delimiter = ","
    header = next(csv.reader([header_text], delimiter=delimiter))
    if len(header) > MAX_COLUMNS:
        raise InputError(f"the header has {len(header):,} columns; exports have at most {MAX_COLUMNS:,}",
                         file=file.name, line=index + 1)
    return Sniff(file, "csv", delimiter, tuple(h.strip().lstrip("\ufeff") for h in header), index + 1)


def _first_record(line_text: str, file: str, line: int) -> dict[str, Any] | None:
    """The first JSON line as an object (None when it is not one); JSON nested too deep to read is bad input."""
    try:
        record = json.loads(line_text)
    except RecursionError:
        raise InputError("this JSON is nested too deeply to read (hundreds of levels); no event export is",
                         file=file, line=line) from None
    except ValueError:  # not JSON, or a number longer than Python reads (over 4,300 digits)
        return None
    return record if isinstance(record, dict) else None


def _count_outside_quotes(line: str, delimiter: str) -> int:
    count, quoted = 0, False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif ch == delimiter and not quoted:
            count += 1
    return count


# -- reading CSV rows with line numbers ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Row:
    """One CSV record: values by normalised header name, and the line it started on."""

    line: int
    values: dict[str, str]
    file: str

    def get(self, *aliases: str) -> str | None:
        """The first non-empty value among ``aliases`` (normalised names), or None."""
        for alias in aliases:
            value = self.values.get(alias)
            if value is not None and value.strip().lower() not in NULLS:
                return value.strip()
        return None

    def require(self, *aliases: str) -> str:
        """Like :meth:`get`, but a missing value is an :class:`InputError` naming the line and column."""
        value = self.get(*aliases)
        if value is None:
            raise InputError("this value is required but empty", file=self.file, line=self.line,
                             column=self.column_name(*aliases))
        return value

    def column_name(self, *aliases: str) -> str:
        """The alias present in this file (for messages)."""
        for alias in aliases:
            if alias in self.values:
                return alias
        return aliases[0]

    def parse(self, parser: Callable[[str], Any], *aliases: str, required: bool = False) -> Any:
        """Parse a value with ``parser``; a ValueError becomes an InputError with line and column."""
        raw = self.require(*aliases) if required else self.get(*aliases)
        if raw is None:
            return None
        try:
            return parser(raw)
        except ValueError as exc:
            raise InputError(f'cannot read "{shown_value(raw)}": {exc}', file=self.file, line=self.line,
                             column=self.column_name(*aliases)) from None


def read_rows(sniff: Sniff, *, skip_comments: bool = True) -> Iterator[Row]:
    """Records of a CSV upload after its header, with normalised keys and start line numbers.

    Blank lines are skipped. A record with more fields than the header, a field over 1 MB, a quote left open at
    the end of the file, or a last line cut short (fewer fields than the header and no line end, after full
    records) is an :class:`InputError`: a file cut off mid-row is refused, not imported without its last row.
    """
    header = [norm(h) for h in sniff.header]
    with open(sniff.file.path, encoding="utf-8", newline="") as fh:
        counter = _LineCounter(fh)
        reader = csv.reader(counter, delimiter=sniff.delimiter, strict=False)
        line_no = 0
        full_records = 0  # records so far with every field of the header; -1 once a short one was seen
        for _ in range(sniff.header_line):
            try:
                next(reader)
            except StopIteration:
                return
        while True:
            start = counter.lines + 1
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise InputError(f"the file cannot be read as CSV ({exc})", file=sniff.name, line=start) from None
            line_no = start
            if counter.open_quote_at_eof:
                raise InputError("the last record is cut short (a quote is never closed): the file looks "
                                 "truncated", file=sniff.name, line=line_no)
            if not record or all(not v.strip() for v in record):
                continue
            if skip_comments and record[0].lstrip().startswith("#"):
                continue
            for index, value in enumerate(record):
                if len(value) > MAX_FIELD_BYTES:
                    column = header[index] if index < len(header) else f"#{index + 1}"
                    raise InputError(
                        f"a field of {len(value) / 1e6:.1f} MB is longer than the 1 MB limit; the file is not a "
                        "plain export or a quote is broken", file=sniff.name, line=line_no, column=column)
            if len(record) > len(header) and any(v.strip() for v in record[len(header):]):
                raise InputError(
                    f"this line has {len(record)} fields but the header has {len(header)}; check the delimiter "
                    "and the quotes", file=sniff.name, line=line_no)
            if len(record) < len(header):
                if counter.cut_short and full_records > 0:
                    raise InputError(
                        f"the last line is cut short: it has {len(record)} of the header's {len(header)} fields and "
                        "no line end; the file looks truncated (export it again)", file=sniff.name, line=line_no)
                full_records = -1  # short lines before: a hand-made file that leaves out its empty last columns
            elif full_records >= 0:
                full_records += 1
            values = dict(zip(header, (v for v in record), strict=False))
            yield Row(line_no, values, sniff.name)


class _LineCounter:
    """Iterate lines while counting them, so records report the line they start on."""

    def __init__(self, fh: io.TextIOBase) -> None:
        self._fh = fh
        self.lines = 0
        self.open_quote_at_eof = False
        #: the last line read is the file's end without a line break (a file cut off mid-line)
        self.cut_short = False
        self._quotes = 0

    def __iter__(self) -> _LineCounter:
        return self

    def __next__(self) -> str:
        line = self._fh.readline()
        if not line:
            self.open_quote_at_eof = self._quotes % 2 == 1
            raise StopIteration
        self.lines += 1
        self._quotes += line.count('"')
        self.cut_short = not line.endswith(("\n", "\r"))
        if not line.endswith(("\n", "\r")) and self._quotes % 2 == 1:
            self.open_quote_at_eof = True
        return line


# -- value parsers -------------------------------------------------------------------------------------------------

_EPOCH = datetime(1970, 1, 1)
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_COMPACT_DATE = re.compile(r"^\d{8}$")
_INT = re.compile(r"^-?\d+(\.0+)?$")


def parse_timestamp(text: str) -> datetime:
    """A timestamp as a naive UTC datetime.

    Offsets and ``Z`` are converted; naive values are taken as UTC; digits are Unix seconds (milliseconds
    when above 10^11).

    >>> parse_timestamp("2026-01-05T00:30:00+02:00")
    datetime.datetime(2026, 1, 4, 22, 30)
    >>> parse_timestamp("2026-01-05 10:00")
    datetime.datetime(2026, 1, 5, 10, 0)
    >>> parse_timestamp("1602611311")
    datetime.datetime(2020, 10, 13, 17, 48, 31)
    """
    value = text.strip()
    if value.endswith("(UTC)"):
        value = value[:-5].strip()
    if _INT.match(value):
        number = int(float(value))
        if _COMPACT_DATE.match(value) and 19000101 <= number <= 21001231:
            return datetime.strptime(value, "%Y%m%d")
        seconds = number / 1000 if abs(number) > 10**11 else number
        return _EPOCH + timedelta(seconds=seconds)
    candidate = value.replace(" UTC", "Z").replace("/", "-")
    if candidate.endswith(("z", "Z")):
        candidate = candidate[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(candidate)
    except ValueError:
        raise ValueError("expected a date and time such as 2026-01-05 10:00 or 2026-01-05T10:00:00Z") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def parse_date(text: str) -> date:
    """A calendar date: ``2026-01-05``, ``20260105`` or a timestamp (its UTC date).

    >>> parse_date("20260105")
    datetime.date(2026, 1, 5)
    """
    value = text.strip()
    if _DATE_ONLY.match(value):
        return date.fromisoformat(value)
    if _COMPACT_DATE.match(value):
        try:
            return datetime.strptime(value, "%Y%m%d").date()
        except ValueError:
            raise ValueError("expected a date such as 2026-01-05") from None
    try:
        return parse_timestamp(value).date()
    except ValueError:
        raise ValueError("expected a date such as 2026-01-05") from None


def number_parser(decimal_comma: bool) -> Callable[[str], float]:
    """A parser for amounts as people write them: ``99.00``, ``99,00``, ``"1,200"``, ``1.200,50``, ``$99``.

    >>> number_parser(False)("1,200")
    1200.0
    >>> number_parser(True)("1.234,50")
    1234.5
    """

    def parse(text: str) -> float:
        value = text.strip().replace("\u00a0", "").replace(" ", "").replace("'", "")
        for symbol in ("$", "€", "£", "%"):
            value = value.replace(symbol, "")
        if "," in value and "." in value:
            if value.rfind(",") > value.rfind("."):
                value = value.replace(".", "").replace(",", ".")
            else:
                value = value.replace(",", "")
        elif "," in value:
            if not decimal_comma and re.fullmatch(r"-?\d{1,3}(,\d{3})+", value):
                value = value.replace(",", "")
            else:
                value = value.replace(",", ".")
        try:
            number = float(value)
        except ValueError:
            raise ValueError("expected a number such as 99.00") from None
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError("expected a finite number")
        return number

    return parse


def count_parser(number: Callable[[str], float]) -> Callable[[str], int]:
    """An interval count: a whole number of at least 1 (``1``, ``3``, ``12.0``), read with ``number``.

    >>> count_parser(number_parser(False))("3.0")
    3
    """

    def parse(text: str) -> int:
        value = number(text)
        if value < 1 or value != int(value) or value > 10_000:
            raise ValueError("expected a whole number of at least 1")
        return int(value)

    return parse


def shown_value(text: str, limit: int = 60) -> str:
    """A value from the file as a message quotes it: on one line (line breaks and other control characters
    written as escapes, so an error stays one line on a terminal and in a log) and clipped to ``limit``.

    >>> shown_value("9\\n9"), shown_value("a\\tb\\x00"), shown_value("x" * 70)[-3:]
    ('9\\\\n9', 'a\\\\tb\\\\x00', 'xx…')
    """
    visible = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)
    return visible if len(visible) <= limit else visible[: limit - 1] + "…"


# -- staging -------------------------------------------------------------------------------------------------------

def stage_records(cur: duckdb.DuckDBPyConnection, kind: str, records: Iterable[dict[str, Any]]) -> int:
    """Create ``stage_<kind>`` from Python dicts with the canonical columns of ``kind``; return its row count.

    For versioned kinds a key seen twice in one file keeps its last row (a later line corrects an earlier one).
    """
    columns = COLUMNS[kind]
    keys = VERSIONED.get(kind)
    rows = list({tuple(r[k] for k in keys): r for r in records}.values()) if keys else list(records)
    # a column the source does not know (an older source, a shape without it) is empty, not NaN
    frame = pd.DataFrame.from_records([[r.get(c) for c in columns] for r in rows], columns=list(columns))
    types = dict(cur.execute("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ?",
                             [version_table(kind)]).fetchall())
    select = ", ".join(f'CAST("{c}" AS {types[c]}) AS "{c}"' for c in columns)
    cur.register("_stage_frame", frame)
    try:
        cur.execute(f"CREATE OR REPLACE TEMP TABLE stage_{kind} AS SELECT {select} FROM _stage_frame")
    except duckdb.Error as exc:
        raise InputError(f"a value does not fit its column ({str(exc).splitlines()[0]})") from None
    finally:
        with contextlib.suppress(duckdb.Error):
            cur.unregister("_stage_frame")
    return len(frame)


def latest(*values: datetime | date | None) -> datetime | None:
    """The latest of some dates/timestamps (dates count as midnight), ignoring None."""
    found = [v if isinstance(v, datetime) else datetime(v.year, v.month, v.day) for v in values if v is not None]
    return max(found) if found else None
