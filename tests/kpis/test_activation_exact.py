"""The activation rate on hand-made events, worked out by hand (UTC; weeks start on Monday).

Activation event ``report_created``; ``$identify`` is listed in ``inactive_events`` (it makes nobody active).

    user  first active       report_created   window of 7 days        activated
    a     Mon  5 Jan (view)  Sun 11 Jan       5 .. 11 Jan             yes: the window's last day counts
    b     Mon  5 Jan (view)  Mon 12 Jan       5 .. 11 Jan             no: the day after the window
    c     Tue  6 Jan (view)  Tue  6 Jan       6 .. 12 Jan             yes: on the first day
    d     Wed  7 Jan (view;  Tue 13 Jan       7 .. 13 Jan             yes ($identify on Sun 4 Jan made d no
                 $identify 4 Jan)                                          earlier start)
    e     Mon 12 Jan (view)  Wed 14 Jan       12 .. 18 Jan            yes
    f     Wed 14 Jan (view)  -                14 .. 20 Jan            no
    h     Fri 16 Jan (view)  Thu 22 Jan       16 .. 22 Jan            yes: the window ends on the as-of date
    g     Tue 20 Jan (view)  Tue 20 Jan       20 .. 26 Jan            not counted: the window runs past 22 Jan

The last event day, 22 Jan, is the as-of date. The first event day, Sun 4 Jan, starts the series (the week of
29 Dec 2025, the month of January).
"""

from __future__ import annotations

import math
from datetime import date

import pytest

from kpis.core.errors import InputError
from kpis.metrics.activation import activation_table
from kpis.metrics.series import series
from kpis.store import settings
from kpis.store.db import Store
from tests.kpis.helpers import events

ROWS = """
a,view,2026-01-05T09:00:00Z,
a,report_created,2026-01-11T23:00:00Z,
b,view,2026-01-05T10:00:00Z,
b,report_created,2026-01-12T00:30:00Z,
c,view,2026-01-06T08:00:00Z,
c,report_created,2026-01-06T08:05:00Z,
d,$identify,2026-01-04T12:00:00Z,
d,view,2026-01-07T12:00:00Z,
d,report_created,2026-01-13T12:00:00Z,
e,view,2026-01-12T12:00:00Z,
e,report_created,2026-01-14T12:00:00Z,
f,view,2026-01-14T12:00:00Z,
h,view,2026-01-16T12:00:00Z,
h,report_created,2026-01-22T18:00:00Z,
g,view,2026-01-20T12:00:00Z,
g,report_created,2026-01-20T12:30:00Z,
"""
DEC29, JAN5, JAN12, JAN19 = date(2025, 12, 29), date(2026, 1, 5), date(2026, 1, 12), date(2026, 1, 19)


@pytest.fixture()
def store_a(tmp_path):
    with Store(tmp_path / "a.duckdb") as store:
        events(store, tmp_path, ROWS)
        settings.set_inactive_events(store, ["$identify"])
        settings.set_activation_event(store, "report_created", ["report_created"])
        yield store


def _rates(table) -> list[float]:
    return [float(v) for v in table["activation_rate"]]


def _same(got: list[float], want: list[float]) -> bool:
    return len(got) == len(want) and all((math.isnan(g) and math.isnan(w)) or g == w
                                         for g, w in zip(got, want, strict=True))


def test_week_activation_by_hand(store_a):
    table = activation_table(store_a, "week")
    assert list(table["period_start"]) == [DEC29, JAN5, JAN12, JAN19]
    # week of 29 Dec: d's $identify on 4 Jan starts the series but nobody's first active day
    # week of 5 Jan: a, b, c, d started; a, c, d activated -> 3/4
    # week of 12 Jan: e, f, h started (h's window ends on 22 Jan, the as-of date); e, h activated -> 2/3
    # week of 19 Jan: g's window (20 .. 26 Jan) has not ended: nobody counted -> undefined
    assert list(table["started"]) == [0, 4, 3, 0]
    assert list(table["activated"]) == [0, 3, 2, 0]
    assert _same(_rates(table), [math.nan, 3 / 4, 2 / 3, math.nan])
    assert list(table["partial"]) == [False, False, False, True]


def test_month_activation_by_hand(store_a):
    table = activation_table(store_a, "month")
    # January: a, b, c, d, e, f, h started (g not: window open); a, c, d, e, h activated -> 5/7
    assert list(table["period_start"]) == [date(2026, 1, 1)]
    assert (list(table["started"]), list(table["activated"])) == ([7], [5])
    assert _rates(table) == [5 / 7]


def test_day_grain_counts_each_first_active_day(store_a):
    table = activation_table(store_a, "day").set_index("period_start")
    # 5 Jan: a (yes), b (no) -> 1/2; 6 Jan: c -> 1/1; 16 Jan: h -> 1/1; 14 Jan: f -> 0/1; 20 Jan: g not counted
    assert (table.loc[date(2026, 1, 5), "started"], table.loc[date(2026, 1, 5), "activated"]) == (2, 1)
    assert table.loc[date(2026, 1, 6), "activation_rate"] == 1.0
    assert table.loc[date(2026, 1, 14), "activation_rate"] == 0.0
    assert table.loc[date(2026, 1, 16), "activation_rate"] == 1.0
    assert math.isnan(table.loc[date(2026, 1, 20), "activation_rate"])


def test_a_shorter_window_by_hand(store_a):
    settings.set_activation_window(store_a, 3)
    table = activation_table(store_a, "week")
    # 3 days: a 5..7 (report 11: no), b no, c 6..8 (yes), d 7..9 (report 13: no) -> 1/4
    # e 12..14 (report 14, the last day: yes), f no, h 16..18 (report 22: no) -> 1/3
    # g 20..22 ends on the as-of date: counted, and did it on 20 Jan -> 1/1
    assert list(table["started"]) == [0, 4, 3, 1]
    assert list(table["activated"]) == [0, 1, 1, 1]
    assert _same(_rates(table), [math.nan, 1 / 4, 1 / 3, 1.0])


def test_an_earlier_as_of_date_counts_only_windows_ended_by_it(store_a):
    table = activation_table(store_a, "week", end=date(2026, 1, 18))
    # as of 18 Jan: the week of 5 Jan as before (windows end by 13 Jan) -> 3/4;
    # week of 12 Jan: e (12 .. 18) counted and activated; f (to 20 Jan) and h (to 22 Jan) not yet -> 1/1
    assert list(table["period_start"]) == [DEC29, JAN5, JAN12]
    assert list(table["started"]) == [0, 4, 1]
    assert _same(_rates(table), [math.nan, 3 / 4, 1.0])


def test_inactive_events_start_no_window(store_a):
    settings.set_inactive_events(store_a, [])
    table = activation_table(store_a, "week")
    # $identify counts as activity now: d starts on Sun 4 Jan (week of 29 Dec), window 4 .. 10 Jan, report on
    # 13 Jan: not activated -> 0/1; week of 5 Jan: a, b, c -> 2/3
    assert list(table["started"]) == [1, 3, 3, 0]
    assert _same(_rates(table), [0.0, 2 / 3, 2 / 3, math.nan])


def test_an_inactive_activation_event_still_activates(store_a):
    settings.set_inactive_events(store_a, ["$identify", "report_created"])
    # report_created makes nobody active, but doing it is what activation asks: the same users as before
    assert _same(_rates(activation_table(store_a, "week")), [math.nan, 3 / 4, 2 / 3, math.nan])


def test_the_series_follows_the_settings(store_a):
    assert _same(list(series(store_a, "activation_rate", "week")["value"]), [math.nan, 3 / 4, 2 / 3, math.nan])
    settings.set_activation_event(store_a, "view", ["view"])  # everyone did view on their first day
    assert _same(list(series(store_a, "activation_rate", "week")["value"]), [math.nan, 1.0, 1.0, math.nan])


def test_without_the_activation_event_the_kpi_says_how_to_set_it(store_a):
    settings.set_activation_event(store_a, "", [])
    with pytest.raises(InputError) as refused:
        series(store_a, "activation_rate", "week")
    assert str(refused.value) == ("set the activation event: python -m kpis settings activation_event NAME, "
                                  "or on the Data page")
