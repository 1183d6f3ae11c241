"""The command line: ``python -m kpis [--db PATH] COMMAND``.

Every failure is a one-screen message on stderr and a non-zero exit; no traceback reaches the user.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import duckdb

from kpis.cli import annotations, data, impact, numbers, review
from kpis.cli.args import EXIT_BAD_INPUT, EXIT_FAILURE
from kpis.core.errors import DataError, InputError
from kpis.store import engines
from kpis.store.db import Store, default_path


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used by the docs to list the commands), commands in the order of ``--help``."""
    parser = argparse.ArgumentParser(prog="python -m kpis", description="CPO KPI dashboard: data and KPIs.")
    parser.add_argument("--db", help=f"database file (default: $KPI_DB or {default_path()})")
    parser.add_argument("--engine", choices=engines.ENGINES,
                        help="what computes the KPIs of series, cohorts, lifecycle, curve, targets, anomalies, "
                             "review and warm (default: $KPI_ENGINE or duckdb); spark reads the lake of --lake")
    parser.add_argument("--lake", help="the lake Spark reads: a folder or URI written by export ($KPI_LAKE)")
    parser.add_argument("--spark-remote", metavar="sc://HOST:PORT",
                        help="a Spark Connect server: a cluster or Databricks ($KPI_SPARK_REMOTE)")
    parser.add_argument("--spark-master", metavar="MASTER",
                        help="a Spark started by this command, such as local[2] ($KPI_SPARK_MASTER)")
    parser.set_defaults(reads_kpis=False)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    data.add_commands(commands)  # import, imports, undo, demo, backup, restore, backups, export
    numbers.add_series_commands(commands)  # series, cohorts, lifecycle, funnel, curve
    data.add_settings_command(commands)  # settings [KEY [VALUE]]
    numbers.add_plan_commands(commands)  # targets, anomalies, kpis
    annotations.add_commands(commands)  # annotate add DATE TEXT | list | remove ID
    review.add_commands(commands)  # review [--as-of D] [--grain week|month] [--format md|html] ...
    impact.add_commands(commands)  # impact [--start D] [--end D] [--segment KEY=VALUE] [--min-users N]
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
            if not args.reads_kpis:
                return run(store, args)
            choice = engines.choose(args.engine, args.lake, args.spark_remote, args.spark_master)
            engine = engines.open_engine(store, choice)
            try:
                return run(engine, args)
            finally:
                if engine is not store:
                    engine.close()
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
