"""Argument types shared by every command of ``python -m kpis``: one wording for one mistake."""

from __future__ import annotations

import argparse
from datetime import date

#: Exit codes: bad input (a file, an argument) and a failure of the machine (a full disk, a damaged database).
EXIT_BAD_INPUT = 2
EXIT_FAILURE = 1


def date_arg(text: str) -> date:
    """An ISO date (``2026-01-05``); anything else is a usage error that says what was expected.

    >>> date_arg("2026-01-05")
    datetime.date(2026, 1, 5)
    """
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date such as 2026-01-05, got {text!r}") from None


def segment_arg(text: str) -> tuple[str, str]:
    """``KEY=VALUE`` (``segment=Enterprise``, ``plan=Pro``): the key lower case, both trimmed.

    >>> segment_arg(" Segment = Enterprise")
    ('segment', 'Enterprise')
    """
    key, sep, value = text.partition("=")
    if not sep or not key.strip() or not value.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE such as segment=Enterprise, got {text!r}")
    return key.strip().lower(), value.strip()


def by_arg(text: str) -> str:
    """What ``series --by`` breaks a KPI down by (``plan``, ``reason`` or a customer attribute): lower case,
    trimmed, as attributes are stored.

    >>> by_arg(" Country ")
    'country'
    """
    name = text.strip().lower()
    if not name:
        raise argparse.ArgumentTypeError("expected plan, reason or a customer attribute such as country, got ''")
    return name
