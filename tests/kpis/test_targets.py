"""Targets: validation at import, attainment, status, pace, paths at finer grains, anomalies; exact numbers on
small hand-written files."""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pytest

from kpis.core.errors import InputError
from kpis.core.registry import KPIS
from kpis.ingest.importer import import_file
from kpis.plan.anomalies import anomalies, band
from kpis.plan.targets import (
    ahead,
    attainment,
    evaluate,
    far_from,
    projection_path,
    recent_range,
    status,
    target_path,
)

SUBS = "subscription_id,customer_id,amount,interval,started_at,ended_at\n"
TARGETS = "kpi,grain,period_start,target,owner,note\n"


def _row(table, kpi, start):
    match = table[(table["kpi"] == kpi) & (table["period_start"] == start)]
    assert len(match) == 1
    return match.iloc[0]


@pytest.mark.parametrize("line, message, column", [
    ("mrrr,quarter,2026-10-01,100", "unknown KPI 'mrrr'; `python -m kpis kpis` lists them", "kpi"),
    ("logo_churn_rate,year,2026-01-01,0.02", "logo_churn_rate takes targets by week, month, quarter, not by year",
     "kpi"),
    ("mrr,quarter,2026-11-01,100", "2026-11-01 does not start a quarter; the quarter holding it starts on 2026-10-01",
     "period_start"),
    ("mrr,quarter,2026-10-01,lots", 'cannot read "lots": expected a number such as 99.00', "target"),
    ("mrr,fortnight,2026-10-01,100", 'cannot read "fortnight": expected one of week, month, quarter, year', "grain"),
])
def test_bad_targets_are_refused_with_line_and_column(store, write, line, message, column):
    with pytest.raises(InputError) as info:
        import_file(store, write("t.csv", TARGETS + "mrr,quarter,2026-07-01,100\n" + line + "\n"))
    assert str(info.value) == f"t.csv, line 3, column '{column}': {message}"
    assert store.query("SELECT count(*) FROM target_versions") == [(0,)]


def test_attainment_and_status_of_both_directions():
    # higher is better: 95 / 100 = 0.95 -> at risk; lower is better: 0.02 / 0.025 = 0.8 -> off track
    assert attainment(95, 100, True) == 0.95 and status(95, 100, True) == "at risk"
    assert status(0.025, 0.02, False) == "off track"
    # churned MRR is negative: its magnitude is compared, -800 against a -1000 limit -> 1000 / 800 = 1.25
    assert attainment(-800, -1000, False, "churned_mrr") == 1.25
    # a zero actual: higher-is-better attains 0 -> off track; lower-is-better cannot do better -> on track,
    # though its attainment (target / 0) is undefined
    assert attainment(0, 10, True) == 0 and status(0, 10, True) == "off track"
    assert math.isnan(attainment(0, 0.02, False)) and status(0, 0.02, False) == "on track"
    # a zero target of a higher-is-better KPI: undefined
    assert math.isnan(attainment(5, 0, True)) and status(5, 0, True) is None


def test_an_infinite_or_missing_value_has_no_attainment_and_no_status():
    for value in (math.inf, -math.inf, pd.NA, None):
        assert math.isnan(attainment(value, 100.0, True)) and status(value, 100.0, True) is None
        assert math.isnan(attainment(50.0, value, False)) and status(50.0, value, False) is None


def test_evaluate_complete_partial_and_missing(store, write):
    # c1 pays 100/month from Jan 1, c2 50 from Mar 1, c4 25 from Jan 1 to Jun 10; c3 30 from May 10
    import_file(store, write("s.csv", SUBS + "a,c1,100,month,2026-01-01,\nb,c2,50,month,2026-03-01,\n"
                                             "c,c3,30,month,2026-05-10,\nd,c4,25,month,2026-01-01,2026-06-10\n"))
    import_file(store, write("t.csv", TARGETS + "mrr,quarter,2026-01-01,200,CPO,\n"
                                                "new_customers,quarter,2026-04-01,2,,\n"
                                                "logo_churn_rate,month,2026-06-01,0.02,,\n"
                                                "mrr,quarter,2026-10-01,999,,\n"))
    table = evaluate(store, as_of=date(2026, 6, 15))
    q1 = _row(table, "mrr", date(2026, 1, 1))
    # Q1 complete: MRR on Mar 31 = 100 + 50 + 25 = 175; 175 / 200 = 0.875 -> off track
    assert (q1.actual, q1.attainment, q1.status, q1.projected) == (175, 0.875, "off track", False)
    q2 = _row(table, "new_customers", date(2026, 4, 1))
    # Q2 runs until Jun 30, known to Jun 15: 1 new customer (c3) in 76 of 91 days -> run rate 1 x 91/76
    assert q2.actual == 1 and q2.partial and q2.projected
    assert q2.projected_value == pytest.approx(91 / 76)
    assert q2.status == "off track"  # 1.197 / 2 = 0.599
    june = _row(table, "logo_churn_rate", date(2026, 6, 1))
    # June to the 15th: c4 left on Jun 10, out of 4 active on May 31 -> 1/4 (a ratio is not projected)
    assert june.actual == 0.25 and june.projected_value == 0.25
    assert june.status == "off track"
    future = _row(table, "mrr", date(2026, 10, 1))
    assert math.isnan(future.actual) and pd.isna(future.status)


def test_a_running_snapshot_is_projected_on_its_weekly_trend(store, write):
    # one customer per week from Monday 2026-01-05 paying 10 each: MRR grows 10 a week, linearly
    lines = "".join(f"s{i},c{i},10,month,2026-01-{5 + 7 * i:02d},\n" for i in range(4))
    import_file(store, write("s.csv", SUBS + lines))
    import_file(store, write("t.csv", TARGETS + "mrr,month,2026-01-01,60,,\n"))
    row = _row(evaluate(store, as_of=date(2026, 1, 28)), "mrr", date(2026, 1, 1))
    # weekly values at each week's end (Jan 11: 10, Jan 18: 20, Jan 25: 30) and Jan 28 (the as-of): 40, at
    # x = -17, -10, -3, 0 days. Least squares: mean x -7.5, mean y 25; slope = 290 / 173 = 1.6763 a day,
    # intercept 25 + 1.6763 x 7.5 = 37.572; Jan 31 is x = 3: 37.572 + 5.029 = 42.601
    assert row.actual == 40
    assert row.projected_value == pytest.approx(42.601, abs=0.001)
    assert row.status == "off track"  # 42.6 / 60


def test_a_quarterly_target_at_week_grain(store, write):
    # c2 starts on Oct 20: the data runs past Sep 30, the day the path starts from
    import_file(store, write("s.csv", SUBS + "a,c1,100,month,2026-09-01,\nb,c2,50,month,2026-10-20,\n"))
    import_file(store, write("t.csv", TARGETS + "mrr,quarter,2026-10-01,192,,\n"
                                                "new_customers,quarter,2026-10-01,91,,\n"))
    weeks = [(date(2026, 9, 28), date(2026, 10, 4)), (date(2026, 10, 5), date(2026, 10, 11))]
    # snapshot: a straight path from 100 on Sep 30 to 192 on Dec 31 (92 days): +1 a day
    assert target_path(store, "mrr", "week", weeks) == [104, 111]
    # flow: 91 over 92 days, pro rata by the days of each week
    assert target_path(store, "new_customers", "week", weeks) == [pytest.approx(91 * 7 / 92)] * 2
    assert math.isnan(target_path(store, "mrr", "week", [(date(2027, 1, 4), date(2027, 1, 10))])[0])


#: c1 pays 100 a month from Jan 1 2026; c2 50 from Nov 22 2026, the data's as-of date
AS_OF_NOV_22 = SUBS + "a,c1,100,month,2026-01-01,\nb,c2,50,month,2026-11-22,\n"
#: a target for Q2 alone, one for Q1 2027 (after the as-of date), a monthly ratio and a monthly flow
LONE_TARGETS = TARGETS + ("mrr,quarter,2026-04-01,300,,\nmrr,quarter,2027-01-01,400,,\n"
                          "logo_churn_rate,month,2026-11-01,0.02,,\nnew_customers,month,2026-05-01,31,,\n")


def _periods(grain, *starts):
    from kpis.core.calendar import last_day

    return [(s, last_day(s, grain)) for s in starts]


def _same(got, expected):
    assert len(got) == len(expected), got
    for g, e in zip(got, expected, strict=True):
        assert (math.isnan(g) and math.isnan(e)) or g == pytest.approx(e), (got, expected)


def test_every_target_is_drawn_at_every_grain(store, write):
    import_file(store, write("s.csv", AS_OF_NOV_22))
    import_file(store, write("t.csv", LONE_TARGETS))
    nan = math.nan
    quarters = _periods("quarter", date(2026, 1, 1), date(2026, 4, 1), date(2026, 7, 1), date(2026, 10, 1),
                        date(2027, 1, 1))
    _same(target_path(store, "mrr", "quarter", quarters), [nan, 300, nan, nan, 400])
    # Q2 at month grain: the path from 100 on Mar 31 to 300 on Jun 30 (91 days)
    months = _periods("month", date(2026, 3, 1), date(2026, 4, 1), date(2026, 5, 1), date(2026, 6, 1),
                      date(2026, 7, 1))
    _same(target_path(store, "mrr", "month", months), [nan, 100 + 200 * 30 / 91, 100 + 200 * 61 / 91, 300, nan])
    # at week grain the week across Jun 30 (Jun 29 to Jul 5), which no target covers, shows Q2's target itself
    weeks = _periods("week", date(2026, 6, 22), date(2026, 6, 29), date(2026, 7, 6))
    _same(target_path(store, "mrr", "week", weeks), [100 + 200 * 89 / 91, 300, nan])
    # Q1 2027 starts after the as-of date: its path has no start, so the target is drawn at the quarter's end
    # (the last month; the last week ending inside it, and the week holding Mar 31)
    ahead_months = _periods("month", date(2027, 1, 1), date(2027, 2, 1), date(2027, 3, 1))
    _same(target_path(store, "mrr", "month", ahead_months), [nan, nan, 400])
    ahead_weeks = _periods("week", date(2027, 3, 15), date(2027, 3, 22), date(2027, 3, 29))
    _same(target_path(store, "mrr", "week", ahead_weeks), [nan, 400, 400])
    # a monthly target at quarter grain: the quarter holding it shows it (a ratio as it is, a flow pro rata)
    _same(target_path(store, "logo_churn_rate", "quarter", quarters[3:4]), [0.02])
    _same(target_path(store, "new_customers", "quarter", quarters[1:2]), [31 * 91 / 31])
    _same(target_path(store, "new_customers", "week", _periods("week", date(2026, 4, 27))), [7])


def test_a_chart_reaches_the_end_of_the_latest_target(store, write):
    import_file(store, write("s.csv", AS_OF_NOV_22))
    import_file(store, write("t.csv", LONE_TARGETS))
    assert ahead(store, "mrr", date(2026, 10, 1), "quarter") == (date(2027, 1, 1),)
    assert ahead(store, "mrr", date(2026, 11, 1), "month") == (date(2026, 12, 1), date(2027, 1, 1),
                                                               date(2027, 2, 1), date(2027, 3, 1))
    weeks = ahead(store, "mrr", date(2026, 11, 16), "week")  # up to the week holding Wednesday Mar 31 2027
    assert (weeks[0], weeks[-1], len(weeks)) == (date(2026, 11, 23), date(2027, 3, 29), 19)
    assert ahead(store, "logo_churn_rate", date(2026, 11, 1), "month") == ()
    assert ahead(store, "arr", date(2026, 11, 1), "month") == ()


def test_the_projection_runs_on_to_the_periods_ahead(store, write):
    # one customer a week from Monday 2026-01-05 paying 10: MRR 10, 20, 30 at the ends of the first three weeks
    # and 40 on Jan 28. The least-squares line through x = -17, -10, -3, 0 days is 25 + 290/173 (x + 7.5)
    # (see test_a_running_snapshot_is_projected_on_its_weekly_trend); read on Jan 31, Feb 28 and Mar 31
    lines = "".join(f"s{i},c{i},10,month,2026-01-{5 + 7 * i:02d},\n" for i in range(4))
    import_file(store, write("s.csv", SUBS + lines))
    months = (date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1))
    cut = date(2026, 1, 28)
    _same(projection_path(store, KPIS["mrr"], "month", months, cut, 40.0),
          [25 + 290 / 173 * (3 + 7.5), 25 + 290 / 173 * (31 + 7.5), 25 + 290 / 173 * (62 + 7.5)])
    # a flow at January's run rate, 4 new customers in 28 days, over each month's days
    _same(projection_path(store, KPIS["new_customers"], "month", months, cut, 4.0), [4 * 31 / 28, 4, 4 * 31 / 28])
    # a ratio is not projected
    _same(projection_path(store, KPIS["logo_churn_rate"], "month", months, cut, 0.05), [0.05] * 3)


def test_anomaly_is_a_break_from_the_trend(store, write):
    # one customer a month from January, paying uneven amounts; all leave on Oct 1: MRR drops to 0 in October
    amounts = [10, 12, 9, 11, 10, 13, 9, 11, 10]
    lines = "".join(f"s{i},c{i},{a},month,2026-{i + 1:02d}-01,2026-10-01\n" for i, a in enumerate(amounts))
    import_file(store, write("s.csv", SUBS + lines))
    found = anomalies(store, "month", as_of=date(2026, 10, 31), kpis=("mrr", "active_customers"))
    # MRR Jan..Sep wobbles around its line, so October's 0 is far below the band. Active customers rose by
    # exactly one a month (1..9): the line says 10, with no scatter the band is the minimum effect, one customer
    # (5% of the median 5 is less than one): 9 to 11
    assert list(found["kpi"]) == ["mrr", "active_customers"] and list(found["direction"]) == ["below", "below"]
    assert list(found["value"]) == [0, 0]
    customers = found.iloc[1]
    assert (customers.expected, customers.low, customers.high) == (pytest.approx(10.0), 9.0, 11.0)
    # a history exactly on its line: the band is the minimum effect, 5% of the median 45 = 2.25 around 90
    line = band([10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0], KPIS["mrr"])
    assert (line.expected, line.low, line.high) == (pytest.approx(90.0), pytest.approx(87.75), pytest.approx(92.25))


def test_targets_cli_export_then_import_round_trips(tmp_path, write):
    from tests.kpis.test_cli import kpis

    db = tmp_path / "t.duckdb"
    source = write("t.csv", TARGETS + 'mrr,quarter,2026-10-01,1200000,CPO,"Board plan, approved"\n')
    assert kpis("targets", "import", str(source), db=db).returncode == 0
    exported = kpis("targets", "export", db=db).stdout
    assert exported == ('kpi,grain,period_start,target,owner,note\n'
                        'mrr,quarter,2026-10-01,1200000,CPO,"Board plan, approved"\n')
    refused = kpis("targets", "import", str(write("e.csv", "user_id,event,timestamp\nu,a,2026-01-01\n")), db=db)
    assert refused.returncode == 2 and "not a Targets CSV file" in refused.stderr


def test_recent_values_are_the_last_complete_periods(store, write):
    import_file(store, write("s.csv", AS_OF_NOV_22))
    # MRR was 100 at the end of July to October (November, still running on the 22nd, is left out)
    assert recent_range(store, "mrr", "month") == (100, 100)
    # new customers by week: Nov 22 is a Sunday, so the week of Nov 16 is complete and holds c2; the three weeks
    # before it had none
    assert recent_range(store, "new_customers", "week") == (0, 1)
    assert far_from(301, (100, 100)) and not far_from(300, (100, 100))
    assert far_from(33, (100, 100)) and not far_from(34, (100, 100))
    assert far_from(-400, (100, 100)), "the size counts: churned MRR is stored negative"
    assert recent_range(store, "dau", "month") is None, "no events loaded"
