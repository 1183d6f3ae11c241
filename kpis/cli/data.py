"""The data commands: ``import``, ``imports``, ``undo``, ``demo``, ``backup``, ``restore``, ``backups``,
``export`` and ``settings``. Each sets ``run(store, args) -> exit code`` (``restore``: ``run_path(db, args)``,
since the database may be the damaged thing being replaced)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from kpis.cli.args import EXIT_BAD_INPUT, EXIT_FAILURE
from kpis.core.errors import DataError, InputError
from kpis.store import settings

if TYPE_CHECKING:
    from kpis.store.db import Store


def _progress_line(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _cmd_import(store: Store, args: argparse.Namespace) -> int:
    """Import each file; exit 2 when a file was bad, 1 when the machine failed (a full disk, ...)."""
    from kpis.ingest.importer import import_file
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
    from kpis.ops.status import import_log
    rows = import_log(store, oldest_first=True)
    if not rows:
        print("no imports yet")
        return 0
    header = ("id", "status", "imported at (UTC)", "source", "added", "updated", "duplicates", "rejected", "by",
              "file", "notes")
    counts = ("rows_added", "rows_updated", "duplicates", "rows_rejected")
    table = [header] + [(str(r["import_id"]), r["status"], f"{r['imported_at']:%Y-%m-%d %H:%M}", r["source"],
                         *(_count(r[c]) for c in counts), r["imported_by"], r["filename"], r["notes"] or "")
                        for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return 0


def _count(value: int | None) -> str:
    """A row count for the history; ``-`` for an import that stored nothing (interrupted, timed out)."""
    return "-" if value is None else f"{value:,}"


def _cmd_undo(store: Store, args: argparse.Namespace) -> int:
    from kpis.ingest.importer import undo
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
    from kpis.store.backup import backup
    written = backup(store, args.path)
    print(f"backed up {store.path} to {written} ({written.stat().st_size:,} bytes)")
    return 0


def _cmd_backups(store: Store, args: argparse.Namespace) -> int:
    from kpis.store.backup import automatic_backups, backup_dir, backups_kept
    found = automatic_backups(store.path)
    if not found:
        print(f"no automatic backups in {backup_dir(store.path)}")
        return 0
    print(f"automatic backups in {backup_dir(store.path)}, newest first (the newest {backups_kept()} are kept):")
    for path in reversed(found):
        print(f"{path.name}  {path.stat().st_size:,} bytes")
    return 0


def _cmd_export(store: Store, args: argparse.Namespace) -> int:
    from kpis.store.lake import export_lake
    print(export_lake(store, args.dir, replace=args.replace).summary())
    return 0


def _run_restore(db: Path, args: argparse.Namespace) -> int:
    """``restore`` opens no store first: the database may be the damaged thing being replaced."""
    from kpis.store.backup import restore
    print(restore(db, args.path).summary())
    return 0


SETTINGS = settings.STORED


def _cmd_settings(store: Store, args: argparse.Namespace) -> int:
    from kpis.ingest.sources.detect import event_source_names
    from kpis.metrics.activation import event_names
    if args.value is None:
        for key in ([args.key] if args.key else SETTINGS):
            print(f"{key}={store.get_setting(key) or ''}")
        return 0
    note = settings.set_from_text(store, args.key, args.value, event_source_names(), event_names(store))
    print(f"{args.key}={store.get_setting(args.key)}")
    if note:
        print(note, file=sys.stderr)
    return 0


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the commands that change or list what is stored (import, undo, demo, backups)."""
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

    p = commands.add_parser("export", help="write the lake: the canonical tables as Parquet, events partitioned by "
                            "day (docs/scale.md)")
    p.add_argument("dir", metavar="DIR", help="a new or empty folder")
    p.add_argument("--replace", action="store_true", help="replace the lake DIR holds, once the new one is complete")
    p.set_defaults(run=_cmd_export)


def add_settings_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``settings [KEY [VALUE]]``."""
    p = commands.add_parser("settings", help="show or set timezone, inactive_events (comma separated), currency, "
                            "event_sources (comma separated, first choice first), public_url, activation_event "
                            "(empty: unset), activation_window_days (1 to 90, default 7), at_risk_drop (a fraction)")
    p.add_argument("key", nargs="?", choices=SETTINGS)
    p.add_argument("value", nargs="?")
    p.set_defaults(run=_cmd_settings)
