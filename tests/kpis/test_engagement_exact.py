"""Engagement KPIs on a tiny hand-made event file, every expected number worked out by hand in a comment.

The events (account acme is segment Enterprise, globex is SMB; u4 has no account):

    u1  view        2026-01-05T00:30:00+02:00   = 2026-01-04 22:30 UTC: Sunday 01-04, ISO week of 2025-12-29
    u1  view        2026-01-05T09:00:00Z        Mon 01-05
    u1  click       2026-01-05T10:00:00Z        Mon 01-05 (same user, same day: still one active user)
    u2  view        2026-01-06T12:00:00Z        Tue 01-06
    u3  $pageleave  2026-01-07T08:00:00Z        Wed 01-07 (active unless `inactive_events` lists it)
    u3  view        2026-01-09T08:00:00Z        Fri 01-09
    u1  export      2026-01-12T08:00:00Z        Mon 01-12
    u4  view        2026-01-13T22:30:00-05:00   = 2026-01-14 03:30 UTC: Wed 01-14
    u2  export      2026-01-14T23:30:00Z        Wed 01-14 (01-15 00:30 in Berlin)

The as-of date is the last event day, 01-14 (a Wednesday). Day by day (UTC, every event active):

    day      04 05 06 07 08 09 10 11 12 13 14
    dau       1  1  1  1  0  1  0  0  1  0  2
    wau       1  1  2  3  3  3  3  3  3  2  4    distinct users over d-6..d
    mau       1  1  2  3  3  3  3  3  3  3  4    distinct users over d-29..d (everyone since 01-04)
    events    1  2  1  1  0  1  0  0  1  0  2
    new       1  .  1  1  .  .  .  .  .  .  1    first event of u1, u2, u3, u4
"""

from __future__ import annotations

from datetime import date

import pytest

from kpis.core.errors import InputError
from kpis.metrics.engagement import adoption, adoption_in, daily, engagement_table, power_curve
from kpis.metrics.series import series
from kpis.store.db import Store
from tests.kpis.helpers import assert_values, column, events, load

nan = float("nan")

EVENT_ROWS = """
u1,view,2026-01-05T00:30:00+02:00,acme
u1,view,2026-01-05T09:00:00Z,acme
u1,click,2026-01-05T10:00:00Z,acme
u2,view,2026-01-06T12:00:00Z,acme
u3,$pageleave,2026-01-07T08:00:00Z,globex
u3,view,2026-01-09T08:00:00Z,globex
u1,export,2026-01-12T08:00:00Z,acme
u4,view,2026-01-13T22:30:00-05:00,
u2,export,2026-01-14T23:30:00Z,acme
"""
CUSTOMERS = "customer_id,name,email,segment\nacme,Acme,ops@acme.test,Enterprise\nglobex,Globex,it@globex.test,SMB"
DAYS = [f"2026-01-{n:02d}" for n in range(4, 15)]
WEEKS = ["2025-12-29", "2026-01-05", "2026-01-12"]


def _load(store: Store, folder) -> None:
    load(store, folder, "customers.csv", CUSTOMERS)
    events(store, folder, EVENT_ROWS)


@pytest.fixture(scope="module")
def store_e(tmp_path_factory):
    folder = tmp_path_factory.mktemp("e")
    with Store(folder / "e.duckdb") as store:
        _load(store, folder)
        yield store


@pytest.fixture
def store_fresh(store, tmp_path):
    _load(store, tmp_path)
    return store


def _check(table, expected: dict[str, list[float]], periods: list[str], what: str) -> None:
    assert [p.isoformat() for p in table["period_start"]] == periods, what
    for kpi, values in expected.items():
        assert_values(column(table, kpi), dict(zip(periods, values, strict=True)), f"{what} {kpi}")


def test_day_grain_by_hand(store_e):
    table = engagement_table(store_e, "day")
    _check(table, {
        "dau": [1, 1, 1, 1, 0, 1, 0, 0, 1, 0, 2],
        "wau": [1, 1, 2, 3, 3, 3, 3, 3, 3, 2, 4],
        "mau": [1, 1, 2, 3, 3, 3, 3, 3, 3, 3, 4],
        "active_users": [1, 1, 1, 1, 0, 1, 0, 0, 1, 0, 2],
        "new_users": [1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1],
        # dau / mau at day grain
        "stickiness": [1, 1, 1 / 2, 1 / 3, 0, 1 / 3, 0, 0, 1 / 3, 0, 2 / 4],
        # events / active users; a day without active users is undefined
        "events_per_active_user": [1, 2, 1, 1, nan, 1, nan, nan, 1, nan, 1],
    }, DAYS, "day")
    assert list(table["partial"]) == [False] * 11


def test_week_grain_by_hand(store_e):
    # week of 2025-12-29: only 01-04 is on or after the first event day -> dau = 1
    # week of 01-05: days 05..11 have dau 1,1,1,0,1,0,0 -> 4/7; wau = mau = 3 at 01-11; active u1, u2, u3
    #   stickiness = mean dau / mean mau = (4/7) / ((1+2+3+3+3+3+3)/7) = 4/18; events 5 (u1 x2, u2, u3 x2) / 3
    # week of 01-12 (partial, ends 01-14): dau (1+0+2)/3 = 1; wau = mau = 4 at 01-14;
    #   active u1, u2, u4 = 3; new u4; stickiness 1 / ((3+3+4)/3) = 0.3; events 3 / 3
    table = engagement_table(store_e, "week")
    _check(table, {
        "dau": [1, 4 / 7, 1],
        "wau": [1, 3, 4],
        "mau": [1, 3, 4],
        "active_users": [1, 3, 3],
        "new_users": [1, 2, 1],
        "stickiness": [1, 4 / 18, 0.3],
        "events_per_active_user": [1, 5 / 3, 1],
    }, WEEKS, "week")
    assert list(table["period_end"]) == [date(2026, 1, 4), date(2026, 1, 11), date(2026, 1, 14)]
    assert list(table["partial"]) == [False, False, True]


def test_month_and_quarter_grain_by_hand(store_e):
    # January (partial, ends 01-14) counts the days from the first event day 01-04: 11 days.
    # dau = (1+1+1+1+0+1+0+0+1+0+2)/11 = 8/11; mau sum = 1+1+2+3+3+3+3+3+3+3+4 = 29 -> stickiness 8/29
    expected = {"dau": [8 / 11], "wau": [4], "mau": [4], "active_users": [4], "new_users": [4],
                "stickiness": [8 / 29], "events_per_active_user": [9 / 4]}
    _check(engagement_table(store_e, "month"), expected, ["2026-01-01"], "month")
    _check(engagement_table(store_e, "quarter"), expected, ["2026-01-01"], "quarter")


def test_coarse_dau_is_the_mean_of_daily_dau_and_wau_mau_are_taken_at_the_period_end(store_e):
    days = daily(store_e).set_index("day")
    week = engagement_table(store_e, "week").set_index("period_start")
    start = date(2026, 1, 5)
    window = days.loc[start:date(2026, 1, 11)]
    assert week.loc[start, "dau"] == pytest.approx(window["dau"].mean())
    assert week.loc[start, "wau"] == days.loc[date(2026, 1, 11), "wau"]
    assert week.loc[start, "mau"] == days.loc[date(2026, 1, 11), "mau"]


def test_series_and_end_date(store_e):
    # --end 2026-01-09: the week of 01-05 is partial: days 05..09 -> dau (1+1+1+0+1)/5; wau, mau at 01-09 = 3
    got = series(store_e, "dau", "week", end=date(2026, 1, 9))
    assert list(got["period_start"]) == [date(2025, 12, 29), date(2026, 1, 5)]
    assert list(got["value"]) == [1, pytest.approx(4 / 5)] and list(got["partial"]) == [False, True]
    assert list(series(store_e, "wau", "week", end=date(2026, 1, 9))["value"]) == [1, 3]
    # --end after the last event: the days without events count as 0: week of 01-12 ends 01-18
    # dau = (1+0+2+0+0+0+0)/7; wau(01-18) = users over 01-12..01-18 = u1, u2, u4 = 3
    later = series(store_e, "dau", "week", end=date(2026, 1, 18))
    assert list(later["value"])[-1] == pytest.approx(3 / 7) and not later["partial"].iloc[-1]
    assert list(series(store_e, "wau", "week", end=date(2026, 1, 18))["value"])[-1] == 3
    # --start keeps the periods from the one holding it
    assert list(series(store_e, "mau", "week", start=date(2026, 1, 7))["value"]) == [3, 4]


def test_adoption_of_an_event(store_e):
    # "export": u1 on 01-12, u2 on 01-14. Weeks: 0/1, 0/3, 2/3. January: 2/4.
    week = series(store_e, "adoption", "week", event="export")
    assert_values(column(week.rename(columns={"value": "a"}), "a"), dict(zip(WEEKS, [0, 0, 2 / 3], strict=True)))
    month = series(store_e, "adoption", "month", event="export")
    assert list(month["value"]) == [0.5]
    # day grain: 01-12 1/1; 01-14 1/2 (u2, of u2 and u4); 01-08 nobody active: undefined
    day = column(series(store_e, "adoption", "day", event="export").rename(columns={"value": "a"}), "a")
    assert_values({k: day[k] for k in ("2026-01-04", "2026-01-08", "2026-01-12", "2026-01-14")},
                  {"2026-01-04": 0, "2026-01-08": nan, "2026-01-12": 1, "2026-01-14": 0.5})
    table = adoption(store_e, "export", "week")
    assert list(table["users"]) == [0, 0, 2] and list(table["active_users"]) == [1, 3, 3]
    assert list(series(store_e, "adoption", "week", event="never-happened")["value"]) == [0, 0, 0]
    with pytest.raises(InputError, match="adoption needs --event"):
        series(store_e, "adoption", "week")


def test_adoption_in_chosen_periods_only(store_e):
    # The weeks of 01-05 and 01-12 (3 active users each: u1 u2 u3, then u1 u2 u4), asked in any order; a week
    # before any event is not in the series and is left out. Who did what:
    #   view        u1 u2 u3 | u4        click  u1 | -       $pageleave  u3 | -       export  - | u1 u2
    found = adoption_in(store_e, "week", (date(2026, 1, 12), date(2026, 1, 5), date(2025, 6, 2)))
    assert {name: list(t["users"]) for name, t in found.items()} == {
        "view": [3, 1], "click": [1, 0], "$pageleave": [1, 0], "export": [0, 2]}
    for table in found.values():
        assert [p.isoformat() for p in table["period_start"]] == ["2026-01-05", "2026-01-12"]
        assert list(table["active_users"]) == [3, 3] and list(table["partial"]) == [False, True]  # as of Wed 01-14
    assert list(found["export"]["adoption"]) == [0, 2 / 3]
    # Up to Friday 01-09: the week of 01-12 is after it, the week of 01-05 is running, and nobody had exported yet
    # (an event done by nobody up to the end has no table)
    until = adoption_in(store_e, "week", (date(2026, 1, 5), date(2026, 1, 12)), end=date(2026, 1, 9))
    assert {name: list(t["users"]) for name, t in until.items()} == {"view": [3], "click": [1], "$pageleave": [1]}
    assert list(until["view"]["partial"]) == [True] and list(until["view"]["active_users"]) == [3]
    # the Enterprise segment (acme: u1, u2) in the week of 01-12: export by both of its 2 active users
    enterprise = adoption_in(store_e, "week", (date(2026, 1, 12),), segment=("segment", "Enterprise"))
    assert list(enterprise["export"]["adoption"]) == [1.0] and list(enterprise["view"]["users"]) == [0]


def test_power_user_curve(store_e):
    # week of 01-05 (any day of it picks the week): u1 1 day (05), u2 1 day (06), u3 2 days (07, 09)
    for day in (date(2026, 1, 5), date(2026, 1, 7), date(2026, 1, 11)):
        curve = power_curve(store_e, "week", day)
        assert list(curve["days_active"]) == [1, 2, 3, 4, 5, 6, 7]
        assert list(curve["users"]) == [2, 1, 0, 0, 0, 0, 0]
    # January: u1 3 days (04, 05, 12), u2 2 (06, 14), u3 2 (07, 09), u4 1 (14); 31 rows
    month = power_curve(store_e, "month", date(2026, 1, 20))
    assert list(month["days_active"]) == list(range(1, 32))
    assert list(month["users"]) == [1, 2, 1] + [0] * 28
    # February has 28 rows and nobody in them; the segment keeps acme's u1 and u2
    assert list(power_curve(store_e, "month", date(2026, 2, 1))["users"]) == [0] * 28
    assert list(power_curve(store_e, "month", date(2026, 1, 1), segment=("segment", "Enterprise"))["users"]) == \
        [0, 1, 1] + [0] * 28
    with pytest.raises(ValueError):
        power_curve(store_e, "day", date(2026, 1, 5))


def test_segment_via_the_account_id(store_e):
    # Enterprise = acme = u1, u2.
    # week 12-29: u1 on 01-04. week 01-05: dau (1+1+0+0+0+0+0)/7 = 2/7, wau = mau = 2 at 01-11,
    #   maus 1,2,2,2,2,2,2 -> stickiness (2/7)/(13/7) = 2/13, events 3 (u1 x2, u2) / 2.
    # week 01-12: dau (1+0+1)/3 = 2/3; wau = mau = 2; stickiness (2/3)/2; events 2 / 2; new nobody.
    _check(engagement_table(store_e, "week", segment=("segment", "Enterprise")), {
        "dau": [1, 2 / 7, 2 / 3], "wau": [1, 2, 2], "mau": [1, 2, 2], "active_users": [1, 2, 2],
        "new_users": [1, 1, 0], "stickiness": [1, 2 / 13, 1 / 3], "events_per_active_user": [1, 1.5, 1],
    }, WEEKS, "Enterprise")
    # SMB = globex = u3 (07, 09). The series still starts at the first event day of the source (01-04):
    # week 12-29 has nobody: stickiness 0/0 and events per user 0/0 are undefined.
    # week 01-05: dau 2/7, maus 0,0,1,1,1,1,1 -> stickiness (2/7)/(5/7) = 0.4. week 01-12: dau 0, wau(01-14) = 1.
    _check(engagement_table(store_e, "week", segment=("segment", "SMB")), {
        "dau": [0, 2 / 7, 0], "wau": [0, 1, 1], "mau": [0, 1, 1], "active_users": [0, 1, 0],
        "new_users": [0, 1, 0], "stickiness": [nan, 0.4, 0], "events_per_active_user": [nan, 2, nan],
    }, WEEKS, "SMB")


def test_inactive_events_do_not_make_a_user_active(store_fresh):
    store_fresh.set_setting("inactive_events", '["$pageleave"]')
    # u3's $pageleave on 01-07 no longer counts: day 01-07 has dau 0; u3 is active on 01-09 only.
    # week 01-05: dau 1,1,0,0,1,0,0 = 3/7; wau(01-11) = 3; maus 1,2,2,2,3,3,3 = 16 -> stickiness 3/16.
    # u3 is still a new user of that week (first event, of any name, on 01-07) and the $pageleave is still an
    # event: events per active user stays 5/3.
    _check(engagement_table(store_fresh, "week"), {
        "dau": [1, 3 / 7, 1], "wau": [1, 3, 4], "mau": [1, 3, 4], "active_users": [1, 3, 3],
        "new_users": [1, 2, 1], "stickiness": [1, 3 / 16, 0.3], "events_per_active_user": [1, 5 / 3, 1],
    }, WEEKS, "inactive $pageleave")
    days = column(engagement_table(store_fresh, "day"), "wau")
    assert (days["2026-01-07"], days["2026-01-08"], days["2026-01-09"]) == (2, 2, 3)
    assert list(power_curve(store_fresh, "week", date(2026, 1, 5))["users"])[:2] == [3, 0]
    # changing the setting back is picked up too
    store_fresh.set_setting("inactive_events", "[]")
    assert list(series(store_fresh, "dau", "week")["value"]) == [1, pytest.approx(4 / 7), 1]


def test_reporting_time_zone(store_fresh):
    store_fresh.set_setting("timezone", "Europe/Berlin")
    # Berlin is UTC+1 in January: u2's 2026-01-14T23:30Z export is on 01-15, which becomes the as-of date;
    # u4's 01-14 03:30 UTC is 04:30 on 01-14; the first event (22:30 UTC) is 23:30 on 01-04, still Sunday.
    # week 01-12 (partial, ends 01-15): dau 1 (u1), 0, 1 (u4), 1 (u2) -> 3/4; maus 3, 3, 4, 4 -> 3.5;
    #   stickiness 0.75/3.5 = 3/14; wau(01-15) = u3 (09), u1, u4, u2 = 4
    table = engagement_table(store_fresh, "week")
    _check(table, {
        "dau": [1, 4 / 7, 3 / 4], "wau": [1, 3, 4], "mau": [1, 3, 4], "active_users": [1, 3, 3],
        "new_users": [1, 2, 1], "stickiness": [1, 4 / 18, 3 / 14], "events_per_active_user": [1, 5 / 3, 1],
    }, WEEKS, "Berlin")
    assert table["period_end"].iloc[-1] == date(2026, 1, 15)
    day = column(engagement_table(store_fresh, "day"), "dau")
    assert (day["2026-01-14"], day["2026-01-15"]) == (1, 1)
    adopted = adoption(store_fresh, "export", "day").set_index("period_start")["users"]
    assert (adopted[date(2026, 1, 14)], adopted[date(2026, 1, 15)]) == (0, 1)


def test_an_offset_timestamp_belongs_to_its_day_in_the_reporting_zone(store_fresh):
    # In UTC, 2026-01-05T00:30:00+02:00 is Sunday 01-04 (previous ISO week); in Helsinki (UTC+2) it is
    # Monday 01-05, so the first week is that of 01-05 and u1 is one of its three new users.
    assert list(series(store_fresh, "new_users", "week")["period_start"])[0] == date(2025, 12, 29)
    store_fresh.set_setting("timezone", "Europe/Helsinki")
    got = series(store_fresh, "new_users", "week")
    assert list(got["period_start"]) == [date(2026, 1, 5), date(2026, 1, 12)]
    assert list(got["value"]) == [3, 1]


# -- time zone, series start, account and rounding edges ---------------------------------------------------------------

def test_series_start_at_the_first_event_day_even_if_it_is_inactive(store, tmp_path):
    # u1's first event is a $pageleave on Saturday 01-03 (week of 2025-12-29); u1 and u2 are active on 01-06.
    # new_users: week 12-29 -> u1, week 01-05 -> u2 (the cohorts agree: u1's cohort is the week of 12-29).
    store.set_setting("inactive_events", '["$pageleave"]')
    events(store, tmp_path, """
u1,$pageleave,2026-01-03T10:00:00Z,
u1,view,2026-01-06T10:00:00Z,
u2,view,2026-01-06T11:00:00Z,
""")
    got = series(store, "new_users", "week")
    assert list(got["period_start"]) == [date(2025, 12, 29), date(2026, 1, 5)]
    assert list(got["value"]) == [1, 1]


def test_a_user_who_moved_to_an_account_is_in_its_segment(store, tmp_path):
    # u1 used globex (SMB) on 01-05, then acme (Enterprise) on 01-12; u2 is in acme. Whether a user belongs to
    # their latest account or to every account they used, u1 is an Enterprise user: 2 active users in January.
    load(store, tmp_path, "customers.csv", CUSTOMERS)
    events(store, tmp_path, """
u1,view,2026-01-05T09:00:00Z,globex
u1,view,2026-01-12T10:00:00Z,acme
u2,view,2026-01-12T11:00:00Z,acme
""")
    enterprise = series(store, "active_users", "month", segment=("segment", "Enterprise"))
    assert list(enterprise["value"]) == [2]
