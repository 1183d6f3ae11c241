"""Every CSV the product writes neutralises formulas (OWASP CSV injection) and keeps numbers as numbers."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from kpis.core import csv_safety
from kpis.core.csv_safety import FORMULA_START, csv_line, frame_csv, is_number_text, neutralise, text_cell
from kpis.metrics import drilldown
from kpis.plan.targets import export_csv


def test_neutralise_exact() -> None:
    cases = {
        "=1+1": "'=1+1", '=HYPERLINK("http://evil.example","x")': '\'=HYPERLINK("http://evil.example","x")',
        "+1 for growth": "'+1 for growth", "-x": "'-x", "-": "'-", "@SUM(A1)": "'@SUM(A1)", "\tx": "'\tx",
        "\rx": "'\rx", "-1+1": "'-1+1", "-inf": "'-inf",
        # numbers stay numbers
        "-12.5": "-12.5", "+3": "+3", "-1e-7": "-1e-7", "-.5": "-.5",
        # harmless text is untouched
        "Acme": "Acme", "": "", " =1": " =1", "a=b": "a=b", "1-2": "1-2",
    }
    assert {text: neutralise(text) for text in cases} == cases


def test_a_formula_after_a_semicolon_or_a_tab_inside_a_cell_is_quoted() -> None:
    """Spreadsheets in locales with a decimal comma split lines on ``;``, and a file opened as tab-separated
    splits on tabs: what follows either starts a cell of its own there."""
    cases = {
        'Acme;=HYPERLINK("http://evil.example","x")': 'Acme;\'=HYPERLINK("http://evil.example","x")',
        "x;+cmd|' /C calc'!A0": "x;'+cmd|' /C calc'!A0", "a\t@SUM(A1)": "a\t'@SUM(A1)", "a;-x": "a;'-x",
        "=a;=b": "'=a;'=b", "a;;=1": "a;;'=1", ";=1": ";'=1", "a;\t=1": "a;'\t'=1", "a;\rx": "a;'\rx",
        # a number after a separator is quoted too: the spreadsheet's cell runs on into the next CSV cell
        "1;-2": "1;'-2",
        # harmless: no formula start right after the separator
        "a;b": "a;b", "a; =1": "a; =1", "a;": "a;", "a\tb": "a\tb", "a,=1": "a,=1",
    }
    assert {text: neutralise(text) for text in cases} == cases


def test_numbers_are_plain_decimals() -> None:
    assert [is_number_text(t) for t in ("-12.5", "12", "+0.5", "1e5", "-", "--1", "1,5", "-12.5 ")] == [
        True, True, True, True, False, False, False, False]


def test_text_cell_and_csv_line() -> None:
    assert [text_cell(v) for v in (None, float("nan"), pd.NaT, False, 3, -12.5, 1e-7, date(2026, 1, 5),
                                   "=x", "-12.5")] == [
        "", "", "", "no", "3", "-12.5", "0.0000001", "2026-01-05", "'=x", "-12.5"]
    assert csv_line(["mrr", "quarter", date(2026, 10, 1), -500.0, '=HYPERLINK("x")', "a,b\nc"]) == (
        'mrr,quarter,2026-10-01,-500,"\'=HYPERLINK(""x"")","a,b\nc"')


def test_frame_csv_neutralises_text_and_header_keeps_numbers() -> None:
    frame = pd.DataFrame({"=name": ["=1+1", "@x", "Ann", None], "change": [-12.5, 3.0, 0.125, -0.004]})
    rows = list(csv.reader(io.StringIO(frame_csv(frame).decode("utf-8"), newline="")))
    # numbers rounded to 2 digits: 0.125 -> 0.12 (banker's rounding of the binary value), -0.004 -> -0.0
    assert rows == [["'=name", "change"], ["'=1+1", "-12.5"], ["'@x", "3.0"], ["Ann", "0.12"], ["", "-0.0"]]


def test_every_writer_uses_the_one_rule() -> None:
    """The drill-down download and the targets export are the shared module's rule, not copies of it."""
    assert not hasattr(drilldown, "safe_csv")  # the drill-down page writes with frame_csv itself
    targets = pd.DataFrame({"kpi": ["mrr"], "grain": ["month"], "period_start": [date(2026, 1, 1)],
                            "target": [1.0], "owner": ["=1"], "note": ["-12.5"]})
    assert export_csv(targets).split("\r\n")[1] == "mrr,month,2026-01-01,1,'=1,-12.5"
    assert csv_safety.FORMULA_START == ("=", "+", "-", "@", "\t", "\r")


def _dangerous_cells(text: str) -> list[str]:
    """Cells that start a formula, and parts of cells after a ``;`` or a tab that do (these are never safe)."""
    cells = [c for row in csv.reader(io.StringIO(text, newline="")) for c in row]
    inner = [p for c in cells for p in re.split("[;\t]", c)[1:] if p.startswith(FORMULA_START)]
    assert not inner, inner
    assert not re.search("[;\t][=+\\-@]", text), "a line split on ; or tabs starts a formula"
    return [c for c in cells if c.startswith(FORMULA_START)]


def _as_written(name: str, written: str) -> bool:
    """``written`` is ``name`` with single quotes added only in front of a formula start, at the cell's start or
    after a ``;`` or a tab."""
    i = 0
    for j, char in enumerate(name):
        if written[i:i + 1] == "'" and char != "'":
            if not (char in FORMULA_START and (j == 0 or name[j - 1] in ";\t")):
                return False
            i += 1
        if written[i:i + 1] != char:
            return False
        i += 1
    return i == len(written)


def _safe(cell: str) -> bool:
    return is_number_text(cell)


HOSTILE = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["=1+1", "+", "-", "@", "\t", "\r", "-12.5", "-1e3", "=cmd|' /C calc'!A0", "--1"]),
    st.tuples(st.sampled_from(FORMULA_START), st.text(max_size=8)).map("".join),
    st.tuples(st.text(max_size=4), st.sampled_from([";", "\t"]), st.sampled_from(FORMULA_START),
              st.text(max_size=6)).map("".join),
)


@settings(max_examples=200, deadline=None)
@given(names=st.lists(HOSTILE, min_size=1, max_size=6), numbers=st.lists(st.floats(-1e6, 1e6), min_size=6,
                                                                         max_size=6))
def test_no_output_cell_starts_a_formula(names: list[str], numbers: list[float]) -> None:
    """Any cell of any writer that starts with = + - @ tab or CR is a number; everything else was quoted."""
    frame = pd.DataFrame({"name": names, "value": numbers[: len(names)]})
    outputs = [frame_csv(frame).decode("utf-8"), "\r\n".join(csv_line([n, v]) for n, v in zip(
        names, numbers, strict=False))]
    targets = pd.DataFrame({"kpi": names, "grain": names, "period_start": [date(2026, 1, 1)] * len(names),
                            "period_end": [date(2026, 1, 31)] * len(names), "target": numbers[: len(names)],
                            "owner": names, "note": list(reversed(names))})
    outputs.append(export_csv(targets))
    for text in outputs:
        assert all(_safe(c) for c in _dangerous_cells(text)), text
    for name in names:  # and the quoted text is the name itself with quotes only in front of formula starts
        assert _as_written(name, neutralise(name)), (name, neutralise(name))


def test_a_carriage_return_inside_a_cell_is_quoted_on_the_command_line() -> None:
    # found by the property test above: unquoted, the CR would start a row beginning with a tab
    line = csv_line(["\r\t", 0])
    assert line == "\"'\r\t\",0"
    assert list(csv.reader(io.StringIO(line, newline=""))) == [["'\r\t", "0"]]


#: Writes CSV lines with NumPy's values but without pandas, then says what it printed and what it loaded.
WITHOUT_PANDAS = """
import json, sys
import numpy as np
from kpis.core.csv_safety import csv_line, plain_decimal
lines = [csv_line(["=x", np.float32("nan"), np.datetime64("NaT"), np.float32(1.5), None, 2.0]),
         plain_decimal(float("nan")), plain_decimal(0.1 + 0.2)]
print(json.dumps({"lines": lines, "pandas": "pandas" in sys.modules}))
"""


def test_csv_lines_need_no_pandas_and_still_leave_numpy_s_missing_values_empty() -> None:
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", WITHOUT_PANDAS], capture_output=True, text=True, cwd=root,
                          env={"PYTHONPATH": str(root), "PATH": ""}, timeout=120, check=True)
    assert json.loads(done.stdout) == {"lines": ["'=x,,,1.5,,2", "", "0.3"], "pandas": False}
