"""Trials on a small hand-made company, worked out by hand (days in UTC unless a test sets the time zone).

    sub  customer  start        trial end          ended              status      trial?
    t1   c1        2026-01-05   2026-01-19         -                  active      yes: converts
    t2   c2        2026-01-10   2026-01-24         2026-01-15         canceled    yes: canceled before its end
    t3   c3        2026-01-20   2026-02-03 10:00   2026-02-03 18:00   canceled    yes: ends the day the trial ends
    t10  c10       2026-02-01   2026-02-15         -                  active      yes: converts
    t4   c4        2026-02-10   2026-02-24         2026-03-10         canceled    yes: paid two weeks, then left
    t5   c5        2026-03-01   2026-03-29         -                  trialing    yes: ends after the as-of date
    t6   c6        2026-01-12   2026-01-26         -                  incomplete  never counts
    s7   c7        2026-01-05   -                  -                  active      no trial
    s8   c8        2026-02-02 09:00   2026-02-02 20:00   -            active      no: the trial ends the day it starts
    s9   c9        2026-03-15   -                  -                  active      no trial (sets the as-of date)

The as-of date is 15 Mar 2026 (s9's start, the latest date recorded). The first paid day is 5 Jan (s7).
"""

from __future__ import annotations

import math
from datetime import date

import pytest

from kpis.cli.main import main
from kpis.core.registry import KPIS
from kpis.core.target_rules import check_target, target_grains
from kpis.metrics.revenue import revenue_as_of
from kpis.metrics.series import series
from kpis.metrics.trials import trials_table
from kpis.plan.targets import evaluate
from kpis.store.db import Store
from tests.kpis.helpers import load, subs

ROWS = """
t1,c1,pro,50,1,USD,month,1,active,2026-01-05,2026-01-19,,
t2,c2,pro,50,1,USD,month,1,canceled,2026-01-10,2026-01-24,2026-01-15,2026-01-15
t3,c3,pro,50,1,USD,month,1,canceled,2026-01-20,2026-02-03T10:00:00Z,2026-02-03T18:00:00Z,2026-02-03T18:00:00Z
t10,c10,pro,50,1,USD,month,1,active,2026-02-01,2026-02-15,,
t4,c4,pro,50,1,USD,month,1,canceled,2026-02-10,2026-02-24,2026-03-10,2026-03-10
t5,c5,pro,50,1,USD,month,1,trialing,2026-03-01,2026-03-29,,
t6,c6,pro,50,1,USD,month,1,incomplete,2026-01-12,2026-01-26,,
s7,c7,pro,50,1,USD,month,1,active,2026-01-05,,,
s8,c8,pro,50,1,USD,month,1,active,2026-02-02T09:00:00Z,2026-02-02T20:00:00Z,,
s9,c9,pro,50,1,USD,month,1,active,2026-03-15,,,
"""
SEGMENTS = "customer_id,name,segment\nc1,A1,A\nc2,A2,A\nc4,A4,A\nc3,B3,B\nc10,B10,B\nc5,B5,B\n"
JAN, FEB, MAR = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)


@pytest.fixture
def trials_store(store, tmp_path) -> Store:
    subs(store, tmp_path, ROWS)
    load(store, tmp_path, "customers.csv", SEGMENTS)
    return store


def _counts(table, column):
    return dict(zip(table["period_start"], table[column], strict=True))


def test_months_by_hand(trials_store):
    assert revenue_as_of(trials_store) == date(2026, 3, 15)
    table = trials_table(trials_store, "month")
    assert list(table["period_start"]) == [JAN, FEB, MAR]
    assert list(table["partial"]) == [False, False, True]
    # started: Jan t1, t2, t3 (t6 is incomplete); Feb t10, t4 (s8's trial ends the day it starts); Mar t5
    assert list(table["trials_started"]) == [3, 2, 1]
    # ended: Jan t1 (19th), t2 (24th: canceled on the 15th, its trial still ends on the 24th); Feb t3 (3rd),
    # t10 (15th), t4 (24th); Mar: t5's trial ends on the 29th, after the as-of date (15th): none
    assert list(table["trials_ended"]) == [2, 3, 0]
    # converted: Jan t1 (t2 ended before its trial end); Feb t10 (no end), t4 (ended 10 Mar > 24 Feb), not t3
    # (ended on 3 Feb, the day its trial ended)
    assert list(table["trials_converted"]) == [1, 2, 0]
    rate = list(table["trial_conversion_rate"])
    assert rate[:2] == [1 / 2, 2 / 3] and math.isnan(rate[2])  # March: no trial ended, undefined


def test_a_quarter_adds_up_its_months(trials_store):
    table = trials_table(trials_store, "quarter")
    # Q1 (partial): started 3 + 2 + 1 = 6; ended 2 + 3 + 0 = 5; converted 1 + 2 + 0 = 3: 3 / 5
    assert table[["trials_started", "trials_ended", "trials_converted"]].values.tolist() == [[6, 5, 3]]
    assert list(table["trial_conversion_rate"]) == [3 / 5] and list(table["partial"]) == [True]


def test_weeks_by_hand(trials_store):
    table = trials_table(trials_store, "week")
    started, ended, rate = (_counts(table, c) for c in ("trials_started", "trials_ended", "trial_conversion_rate"))
    assert started[date(2026, 1, 5)] == 2  # t1 (Mon 5 Jan), t2 (Sat 10 Jan)
    assert started[date(2026, 1, 26)] == 1  # t10 (Sun 1 Feb)
    # week of 19 Jan: t1 (19th) converts, t2 (24th) does not: 1/2
    assert ended[date(2026, 1, 19)] == 2 and rate[date(2026, 1, 19)] == 1 / 2
    # week of 2 Feb: t3 (3rd) only, not converted: 0/1 = 0, a value and not undefined
    assert ended[date(2026, 2, 2)] == 1 and rate[date(2026, 2, 2)] == 0
    assert math.isnan(rate[date(2026, 1, 5)])  # no trial ended that week


def test_the_days_are_those_of_the_reporting_time_zone(trials_store):
    # in Tokyo (UTC+9) t3's trial ends at 19:00 on 3 Feb and the subscription at 03:00 on 4 Feb: a later day, so
    # t3 converts there. s8 starts at 18:00 on 2 Feb and its trial ends at 05:00 on 3 Feb: a trial there, which
    # converts. February: started t10, t4, s8; ended and converted t3, t10, t4, s8: 4 of 4
    trials_store.set_setting("timezone", "Asia/Tokyo")
    table = trials_table(trials_store, "month")
    assert list(table["trials_started"]) == [3, 3, 1]
    assert list(table["trials_ended"]) == [2, 4, 0]
    assert list(table["trials_converted"]) == [1, 4, 0]
    assert list(table["trial_conversion_rate"])[:2] == [1 / 2, 1.0]


def test_the_as_of_date_cuts_the_trials(trials_store):
    # as of 10 Feb: in February only t3's trial has ended (t10's ends on the 15th, t4's on the 24th); t10 and t4
    # have started (1st and 10th)
    table = trials_table(trials_store, "month", end=date(2026, 2, 10))
    assert list(table["period_start"]) == [JAN, FEB] and list(table["partial"]) == [False, True]
    assert list(table["trials_started"]) == [3, 2]
    assert list(table["trials_ended"]) == [2, 1] and list(table["trial_conversion_rate"]) == [1 / 2, 0.0]


def test_a_segment_counts_its_customers_trials(trials_store):
    # segment A: c1 (t1), c2 (t2), c4 (t4). Jan: started t1, t2; ended t1, t2; converted t1. Feb: t4 starts,
    # ends on the 24th and converts. Mar: nothing
    table = trials_table(trials_store, "month", segment=("segment", "A"))
    assert list(table["trials_started"]) == [2, 1, 0]
    assert list(table["trials_ended"]) == [2, 1, 0]
    assert list(table["trial_conversion_rate"])[:2] == [1 / 2, 1.0]


def test_a_later_start_keeps_the_values(trials_store):
    got = series(trials_store, "trials_ended", "month", start=date(2026, 2, 14))
    assert list(got["period_start"]) == [FEB, MAR] and list(got["value"]) == [3, 0]


def test_series_prints_the_trials(trials_store, capsys):
    path = trials_store.path
    assert main(["--db", str(path), "series", "trial_conversion_rate", "--grain", "month"]) == 0
    assert capsys.readouterr().out == ("period_start,value\n2026-01-01,0.5\n2026-02-01,0.6666666667\n"
                                       "2026-03-01,\n")
    assert main(["--db", str(path), "series", "trials_started", "--grain", "quarter"]) == 0
    assert capsys.readouterr().out == "period_start,value\n2026-01-01,6\n"


def test_a_target_on_the_conversion_rate(trials_store, tmp_path):
    # a ratio: no year made of its quarters
    assert target_grains(KPIS["trial_conversion_rate"]) == ["week", "month", "quarter"]
    check_target("trial_conversion_rate", "month", FEB)
    load(trials_store, tmp_path, "targets.csv", "kpi,grain,period_start,target,owner,note\n"
                                                "trial_conversion_rate,month,2026-02-01,0.6,CPO,\n")
    row = evaluate(trials_store, as_of=date(2026, 2, 28)).iloc[0]
    # February: 2/3 against 0.6, higher is better: attainment (2/3) / 0.6 = 1.11, on track
    assert row["actual"] == pytest.approx(2 / 3) and row["attainment"] == pytest.approx((2 / 3) / 0.6)
    assert row["status"] == "on track"

