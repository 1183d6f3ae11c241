"""The command line: ``python -m kpis [--db PATH] COMMAND``.

Every failure is a one-screen message on stderr and a non-zero exit; no traceback reaches the user.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import duckdb

from kpis.cli.args import date_arg, segment_arg
from kpis.core.csv_safety import csv_line
from kpis.core.errors import DataError, InputError
from kpis.core.registry import COHORT_GRAINS, GRAINS
from kpis.ingest.importer import import_file, undo
from kpis.metrics.reporting import LastComplete, last_complete_period
from kpis.ops import annotations
from kpis.review import build as review
from kpis.store.db import Store, default_path

EXIT_BAD_INPUT = 2
EXIT_FAILURE = 1


def _progress_line(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _cmd_import(store: Store, args: argparse.Namespace) -> int:
    """Import each file; exit 2 when a file was bad, 1 when the machine failed (a full disk, ...)."""
    code = 0
    progress = _progress_line if args.progress else None
    for path in args.files:
        try:
            print(import_file(store, path, who=args.who, progress=progress).summary())
        except InputError as exc:
            code = code or EXIT_BAD_INPUT
            print(f"error: {exc}", file=sys.stderr)
        except (DataError, OSError, duckdb.Error) as exc:  # one file's failure never stops the others
            code = EXIT_FAILURE
            print(f"error: {os.path.basename(path)}: {str(exc).splitlines()[0]}", file=sys.stderr)
    return code


def _cmd_imports(store: Store, args: argparse.Namespace) -> int:
    rows = store.query("""SELECT import_id, status, imported_at, source, rows_added, rows_updated, duplicates,
                                 rows_rejected, imported_by, filename, coalesce(notes, '')
                          FROM imports ORDER BY import_id""")
    if not rows:
        print("no imports yet")
        return 0
    header = ("id", "status", "imported at (UTC)", "source", "added", "updated", "duplicates", "rejected", "by",
              "file", "notes")
    table = [header] + [(str(r[0]), r[1], f"{r[2]:%Y-%m-%d %H:%M}", r[3], *(_count(n) for n in r[4:8]), r[8], r[9],
                         r[10]) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return 0


def _count(value: int | None) -> str:
    """A row count for the history; ``-`` for an import that stored nothing (interrupted, timed out)."""
    return "-" if value is None else f"{value:,}"


def _cmd_undo(store: Store, args: argparse.Namespace) -> int:
    result = undo(store, args.import_id)
    print(result.message)
    if result.backup is not None:
        print(f"note: the database before the undo is saved as {result.backup}", file=sys.stderr)
    return 0


def _cmd_demo(store: Store, args: argparse.Namespace) -> int:
    from kpis.ops.demo import load_demo, remove_demo_with_backup

    if args.remove:
        removal = remove_demo_with_backup(store)
        print(removal.summary())
        for line in removal.messages:
            print(line)
        return 0
    for result in load_demo(store):
        print(result.summary())
    return 0


def _cmd_backup(store: Store, args: argparse.Namespace) -> int:
    from kpis.ops.backup import backup

    written = backup(store, args.path)
    print(f"backed up {store.path} to {written} ({written.stat().st_size:,} bytes)")
    return 0


def _cmd_backups(store: Store, args: argparse.Namespace) -> int:
    from kpis.ops.backup import automatic_backups, backup_dir, backups_kept

    found = automatic_backups(store.path)
    if not found:
        print(f"no automatic backups in {backup_dir(store.path)}")
        return 0
    print(f"automatic backups in {backup_dir(store.path)}, newest first (the newest {backups_kept()} are kept):")
    for path in reversed(found):
        print(f"{path.name}  {path.stat().st_size:,} bytes")
    return 0


def _run_restore(db: Path, args: argparse.Namespace) -> int:
    """``restore`` opens no store first: the database may be the damaged thing being replaced."""
    from kpis.ops.backup import restore

    print(restore(db, args.path).summary())
    return 0


def _cmd_series(store: Store, args: argparse.Namespace) -> int:
    from kpis.metrics.series import plain_decimal, series

    table = series(store, args.kpi, args.grain, start=args.start, end=args.end, segment=args.segment,
                   event=args.event)
    lines = ["period_start,value"]
    lines += [f"{p.isoformat()},{plain_decimal(v)}" for p, v in zip(table["period_start"], table["value"],
                                                                     strict=True)]
    print("\n".join(lines))
    return 0


def _cmd_cohorts(store: Store, args: argparse.Namespace) -> int:
    from kpis.metrics.retention import cohorts
    from kpis.metrics.series import plain_decimal

    table = cohorts(store, args.grain, args.mode, end=args.end, segment=args.segment)
    print("cohort_start,period,cohort_size,retained,retention")
    for row in table.itertuples(index=False):
        print(f"{row.cohort_start.isoformat()},{row.period},{row.cohort_size},{row.retained},"
              f"{plain_decimal(row.retention)}")
    return 0


def _cmd_curve(store: Store, args: argparse.Namespace) -> int:
    from kpis.metrics.engagement import power_curve

    table = power_curve(store, args.grain, args.period, segment=args.segment)
    print("days_active,users")
    for row in table.itertuples(index=False):
        print(f"{row.days_active},{row.users}")
    return 0


def _cmd_kpis(store: Store, args: argparse.Namespace) -> int:
    from kpis.core.registry import KPIS

    print("id,label,unit,source,direction,grains,definition")
    for k in KPIS.values():
        direction = "higher is better" if k.higher_is_better else "lower is better"
        definition = k.definition.replace('"', '""')
        print(f'{k.id},{k.label},{k.unit},{k.source},{direction},{"|".join(k.grains)},"{definition}"')
    return 0


SETTINGS = ("timezone", "inactive_events", "currency", "event_sources", "public_url")


def _cmd_settings(store: Store, args: argparse.Namespace) -> int:
    import json

    from kpis.metrics.activity import set_event_sources, set_timezone
    from kpis.ops.sharing import set_public_url

    if args.value is None:
        for key in ([args.key] if args.key else SETTINGS):
            print(f"{key}={store.get_setting(key) or ''}")
        return 0
    if args.key == "timezone":
        set_timezone(store, args.value)
    elif args.key == "inactive_events":
        names = [n.strip() for n in args.value.split(",") if n.strip()]
        store.set_setting("inactive_events", json.dumps(names))
    elif args.key == "event_sources":
        set_event_sources(store, [n.strip() for n in args.value.split(",") if n.strip()])
    elif args.key == "public_url":
        set_public_url(store, args.value)
    else:
        code = args.value.strip().upper()
        if len(code) != 3 or not code.isalpha():
            raise InputError(f"expected a three-letter currency code such as EUR, got {args.value!r}")
        store.set_setting("currency", code)
    print(f"{args.key}={store.get_setting(args.key)}")
    return 0


def _cmd_targets(store: Store, args: argparse.Namespace) -> int:
    from kpis.plan.targets import evaluate, load_targets

    if args.action == "import":
        if not args.file:
            raise InputError("targets import needs FILE (kpi,grain,period_start,target[,owner,note])")
        print(import_file(store, args.file, who=args.who, expect=("targets_csv",)).summary())
        return 0
    if args.action == "export":
        print("kpi,grain,period_start,target,owner,note")
        for t in load_targets(store).itertuples(index=False):
            print(csv_line([t.kpi, t.grain, t.period_start, t.target, t.owner, t.note]))
        return 0
    table = evaluate(store, as_of=args.as_of)
    _note_period(store, "day", args.as_of, lambda period: period.as_of_statement("targets judged"))
    print("kpi,grain,period_start,target,actual,projected_value,attainment,status,projected,owner,note")
    for t in table.itertuples(index=False):
        print(csv_line([t.kpi, t.grain, t.period_start, t.target, t.actual, t.projected_value, t.attainment,
                         t.status, t.projected, t.owner, t.note]))
    return 0


def _note_period(store: Store, grain: str, end: date | None, say: Callable[[LastComplete], str]) -> None:
    """Say on stderr which period or day the output speaks of, and why (stdout stays CSV)."""
    period = last_complete_period(store, grain, end=end)
    if period is not None:
        print(f"note: {say(period)}", file=sys.stderr)


def _cmd_anomalies(store: Store, args: argparse.Namespace) -> int:
    from kpis.plan.anomalies import anomalies

    table = anomalies(store, args.grain, as_of=args.end, segment=args.segment)
    _note_period(store, args.grain, args.end, lambda period: period.statement("anomalies of"))
    print("kpi,period_start,value,expected,low,high,direction")
    for t in table.itertuples(index=False):
        print(csv_line([t.kpi, t.period_start, t.value, t.expected, t.low, t.high, t.direction]))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used by the docs to list the commands)."""
    parser = argparse.ArgumentParser(prog="python -m kpis", description="CPO KPI dashboard: data and KPIs.")
    parser.add_argument("--db", help=f"database file (default: $KPI_DB or {default_path()})")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser("import", help="import export files (CSV, JSON lines, gzipped or not)")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--who", default="cli", help="recorded in the import log")
    p.add_argument("--progress", action="store_true", help="print each step of each import on stderr")
    p.set_defaults(run=_cmd_import)

    p = commands.add_parser("imports", help="the import history")
    p.set_defaults(run=_cmd_imports)

    p = commands.add_parser("undo", help="remove exactly what one import stored (backs the database up first)")
    p.add_argument("import_id", type=int, metavar="IMPORT_ID")
    p.set_defaults(run=_cmd_undo)

    p = commands.add_parser("demo", help="load the demo company into the database (--remove: remove it)")
    p.add_argument("--remove", action="store_true", help="remove the demo company (backs the database up first)")
    p.set_defaults(run=_cmd_demo)

    p = commands.add_parser("backup", help="write a consistent copy of the database to PATH (a new file or a folder)")
    p.add_argument("path", metavar="PATH")
    p.set_defaults(run=_cmd_backup)

    p = commands.add_parser("restore", help="replace the database with the backup PATH (stop the dashboard first)")
    p.add_argument("path", metavar="PATH")
    p.set_defaults(run=None, run_path=_run_restore)

    p = commands.add_parser("backups", help="the automatic backups (made before each undo, demo removal, restore)")
    p.set_defaults(run=_cmd_backups)

    p = commands.add_parser("series", help="one KPI per period, as CSV (period_start,value)")
    p.add_argument("kpi", metavar="KPI")
    p.add_argument("--grain", choices=GRAINS, default="week")
    p.add_argument("--start", type=date_arg, metavar="D")
    p.add_argument("--end", type=date_arg, metavar="D", help="the as-of date")
    p.add_argument("--segment", type=segment_arg, metavar="KEY=VALUE")
    p.add_argument("--event", metavar="NAME", help="the event, for adoption")
    p.set_defaults(run=_cmd_series)

    p = commands.add_parser("cohorts", help="retention cohorts as CSV")
    p.add_argument("--grain", choices=COHORT_GRAINS, default="week")
    p.add_argument("--mode", choices=("n-day", "unbounded"), default="n-day")
    p.add_argument("--end", type=date_arg, metavar="D", help="the as-of date")
    p.add_argument("--segment", type=segment_arg, metavar="KEY=VALUE")
    p.set_defaults(run=_cmd_cohorts)

    p = commands.add_parser("curve", help="the power-user curve of one week or month, as CSV")
    p.add_argument("--grain", choices=COHORT_GRAINS, default="week")
    p.add_argument("--period", type=date_arg, metavar="D", required=True)
    p.add_argument("--segment", type=segment_arg, metavar="KEY=VALUE")
    p.set_defaults(run=_cmd_curve)

    p = commands.add_parser("settings", help="show or set timezone, inactive_events (comma separated), currency, "
                            "event_sources (comma separated, first choice first), public_url")
    p.add_argument("key", nargs="?", choices=SETTINGS)
    p.add_argument("value", nargs="?")
    p.set_defaults(run=_cmd_settings)

    p = commands.add_parser("targets", help="targets: list (with actual, attainment, status), import FILE, export")
    p.add_argument("action", choices=("list", "import", "export"))
    p.add_argument("file", nargs="?", metavar="FILE")
    p.add_argument("--as-of", type=date_arg, metavar="D", dest="as_of")
    p.add_argument("--who", default="cli")
    p.set_defaults(run=_cmd_targets)

    p = commands.add_parser("anomalies", help="KPIs whose last complete period breaks their trend, as CSV")
    p.add_argument("--grain", choices=GRAINS[GRAINS.index("week"):], default="week")
    p.add_argument("--end", type=date_arg, metavar="D", help="the as-of date")
    p.add_argument("--segment", type=segment_arg, metavar="KEY=VALUE")
    p.set_defaults(run=_cmd_anomalies)

    p = commands.add_parser("kpis", help="every KPI we compute, as CSV")
    p.set_defaults(run=_cmd_kpis)

    annotations.add_commands(commands)  # annotate add DATE TEXT | list | remove ID
    review.add_commands(commands)  # review [--as-of D] [--grain week|month] [--format md|html] ...
    return parser


class Terminated(BaseException):
    """SIGTERM (``kill``, a container stopping) as an exception, so that an import rolls back and its temporary
    copies are removed on the way out, as with Ctrl-C."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


@contextmanager
def stop_cleanly_on_sigterm() -> Iterator[None]:
    """While inside, SIGTERM raises :class:`Terminated` in the main thread (elsewhere: nothing changes)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return the exit code."""
    args = build_parser().parse_args(argv)
    with stop_cleanly_on_sigterm():
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    run: Callable[[Store, argparse.Namespace], int] | None = args.run
    try:
        if run is None:
            run_path: Callable[[Path, argparse.Namespace], int] = args.run_path
            return run_path(Path(args.db) if args.db else default_path(), args)
        with Store(args.db) as store:
            return run(store, args)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except (OSError, duckdb.Error) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except Exception as exc:  # the last guard: a short message, never a traceback
        print(f"error: unexpected {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("interrupted; nothing half-done was stored", file=sys.stderr)
        return 130
    except Terminated:
        print("stopped (SIGTERM); nothing half-done was stored", file=sys.stderr)
        return 128 + signal.SIGTERM


if __name__ == "__main__":
    sys.exit(main())
