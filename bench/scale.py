"""``python -m bench --only scale``: the KPI set on DuckDB and on Spark ``local[2]``, side by side, per size.

The KPI set is what the pages read of the engine: the revenue table and the engagement table at month grain (every
revenue, customer and engagement KPI at that grain) and the monthly n-day retention cohorts. For each size the
database is the cold-start part's (``N`` demo events, the subscriptions, a target of every headline KPI), exported
once to a lake (the export is timed). Then, alternated as the harness does, in fresh processes:

- DuckDB: the store opened, the KPI memo forgotten, the KPI set computed (its derived tables are in the file);
- DuckDB rebuilt: the same after dropping the derived tables' state, so that opening the store rebuilds
  ``user_days`` (as after a change of the time zone or of the counted events);
- Spark: a ``local[2]`` session started (timed apart), a fresh :class:`kpis.store.spark.SparkStore` on the lake,
  the KPI set computed (which builds ``user_days`` in Spark: "first"), the memo forgotten and the KPI set computed
  again on the derived tables built ("warm"), then read back from the tables kept on disk ("kept",
  :mod:`kpis.metrics.kept`); each process keeps its tables in a temporary folder of its own (``KPI_RESULTS``).

Every time is measured inside its process (imports and Python start left out), and the table prints the medians
and the Spark/DuckDB ratios. Then one scheduled ``python -m kpis warm`` on Spark is timed as a whole process, and,
with ``--large N``, DuckDB alone at ``N`` events: the import, the first KPI queries and the overview's first render,
each with its peak memory.
"""

from __future__ import annotations

import json
import shutil
import statistics
import tempfile
from pathlib import Path

from bench.harness import Run, run_python

#: The Spark master of the local runs: two cores, the bench machine's.
MASTER = "local[2]"
#: The KPI set, in the measuring processes (``store`` is the engine): each table's seconds, the memo forgotten first.
KPI_SET = ("import time; from kpis.metrics import engine; from kpis.metrics.retention import cohorts\n"
           "def kpi_set(store):\n"
           "    engine.forget(); times = {}\n"
           "    for name, compute in (('revenue', lambda: engine.table(store, 'revenue', 'month')),\n"
           "                          ('engagement', lambda: engine.table(store, 'engagement', 'month')),\n"
           "                          ('cohorts', lambda: cohorts(store, 'month', 'n-day'))):\n"
           "        t = time.perf_counter(); compute(); times[name] = time.perf_counter() - t\n"
           "    return times\n")
#: The parts of the KPI set, in the order they are computed.
PARTS = ("revenue", "engagement", "cohorts")


def lake_of(db: Path) -> tuple[Path, float]:
    """The lake exported from ``db`` beside it (made once) and the export's seconds (0 when it existed)."""
    lake = db.with_suffix(".lake")
    if (lake / "_lake.json").exists():
        return lake, 0.0
    shutil.rmtree(lake, ignore_errors=True)
    run = run_python(f"import time; from kpis.store.db import Store; from kpis.store.lake import export_lake\n"
                     f"s = Store({str(db)!r}); t = time.perf_counter(); export_lake(s, {str(lake)!r})\n"
                     f"print(time.perf_counter() - t)", capture=True)
    return lake, float(run.stdout.split()[-1])


def _timed(code: str) -> dict[str, float]:
    """Run ``code`` (which prints one JSON object of seconds) in a fresh process; its numbers and peak memory."""
    run = run_python(code, capture=True)
    found = json.loads(run.stdout.strip().splitlines()[-1])
    return {**found, "peak_mb": run.peak_mb}


def duckdb_code(db: Path, rebuild: bool) -> str:
    """The measuring process of DuckDB: the store opened and the KPI set computed cold (memo forgotten);
    ``rebuild``: the derived tables' state dropped first, so that opening the store rebuilds them."""
    reset = ("import duckdb; c = duckdb.connect(DB); c.execute(\"DELETE FROM settings WHERE key = "
             "'user_days_state'\"); c.close()\n") if rebuild else ""
    return (f"import json\nDB = {str(db)!r}\n{reset}{KPI_SET}"
            "from kpis.store.db import Store\n"
            "t = time.perf_counter(); s = Store(DB); opened = time.perf_counter() - t; parts = kpi_set(s)\n"
            "print(json.dumps({'first': opened + sum(parts.values()), 'open': opened, **parts}))\n")


def spark_code(db: Path, lake: Path) -> str:
    """The measuring process of Spark: the session's start; a fresh store on the lake and the KPI set ("first": it
    builds the derived tables); the KPI set again with the memo forgotten and no kept tables ("warm": the derived
    tables built); and once more reading the tables the warm run kept on disk ("kept": what a process finds after
    ``python -m kpis warm``; the cohorts are not kept, they are computed again)."""
    return (f"import json, os, shutil, tempfile\n{KPI_SET}"
            "from kpis.store.db import Store; from kpis.store import spark\n"
            "kept = tempfile.mkdtemp(prefix='bench-kept-')\n"
            f"s = Store({str(db)!r}, read_only=True)\n"
            f"t = time.perf_counter(); session = spark.session(master={MASTER!r}); start = time.perf_counter() - t\n"
            "os.environ['KPI_RESULTS'] = os.path.join(kept, 'first')\n"
            f"t = time.perf_counter(); e = spark.SparkStore(s, {str(lake)!r}, session, where={MASTER!r})\n"
            "opened = time.perf_counter() - t; first = kpi_set(e)\n"
            "os.environ['KPI_RESULTS'] = os.path.join(kept, 'warm'); warm = kpi_set(e); again = kpi_set(e)\n"
            "session.stop(); shutil.rmtree(kept)\n"
            "print(json.dumps({'start': start, 'first': opened + sum(first.values()), 'open': opened,\n"
            "                  'warm': sum(warm.values()), 'kept': sum(again.values()), **warm}))\n")


def measure(db: Path, lake: Path, rounds: int) -> dict[str, dict[str, float]]:
    """Each contender ``rounds`` times, alternated; the median of each number."""
    runs: dict[str, list[dict[str, float]]] = {"duckdb": [], "duckdb_rebuild": [], "spark": []}
    for _ in range(rounds):
        runs["duckdb"].append(_timed(duckdb_code(db, rebuild=False)))
        runs["spark"].append(_timed(spark_code(db, lake)))
        runs["duckdb_rebuild"].append(_timed(duckdb_code(db, rebuild=True)))
    return {name: {key: statistics.median(r[key] for r in found) for key in found[0]}
            for name, found in runs.items()}


def warm_run(db: Path, lake: Path) -> Run:
    """One scheduled ``python -m kpis --engine spark ... warm --grain week --grain month`` in a fresh process (Spark
    started by it), keeping its tables in a temporary folder: what the job before the weekly review costs."""
    from bench.__main__ import _cli

    with tempfile.TemporaryDirectory(prefix="bench-warm-") as kept:
        code = _cli(db, "--engine", "spark", "--lake", str(lake), "--spark-master", MASTER, "warm", "--grain", "week",
                    "--grain", "month")
        return run_python(code, env={"KPI_RESULTS": kept})


def report(n: int, subscriptions: int, export_s: float, m: dict[str, dict[str, float]]) -> None:
    """One block per size: seconds of each step, the Spark/DuckDB ratios, and each table's share."""
    duck, rebuilt, spark = m["duckdb"], m["duckdb_rebuild"], m["spark"]
    export = f"{export_s:.1f}s" if export_s else "reused"
    parts = "  ".join(f"{p} {spark[p]:.2f}s vs {duck[p]:.2f}s" for p in PARTS)
    print(f"scale: {n:,} events, {subscriptions:,} subscriptions (lake export {export}); medians, seconds",
          flush=True)
    print(f"  DuckDB KPI set, store opened, cold memo       {duck['first']:7.2f}s  (peak {duck['peak_mb']:,.0f} MB)")
    print(f"  DuckDB KPI set, derived tables rebuilt        {rebuilt['first']:7.2f}s  (peak "
          f"{rebuilt['peak_mb']:,.0f} MB)")
    print(f"  Spark {MASTER} session start                  {spark['start']:7.2f}s")
    print(f"  Spark KPI set, fresh store (builds user_days) {spark['first']:7.2f}s  ratio to DuckDB rebuilt "
          f"{spark['first'] / rebuilt['first']:5.1f}x")
    print(f"  Spark KPI set, warm (derived tables built)    {spark['warm']:7.2f}s  ratio to DuckDB cold memo "
          f"{spark['warm'] / duck['first']:5.1f}x")
    print(f"  Spark KPI set, kept tables read back          {spark['kept']:7.2f}s  ratio to DuckDB cold memo "
          f"{spark['kept'] / duck['first']:5.1f}x")
    print(f"  warm Spark vs DuckDB cold memo, per table: {parts}", flush=True)


def main(sizes: list[int], subscriptions: int, rounds: int, large: int) -> None:
    """The KPI set on both engines at each of ``sizes`` events, then DuckDB alone at ``large`` events (0: not)."""
    from bench.__main__ import _cold_database

    for n in sizes:
        db = _cold_database(n, subscriptions)
        lake, export_s = lake_of(db)
        report(n, subscriptions, export_s, measure(db, lake, rounds))
        warm = warm_run(db, lake)
        print(f"  python -m kpis --engine spark warm --grain week --grain month (one run, process) "
              f"{warm.seconds:7.2f}s", flush=True)
    if large:
        bench_large(large)


# -- DuckDB alone on a large database ------------------------------------------------------------------------------

def large_database(n: int) -> tuple[Path, list[tuple[str, float, float]]]:
    """``bench_data/ui_<n>.duckdb`` (the pages part's database: ``n`` demo events and the demo's Stripe exports),
    each file imported in its own process (made once); the imports' seconds and peak memory, empty when reused."""
    from bench.__main__ import DATA, _import, events_csv

    db = DATA / f"ui_{n}.duckdb"
    if db.exists():
        return db, []
    events = events_csv(n)
    partial = db.with_name(db.name + ".partial")
    for stale in DATA.glob(partial.name + "*"):
        stale.unlink()
    imports = []
    for path in [*sorted(events.parent.glob("stripe_*.csv")), events]:
        run = run_python(_import(path, partial))
        imports.append((path.name, run.seconds, run.peak_mb))
    partial.rename(db)
    wal = partial.with_name(partial.name + ".wal")
    if wal.exists():
        wal.rename(db.with_name(db.name + ".wal"))
    return db, imports


def first_queries(db: Path) -> list[tuple[str, float, float]]:
    """The first KPI queries after the import (which built the derived tables), each in a fresh process:
    ``series mau`` and ``series mrr`` at month grain, then ``series mau`` again with the derived tables' state
    dropped (they are rebuilt, as after a change of the time zone); seconds and peak memory."""
    from bench.__main__ import _cli

    found = [(f"series {kpi} --grain month", run.seconds, run.peak_mb)
             for kpi in ("mau", "mrr") for run in [run_python(_cli(db, "series", kpi, "--grain", "month"))]]
    run_python(f"import duckdb; c = duckdb.connect({str(db)!r}); "
               "c.execute(\"DELETE FROM settings WHERE key = 'user_days_state'\"); c.close()")
    rebuilt = run_python(_cli(db, "series", "mau", "--grain", "month"))
    return [*found, ("series mau, user_days rebuilt", rebuilt.seconds, rebuilt.peak_mb)]


def overview_first_render(db: Path) -> tuple[float, float, str | None]:
    """The overview page's first render on a fresh ``streamlit run`` (Chromium): seconds, the server's peak memory
    (MB) and the error, if any (:mod:`bench.pages`)."""
    import asyncio
    import tempfile

    from playwright.async_api import async_playwright

    from bench.load import CHROMIUM, CHROMIUM_ARGS
    from bench.pages import _first_render

    async def render(folder: Path) -> tuple[float, float, str | None]:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                found = await _first_render(browser, db, folder, "")
            finally:
                await browser.close()
        return found.seconds, found.peak_mb, found.error

    with tempfile.TemporaryDirectory(prefix="bench-scale-") as folder:
        return asyncio.run(render(Path(folder)))


def bench_large(n: int) -> None:
    """DuckDB at ``n`` events on this machine: the import, the first KPI queries and the overview's first render,
    with each process's peak memory."""
    db, imports = large_database(n)
    print(f"scale: DuckDB at {n:,} events ({db.name}, {db.stat().st_size / 1e9:.1f} GB)", flush=True)
    for name, seconds, peak in imports:
        print(f"  import {name:<36} {seconds:8.1f}s  peak {peak:,.0f} MB", flush=True)
    for label, seconds, peak in first_queries(db):
        print(f"  first {label:<37} {seconds:8.1f}s  peak {peak:,.0f} MB", flush=True)
    seconds, peak, error = overview_first_render(db)
    print(f"  overview first render (fresh server)       {seconds:8.1f}s  server peak {peak:,.0f} MB"
          f"{f'  error: {error}' if error else ''}", flush=True)
