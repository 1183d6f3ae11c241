"""Print every number the product derives from the demo company: run as a real process, under a chosen clock.

``python -m tests.clock.snapshot DB`` loads the demo exports into a new database ``DB`` and prints, through the
CLI, every KPI of the registry at every grain it has, the cohorts in both modes, the anomalies, the targets with
their status and the weekly and monthly review. :mod:`tests.clock.test_clock` runs it under two clocks a year
apart (Debian's ``faketime``) and requires the two outputs to be identical, byte for byte.
"""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from kpis.cli.main import main
from kpis.core.registry import KPIS
from kpis.ops.demo import load_demo
from kpis.store import settings
from kpis.store.db import Store


def commands() -> Iterator[list[str]]:
    """Every read command whose output a CPO sees, in a fixed order."""
    for kpi in KPIS.values():
        for grain in kpi.grains:
            event = ["--event", "report_created"] if kpi.id == "adoption" else []
            yield ["series", kpi.id, "--grain", grain, *event]
    yield ["series", "mrr", "--grain", "month", "--segment", "segment=Enterprise"]
    for grain in ("week", "month"):
        for mode in ("n-day", "unbounded"):
            yield ["cohorts", "--grain", grain, "--mode", mode]
    for grain in ("week", "month", "quarter"):
        yield ["anomalies", "--grain", grain]
    for grain, period in (("week", "2026-11-16"), ("month", "2026-10-01")):
        yield ["curve", "--grain", grain, "--period", period]
    yield ["targets", "list"]
    for grain in ("week", "month"):
        yield ["review", "--grain", grain]


def run(db: Path) -> str:
    """The outputs of :func:`commands` on ``db``, each under a line naming the command and its exit code."""
    parts = []
    for argv in commands():
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["--db", str(db), *argv])
        parts.append(f"$ {' '.join(argv)} -> {code}\n{out.getvalue()}{err.getvalue()}")
    return "".join(parts)


def clock(db: Path) -> str:
    """The day this process believes it is, by Python's clock and by DuckDB's (the first line of the output)."""
    with Store(db) as store:
        duck = store.query("SELECT current_date")[0][0]
    return f"clock: python {date.today().isoformat()} duckdb {duck.isoformat()}\n"


if __name__ == "__main__":
    target = Path(sys.argv[1])
    with Store(target) as store:
        load_demo(store)
        settings.set_activation_event(store, "report_created", ["report_created"])  # activation_rate has values
    sys.stdout.write(clock(target) + run(target))
