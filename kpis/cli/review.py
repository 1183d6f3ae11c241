"""``review [--as-of D] [--grain week|month] [--format md|html] [--segment KEY=VALUE] [--output FILE]``: the
review of the last complete week or month (:mod:`kpis.review.build`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from kpis.cli.args import date_arg, segment_arg
from kpis.core.errors import InputError
from kpis.core.registry import REVIEW_GRAINS

if TYPE_CHECKING:
    from kpis.store.db import Store


def _cmd_review(store: Store, args: argparse.Namespace) -> int:
    from kpis.review import build
    from kpis.review.html import render_html
    from kpis.review.markdown import render_markdown
    review = build.build_review(store, args.as_of, args.grain, args.segment)
    text = render_html(review) if args.format == "html" else render_markdown(review)
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot write {args.output}: {exc.strerror or exc}") from None
        print(f"wrote the {review.grain}ly review of {review.period_start.isoformat()} to {args.output}")
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``review [--as-of D] [--grain week|month] [--format md|html] [--segment KEY=VALUE]
    [--output FILE]`` on the CLI's subparsers (``run(store, args) -> exit code``)."""
    p = subparsers.add_parser("review", help="the review of the last complete week or month (Markdown or HTML)")
    p.add_argument("--as-of", type=date_arg, metavar="D",
                   help="review the last complete period ending on or before D (default: the data's as-of date)")
    p.add_argument("--grain", choices=REVIEW_GRAINS, default="week")
    p.add_argument("--format", choices=("md", "html"), default="md")
    p.add_argument("--segment", type=segment_arg, metavar="KEY=VALUE")
    p.add_argument("--output", metavar="FILE", help="write to FILE instead of standard output")
    p.set_defaults(run=_cmd_review, reads_kpis=True)
