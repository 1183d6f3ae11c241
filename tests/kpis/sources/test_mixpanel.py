"""Mixpanel raw export: JSON lines into events; seconds or milliseconds; duplicates by Mixpanel's own key."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from kpis.core.errors import InputError
from kpis.ingest.importer import import_file, undo
from kpis.ingest.sources.base import sniff
from kpis.ingest.sources.detect import detect
from kpis.ingest.textfile import open_text
from kpis.store.db import Store

Write = Callable[..., Path]


def _line(event: str, time: Any, distinct_id: Any, insert_id: str | None = None, **props: Any) -> str:
    properties = {"time": time, "distinct_id": distinct_id, "mp_lib": "web", "$browser": "Chrome"} | props
    if insert_id is not None:
        properties["$insert_id"] = insert_id
    return json.dumps({"event": event, "properties": properties}) + "\n"


def _key(event: str, user: str, ts: str, insert_id: str) -> str:
    """Mixpanel's de-duplication key as we store it in ``uuid``."""
    return json.dumps([event, user, ts, insert_id], separators=(",", ":"))


WEEK_1 = (
    _line("Signed up", 1767571200, "u1", "a1", account_id="acme")  # 2026-01-05 00:00:00 UTC
    + _line("Signed up", 1767571200, "u1", "a1", account_id="acme")  # the same event exported twice
    + _line("Viewed report", 1767614400123, 42, "a2", company=["globex"])  # milliseconds, numeric distinct_id
    + _line("Viewed report", 1767614400, "u3", "a2")  # same $insert_id, other event key: a distinct event
)
ROWS_1 = [
    (_key("Signed up", "u1", "2026-01-05 00:00:00", "a1"), "u1", "Signed up", datetime(2026, 1, 5), "acme"),
    (_key("Viewed report", "u3", "2026-01-05 12:00:00", "a2"), "u3", "Viewed report", datetime(2026, 1, 5, 12),
     None),
    (_key("Viewed report", "42", "2026-01-05 12:00:00.123", "a2"), "42", "Viewed report",
     datetime(2026, 1, 5, 12, 0, 0, 123000), "globex"),
]
WEEK_2 = _line("Exported", 1768212000, "u1", "b1", **{"$group_id": "acme"})  # 2026-01-12 10:00:00 UTC
ROWS_2 = [(_key("Exported", "u1", "2026-01-12 10:00:00", "b1"), "u1", "Exported", datetime(2026, 1, 12, 10), "acme")]


def _events(store: Store) -> list[tuple[Any, ...]]:
    return store.query("SELECT uuid, user_id, event, ts, account_id FROM events ORDER BY ts, user_id")


def test_detects_mixpanel_json_lines(write: Write) -> None:
    with open_text(write("export.jsonl", WEEK_1)) as text:
        assert detect(sniff(text)).NAME == "mixpanel_events"


def test_import_maps_fields_and_seconds_or_milliseconds(store: Store, write: Write) -> None:
    result = import_file(store, write("export.jsonl", WEEK_1))
    assert (result.source, result.rows_read, result.rows_added) == ("mixpanel_events", 4, 3)
    assert _events(store) == ROWS_1


def test_duplicate_lines_are_counted_and_stored_once(store: Store, write: Write) -> None:
    result = import_file(store, write("export.jsonl", WEEK_1))
    assert result.duplicates == 1
    assert store.query("SELECT count(*) FROM events WHERE event = 'Signed up'") == [(1,)]


def test_overlapping_reupload_and_undo(store: Store, write: Write) -> None:
    first = import_file(store, write("week1.jsonl.gz", gzip.compress(WEEK_1.encode())))
    second = import_file(store, write("weeks1-2.jsonl", WEEK_1 + WEEK_2))
    # 5 lines: 1 repeated inside the file, 3 already stored by the first import
    assert (second.rows_read, second.rows_added, second.duplicates) == (5, 1, 4)
    assert _events(store) == ROWS_1 + ROWS_2

    undo(store, first.import_id)  # type: ignore[arg-type]
    assert _events(store) == ROWS_1 + ROWS_2


def test_events_without_insert_id_fall_back_to_user_event_and_time(store: Store, write: Write) -> None:
    text = _line("Opened", 1767571200, "u1") + _line("Opened", 1767571260, "u1")
    import_file(store, write("a.jsonl", text))
    again = import_file(store, write("b.jsonl", text + _line("Opened", 1767571320, "u1")))
    assert (again.rows_added, again.duplicates) == (1, 2)
    assert _events(store) == [
        (None, "u1", "Opened", datetime(2026, 1, 5, 0, 0), None),
        (None, "u1", "Opened", datetime(2026, 1, 5, 0, 1), None),
        (None, "u1", "Opened", datetime(2026, 1, 5, 0, 2), None),
    ]


def test_truncated_last_line_is_an_error_and_stores_nothing(store: Store, write: Write) -> None:
    with pytest.raises(InputError) as caught:
        import_file(store, write("cut.jsonl", WEEK_1 + WEEK_2[:35]))
    assert caught.value.line == 5
    assert "truncated" in caught.value.message
    assert store.query("SELECT count(*) FROM events") == [(0,)]
    assert store.query("SELECT count(*) FROM imports") == [(0,)]


def test_properties_that_are_not_an_object_are_named(store: Store, write: Write) -> None:
    with pytest.raises(InputError, match='line 2: this line is an event whose "properties" is not a JSON object'):
        import_file(store, write("bad.jsonl", WEEK_2 + '{"event": "x", "properties": []}\n'))


def test_unreadable_time_names_line_and_field(store: Store, write: Write) -> None:
    with pytest.raises(InputError) as caught:
        import_file(store, write("bad.jsonl", WEEK_2 + WEEK_2 + _line("Exported", "yesterday", "u1", "c1")))
    assert (caught.value.line, caught.value.column) == (3, "properties.time")
    assert '"yesterday"' in caught.value.message
