"""``make bench``: ``python -m bench [--events N] [--subscriptions N] [--rounds R] [--only PART] [--sessions N]
[--load-rounds R] [--scale SIZES] [--large N]``;
prints ratios side by side."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from bench.harness import ROOT, compare, run_python
from bench.queries import ACCOUNT_EVENTS_SQL, ACCOUNT_TABLES_SQL, FUNNEL_STEPS, REFERENCE_SQL, SUBSCRIPTIONS_SQL
from kpis.core.registry import HEADLINE

DATA = ROOT / "bench_data"


#: The largest company the demo generator makes (it runs out of company names further up).
GENERATED_MAX = 10_000_000


def events_csv(n: int) -> Path:
    """A ``user_id,event,timestamp`` CSV with ``n`` rows from the demo generator, with its Stripe exports beside it
    (made once, then reused). Beyond :data:`GENERATED_MAX` events the largest company's events are repeated with
    other user ids (``usr_x~1``, ``usr_x~2``, ...), each moment's copies together so the file stays in time order,
    the first ``n`` of them (the whole year when ``n`` is a multiple), beside that company's Stripe exports."""
    out = DATA / f"events_{n}"
    path = out / "events.csv"
    if not path.exists() and n > GENERATED_MAX:
        base = events_csv(GENERATED_MAX)
        out.mkdir(parents=True, exist_ok=True)
        for export in base.parent.glob("stripe_*.csv"):
            shutil.copyfile(export, out / export.name)
        copies = -(-n // GENERATED_MAX)
        print(f"writing {n:,} demo events to {path} ({copies} copies of {base.parent.name}) ...", flush=True)
        sql = (f"COPY (SELECT CASE WHEN k = 0 THEN user_id ELSE user_id || '~' || k END AS user_id, event, timestamp "
               f"FROM (SELECT *, row_number() OVER () AS r FROM read_csv('{base}', all_varchar = true)), "
               f"range({copies}) t(k) ORDER BY r, k LIMIT {n}) TO '{path}.partial' (HEADER, FORMAT csv)")
        run_python(f"import duckdb, os; duckdb.connect().execute({sql!r}); os.rename('{path}.partial', '{path}')")
    if not path.exists():
        print(f"writing {n:,} demo events to {path} ...", flush=True)
        run_python(f"import subprocess, sys; subprocess.run([sys.executable, 'sample_data/generate.py', "
                   f"'--events', '{n}', '--out', {str(out)!r}], check=True)")
    return path


def _import(csv: Path, db: Path) -> str:
    return (f"from kpis.store.db import Store; from kpis.ingest.importer import import_file; s = Store({str(db)!r}); "
            f"r = import_file(s, {str(csv)!r}); assert r.status == 'ok', r; s.close()")


def _cli(db: Path, *args: str) -> str:
    return (f"import sys; from kpis.cli.main import main; "
            f"sys.exit(main(['--db', {str(db)!r}, {', '.join(repr(a) for a in args)}]))")


def _reference(db: Path, sql: str) -> str:
    return (f"import duckdb, sys; c = duckdb.connect({str(db)!r}, read_only=True); "
            f"rows = c.execute({sql!r}).fetchall(); sys.stdout.write(chr(10).join(map(str, rows)))")


def bench_import(n: int, rounds: int) -> None:
    """Our import of an events CSV vs DuckDB's own CREATE TABLE AS over read_csv, each into a fresh file."""
    path = events_csv(n)
    db = DATA / "bench_import.duckdb"
    setup = f"import pathlib; [p.unlink() for p in pathlib.Path({str(DATA)!r}).glob('bench_import.duckdb*')]"
    reference = (f"import duckdb; c = duckdb.connect({str(db)!r}); "
                 f"c.execute(\"CREATE TABLE e AS SELECT * FROM read_csv('{path}')\"); c.close()")
    size_mb = path.stat().st_size / 1e6
    compare(f"import {n:,} events CSV ({size_mb:,.0f} MB) vs DuckDB CTAS", _import(path, db), reference,
            rounds=rounds, setup=setup, limit=1.5)


def _databases(n: int) -> tuple[Path, Path]:
    csv = events_csv(n)
    ours, plain = DATA / f"ours_{n}.duckdb", DATA / f"plain_{n}.duckdb"
    if not ours.exists():
        run_python(_import(csv, ours))
    if not plain.exists():
        run_python(f"import duckdb; c = duckdb.connect({str(plain)!r}); c.execute(\"CREATE TABLE events AS "
                   f"SELECT user_id, event, CAST(timestamp AS TIMESTAMP) AS ts FROM read_csv('{csv}')\"); c.close()")
    return ours, plain


#: The engagement part's entries: a label, the command's arguments, the hand-written query it is measured against.
ENGAGEMENT_ENTRIES = (("series dau --grain day", ("series", "dau", "--grain", "day"), "dau"),
                      ("series mau --grain day", ("series", "mau", "--grain", "day"), "mau"),
                      ("cohorts --grain month", ("cohorts", "--grain", "month"), "cohorts"),
                      ("lifecycle --grain month", ("lifecycle", "--grain", "month"), "lifecycle"),
                      ("funnel, 3 steps, 7 days", ("funnel", "--steps", FUNNEL_STEPS, "--window-days", "7"), "funnel"))


def bench_engagement(n: int, rounds: int) -> None:
    """series dau/mau at day grain, month cohorts, the monthly lifecycle and a three-step funnel vs hand-written
    queries over a plain events table."""
    ours, plain = _databases(n)
    cold = run_python(_cli(ours, "series", "dau", "--grain", "day"))
    print(f"first KPI query after an import of {n:,} events: {cold.seconds:.2f}s",
          flush=True)
    for label, args, ref in ENGAGEMENT_ENTRIES:
        compare(f"{label} ({n:,} events) vs hand-written SQL", _cli(ours, *args),
                _reference(plain, REFERENCE_SQL[ref]), rounds=rounds, limit=1.5)


def subscriptions_csv(n: int) -> Path:
    """``n`` generated subscriptions of ``n // 2`` customers ``c0``, ``c1``, ... over three years (made once)."""
    csv = DATA / f"subscriptions_{n}.csv"
    if not csv.exists():
        sql = SUBSCRIPTIONS_SQL.format(customers=max(n // 2, 1), n=n, path=csv)
        run_python(f"import duckdb; duckdb.connect().execute({sql!r})")
    return csv


def account_databases(events: Path, subscriptions: Path, name: str) -> tuple[Path, Path]:
    """Ours (both files imported, the derived tables built) and a plain database of the same files
    (:data:`ACCOUNT_TABLES_SQL`), as ``<name>.duckdb`` and ``<name>_plain.duckdb`` beside ``events`` (made once)."""
    ours, plain = events.parent / f"{name}.duckdb", events.parent / f"{name}_plain.duckdb"
    if not ours.exists():
        for path in (events, subscriptions):
            run_python(_import(path, ours))
        run_python(_cli(ours, "series", "dau", "--grain", "month"))
    if not plain.exists():
        sql = ACCOUNT_TABLES_SQL.format(events=events, subscriptions=subscriptions)
        run_python(f"import duckdb; c = duckdb.connect({str(plain)!r}); c.execute({sql!r}); c.close()")
    return ours, plain


def bench_accounts(n: int, subscriptions: int, rounds: int) -> None:
    """``series mrr_at_risk --grain week`` and ``accounts`` on the last event day, with ``n`` demo events whose users
    belong to the customers of ``subscriptions`` generated subscriptions, vs hand-written queries over plain
    tables."""
    subs = subscriptions_csv(subscriptions)
    events = DATA / f"account_events_{n}_{subscriptions}.csv"
    if not events.exists():
        print(f"writing {n:,} events with account ids to {events} ...", flush=True)
        sql = ACCOUNT_EVENTS_SQL.format(customers=max(subscriptions // 2, 1), source=events_csv(n),
                                        path=f"{events}.partial")
        run_python(f"import duckdb, os; duckdb.connect().execute({sql!r}); os.rename('{events}.partial', '{events}')")
    ours, plain = account_databases(events, subs, f"accounts_{n}_{subscriptions}")
    size = f"{n:,} events, {subscriptions:,} subscriptions"
    compare(f"series mrr_at_risk --grain week ({size}) vs hand-written SQL",
            _cli(ours, "series", "mrr_at_risk", "--grain", "week"), _reference(plain, REFERENCE_SQL["mrr_at_risk"]),
            rounds=rounds, limit=1.5)
    compare(f"accounts, last event day ({size}) vs hand-written SQL", _cli(ours, "accounts"),
            _reference(plain, REFERENCE_SQL["accounts"]), rounds=rounds, limit=1.5)


def bench_revenue(n: int, rounds: int) -> None:
    """All revenue KPIs at week grain vs MRR alone (the same process: store opened, one query, a DataFrame),
    on ``n`` subscriptions over three years."""
    csv = subscriptions_csv(n)
    db = DATA / f"revenue_{n}.duckdb"
    if not db.exists():
        run_python(_import(csv, db))
    ours = (f"from kpis.store.db import Store; from kpis.metrics.revenue import revenue_table; "
            f"s = Store({str(db)!r}); t = revenue_table(s, 'week'); print(len(t))")
    mrr_alone = (f"from kpis.store.db import Store; s = Store({str(db)!r}); "
                 f"print(len(s.df({REFERENCE_SQL['mrr']!r})))")
    compare(f"all revenue KPIs, {n:,} subscriptions, week grain vs MRR alone", ours, mrr_alone, rounds=rounds,
            limit=2.0)


def bench_scaling(sizes: list[int]) -> None:
    """How cost grows with events: our import, the first KPI query (it builds the per-user-day table) and a
    later ``series mau --grain day``, at several sizes, each per million events."""
    for n in sizes:
        db, _ = _databases(n)
        reset = (f"import duckdb; c = duckdb.connect({str(db)!r}); "
                 "c.execute(\"DELETE FROM settings WHERE key = 'user_days_state'\"); c.close()")
        run_python(reset)
        first = run_python(_cli(db, "series", "dau", "--grain", "day"))
        mau = run_python(_cli(db, "series", "mau", "--grain", "day"))
        fresh = DATA / "scaling_import.duckdb"
        for path in DATA.glob("scaling_import.duckdb*"):
            path.unlink()
        imported = run_python(_import(events_csv(n), fresh))
        for path in DATA.glob("scaling_import.duckdb*"):
            path.unlink()
        per = n / 1e6
        print(f"{n:>12,} events: import {imported.seconds:6.2f}s ({imported.seconds / per:.3f}s/M), "
              f"first KPI query {first.seconds:6.2f}s ({first.seconds / per:.3f}s/M), "
              f"series mau --grain day {mau.seconds:5.2f}s", flush=True)


#: The months and quarters that carry a target of every headline KPI in the cold-start part.
TARGET_MONTHS = ("2026-05-01", "2026-06-01", "2026-07-01", "2026-08-01", "2026-09-01", "2026-10-01")
TARGET_QUARTERS = ("2026-01-01", "2026-04-01", "2026-07-01", "2026-10-01")


def _cold_database(n: int, subscriptions: int) -> Path:
    """A database with ``n`` demo events, ``subscriptions`` generated subscriptions and a target of every headline
    KPI for each of :data:`TARGET_MONTHS` and :data:`TARGET_QUARTERS`, its derived tables built (made once)."""
    db = DATA / f"cold_{n}_{subscriptions}.duckdb"
    if db.exists():
        return db
    subs = subscriptions_csv(subscriptions)
    targets = DATA / "cold_targets.csv"
    rows = [f"{k},{g},{p},1" for k in HEADLINE for g, starts in (("month", TARGET_MONTHS),
                                                                  ("quarter", TARGET_QUARTERS)) for p in starts]
    targets.write_text("kpi,grain,period_start,target\n" + "\n".join(rows) + "\n", encoding="utf-8")
    for path in (events_csv(n), subs, targets):
        run_python(_import(path, db))
    run_python(_cli(db, "series", "dau", "--grain", "month"))  # builds the derived tables: cold is the memo only
    return db


def bench_cold(n: int, subscriptions: int, rounds: int) -> None:
    """A cold ``targets list`` and a cold monthly review (fresh processes: nothing memoized) against one ``series``
    call of each table they read (the revenue and the engagement table, at month grain)."""
    db = _cold_database(n, subscriptions)
    counted = run_python(f"from kpis.store.db import Store; from kpis.metrics import engine; "
                         f"from kpis.plan.targets import evaluate; from kpis.review.build import build_review; "
                         f"s = Store({str(db)!r}); evaluate(s); print('targets list', engine.computations()); "
                         f"build_review(s, grain='month'); print('+ review', engine.computations())", capture=True)
    print(f"tables computed in one process: {' '.join(counted.stdout.split())}", flush=True)
    reference = (f"from kpis.store.db import Store; from kpis.metrics.series import series; s = Store({str(db)!r}); "
                 f"series(s, 'mrr', 'month'); series(s, 'mau', 'month'); s.close()")
    size = f"{n:,} events, {subscriptions:,} subscriptions"
    compare(f"cold targets list ({len(HEADLINE) * 10} targets, {size}) vs one series per table",
            _cli(db, "targets", "list"), reference, rounds=rounds, limit=2.0)
    compare(f"cold review --grain month ({size}) vs one series per table",
            _cli(db, "review", "--grain", "month"), reference, rounds=rounds, limit=2.0)


LIMIT_ROWS = 300_000
LIMIT_SECONDS = 0.2


def bench_limit() -> None:
    """A realistic import past its time limit: 300,000 events under a 0.2 s limit, then without one. The test
    suite holds its imports open to reach a limit; this is the run against a real clock, kept out of the tests."""
    csv = DATA / f"limit_{LIMIT_ROWS}.csv"
    if not csv.exists():
        run_python(f"from tests.kpis.test_crash import write_events; from pathlib import Path; "
                   f"write_events(Path({str(csv)!r}), {LIMIT_ROWS})")
    db = DATA / "limit.duckdb"
    for path in DATA.glob("limit.duckdb*"):
        path.unlink()
    stopped_code = (f"from kpis.store.db import Store; from kpis.ingest.importer import import_file; "
                    f"from kpis.core.errors import InputError; s = Store({str(db)!r})\n"
                    f"try:\n    import_file(s, {str(csv)!r}, timeout={LIMIT_SECONDS})\n"
                    f"except InputError:\n    pass\n"
                    f"else:\n    raise AssertionError('the import was not stopped')\ns.close()")
    stopped = run_python(stopped_code)
    whole = run_python(_import(csv, db))
    for path in DATA.glob("limit.duckdb*"):
        path.unlink()
    print(f"import of {LIMIT_ROWS:,} events under a {LIMIT_SECONDS} s limit: stopped, nothing stored (process "
          f"{stopped.seconds:.2f}s); the same import without a limit: {whole.seconds:.2f}s", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=("import", "limit", "engagement", "accounts", "revenue", "cold", "scaling",
                                           "ui", "load", "pages", "scale"))
    parser.add_argument("--subscriptions", type=int, default=100_000,
                        help="subscriptions in the accounts and cold-start parts (with --events events)")
    parser.add_argument("--scaling", default="1000000,10000000,50000000",
                        help="event counts for the linear-growth check (comma separated)")
    parser.add_argument("--scale", default="1000000,10000000",
                        help="event counts of the DuckDB-vs-Spark part (comma separated)")
    parser.add_argument("--large", type=int, default=100_000_000,
                        help="events of the scale part's DuckDB-alone database (0: skip it)")
    parser.add_argument("--sessions", type=int, help="concurrent browser sessions for the load part (default 8)")
    parser.add_argument("--load-rounds", type=int, help="rounds through every page, per load session (default 1)")
    args = parser.parse_args(argv)
    DATA.mkdir(exist_ok=True)
    if args.only in (None, "import"):
        bench_import(args.events, args.rounds)
    if args.only in (None, "limit"):
        bench_limit()
    if args.only in (None, "engagement"):
        bench_engagement(args.events, args.rounds)
    if args.only in (None, "accounts"):
        bench_accounts(args.events, args.subscriptions, args.rounds)
    if args.only in (None, "revenue"):
        bench_revenue(100_000, args.rounds)
    if args.only in (None, "cold"):
        bench_cold(args.events, args.subscriptions, args.rounds)
    if args.only in (None, "scaling"):
        bench_scaling([int(x) for x in args.scaling.split(",")])
    if args.only in (None, "scale"):
        from bench import scale  # starts Spark: only when asked

        scale.main([int(x) for x in args.scale.split(",")], args.subscriptions, args.rounds, args.large)
    if args.only in (None, "ui"):
        from bench import ui  # imports streamlit: only when asked

        ui.main(args.events)
    if args.only in (None, "load"):
        from bench import load  # imports playwright: only when asked

        load.main(sessions=args.sessions or load.SESSIONS, rounds=args.load_rounds or load.ROUNDS)
    if args.only in (None, "pages"):
        from bench import pages  # imports playwright: only when asked

        pages.main(args.events)
    return 0


if __name__ == "__main__":
    sys.exit(main())
