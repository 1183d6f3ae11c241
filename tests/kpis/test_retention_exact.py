"""Retention cohorts on a tiny hand-made event file, both modes, week and month grain, worked out by hand.

    user  active days (2026)             months        ISO weeks (W0 = week of 01-05, ..., W10 = week of 03-16)
    a     01-05, 02-10, 03-02            Jan Feb Mar   W0, W5, W8
    b     01-07, 03-16                   Jan Mar       W0, W10
    c     01-20, 01-21                   Jan           W2
    d     02-03, 02-04                   Feb           W4
    e     02-27, 03-17                   Feb Mar       W7, W10
    f     03-18                          Mar           W10

The as-of date is the last event day, Wednesday 2026-03-18: March and the week of 03-16 are partial.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from kpis.metrics.retention import cohorts
from kpis.store.db import Store
from tests.kpis.helpers import events

ROWS = """
a,view,2026-01-05T10:00:00Z,
a,view,2026-02-10T10:00:00Z,
a,view,2026-03-02T10:00:00Z,
b,view,2026-01-07T10:00:00Z,
b,view,2026-03-16T10:00:00Z,
c,view,2026-01-20T10:00:00Z,
c,click,2026-01-21T10:00:00Z,
d,view,2026-02-03T10:00:00Z,
d,view,2026-02-04T10:00:00Z,
e,view,2026-02-27T10:00:00Z,
e,view,2026-03-17T10:00:00Z,
f,view,2026-03-18T10:00:00Z,
"""
JAN, FEB, MAR = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)


@pytest.fixture(scope="module")
def store_r(tmp_path_factory):
    folder = tmp_path_factory.mktemp("r")
    with Store(folder / "r.duckdb") as store:
        events(store, folder, ROWS)
        yield store


def _cells(table) -> list[tuple]:
    return [(r.cohort_start, r.period, r.cohort_size, r.retained, pytest.approx(r.retention), r.partial)
            for r in table.itertuples(index=False)]


def test_month_cohorts_n_day(store_r):
    # Jan cohort a, b, c: Feb -> a (1/3); Mar -> a, b (2/3, partial). Feb cohort d, e: Mar -> e (1/2, partial).
    assert _cells(cohorts(store_r, "month", "n-day")) == [
        (JAN, 0, 3, 3, 1.0, False),
        (JAN, 1, 3, 1, 1 / 3, False),
        (JAN, 2, 3, 2, 2 / 3, True),
        (FEB, 0, 2, 2, 1.0, False),
        (FEB, 1, 2, 1, 1 / 2, True),
        (MAR, 0, 1, 1, 1.0, True),
    ]


def test_month_cohorts_unbounded(store_r):
    # "on or after": Jan cohort in Feb or later -> a (Feb, Mar) and b (Mar) = 2/3 > n-day's 1/3
    assert _cells(cohorts(store_r, "month", "unbounded")) == [
        (JAN, 0, 3, 3, 1.0, False),
        (JAN, 1, 3, 2, 2 / 3, False),
        (JAN, 2, 3, 2, 2 / 3, True),
        (FEB, 0, 2, 2, 1.0, False),
        (FEB, 1, 2, 1, 1 / 2, True),
        (MAR, 0, 1, 1, 1.0, True),
    ]


def test_week_cohorts_both_modes(store_r):
    n_day = cohorts(store_r, "week", "n-day")
    unbounded = cohorts(store_r, "week", "unbounded")
    # cohorts: W0 {a, b} 11 cells (W0..W10), W2 {c} 9, W4 {d} 7, W7 {e} 4, W10 {f} 1 = 32 cells
    sizes = n_day.drop_duplicates("cohort_start").set_index("cohort_start")["cohort_size"].to_dict()
    w = {n: date(2026, 1, 5) + timedelta(weeks=n) for n in range(11)}
    assert sizes == {w[0]: 2, w[2]: 1, w[4]: 1, w[7]: 1, w[10]: 1}
    assert len(n_day) == len(unbounded) == 32
    assert n_day.groupby("cohort_start").size().to_dict() == {w[0]: 11, w[2]: 9, w[4]: 7, w[7]: 4, w[10]: 1}
    w0 = n_day[n_day["cohort_start"] == w[0]]
    # W0, n-day: a in W5 and W8, b in W10 (partial): 1/2 each; every other week 0
    assert list(w0["retained"]) == [2, 0, 0, 0, 0, 1, 0, 0, 1, 0, 1]
    assert list(w0["partial"]) == [False] * 10 + [True]
    u0 = unbounded[unbounded["cohort_start"] == w[0]]
    # W0, unbounded: a's last active week is W8, b's W10 -> 2 through k = 8, then only b
    assert list(u0["retained"]) == [2] * 9 + [1, 1]
    assert list(u0["retention"]) == [1.0] * 9 + [0.5, 0.5]
    # W7 {e}: active again in W10 (k = 3), so unbounded is 1 for k = 1..3 and n-day only at k = 3
    assert list(n_day[n_day["cohort_start"] == w[7]]["retained"]) == [1, 0, 0, 1]
    assert list(unbounded[unbounded["cohort_start"] == w[7]]["retained"]) == [1, 1, 1, 1]
    # W2 {c}: never back
    assert list(unbounded[unbounded["cohort_start"] == w[2]]["retained"]) == [1] + [0] * 8


def test_k0_is_one_and_unbounded_is_at_least_n_day(store_r):
    for grain in ("week", "month"):
        n_day, unbounded = cohorts(store_r, grain, "n-day"), cohorts(store_r, grain, "unbounded")
        assert (n_day[n_day["period"] == 0]["retention"] == 1.0).all()
        assert (unbounded[unbounded["period"] == 0]["retention"] == 1.0).all()
        assert (unbounded["retention"].to_numpy() >= n_day["retention"].to_numpy()).all()
        assert n_day.drop_duplicates("cohort_start")["cohort_size"].sum() == 6


def test_end_date_cuts_the_cells(store_r):
    # --end 2026-02-28 (a month's last day): nothing partial; Jan -> Feb: a; the Feb cohort is d, e
    assert _cells(cohorts(store_r, "month", "n-day", end=date(2026, 2, 28))) == [
        (JAN, 0, 3, 3, 1.0, False),
        (JAN, 1, 3, 1, 1 / 3, False),
        (FEB, 0, 2, 2, 1.0, False),
    ]
    # --end 2026-02-20: e (02-27) has not arrived yet; February is partial
    assert _cells(cohorts(store_r, "month", "unbounded", end=date(2026, 2, 20))) == [
        (JAN, 0, 3, 3, 1.0, False),
        (JAN, 1, 3, 1, 1 / 3, True),
        (FEB, 0, 1, 1, 1.0, True),
    ]


def test_a_user_whose_first_event_is_inactive_is_in_that_cohort(store, tmp_path):
    # u1's first event is a $pageleave on 01-05 (inactive): cohort week of 01-05, size 2; k = 0 is still 1.0;
    # the next week u1 is active and u2 is not: 1/2.
    store.set_setting("inactive_events", '["$pageleave"]')
    events(store, tmp_path, """
u1,$pageleave,2026-01-05T10:00:00Z,
u2,view,2026-01-06T10:00:00Z,
u1,view,2026-01-13T10:00:00Z,
""")
    assert _cells(cohorts(store, "week", "n-day")) == [
        (date(2026, 1, 5), 0, 2, 2, 1.0, False),
        (date(2026, 1, 5), 1, 2, 1, 0.5, True),
    ]


def test_unknown_grain_or_mode_is_refused(store_r):
    with pytest.raises(ValueError):
        cohorts(store_r, "day", "n-day")
    with pytest.raises(ValueError):
        cohorts(store_r, "week", "forever")
