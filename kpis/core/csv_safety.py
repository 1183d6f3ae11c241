"""CSV that a spreadsheet opens without running anything (OWASP "CSV injection").

Customer names, plan names, event names, segment values and targets' owners and notes come from uploads. A
spreadsheet reads a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula (``=HYPERLINK(...)``,
``=cmd|...``), and a leading tab or carriage return can hide such a start. Many spreadsheets split a line on
``;`` (the list separator of locales with a decimal comma) or on tabs, so what follows a ``;`` or a tab inside a
cell starts a cell of its own there. Every CSV the product writes passes its text cells through
:func:`neutralise`, which puts a single quote in front of each such start, so the spreadsheet shows it as text.
Numbers stay numbers: ``-12.5`` is written as it is, never as ``'-12.5``.

Never imports streamlit, so the pages and the command line share one rule.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from kpis.core.formatting import undefined

if TYPE_CHECKING:
    import pandas as pd

#: A cell starting with one of these is read as a formula by spreadsheets (or hides a formula's start).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: Characters on which spreadsheets in some locales (or opening the file as tab-separated) split a cell.
INNER_SEPARATORS = (";", "\t")
_INNER_START = re.compile(f"(?<=[{re.escape(''.join(INNER_SEPARATORS))}])(?=[{re.escape(''.join(FORMULA_START))}])")
#: A plain decimal number (what a spreadsheet reads as a number, not a formula): ``-12.5``, ``+3``, ``1e-7``.
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def is_number_text(text: str) -> bool:
    """True when ``text`` is a plain decimal number, which a spreadsheet reads as a number, never a formula.

    >>> [is_number_text(t) for t in ("-12.5", "+3", "1e-7", "-", "-1+1", "-inf", " 1")]
    [True, True, True, False, False, False, False]
    """
    return _NUMBER.fullmatch(text) is not None


def neutralise(text: str) -> str:
    """``text`` with a single quote in front of each place a spreadsheet would start a formula: the cell's start
    (unless the whole cell is a number) and whatever follows a ``;`` or a tab inside it.

    >>> [neutralise(t) for t in ("=1+1", "@SUM(A1)", "\\tx", "-12.5", "-x", "Acme", "")]
    ["'=1+1", "'@SUM(A1)", "'\\tx", '-12.5', "'-x", 'Acme', '']
    >>> [neutralise(t) for t in ("a;=HYPERLINK(1)", "x\\t+cmd", "1;-2", "a; =1", "a;b")]
    ["a;'=HYPERLINK(1)", "x\\t'+cmd", "1;'-2", 'a; =1', 'a;b']
    """
    quoted = _INNER_START.sub("'", text)
    if text.startswith(FORMULA_START) and not is_number_text(text):
        return "'" + quoted
    return quoted


def cell(value: object) -> object:
    """One value made safe for a CSV writer: text neutralised, numbers, dates and empties left alone.

    >>> [cell(v) for v in ("=1", -12.5, 3, None, "-x")]
    ["'=1", -12.5, 3, None, "'-x"]
    """
    if isinstance(value, str):
        return neutralise(value)
    if value is None or isinstance(value, bool | int | float | date | datetime):
        return value
    return value if undefined(value) else neutralise(str(value))


def plain_number(value: float | int) -> str:
    """A number as a plain decimal (no exponent, no float noise): ``-12.5``, ``1200000``, ``0.0000001``.

    >>> [plain_number(v) for v in (-12.5, 1_200_000.0, 1e-7, 0.1 + 0.2, -0.0)]
    ['-12.5', '1200000', '0.0000001', '0.3', '0']
    """
    return plain_decimal(value)


def plain_decimal(value: float | int | None) -> str:
    """A number as a plain decimal for CSV: no exponent, no float noise, empty when undefined.

    >>> [plain_decimal(v) for v in (2.0, 0.1 + 0.2, 1e-7, float("nan"), None, 1234567.8912)]
    ['2', '0.3', '0.0000001', '', '', '1234567.8912']
    """
    if undefined(value):
        return ""
    text = format(Decimal(repr(round(float(value), 10))), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def text_cell(value: object) -> str:
    """The text of one CSV cell: empty when undefined, ``yes``/``no``, plain numbers, ISO dates, and any other
    text neutralised (:func:`neutralise`).

    >>> [text_cell(v) for v in (None, True, -12.5, date(2026, 1, 5), "=HYPERLINK(1)", float("nan"))]
    ['', 'yes', '-12.5', '2026-01-05', "'=HYPERLINK(1)", '']
    """
    if undefined(value):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return plain_number(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return neutralise(str(value))


def csv_line(values: Sequence[object]) -> str:
    """One CSV line (no line end) of :func:`text_cell` values, quoted where a cell holds ``,``, ``"`` or a
    line break: for the command line's CSV output.

    >>> print(csv_line(["mrr", -500.0, "=1+1", "a,b", None]))
    mrr,-500,'=1+1,"a,b",
    """
    out = io.StringIO()
    # the line end must be "\r\n": the writer quotes a cell holding any character of it, and a bare CR in an
    # unquoted cell would start a new row whose first cell nothing has neutralised
    csv.writer(out, lineterminator="\r\n").writerow([text_cell(v) for v in values])
    return out.getvalue().removesuffix("\r\n")


def frame_csv(frame: pd.DataFrame, *, digits: int = 2) -> bytes:
    """``frame`` as UTF-8 CSV (CRLF line ends): every text cell and the header neutralised, numbers rounded
    to ``digits`` and left as numbers.

    >>> import pandas as pd
    >>> frame = pd.DataFrame({"name": ["=1+1", "-x", "Ann", None], "change": [-12.5, 3.0, 0.5, 1.0]})
    >>> frame_csv(frame).decode().split("\\r\\n")
    ['name,change', "'=1+1,-12.5", "'-x,3.0", 'Ann,0.5', ',1.0', '']
    """
    import pandas as pd  # loaded already with the frame; the command line's CSV lines need no pandas
    shown = frame.copy()
    for column in shown.columns:
        series = shown[column]
        if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            shown[column] = series.round(digits)
        else:
            shown[column] = series.map(cell).astype("object")
    shown.columns = [neutralise(str(c)) for c in shown.columns]
    buffer = io.StringIO()
    shown.to_csv(buffer, index=False, lineterminator="\r\n")
    return buffer.getvalue().encode("utf-8")

