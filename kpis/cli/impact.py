"""``impact [--start D] [--end D] [--segment KEY=VALUE] [--min-users N]``: feature impact, a correlation
(:mod:`kpis.metrics.impact`), as CSV."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from kpis.cli.args import date_arg, segment_arg
from kpis.core.defaults import IMPACT_MIN_USERS
from kpis.core.errors import InputError

if TYPE_CHECKING:
    from kpis.store.db import Store

HEADER = "event,users_did,retention_did,users_did_not,retention_did_not,difference"


def _cmd_impact(store: Store, args: argparse.Namespace) -> int:
    if args.start is not None and args.end is not None and args.start > args.end:
        raise InputError(f"--start {args.start.isoformat()} is after --end {args.end.isoformat()}")
    from kpis.core.csv_safety import csv_line
    from kpis.metrics.impact import impact
    table = impact(store, start=args.start, end=args.end, segment=args.segment, min_users=args.min_users)
    print(HEADER)
    for row in table.itertuples(index=False):
        print(csv_line([row.event, row.users_did, row.retention_did, row.users_did_not, row.retention_did_not,
                        row.difference]))
    return 0


def min_users_arg(text: str) -> int:
    """A whole number of users, at least 1.

    >>> min_users_arg(" 5 ")
    5
    """
    try:
        number = int(text.strip())
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of users, at least 1, got {text!r}")
    return number


def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``impact`` on the CLI's subparsers."""
    p = subparsers.add_parser("impact", help="feature impact (a correlation): week-4 retention of new users who did "
                                             "each event in their first week against those who did not, as CSV")
    p.add_argument("--start", type=date_arg, metavar="D", help="the first first day of the new users counted")
    p.add_argument("--end", type=date_arg, metavar="D", help="the as-of date")
    p.add_argument("--segment", type=segment_arg, metavar="KEY=VALUE")
    p.add_argument("--min-users", type=min_users_arg, default=IMPACT_MIN_USERS, metavar="N", dest="min_users",
                   help="leave out events done by fewer than N new users in their first week "
                        f"(default {IMPACT_MIN_USERS})")
    p.set_defaults(run=_cmd_impact, reads_kpis=True)
