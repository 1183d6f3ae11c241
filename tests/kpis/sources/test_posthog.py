"""PostHog exports: events CSV (classic, old ``id`` and "events query" ``*.`` headers) and trends CSV."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
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

HEADER = ("uuid,event,distinct_id,properties.$browser,properties.account_id,properties.$group_0,timestamp,person,"
          "elements_chain\n")
WEEK_1 = HEADER + (
    # line 2: an offset is converted to UTC (00:30 at +02:00 is 22:30 the day before); elements_chain holds
    # commas, doubled quotes and a newline inside quotes (lines 2-3)
    '0189-a1,$autocapture,u1,Chrome,acme,,2026-01-05T00:30:00+02:00,"{""id"": ""p1""}",'
    '"button.btn:attr__class=""btn, primary""\nnth-child=""1"";div:nth-child=""2"""\n'
    # line 4: a property value with a comma; no account_id, the group is used
    '0189-a2,$pageview,u2,"Safari, 17",,globex,2026-01-05T10:00:00Z,,\n'
    # line 5: no account at all
    "0189-a3,$pageview,u1,Firefox,,,2026-01-06T08:15:30.250000+00:00,,\n"
)
ROWS_1 = [
    ("0189-a1", "u1", "$autocapture", datetime(2026, 1, 4, 22, 30), "acme"),
    ("0189-a2", "u2", "$pageview", datetime(2026, 1, 5, 10, 0), "globex"),
    ("0189-a3", "u1", "$pageview", datetime(2026, 1, 6, 8, 15, 30, 250000), None),
]
WEEK_2 = HEADER + "0189-b1,$pageview,u3,Chrome,initech,,2026-01-12T09:00:00Z,,\n"
ROWS_2 = [("0189-b1", "u3", "$pageview", datetime(2026, 1, 12, 9, 0), "initech")]


def _events(store: Store) -> list[tuple[Any, ...]]:
    return store.query("SELECT uuid, user_id, event, ts, account_id FROM events ORDER BY ts")


def _source_name(path: Path) -> str:
    with open_text(path) as text:
        return detect(sniff(text)).NAME


@pytest.mark.parametrize("header", [
    HEADER,
    "id,distinct_id,properties.$browser,event,timestamp,person,elements_chain\n",  # older exports
    "event,*.uuid,*.event,*.properties.prop,*.timestamp,*.team_id,*.distinct_id,*.elements_chain\n",
])
def test_detects_posthog_event_exports(write: Write, header: str) -> None:
    assert _source_name(write("events.csv", header)) == "posthog_events"


def test_import_maps_columns_and_keeps_quoted_commas_quotes_and_newlines(store: Store, write: Write) -> None:
    result = import_file(store, write("events.csv", WEEK_1))
    assert (result.source, result.rows_read, result.rows_added, result.rows_rejected) == ("posthog_events", 3, 3, 0)
    assert _events(store) == ROWS_1


def test_excel_style_bom_and_crlf(store: Store, write: Write) -> None:
    import_file(store, write("events.csv", "\ufeff" + WEEK_1.replace("\n", "\r\n")))
    assert _events(store) == ROWS_1


def test_events_query_export_with_star_columns(store: Store, write: Write) -> None:
    text = (
        "event,*.uuid,*.event,*.properties.prop,*.properties.account_id,*.timestamp,*.team_id,*.distinct_id,"
        "*.elements_chain,*.created_at,*.person_mode\n"
        '$pageview,0190-1,$pageview,"x, ""y""",acme,2026-01-05 10:00:00.123000+00:00,1,u1,,'
        "2026-01-05 10:00:01+00:00,full\n"
        "signed_up,0190-2,signed_up,,,2026-01-05T23:30:00-01:00,1,u2,,2026-01-06 00:30:01+00:00,full\n"
    )
    import_file(store, write("events-query.csv", text))
    assert _events(store) == [
        ("0190-1", "u1", "$pageview", datetime(2026, 1, 5, 10, 0, 0, 123000), "acme"),
        ("0190-2", "u2", "signed_up", datetime(2026, 1, 6, 0, 30), None),
    ]


def test_older_export_with_id_column(store: Store, write: Write) -> None:
    text = ("id,distinct_id,properties.$browser,event,timestamp,person,elements_chain\r\n"
            "e9ca132e-400f-4854-a83c-16c151b2f145,2,Safari,event_name,2022-07-06T19:37:43.095295+00:00,,\r\n")
    import_file(store, write("old.csv", text))
    assert _events(store) == [
        ("e9ca132e-400f-4854-a83c-16c151b2f145", "2", "event_name", datetime(2022, 7, 6, 19, 37, 43, 95295), None)]


def test_overlapping_reupload_and_undo(store: Store, write: Write) -> None:
    first = import_file(store, write("week1.csv", WEEK_1))
    second = import_file(store, write("weeks1-2.csv", WEEK_1 + WEEK_2.split("\n", 1)[1]))
    assert (second.rows_read, second.rows_added, second.duplicates) == (4, 1, 3)
    assert _events(store) == ROWS_1 + ROWS_2
    undo(store, first.import_id)  # type: ignore[arg-type]
    assert _events(store) == ROWS_1 + ROWS_2


def test_bad_timestamp_names_the_physical_line_and_the_column(store: Store, write: Write) -> None:
    # the multi-line record on lines 2-3 pushes the bad row to line 5 (DuckDB alone would say 4)
    text = WEEK_1.replace("2026-01-06T08:15:30.250000+00:00", "06/01/2026 08:15")
    with pytest.raises(InputError) as caught:
        import_file(store, write("events.csv", text))
    assert (caught.value.line, caught.value.column) == (5, "timestamp")
    assert str(caught.value).startswith('events.csv, line 5, column \'timestamp\': cannot read "06/01/2026 08:15"')
    assert store.query("SELECT count(*) FROM events") == [(0,)]
    assert store.query("SELECT count(*) FROM imports") == [(0,)]


def test_truncated_file_with_an_open_quote_is_an_error(store: Store, write: Write) -> None:
    text = WEEK_1 + '0189-a4,$autocapture,u1,Chrome,,,2026-01-06T09:00:00Z,,"div.a:attr__class=""x\n'
    with pytest.raises(InputError, match="line 6: a quote opens here and is never closed: the file looks truncated"):
        import_file(store, write("cut.csv", text))
    assert store.query("SELECT count(*) FROM events") == [(0,)]


# -- trends ----------------------------------------------------------------------------------------------------------

TRENDS = (
    "series,21-Mar-2023,22-Mar-2023,23-Mar-2023,total\n"
    "$pageview,2.0,0.0,1.0,3.0\n"
    'Formula ((B/A)*100),100.0,,"1,250.5",\n'
)


def test_trends_export_becomes_metric_points(store: Store, write: Write) -> None:
    assert _source_name(write("trends.csv", TRENDS)) == "posthog_trends"
    result = import_file(store, write("trends.csv", TRENDS))
    assert (result.source, result.rows_added) == ("posthog_trends", 6)
    assert store.query('SELECT source, metric, series, day, "value" FROM metric_points ORDER BY metric, day') == [
        ("posthog", "$pageview", "", date(2023, 3, 21), 2.0),
        ("posthog", "$pageview", "", date(2023, 3, 22), 0.0),
        ("posthog", "$pageview", "", date(2023, 3, 23), 1.0),
        ("posthog", "Formula ((B/A)*100)", "", date(2023, 3, 21), 100.0),
        ("posthog", "Formula ((B/A)*100)", "", date(2023, 3, 22), None),
        ("posthog", "Formula ((B/A)*100)", "", date(2023, 3, 23), 1250.5),
    ]
    assert store.query("SELECT data_as_of FROM imports") == [(datetime(2023, 3, 23),)]


def test_trends_with_iso_dates_custom_names_and_breakdowns(store: Store, write: Write) -> None:
    text = ("series,custom name,breakdown,2026-01-05,2026-01-12\n"
            "$pageview,Page views,Chrome,10,12\n"
            "$pageview,Page views,Safari,4,5\n"
            "signed_up,,,3,1\n")
    import_file(store, write("trends.csv", text))
    assert store.query('SELECT metric, series, day, "value" FROM metric_points ORDER BY metric, series, day') == [
        ("Page views", "Chrome", date(2026, 1, 5), 10.0),
        ("Page views", "Chrome", date(2026, 1, 12), 12.0),
        ("Page views", "Safari", date(2026, 1, 5), 4.0),
        ("Page views", "Safari", date(2026, 1, 12), 5.0),
        ("signed_up", "", date(2026, 1, 5), 3.0),
        ("signed_up", "", date(2026, 1, 12), 1.0),
    ]


def test_newer_trends_export_replaces_the_points_it_covers(store: Store, write: Write) -> None:
    import_file(store, write("t1.csv", "series,21-Mar-2023,22-Mar-2023\n$pageview,2,3\n"))
    import_file(store, write("t2.csv", "series,22-Mar-2023,23-Mar-2023\n$pageview,4,5\n"))
    assert store.query('SELECT day, "value" FROM metric_points ORDER BY day') == [
        (date(2023, 3, 21), 2.0), (date(2023, 3, 22), 4.0), (date(2023, 3, 23), 5.0)]


def test_trends_errors_name_line_and_column(store: Store, write: Write) -> None:
    with pytest.raises(InputError) as caught:
        import_file(store, write("t.csv", "series,21-Mar-2023\n$pageview,2\nsigned_up,lots\n"))
    assert (caught.value.line, caught.value.column) == (3, "21-mar-2023")
    with pytest.raises(InputError, match='line 3: the series "\\$pageview" appears twice'):
        import_file(store, write("t.csv", "series,21-Mar-2023\n$pageview,2\n$pageview,3\n"))
    with pytest.raises(InputError, match="by hour"):
        import_file(store, write("t.csv", "series,21-Mar-2023 13:00,21-Mar-2023 14:00\n$pageview,2,3\n"))
    assert store.query("SELECT count(*) FROM imports") == [(0,)]
