"""Revenue KPIs on tiny hand-made subscription files, every expected number worked out by hand in a comment.

Each fixture is imported through the real canonical CSV importer into a real DuckDB file. ``nan`` is an
undefined value (a ratio whose denominator is 0): it must be NaN, never 0 and never infinity.
"""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pytest

from kpis.core.errors import DataError, InputError
from kpis.metrics.revenue import Bridge, bridge, revenue_as_of, revenue_table
from kpis.metrics.series import series
from kpis.store.db import Store
from tests.kpis.helpers import SUBS_HEADER, assert_values, column, load, subs

nan = float("nan")
W = 10 * 2 * 52 / 12  # a weekly plan of 10 x 2 seats: 86.666... a month (= 260/3)


def _table_check(table, expected: dict[str, list[float]], periods: list[str], what: str) -> None:
    assert [p.isoformat() for p in table["period_start"]] == periods, what
    for kpi, values in expected.items():
        assert_values(column(table, kpi), dict(zip(periods, values, strict=True)), f"{what} {kpi}")


# -- fixture A: five months of one small company ------------------------------------------------------------------
#
#   c1  s1   100/month            2026-01-10 .. 2026-03-05 (exclusive), then
#       s1b  150/month            2026-03-05 .. open                      -> expansion +50 in March
#   c2  s2   1200/year (= 100)    2026-01-15 .. 2026-04-01, then
#       s2b  60/month             2026-04-01 .. open                      -> contraction -40 in April
#   c3  s3   10/week x 2 seats    2026-02-03 .. 2026-03-10 (= W = 86.67)  -> new in Feb, churned in March
#       s3b  50/month             2026-05-02 .. open                      -> reactivation in May
#   c4  s4   30/month, trial      started 2026-02-20, trial ends 2026-03-05 -> pays from 03-05: new in March
#   c5  s5   500/month incomplete (never pays), s5b incomplete_expired (never pays)
#   c6  s6   40/month             2026-04-14 .. 2026-04-17: starts and leaves inside April, moves nothing
#   c7  s7   10/month             2026-05-25 .. open: after the as-of date 2026-05-20, invisible with --end
#
# mrr_c at the ends of the months (May is partial: its end is the as-of date 2026-05-20):
#         Jan31  Feb28  Mar31  Apr30  May20
#   c1     100    100    150    150    150
#   c2     100    100    100     60     60
#   c3       0      W      0      0     50
#   c4       0      0     30     30     30
#   mrr    200  200+W    280    240    290

A_ROWS = """
s1,c1,basic,100,1,USD,month,1,canceled,2026-01-10T09:00:00Z,,2026-03-05,2026-03-05T00:00:00Z
s1b,c1,pro,150,1,USD,month,1,active,2026-03-05T00:00:00Z,,,
s2,c2,annual,1200,1,USD,year,1,canceled,2026-01-15,,2026-04-01,2026-04-01
s2b,c2,small,60,,USD,month,,active,2026-04-01,,,
s3,c3,weekly,10,2,USD,week,1,canceled,2026-02-03,,2026-03-10,2026-03-10
s3b,c3,basic,50,1,USD,month,1,active,2026-05-02,,,
s4,c4,basic,30,1,USD,month,1,trialing,2026-02-20,2026-03-05,,
s5,c5,big,500,1,USD,month,1,incomplete,2026-02-01,,,
s5b,c5,big,500,1,USD,month,1,incomplete_expired,2026-02-01,,,
s6,c6,basic,40,1,USD,month,1,canceled,2026-04-14,,2026-04-17,2026-04-17
s7,c7,basic,10,1,USD,month,1,active,2026-05-25,,,
"""
A_END = date(2026, 5, 20)
A_MONTHS = ["2026-01-01", "2026-02-01", "2026-03-01", "2026-04-01", "2026-05-01"]
A_MONTHLY = {
    "mrr": [200, 200 + W, 280, 240, 290],
    "arr": [2400, 12 * (200 + W), 3360, 2880, 3480],
    # Jan: c1, c2 first paid (after Dec 31). Feb: c3. Mar: c4 (trial ended 03-05, after Feb 28).
    "new_mrr": [200, W, 30, 0, 0],
    "new_customers": [2, 1, 1, 0, 0],
    "expansion_mrr": [0, 0, 50, 0, 0],  # c1 100 -> 150
    "contraction_mrr": [0, 0, 0, -40, 0],  # c2 100 -> 60
    "churned_mrr": [0, 0, -W, 0, 0],  # c3 W -> 0
    "churned_customers": [0, 0, 1, 0, 0],
    "reactivation_mrr": [0, 0, 0, 0, 50],  # c3 0 -> 50, first paid 02-03 <= Apr 30
    "reactivated_customers": [0, 0, 0, 0, 1],
    # the bridge: 200 - 0; (200+W) - 200; 30 + 50 - W = 280 - (200+W); -40 = 240 - 280; 50 = 290 - 240
    "net_new_mrr": [200, W, 80 - W, -40, 50],
    # net new MRR / MRR a period ago: nobody paid in December (undefined); W/200; (80-W)/(200+W); -40/280; 50/240
    "mrr_growth_rate": [nan, W / 200, (80 - W) / (200 + W), -40 / 280, 50 / 240],
    "active_customers": [2, 3, 3, 3, 4],
    "net_new_customers": [2, 1, 0, 0, 1],
    # churned / active a period ago: Jan has nobody a period ago (undefined); 0/2; 1/3; 0/3; 0/3
    "logo_churn_rate": [nan, 0, 1 / 3, 0, 0],
    # -(churned + contraction) / mrr a period ago: undefined; 0/200; W/(200+W) = 13/43; 40/280; 0/240
    "revenue_churn_rate": [nan, 0, 13 / 43, 40 / 280, 0],
    # (new + reactivation + expansion) / -(churned + contraction): 200/0; W/0; 80/W = 12/13; 0/40; 50/0
    "quick_ratio": [nan, nan, 12 / 13, 0, nan],
    "arpa": [100, (200 + W) / 3, 280 / 3, 80, 72.5],
    # nobody paid twelve months before any of these months: undefined
    "nrr": [nan] * 5,
    "grr": [nan] * 5,
    "ltv": [nan] * 5,  # needs six months of logo churn
}


@pytest.fixture(scope="module")
def store_a(tmp_path_factory):
    folder = tmp_path_factory.mktemp("a")
    with Store(folder / "a.duckdb") as store:
        subs(store, folder, A_ROWS)
        yield store


def test_every_revenue_kpi_by_hand_at_month_grain(store_a):
    _table_check(revenue_table(store_a, "month", end=A_END), A_MONTHLY, A_MONTHS, "fixture A, month")


def test_series_gives_the_same_numbers_as_the_table(store_a):
    for kpi in ("mrr", "new_mrr", "logo_churn_rate", "quick_ratio", "ltv"):
        got = series(store_a, kpi, "month", end=A_END)
        assert list(got["partial"]) == [False, False, False, False, True]
        assert_values(column(got.rename(columns={"value": kpi}), kpi), dict(zip(A_MONTHS, A_MONTHLY[kpi],
                                                                                   strict=True)), kpi)


def test_the_partial_last_period_ends_on_the_as_of_date(store_a):
    # --end 2026-05-20: May ends on 05-20, c7 (from 05-25) is not there yet.
    table = revenue_table(store_a, "month", end=A_END)
    assert (table["period_end"].iloc[-1], bool(table["partial"].iloc[-1])) == (date(2026, 5, 20), True)
    # Without --end the as-of date is the latest created/start/cancel/end date: 2026-05-25 (c7's start),
    # so May ends on 05-25 and holds c7: mrr 290 + 10 = 300, new 10 (c7) and reactivation 50 (c3).
    default = revenue_table(store_a, "month")
    assert (default["period_end"].iloc[-1], bool(default["partial"].iloc[-1])) == (date(2026, 5, 25), True)
    assert list(default["mrr"].iloc[-1:]) == [300]
    assert (default["new_mrr"].iloc[-1], default["reactivation_mrr"].iloc[-1]) == (10, 50)
    # --end on a month's last day: that month is full, not partial
    full = revenue_table(store_a, "month", end=date(2026, 4, 30))
    assert (full["period_end"].iloc[-1], bool(full["partial"].iloc[-1])) == (date(2026, 4, 30), False)


def test_a_trial_pays_from_its_trial_end_day(store_a):
    # c4's trial ends 2026-03-05 (c1 also moves from s1 to s1b on 03-05, c3 starts on 02-03 and pays to 03-09).
    # Day grain around 03-05: mrr 03-04 = c1 100 + c2 100 + c3 W; 03-05 = c1 150 + c2 100 + c3 W + c4 30.
    got = series(store_a, "mrr", "day", start=date(2026, 3, 4), end=date(2026, 3, 5))
    assert_values(column(got.rename(columns={"value": "mrr"}), "mrr"),
                  {"2026-03-04": 200 + W, "2026-03-05": 280 + W}, "mrr by day")
    new = series(store_a, "new_mrr", "day", start=date(2026, 3, 4), end=date(2026, 3, 5))
    assert list(new["value"]) == [0, 30]


def test_a_trial_ending_after_the_export_never_moves_the_as_of_date(store, tmp_path):
    # The export's recorded days: s1 starts 11-02, s2 is canceled on 11-20 (ends 11-20), s3 starts its trial on
    # 11-18 and the trial ends 12-02, after anything the export recorded. As-of = 11-20, on any day the test
    # runs: the trial end is scheduled, not recorded, so s3 has not converted and pays nothing yet.
    subs(store, tmp_path, """
s1,c1,pro,100,1,USD,month,1,active,2026-11-02,,,
s2,c2,pro,50,1,USD,month,1,canceled,2026-10-01,,2026-11-20,2026-11-20
s3,c3,pro,30,1,USD,month,1,trialing,2026-11-18,2026-12-02,,
""")
    assert revenue_as_of(store) == date(2026, 11, 20)
    table = revenue_table(store, "month")
    assert [p.isoformat() for p in table["period_start"]] == ["2026-10-01", "2026-11-01"]
    # November ends on 11-20: c1 100, c2 gone (churned -50), c3 still in its trial
    assert (table["mrr"].iloc[-1], table["churned_mrr"].iloc[-1], bool(table["partial"].iloc[-1])) == (100, -50, True)


def test_a_trial_end_not_later_than_the_recorded_days_counts(store, tmp_path):
    # s1's trial ended 11-10 and s2 started 11-15: the trial end is not the latest day, the as-of is 11-15; a
    # later created date (s3, created 11-21 with a start backdated to 11-01) moves it to 11-21.
    subs(store, tmp_path, """
s1,c1,pro,100,1,USD,month,1,active,2026-10-27,2026-11-10,,
s2,c2,pro,50,1,USD,month,1,active,2026-11-15,,,
""")
    assert revenue_as_of(store) == date(2026, 11, 15)
    load(store, tmp_path, "created.csv", SUBS_HEADER + ",created_at\n"
         "s3,c3,pro,30,1,USD,month,1,active,2026-11-01,,,,2026-11-21T09:30:00Z")
    assert revenue_as_of(store) == date(2026, 11, 21)


def test_incomplete_subscriptions_never_pay(store, tmp_path):
    subs(store, tmp_path, """
s1,c1,big,500,1,USD,month,1,incomplete,2026-02-01,,,
s2,c2,big,500,1,USD,month,1,incomplete_expired,2026-02-01,,,
""")
    assert series(store, "mrr", "month", end=date(2026, 3, 1)).empty
    assert revenue_table(store, "month", end=date(2026, 3, 1)).empty


# -- fixture W: weeks across a year end, ISO week 53 of 2026 --------------------------------------------------------
#
#   ISO week 52: Mon 2026-12-21 .. Sun 12-27; week 53: Mon 2026-12-28 .. Sun 2027-01-03;
#   week 1 of 2027: Mon 2027-01-04 .. (as-of, --end) Wed 2027-01-06 (partial).
#
#   c1  100/month                        from 2026-12-22, plus 20/month from 2027-01-05 (expansion)
#   c2  30/week = 30 x 52/12 = 130/month  2026-12-29 .. 2027-01-05 (pays through 01-04): churned in week 1
#   c3  1200/year every 2 years x 3 seats = 1200 x 3 / 12 / 2 = 150/month  from Thu 2026-12-31
#   c4  300 every 3 months = 100/month    2026-12-21 .. 2026-12-30: churned in week 53; inside December only
#
#   mrr_c at the ends:  12-27  01-03  01-06 (weeks)     12-31  01-06 (months)
#   c1                    100    100    120               100    120
#   c2                      0    130      0               130      0
#   c3                      0    150    150               150    150
#   c4                    100      0      0                 0      0
#   mrr                   200    380    270               380    270

W_ROWS = """
s1,c1,basic,100,1,USD,month,1,active,2026-12-22T10:00:00Z,,,
s1b,c1,addon,20,1,USD,month,1,active,2027-01-05,,,
s2,c2,weekly,30,1,USD,week,1,canceled,2026-12-29,,2027-01-05,2027-01-05
s3,c3,biennial,1200,3,USD,year,2,active,2026-12-31,,,
s4,c4,quarterly,300,1,USD,month,3,canceled,2026-12-21,,2026-12-30,2026-12-30
"""
W_END = date(2027, 1, 6)
W_WEEKS = ["2026-12-21", "2026-12-28", "2027-01-04"]
W_WEEKLY = {
    "mrr": [200, 380, 270],
    "arr": [2400, 4560, 3240],
    "new_mrr": [200, 280, 0],  # c1 + c4; c2 + c3 (130 + 150)
    "new_customers": [2, 2, 0],
    "expansion_mrr": [0, 0, 20],  # c1 100 -> 120
    "contraction_mrr": [0, 0, 0],
    "churned_mrr": [0, -100, -130],  # c4 in week 53, c2 in week 1
    "churned_customers": [0, 1, 1],
    "reactivation_mrr": [0, 0, 0],
    "reactivated_customers": [0, 0, 0],
    "net_new_mrr": [200, 180, -110],  # 280 - 100 = 380 - 200; 20 - 130 = 270 - 380
    "active_customers": [2, 3, 2],
    "net_new_customers": [2, 1, -1],  # 2 - 1 = 3 - 2; 0 - 1 = 2 - 3
    "logo_churn_rate": [nan, 0.5, 1 / 3],  # -; 1/2; 1/3
    "revenue_churn_rate": [nan, 0.5, 130 / 380],  # -; 100/200; 130/380
    "quick_ratio": [nan, 2.8, 20 / 130],  # 200/0; 280/100; 20/130
    "arpa": [100, 380 / 3, 135],
    "nrr": [nan] * 3,
    "grr": [nan] * 3,
    "ltv": [nan] * 3,  # month grain only: NaN in the table at week grain
}
W_MONTHLY = {
    # December: c1, c2, c3 are new; c4 starts (12-21) and leaves (12-30) inside December: it moves nothing.
    "mrr": [380, 270],
    "arr": [4560, 3240],
    "new_mrr": [380, 0],
    "new_customers": [3, 0],
    "expansion_mrr": [0, 20],
    "contraction_mrr": [0, 0],
    "churned_mrr": [0, -130],
    "churned_customers": [0, 1],
    "reactivation_mrr": [0, 0],
    "reactivated_customers": [0, 0],
    "net_new_mrr": [380, -110],
    "active_customers": [3, 2],
    "net_new_customers": [3, -1],
    "logo_churn_rate": [nan, 1 / 3],
    "revenue_churn_rate": [nan, 130 / 380],
    "quick_ratio": [nan, 20 / 130],
    "arpa": [380 / 3, 135],
    "nrr": [nan, nan],
    "grr": [nan, nan],
    "ltv": [nan, nan],
}


@pytest.fixture(scope="module")
def store_w(tmp_path_factory):
    folder = tmp_path_factory.mktemp("w")
    with Store(folder / "w.duckdb") as store:
        subs(store, folder, W_ROWS)
        yield store


def test_every_revenue_kpi_by_hand_at_week_grain_across_week_53(store_w):
    table = revenue_table(store_w, "week", end=W_END)
    _table_check(table, W_WEEKLY, W_WEEKS, "fixture W, week")
    assert list(table["period_end"]) == [date(2026, 12, 27), date(2027, 1, 3), date(2027, 1, 6)]
    assert list(table["partial"]) == [False, False, True]


def test_every_revenue_kpi_by_hand_at_month_grain_across_the_year_end(store_w):
    _table_check(revenue_table(store_w, "month", end=W_END), W_MONTHLY, ["2026-12-01", "2027-01-01"],
                 "fixture W, month")


def test_quarter_grain_across_the_year_end(store_w):
    # Q4 2026 ends 12-31 (mrr 380, all new); Q1 2027 ends at the as-of date 01-06 (mrr 270).
    table = revenue_table(store_w, "quarter", end=W_END)
    assert [p.isoformat() for p in table["period_start"]] == ["2026-10-01", "2027-01-01"]
    assert list(table["mrr"]) == [380, 270]
    assert list(table["net_new_mrr"]) == [380, -110]


def test_ltv_exists_at_month_grain_only(store_w):
    with pytest.raises(InputError, match="ltv exists at month grain, not week"):
        series(store_w, "ltv", "week", end=W_END)


# -- LTV: six months of logo churn ------------------------------------------------------------------------------
#
#   c1 100 from 2026-01-05 (open); c2 100 from 01-05 to 03-15; c3 100 from 01-05 to 05-10;
#   c4 100 from 01-05 to 07-20; c5 100 from 02-10 (open); as-of 2026-07-31.
#   active at month ends: Jan 4, Feb 5, Mar 4, Apr 4, May 3, Jun 3, Jul 2
#   logo churn: Jan -, Feb 0/4, Mar 1/5, Apr 0/4, May 1/4, Jun 0/3, Jul 1/3
#   ltv(Jul) = arpa(Jul) / mean(Feb..Jul) = (200/2) / ((0 + 1/5 + 0 + 1/4 + 0 + 1/3) / 6) = 100 / (47/360)
#            = 36000/47 = 765.957...; every earlier month has fewer than six defined churn rates: undefined.

def test_ltv_is_arpa_over_the_mean_logo_churn_of_six_months(store, tmp_path):
    subs(store, tmp_path, """
s1,c1,basic,100,1,USD,month,1,active,2026-01-05,,,
s2,c2,basic,100,1,USD,month,1,canceled,2026-01-05,,2026-03-15,2026-03-15
s3,c3,basic,100,1,USD,month,1,canceled,2026-01-05,,2026-05-10,2026-05-10
s4,c4,basic,100,1,USD,month,1,canceled,2026-01-05,,2026-07-20,2026-07-20
s5,c5,basic,100,1,USD,month,1,active,2026-02-10,,,
""")
    table = revenue_table(store, "month", end=date(2026, 7, 31))
    months = [f"2026-0{m}-01" for m in range(1, 8)]
    _table_check(table, {
        "active_customers": [4, 5, 4, 4, 3, 3, 2],
        "logo_churn_rate": [nan, 0, 1 / 5, 0, 1 / 4, 0, 1 / 3],
        "ltv": [nan] * 6 + [36000 / 47],
    }, months, "ltv")


def test_ltv_without_any_churn_is_undefined_not_infinite(store, tmp_path):
    # one customer for seven months: the mean logo churn is 0, so ARPA / 0 is undefined
    subs(store, tmp_path, "s1,c1,basic,100,1,USD,month,1,active,2026-01-05,,,")
    got = series(store, "ltv", "month", end=date(2026, 7, 31))
    assert len(got) == 7 and got["value"].isna().all()


# -- undefined ratios ---------------------------------------------------------------------------------------------
#
#   c1 100/month 2026-01-05 .. 2026-02-01, then again from 2026-04-10. Nobody pays at the end of Feb or March.
#   Jan: mrr 100, new. Feb: churned 100: logo churn 1/1, revenue churn 100/100, quick 0/100, arpa 0/0.
#   Mar: nobody a period ago and nobody now: every ratio 0/0. Apr: reactivation 100, quick 100/0, logo churn 0/0.

def test_ratios_with_a_zero_denominator_are_undefined(store, tmp_path):
    subs(store, tmp_path, """
s1,c1,basic,100,1,USD,month,1,canceled,2026-01-05,,2026-02-01,2026-02-01
s2,c1,basic,100,1,USD,month,1,active,2026-04-10,,,
""")
    table = revenue_table(store, "month", end=date(2026, 4, 30))
    _table_check(table, {
        "mrr": [100, 0, 0, 100],
        "churned_mrr": [0, -100, 0, 0],
        "reactivation_mrr": [0, 0, 0, 100],
        "reactivated_customers": [0, 0, 0, 1],
        "active_customers": [1, 0, 0, 1],
        "logo_churn_rate": [nan, 1.0, nan, nan],
        "revenue_churn_rate": [nan, 1.0, nan, nan],
        "quick_ratio": [nan, 0.0, nan, nan],
        "arpa": [100, nan, nan, 100],
        "nrr": [nan] * 4,
        "grr": [nan] * 4,
    }, ["2026-01-01", "2026-02-01", "2026-03-01", "2026-04-01"], "undefined ratios")
    for name in ("logo_churn_rate", "revenue_churn_rate", "quick_ratio", "arpa", "nrr", "grr", "ltv"):
        values = table[name].astype("float64")
        assert not values.isin([float("inf"), float("-inf")]).any(), name


def test_a_free_plan_is_not_a_paid_day(store, tmp_path):
    # c1 is on a free plan from January, pays 50 from March: that is new MRR, not a reactivation.
    subs(store, tmp_path, """
s1,c1,free,0,1,USD,month,1,canceled,2026-01-05,,2026-03-01,2026-03-01
s2,c1,basic,50,1,USD,month,1,active,2026-03-01,,,
""")
    table = revenue_table(store, "month", end=date(2026, 3, 31))
    assert [p.isoformat() for p in table["period_start"]] == ["2026-03-01"]  # the first paid day is 03-01
    assert (table["new_mrr"].iloc[0], table["reactivation_mrr"].iloc[0]) == (50, 0)


# -- NRR and GRR over twelve months, with Feb 29 ------------------------------------------------------------------
#
#   c1 100/month from 2027-02-01 (open), plus 50/month from 2028-06-01 (expansion)
#   c2 200/month from 2028-02-29 (the leap day)
#   c3 50/month from 2027-02-28 to 2028-02-29 (pays through 2028-02-28)
#   c4 80/month from 2027-02-15 to 2027-03-01 (pays on 2027-02-28, not on 03-01)
#
#   Feb 2028: end(P) = 2028-02-29, ref = 2027-02-28. C = {c1 100, c3 50, c4 80}: 230 then.
#     now: c1 100, c3 0 (ended 02-29), c4 0 -> nrr = 100/230, grr = (100 + 0 + 0)/230. (Not 2027-03-01:
#     "365 days back" would drop c4 and give 100/150.)
#   Feb 2029: end(P) = 2029-02-28, ref = 2028-02-28 (not 2028-02-29). C = {c1 100, c3 50}: 150 then; c2 starts
#     on 02-29 and is not in C. now: c1 150, c3 0 -> nrr = 150/150 = 1, grr = (min(150, 100) + 0)/150 = 2/3.
#   Jan 2028: ref 2027-01-31, nobody paid: undefined.

NRR_ROWS = """
s1,c1,basic,100,1,USD,month,1,active,2027-02-01,,,
s1b,c1,addon,50,1,USD,month,1,active,2028-06-01,,,
s2,c2,pro,200,1,USD,month,1,active,2028-02-29,,,
s3,c3,basic,50,1,USD,month,1,canceled,2027-02-28,,2028-02-29,2028-02-29
s4,c4,basic,80,1,USD,month,1,canceled,2027-02-15,,2027-03-01,2027-03-01
"""


@pytest.fixture(scope="module")
def store_nrr(tmp_path_factory):
    folder = tmp_path_factory.mktemp("nrr")
    with Store(folder / "nrr.duckdb") as store:
        subs(store, folder, NRR_ROWS)
        yield store


def test_nrr_and_grr_over_twelve_months_with_feb_29(store_nrr):
    table = revenue_table(store_nrr, "month", end=date(2029, 2, 28))
    nrr, grr = column(table, "nrr"), column(table, "grr")
    assert_values({p: nrr[p] for p in ("2027-02-01", "2028-01-01", "2028-02-01", "2029-02-01")},
                  {"2027-02-01": nan, "2028-01-01": nan, "2028-02-01": 100 / 230, "2029-02-01": 1.0}, "nrr")
    assert_values({p: grr[p] for p in ("2027-02-01", "2028-01-01", "2028-02-01", "2029-02-01")},
                  {"2027-02-01": nan, "2028-01-01": nan, "2028-02-01": 100 / 230, "2029-02-01": 2 / 3}, "grr")
    assert table["period_end"].iloc[-1] == date(2029, 2, 28) and not table["partial"].iloc[-1]


def test_nrr_of_a_partial_period_looks_back_from_the_as_of_date(store_nrr):
    # --end 2029-02-10: end(P) = 2029-02-10, ref = 2028-02-10: C = {c1 100, c3 50}; now c1 150 -> nrr 1, grr 2/3
    got = series(store_nrr, "nrr", "month", start=date(2029, 2, 1), end=date(2029, 2, 10))
    assert list(got["value"]) == [pytest.approx(1.0)] and list(got["partial"]) == [True]
    # --end 2028-03-15: ref 2027-03-15: C = {c1 100, c3 50}; now c1 100, c2 200 (not in C), c3 0 -> 100/150
    got = series(store_nrr, "nrr", "month", start=date(2028, 3, 1), end=date(2028, 3, 15))
    assert list(got["value"]) == [pytest.approx(100 / 150)]


# -- currencies ---------------------------------------------------------------------------------------------------

MIXED = """
s1,c1,basic,100,1,USD,month,1,active,2026-01-05,,,
s2,c2,basic,100,1,EUR,month,1,active,2026-01-10,,,
s3,c3,basic,1000,1,SEK,month,1,active,2026-01-12,,,
"""


def test_mixed_currencies_without_rates_fail_naming_the_currencies(store, tmp_path):
    subs(store, tmp_path, MIXED)
    with pytest.raises(DataError) as failure:
        series(store, "mrr", "month", end=date(2026, 1, 31))
    message = str(failure.value)
    assert "EUR" in message and "SEK" in message and "USD" in message
    with pytest.raises(DataError):
        revenue_table(store, "week", end=date(2026, 1, 31))


def test_an_fx_rates_import_converts_to_the_reporting_currency(store, tmp_path):
    subs(store, tmp_path, MIXED)
    load(store, tmp_path, "fx.csv", "currency,rate\nEUR,1.1\nSEK,0.095")
    # USD has no rate: it is the reporting currency. Jan: 100 + 100 x 1.1 + 1000 x 0.095 = 305
    got = series(store, "mrr", "month", end=date(2026, 1, 31))
    assert list(got["value"]) == [pytest.approx(305)]
    arpa = series(store, "arpa", "month", end=date(2026, 1, 31))
    assert list(arpa["value"]) == [pytest.approx(305 / 3)]


def test_one_currency_needs_no_rates(store, tmp_path):
    subs(store, tmp_path, "s1,c1,basic,100,1,EUR,month,1,active,2026-01-05,,,")
    assert list(series(store, "mrr", "month", end=date(2026, 1, 31))["value"]) == [100]


# -- segments -----------------------------------------------------------------------------------------------------
#
#   c1 Enterprise 100, c2 SMB 50, c3 Enterprise 30 (from 2026-01-05; c3 leaves on 2026-02-10)
#   Enterprise: Jan mrr 130 (2 customers), Feb 100: churned 30, logo churn 1/2, revenue churn 30/130
#   SMB: 50 both months

@pytest.fixture(scope="module")
def store_seg(tmp_path_factory):
    folder = tmp_path_factory.mktemp("seg")
    with Store(folder / "seg.duckdb") as store:
        load(store, folder, "customers.csv", """customer_id,name,email,segment
c1,Acme,a@acme.test,Enterprise
c2,Bolt,b@bolt.test,SMB
c3,Core,c@core.test,Enterprise""")
        subs(store, folder, """
s1,c1,pro,100,1,USD,month,1,active,2026-01-05,,,
s2,c2,basic,50,1,USD,month,1,active,2026-01-05,,,
s3,c3,basic,30,1,USD,month,1,canceled,2026-01-05,,2026-02-10,2026-02-10
""")
        yield store


def test_segment_restricts_to_customers_with_that_attribute(store_seg):
    end, months = date(2026, 2, 28), ["2026-01-01", "2026-02-01"]
    _table_check(revenue_table(store_seg, "month", end=end, segment=("segment", "Enterprise")), {
        "mrr": [130, 100], "active_customers": [2, 1], "churned_mrr": [0, -30], "churned_customers": [0, 1],
        "logo_churn_rate": [nan, 0.5], "revenue_churn_rate": [nan, 30 / 130], "arpa": [65, 100],
    }, months, "Enterprise")
    _table_check(revenue_table(store_seg, "month", end=end, segment=("segment", "SMB")), {
        "mrr": [50, 50], "active_customers": [1, 1], "logo_churn_rate": [nan, 0],
    }, months, "SMB")
    _table_check(revenue_table(store_seg, "month", end=end), {"mrr": [180, 150]}, months, "everyone")
    assert series(store_seg, "mrr", "month", end=end, segment=("segment", "Nobody")).empty


# -- time zone, series start, account and rounding edges ---------------------------------------------------------------

def test_revenue_days_are_in_the_reporting_time_zone(store, tmp_path):
    # 2026-01-31T23:30:00Z is 2026-02-01 00:30 in Berlin: the subscription pays from February 1.
    store.set_setting("timezone", "Europe/Berlin")
    subs(store, tmp_path, """
s1,c1,basic,100,1,USD,month,1,active,2026-01-31T23:30:00Z,,,
s2,c2,basic,50,1,USD,month,1,active,2026-01-10T12:00:00Z,,,
""")
    got = series(store, "mrr", "month", end=date(2026, 2, 28))
    assert_values(column(got.rename(columns={"value": "mrr"}), "mrr"),
                  {"2026-01-01": 50, "2026-02-01": 150}, "mrr in Berlin")


def test_series_starts_at_start_when_it_is_before_the_data(store_a):
    got = series(store_a, "mrr", "month", start=date(2025, 11, 15), end=date(2026, 2, 28))
    assert [p.isoformat() for p in got["period_start"]] == ["2025-11-01", "2025-12-01", "2026-01-01",
                                                             "2026-02-01"]
    assert list(got["value"])[:3] == [0, 0, 200]



def test_a_denominator_that_is_zero_up_to_float_noise_is_undefined(store, write):
    # x pays 0.1 + 0.2 + 0.7/12 a month until 2025-05-01; float sums leave ~1e-17 instead of 0 afterwards
    text = ("subscription_id,customer_id,amount,interval,started_at,ended_at\n"
            "a,x,0.1,month,2025-01-01,2025-05-01\nb,x,0.2,month,2025-01-01,2025-05-01\n"
            "c,x,0.7,year,2025-01-01,2025-05-01\nd,y,10,month,2026-09-01,\n")
    from kpis.ingest.importer import import_file

    import_file(store, write("s.csv", text))
    table = revenue_table(store, "month", end=date(2026, 9, 30))
    by_month = table.set_index("period_start")
    # nobody paid on 2025-09-30 (the reference day of 2026-09): NRR and GRR are undefined, not 1
    assert math.isnan(by_month.loc[date(2026, 9, 1), "nrr"])
    assert math.isnan(by_month.loc[date(2026, 9, 1), "grr"])
    # nothing was paid in 2026-08: revenue churn of 2026-09 is undefined, not 0
    assert math.isnan(by_month.loc[date(2026, 9, 1), "revenue_churn_rate"])


def test_a_churn_rate_is_exact_when_its_denominator_is_not_a_round_number(store, write):
    # 10 every 3 months = 3.3333333... a month, paid on Jan 1 only (ended Jan 2): on Jan 2 all of it churned,
    # revenue churn = 3.333.../3.333... = exactly 1 (a rounded divisor would give 1.0000001)
    from kpis.ingest.importer import import_file

    import_file(store, write("s.csv", "subscription_id,customer_id,amount,interval,interval_count,started_at,"
                                      "ended_at\ns0,c1,10,month,3,2026-01-01,2026-01-02\n"))
    table = revenue_table(store, "day", end=date(2026, 1, 2)).set_index("period_start")
    assert table.loc[date(2026, 1, 2), "revenue_churn_rate"] == 1.0


def test_the_bridge_of_a_period_starts_where_the_period_before_ended():
    jan, feb = date(2026, 1, 1), date(2026, 2, 1)
    table = pd.DataFrame({"period_start": [jan, feb], "mrr": [100.0, 130.0], "net_new_mrr": [100.0, 30.0],
                          "new_mrr": [100.0, 40.0], "expansion_mrr": [0.0, 10.0], "reactivation_mrr": [0.0, 5.0],
                          "contraction_mrr": [0.0, -5.0], "churned_mrr": [0.0, -20.0]})
    assert bridge(table, feb) == Bridge(100.0, 40.0, 10.0, 5.0, -5.0, -20.0, 130.0)
    assert bridge(table, jan) == Bridge(0.0, 100.0, 0.0, 0.0, 0.0, 0.0, 100.0)
    assert bridge(table, date(2026, 3, 1)) is None
    assert bridge(table, feb).movements == (("New", 40.0), ("Expansion", 10.0), ("Reactivation", 5.0),
                                            ("Contraction", -5.0), ("Churned", -20.0))


def test_mrr_growth_is_exactly_zero_on_days_nothing_moved(store_a):
    """A day without a movement grows by 0, not by float noise of the running MRR (which would read as a change
    and differ between engines)."""
    table = revenue_table(store_a, "day", end=A_END)
    still = table[(table["net_new_mrr"] == 0) & (table["mrr"] > 0)]
    assert len(still) > 100 and (still["mrr_growth_rate"] == 0.0).all()
