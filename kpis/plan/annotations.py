"""Notes on dates (a launch, a price change, an outage): drawn on every time chart and listed in the review.

Stored in the ``annotations`` table (schema 2). Every value goes into SQL as a parameter, so a note is stored
exactly as written, quotes and all.

>>> from kpis.store.db import Store
>>> with Store(":memory:") as store:
...     first = add(store, date(2026, 11, 16), "  Launched AI Insights  ")
...     notes = between(store, date(2026, 11, 16), date(2026, 11, 22))
>>> first, notes[["annotation_id", "day", "text"]].to_dict("records")
(1, [{'annotation_id': 1, 'day': datetime.date(2026, 11, 16), 'text': 'Launched AI Insights'}])
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd

from kpis.core.defaults import MAX_NOTE_TEXT
from kpis.core.errors import InputError
from kpis.store.db import Store, first

#: The longest note, in characters (after stripping spaces): a line on a chart, not an essay.
MAX_TEXT = MAX_NOTE_TEXT
#: Columns of :func:`between` and :func:`all_annotations`, in order.
COLUMNS = ("annotation_id", "day", "text", "created_by")


def _clean_text(text: object) -> str:
    if not isinstance(text, str):
        raise InputError("an annotation's text must be text")
    cleaned = text.strip()
    if not cleaned:
        raise InputError("an annotation needs a text, such as 'Launched AI Insights'")
    if len(cleaned) > MAX_TEXT:
        raise InputError(f"an annotation's text has at most {MAX_TEXT} characters, this one has {len(cleaned)}")
    return cleaned


def _clean_day(day: object) -> date:
    if isinstance(day, datetime):
        return day.date()
    if isinstance(day, date):
        return day
    if isinstance(day, str):
        try:
            return date.fromisoformat(day.strip())
        except ValueError:
            pass
    raise InputError(f"expected a date such as 2026-11-16, got {day!r}")


def add(store: Store, day: date, text: str, who: str = "local") -> int:
    """Store a note on ``day`` and return its id.

    The text is stripped of surrounding spaces; it must not be empty and has at most :data:`MAX_TEXT`
    characters, else :class:`~kpis.core.errors.InputError` says why (and nothing is stored).

    >>> from kpis.store.db import Store
    >>> with Store(":memory:") as store:
    ...     add(store, date(2026, 11, 16), "   ")
    Traceback (most recent call last):
    ...
    kpis.core.errors.InputError: an annotation needs a text, such as 'Launched AI Insights'
    """
    cleaned, the_day = _clean_text(text), _clean_day(day)
    created_at = datetime.now(UTC).replace(tzinfo=None)
    with store.transaction() as cur:
        row = first(cur.execute(
            "INSERT INTO annotations (day, text, created_by, created_at) VALUES (?, ?, ?, ?) "
            "RETURNING annotation_id", [the_day, cleaned, who, created_at]))
    assert row is not None  # INSERT ... RETURNING always returns the new row
    return int(row[0])


def remove(store: Store, annotation_id: int) -> str:
    """Delete one note; returns a one-line message. An unknown id is an :class:`~kpis.core.errors.InputError`."""
    try:
        key = int(annotation_id)
    except (TypeError, ValueError):
        raise InputError(f"an annotation id is a whole number, got {annotation_id!r}") from None
    with store.transaction() as cur:
        row = first(cur.execute("DELETE FROM annotations WHERE annotation_id = ? RETURNING day, text", [key]))
    if row is None:
        raise InputError(f"no annotation {key}: see 'annotate list' for the ids")
    return f"removed annotation {key} ({row[0].isoformat()}: {row[1]})"


def _frame(rows: list[tuple[object, ...]]) -> pd.DataFrame:
    return pd.DataFrame({
        "annotation_id": pd.Series([int(r[0]) for r in rows], dtype="int64"),
        "day": pd.Series([r[1] for r in rows], dtype="object"),
        "text": pd.Series([r[2] for r in rows], dtype="str"),
        "created_by": pd.Series([r[3] for r in rows], dtype="object"),
    })


def between(store: Store, first_day: date, last_day: date) -> pd.DataFrame:
    """``annotation_id, day, text, created_by`` of the notes from ``first_day`` to ``last_day`` (both
    included), by day then id. ``day`` holds :class:`datetime.date` values."""
    rows = store.query(f"SELECT {', '.join(COLUMNS)} FROM annotations WHERE day BETWEEN ? AND ? "
                       "ORDER BY day, annotation_id", [_clean_day(first_day), _clean_day(last_day)])
    return _frame(rows)


def all_annotations(store: Store) -> pd.DataFrame:
    """Every note, as :func:`between` returns them."""
    return _frame(store.query(f"SELECT {', '.join(COLUMNS)} FROM annotations ORDER BY day, annotation_id"))
