"""Amplitude raw export: JSON lines (gzipped or not) into events, with exact rows and located errors."""

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
from kpis.ingest.sources import amplitude, mixpanel, posthog
from kpis.ingest.sources.base import sniff
from kpis.ingest.sources.detect import detect
from kpis.ingest.textfile import open_text
from kpis.store.db import Store

Write = Callable[..., Path]


def _line(**fields: Any) -> str:
    base = {"amplitude_id": 1, "platform": "Web", "os_name": "Chrome", "country": "France", "session_id": 1,
            "user_properties": {"plan": "pro"}, "event_properties": {}, "groups": {}}
    return json.dumps(base | fields) + "\n"


WEEK_1 = (
    _line(event_type="login", event_time="2026-01-05 10:00:00.123456", user_id="u1", device_id="d1",
          **{"$insert_id": "i1"}, groups={"company": ["acme", "beta"]}, uuid="uu-1")
    # an offset is converted to UTC: 00:30 at +02:00 is 22:30 the day before
    + _line(event_type="view", event_time="2026-01-05T00:30:00+02:00", user_id="u2", device_id="d2",
            **{"$insert_id": "i2"}, event_properties={"account_id": "globex", "page": "a, \"b\"\nc"})
    # anonymous: no user_id, the device identifies the user; no $insert_id: the uuid is used
    + _line(event_type="view", event_time="2026-01-06 08:00:00", user_id=None, device_id="d3", uuid="uu-3",
            groups={"account": "initech"})
)
ROWS_1 = [
    ("i2", "u2", "view", datetime(2026, 1, 4, 22, 30), "globex"),
    ("i1", "u1", "login", datetime(2026, 1, 5, 10, 0, 0, 123456), "acme"),
    ("uu-3", "d3", "view", datetime(2026, 1, 6, 8, 0), "initech"),
]
WEEK_2 = (
    _line(event_type="view", event_time="2026-01-12 09:00:00", user_id="u1", device_id="d1",
          **{"$insert_id": "i4"})
    + _line(event_type="logout", event_time="2026-01-13 09:00:00", user_id="u2", device_id="d2",
            **{"$insert_id": "i5"}, groups={"company": "globex"})
)
ROWS_2 = [
    ("i4", "u1", "view", datetime(2026, 1, 12, 9, 0), None),
    ("i5", "u2", "logout", datetime(2026, 1, 13, 9, 0), "globex"),
]


def _events(store: Store) -> list[tuple[Any, ...]]:
    return store.query("SELECT uuid, user_id, event, ts, account_id FROM events ORDER BY ts")


def _source_name(path: Path) -> str:
    with open_text(path) as text:
        return detect(sniff(text)).NAME


def test_detects_amplitude_json_lines(write: Write) -> None:
    assert _source_name(write("export.json", WEEK_1)) == "amplitude_events"
    assert _source_name(write("export.json.gz", gzip.compress(WEEK_1.encode()))) == "amplitude_events"


@pytest.mark.parametrize("content", [
    '{"name": "x", "settings": {}}\n{"name": "y", "settings": {}}\n',
    '[{"event_type": "login", "event_time": "2026-01-05 10:00:00"}]',
    '{"event": "Signed up", "properties": {"distinct_id": "u1"}}\n',  # Mixpanel-like but no time
])
def test_json_that_is_not_an_event_export_is_not_detected(write: Write, content: str) -> None:
    path = write("other.json", content)
    with open_text(path) as text:
        shape = sniff(text)
        assert not any(s.detect(shape) for s in amplitude.SOURCES + mixpanel.SOURCES + posthog.SOURCES)
        with pytest.raises(InputError, match="JSON that is not an event export"):
            detect(shape)


def test_import_maps_every_field_to_canonical_events(store: Store, write: Write) -> None:
    result = import_file(store, write("week1.json", WEEK_1))
    assert (result.status, result.source, result.rows_read, result.rows_added, result.duplicates) == (
        "ok", "amplitude_events", 3, 3, 0)
    assert _events(store) == ROWS_1
    # data_as_of is the latest event
    assert store.query("SELECT data_as_of FROM imports") == [(datetime(2026, 1, 6, 8, 0),)]


def test_gzipped_export_reads_the_same(store: Store, write: Write) -> None:
    result = import_file(store, write("2026-01-05_10#0.json.gz", gzip.compress(WEEK_1.encode())))
    assert result.rows_added == 3
    assert "read as gzip, utf-8" in result.notes
    assert _events(store) == ROWS_1


def test_epoch_times_and_blank_lines(store: Store, write: Write) -> None:
    text = (_line(event_type="a", event_time="1602611311", user_id="u1", **{"$insert_id": "e1"})
            + "\n"
            + _line(event_type="b", event_time="1602611311123", user_id="u1", **{"$insert_id": "e2"}))
    import_file(store, write("epoch.json", text))
    assert _events(store) == [
        ("e1", "u1", "a", datetime(2020, 10, 13, 17, 48, 31), None),
        ("e2", "u1", "b", datetime(2020, 10, 13, 17, 48, 31, 123000), None),
    ]


def test_overlapping_reupload_counts_each_event_once_and_undo_keeps_the_overlap(store: Store, write: Write) -> None:
    first = import_file(store, write("week1.json", WEEK_1))
    second = import_file(store, write("weeks1-2.json", WEEK_1 + WEEK_2))
    assert (second.rows_read, second.rows_added, second.duplicates) == (5, 2, 3)  # overlap: the 3 week-1 events
    assert _events(store) == sorted(ROWS_1 + ROWS_2, key=lambda r: r[3])

    undo(store, first.import_id)  # type: ignore[arg-type]
    assert _events(store) == sorted(ROWS_1 + ROWS_2, key=lambda r: r[3])
    assert store.query("SELECT DISTINCT import_id FROM events") == [(second.import_id,)]


def test_truncated_last_line_is_an_error_naming_the_line_and_stores_nothing(store: Store, write: Write) -> None:
    cut = _line(event_type="view", event_time="2026-01-07 08:00:00", user_id="u9")[:40]
    with pytest.raises(InputError) as caught:
        import_file(store, write("cut.json.gz", gzip.compress((WEEK_1 + cut).encode())))
    assert caught.value.line == 4
    assert "truncated" in str(caught.value)
    assert str(caught.value).startswith("cut.json.gz, line 4: ")
    assert store.query("SELECT count(*) FROM events") == [(0,)]
    assert store.query("SELECT count(*) FROM imports") == [(0,)]


def test_malformed_line_in_the_middle_is_named(store: Store, write: Write) -> None:
    lines = WEEK_1.splitlines(keepends=True)
    text = lines[0] + "\n" + '{"event_type": "view", "event_time": oops}\n' + "".join(lines[1:])
    with pytest.raises(InputError, match="line 3: this line is not valid JSON"):
        import_file(store, write("bad.json", text))
    assert store.query("SELECT count(*) FROM events") == [(0,)]


def test_a_line_that_is_not_an_object_is_named(store: Store, write: Write) -> None:
    with pytest.raises(InputError, match="line 4: this line is a JSON array, not an event object"):
        import_file(store, write("bad.json", WEEK_1 + "[1, 2]\n"))


def test_unreadable_event_time_names_line_and_field(store: Store, write: Write) -> None:
    text = WEEK_1 + _line(event_type="view", event_time="05/01/2026 10:00", user_id="u1") + WEEK_2
    with pytest.raises(InputError) as caught:
        import_file(store, write("bad-time.json", text))
    assert (caught.value.line, caught.value.column) == (4, "event_time")
    assert '"05/01/2026 10:00"' in caught.value.message
    assert store.query("SELECT count(*) FROM imports") == [(0,)]


def test_events_without_user_device_or_time_are_rejected_not_stored(store: Store, write: Write) -> None:
    text = WEEK_1 + _line(event_type="view", event_time="2026-01-07 08:00:00", user_id=None, device_id=None) \
        + _line(event_type="view", event_time=None, user_id="u1")
    result = import_file(store, write("partial.json", text))
    assert (result.rows_read, result.rows_added, result.rows_rejected) == (5, 3, 2)
    assert _events(store) == ROWS_1


def test_the_preview_reads_an_endless_line_only_up_to_its_cap(write: Write) -> None:
    from kpis.ingest.preview import PREVIEW_LINE_CHARS, preview_file

    huge = '{"event_type": "' + "x" * (PREVIEW_LINE_CHARS + 10)  # no closing quote, no line break: never ends
    path = write("export.json", WEEK_1 + huge)
    seen = preview_file(path)
    assert seen.error is None and seen.source == "amplitude_events"
    assert len(seen.sample) == 4  # the three events, then the start of the endless line
    last = seen.sample.iloc[3]["line"]
    assert last.startswith(f"(a line longer than {PREVIEW_LINE_CHARS:,} characters) " + '{"event_type": "xxx')
    assert len(last) < 1000, "only the start of the line is kept"
