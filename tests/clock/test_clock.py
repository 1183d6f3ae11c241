"""No number depends on the machine's clock: the same files give the same KPIs, review and target statuses on
any day. Each run is a real process under another date (Debian's ``faketime`` moves the clock of Python and
DuckDB alike); the demo company's exports end on Sunday 2026-11-22 and schedule trial ends after it."""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: a day before the demo's exports end, and a year after they were taken
CLOCKS = ("2026-11-21", "2027-12-04")


def _start(day: str, db: Path) -> subprocess.Popen[str]:
    faketime = shutil.which("faketime")
    if faketime is None:
        pytest.fail("Debian's faketime is needed (make test installs it): apt-get install faketime")
    return subprocess.Popen([faketime, f"{day} 10:00:00", sys.executable, "-m", "tests.clock.snapshot", str(db)],
                            cwd=ROOT, env={**_real_clock(), "PYTHONPATH": str(ROOT)}, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _real_clock() -> dict[str, str]:
    """This environment without a ``faketime`` of its own (the suite itself may run under one): nested, the two
    would add up instead of the inner one setting the date."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAKETIME")}
    preload = [p for p in env.pop("LD_PRELOAD", "").split(":") if p and "faketime" not in p]
    return {**env, **({"LD_PRELOAD": ":".join(preload)} if preload else {})}


def test_every_number_is_the_same_under_two_clocks_a_year_apart(tmp_path: Path) -> None:
    runs = {day: _start(day, tmp_path / f"{day}.duckdb") for day in CLOCKS}
    outputs = {}
    for day, process in runs.items():
        out, err = process.communicate(timeout=600)
        assert process.returncode == 0, err
        first, _, rest = out.partition("\n")
        # the clock really was moved, for Python and for DuckDB
        assert first == f"clock: python {day} duckdb {day}"
        outputs[day] = rest
    early, late = (outputs[day] for day in CLOCKS)
    # every command ran and printed numbers: the demo's MRR series, the targets with their status, the review
    assert "$ series mrr --grain month -> 0\nperiod_start,value\n2024-11-01," in early
    assert "$ targets list -> 0\nkpi,grain,period_start,target,actual," in early
    assert "$ review --grain week -> 0\n" in early and "week of 16 Nov 2026" in early
    assert [line for line in early.splitlines() if line.startswith("$ ") and not line.endswith("-> 0")] == []
    # the same text, and the same numbers up to the last bits of a float: DuckDB adds in parallel, so a sum of
    # floats may differ in its 16th digit from one run to the next, whatever the clock
    early_text, early_numbers = _split(early)
    late_text, late_numbers = _split(late)
    assert early_text == late_text
    assert len(early_numbers) == len(late_numbers)
    assert all(math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6) for a, b in zip(early_numbers, late_numbers, strict=True))


#: every number, whole or not (a sum that is 0 in one run may be -0.0000000001 in the other)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e-?\d+)?")


def _split(output: str) -> tuple[str, list[float]]:
    """The output with every number replaced by a mark, and those numbers in order."""
    return _NUMBER.sub("#", output), [float(n) for n in _NUMBER.findall(output)]
