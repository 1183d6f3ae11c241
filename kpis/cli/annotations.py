"""``annotate add DATE TEXT``, ``annotate list [--start D] [--end D]`` and ``annotate remove ID``: notes on dates
(:mod:`kpis.plan.annotations`)."""

from __future__ import annotations

import argparse
from datetime import date
from typing import TYPE_CHECKING

from kpis.cli.args import date_arg
from kpis.core.defaults import MAX_NOTE_TEXT

if TYPE_CHECKING:
    from kpis.store.db import Store


def _cmd_add(store: Store, args: argparse.Namespace) -> int:
    from kpis.plan import annotations as notes
    annotation_id = notes.add(store, args.day, " ".join(args.text), who=args.who)
    print(f"added annotation {annotation_id} on {args.day.isoformat()}")
    return 0


def _cmd_list(store: Store, args: argparse.Namespace) -> int:
    from kpis.core.csv_safety import csv_line
    from kpis.plan import annotations as notes
    if args.start or args.end:
        shown = notes.between(store, args.start or date.min, args.end or date.max)
    else:
        shown = notes.all_annotations(store)
    print("id,day,text")
    for row in shown.itertuples(index=False):  # csv_line quotes a CR too: no cell can start a row of its own
        print(csv_line([row.annotation_id, row.day, row.text]))
    return 0


def _cmd_remove(store: Store, args: argparse.Namespace) -> int:
    from kpis.plan import annotations as notes
    print(notes.remove(store, args.annotation_id))
    return 0


def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``annotate add DATE TEXT``, ``annotate list [--start D] [--end D]`` and ``annotate remove ID``
    on the CLI's subparsers; each sets ``run(store, args) -> exit code``."""
    parser = subparsers.add_parser("annotate", help="notes on dates (add, list, remove), shown on charts and "
                                                    "in the review")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    p = actions.add_parser("add", help="add a note on a date")
    p.add_argument("day", type=date_arg, metavar="DATE")
    p.add_argument("text", nargs="+", metavar="TEXT", help=f"the note (at most {MAX_NOTE_TEXT} characters)")
    p.add_argument("--who", default="cli", help="recorded with the note")
    p.set_defaults(run=_cmd_add)

    p = actions.add_parser("list", help="every note as CSV: id,day,text")
    p.add_argument("--start", type=date_arg, metavar="D", help="the first day to list")
    p.add_argument("--end", type=date_arg, metavar="D", help="the last day to list")
    p.set_defaults(run=_cmd_list)

    p = actions.add_parser("remove", help="delete one note")
    p.add_argument("annotation_id", type=int, metavar="ID")
    p.set_defaults(run=_cmd_remove)
