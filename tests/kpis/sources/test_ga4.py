"""GA4 report downloads: preamble, several sections, totals rows, quoted thousands, into metric_points."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from kpis.core.errors import InputError
from kpis.ingest.importer import import_file, undo
from kpis.ingest.sources import ga4, stripe
from kpis.ingest.sources.base import sniff
from kpis.ingest.sources.detect import detect
from kpis.ingest.textfile import open_text
from kpis.store.db import Store

PREAMBLE = (
    "# ----------------------------------------\n"  # line 1
    "# Acquisition overview\n"
    "# 20260901-20260930\n"
    "# ----------------------------------------\n"
    "\n"  # line 5
)
REPORT = PREAMBLE + (
    "Date,Active users,New users,Engagement rate\n"  # line 6
    '20260901,"1,200",300,0.4889\n'
    '20260902,"1,350",310,0.5\n'  # line 8
    ',"2,550",610,0.4944\n'  # totals row (empty date)
    "\n"
    "Date,First user default channel group,New users\n"  # line 11
    ',,"1,310"\n'  # totals row first this time
    "20260901,Organic Search,120\n"
    "20260901,Direct,180\n"
    '20260902,Organic Search,"1,010"\n'
    "\n"
    "First user default channel group,Sessions\n"  # line 17: no date dimension
    'Organic Search,"3,000"\n'
    'Direct,"2,000"\n'
    ',"5,000"\n'
)
POINTS = [
    ("ga4", "Active users", "", date(2026, 9, 1), 1200.0),
    ("ga4", "Active users", "", date(2026, 9, 2), 1350.0),
    ("ga4", "Engagement rate", "", date(2026, 9, 1), 0.4889),
    ("ga4", "Engagement rate", "", date(2026, 9, 2), 0.5),
    ("ga4", "New users", "", date(2026, 9, 1), 300.0),
    ("ga4", "New users", "", date(2026, 9, 2), 310.0),
    ("ga4", "New users", "Direct", date(2026, 9, 1), 180.0),
    ("ga4", "New users", "Organic Search", date(2026, 9, 1), 120.0),
    ("ga4", "New users", "Organic Search", date(2026, 9, 2), 1010.0),
]


def _points(store: Store) -> list[tuple[Any, ...]]:
    return store.query('SELECT source, metric, series, day, "value" FROM metric_points ORDER BY metric, series, day')


def _source_of(path: Path) -> str:
    with open_text(path) as text:
        return detect(sniff(text)).NAME


def _claimed_by(path: Path) -> list[str]:
    with open_text(path) as text:
        shape = sniff(text)
        return [s.NAME for s in stripe.SOURCES + ga4.SOURCES if s.detect(shape)]


# -- detection -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("content", [
    REPORT,
    "Date,Active users,Sessions\n20260901,5,7\n",  # no preamble: a Date column and GA4 metric names
    PREAMBLE + "First user default channel group,New users\nDirect,3\n\nDate,New users\n20260901,3\n",
])
def test_ga4_downloads_are_recognised(write, content):
    path = write("report.csv", content)
    assert _claimed_by(path) == ["ga4_report"]
    assert _source_of(path) == "ga4_report"


@pytest.mark.parametrize(("content", "expected"), [
    ("metric,day,value\nActive users,2026-09-01,5\n", "metric_points_csv"),
    ("date,visitors,pageviews\n2026-09-01,5,9\n", None),  # a date column alone is not GA4
])
def test_other_date_tables_are_not_claimed(write, content, expected):
    path = write("other.csv", content)
    assert _claimed_by(path) == []
    if expected:
        assert _source_of(path) == expected


# -- import ----------------------------------------------------------------------------------------------------------

def test_report_with_preamble_two_date_sections_totals_and_quoted_thousands(store, write):
    result = import_file(store, write("ga4.csv", REPORT))
    # 2 days x 3 metrics in the first section + 3 rows x 1 metric in the second = 9 points; totals rows skipped
    assert (result.status, result.source, result.rows_read, result.rows_added, result.rows_rejected) == (
        "ok", "ga4_report", 9, 9, 0)
    assert result.notes == ("section at line 17 (First user default channel group) has no date dimension: ignored",
                            "skipped 3 totals rows")
    assert _points(store) == POINTS
    assert store.query("SELECT kinds, data_as_of FROM imports") == [("metric_points", datetime(2026, 9, 2))]


def test_excel_touched_report_bom_crlf(store, write):
    result = import_file(store, write("ga4.csv", ("\ufeff" + REPORT).replace("\n", "\r\n")))
    assert result.rows_added == 9
    assert _points(store) == POINTS


def test_day_dimension_with_compact_dates_counts_and_nth_day_does_not(store, write):
    content = PREAMBLE + (
        "Day,Sessions,Bounce rate\n"
        "20260903,7,25%\n"  # a percentage someone typed becomes a fraction: 25% = 0.25
        "\n"
        "Nth day,Active users\n"
        "0000,5\n"
    )
    result = import_file(store, write("ga4.csv", content))
    assert _points(store) == [("ga4", "Bounce rate", "", date(2026, 9, 3), 0.25),
                              ("ga4", "Sessions", "", date(2026, 9, 3), 7.0)]
    assert result.notes == ("section at line 9 (Nth day) has no date dimension: ignored",)


def test_same_points_in_two_sections_are_duplicates_not_errors(store, write):
    content = PREAMBLE + "Date,Active users\n20260901,5\n\nDate,Active users,Sessions\n20260901,5,9\n"
    result = import_file(store, write("ga4.csv", content))
    assert (result.rows_read, result.rows_added, result.duplicates) == (3, 2, 1)


def test_conflicting_values_for_one_day_are_an_error(store, write):
    content = PREAMBLE + "Date,Active users\n20260901,5\n\nDate,Active users\n20260901,6\n"
    with pytest.raises(InputError, match=r"ga4.csv, line 10, column 'Active users': Active users on 2026-09-01 "
                                         r"is 5 on line 7 and 6 here"):
        import_file(store, write("ga4.csv", content))


def test_bad_number_names_line_and_column_and_stores_nothing(store, write):
    with pytest.raises(InputError) as caught:
        import_file(store, write("ga4.csv", REPORT.replace('"1,350"', '"1,3x0"')))
    assert str(caught.value).startswith("ga4.csv, line 8, column 'Active users': cannot read \"1,3x0\"")
    assert store.query("SELECT count(*) FROM metric_point_versions") == [(0,)]
    assert store.query("SELECT count(*) FROM imports") == [(0,)]


def test_bad_date_names_line_and_column(store, write):
    with pytest.raises(InputError, match=r"line 13, column 'Date': cannot read \"2026-09-3x\""):
        import_file(store, write("ga4.csv", REPORT.replace("20260901,Organic", "2026-09-3x,Organic")))


def test_report_without_a_date_section_is_refused(store, write):
    content = PREAMBLE + "First user default channel group,New users\nDirect,3\n"
    with pytest.raises(InputError, match="no section by date"):
        import_file(store, write("ga4.csv", content))
    assert store.query("SELECT count(*) FROM imports") == [(0,)]


def test_reimport_is_duplicate_and_newer_overlapping_export_wins_until_undone(store, write):
    september = write("sep.csv", PREAMBLE + "Date,Active users\n20260901,5\n20260902,6\n")
    later = write("later.csv", PREAMBLE + "Date,Active users\n20260902,8\n20260903,9\n")
    first = import_file(store, september)
    assert import_file(store, september).status == "duplicate"
    newer = import_file(store, later)
    # 09-02 changed (6 -> 8), 09-03 is new
    assert (newer.rows_added, newer.rows_updated) == (1, 1)
    assert [(p[3], p[4]) for p in _points(store)] == [(date(2026, 9, 1), 5.0), (date(2026, 9, 2), 8.0),
                                                      (date(2026, 9, 3), 9.0)]
    undo(store, newer.import_id)
    assert [(p[3], p[4]) for p in _points(store)] == [(date(2026, 9, 1), 5.0), (date(2026, 9, 2), 6.0)]
    assert first.status == "ok"
