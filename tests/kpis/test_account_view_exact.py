"""The Accounts page's numbers on hand-made companies, every value worked out by hand.

The company is the one of :mod:`tests.kpis.test_accounts_exact` (as of Feb 25, 2026), with:

- cus_h (plan team, 20 a month, and an addon, 5 a month, from Jan 1; its users name the account cus_h): h1..h3 do
  ``report`` on Jan 10; on Feb 20 h1..h4 do ``report``, h1 and h2 ``export``, h3 ``share``, and h1 ``$pageview``
  (a tool's event). Feb 25 compares Jan 29 .. Feb 25 (h1..h4 = 4) with Jan 1 .. Jan 28 (h1..h3 = 3).
- on Feb 21 c1 (account cus_free, a customer who pays nothing) and z2 (account ``nobody``) do ``view``; on Feb 22
  z3 (account ``ghost``) twice, and u9 (no account) once.
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import pytest

from kpis.metrics.account_view import (
    LeadTime,
    account_list,
    features_used,
    is_growing,
    last_active_days,
    lead_time,
    link_coverage,
    mrr_steps,
    unlinked_accounts,
    weekly_active_users,
)
from kpis.store.db import Store
from tests.kpis.helpers import EVENTS_HEADER, load
from tests.kpis.test_accounts_exact import _signal_company, build_company

FEB25 = date(2026, 2, 25)


@pytest.fixture
def company(store: Store, tmp_path: Path) -> Store:
    build_company(store, tmp_path)
    load(store, tmp_path, "more_subscriptions.csv",
         "subscription_id,customer_id,plan,amount,quantity,currency,interval,interval_count,status,started_at,"
         "trial_end,canceled_at,ended_at\ns_cus_h,cus_h,team,20,1,USD,month,1,active,2026-01-01,,,\n"
         "s_cus_h2,cus_h,addon,5,1,USD,month,1,active,2026-01-01,,,")
    rows = [f"h{i},report,2026-01-10T10:00:00Z,cus_h" for i in (1, 2, 3)]
    rows += [f"h{i},report,2026-02-20T10:00:00Z,cus_h" for i in (1, 2, 3, 4)]
    rows += ["h1,export,2026-02-20T11:00:00Z,cus_h", "h2,export,2026-02-20T11:00:00Z,cus_h",
             "h3,share,2026-02-20T11:00:00Z,cus_h", "h1,$pageview,2026-02-20T12:00:00Z,cus_h"]
    rows += ["c1,view,2026-02-21T10:00:00Z,cus_free", "z2,view,2026-02-21T10:00:00Z,nobody",
             "z3,view,2026-02-22T10:00:00Z,ghost", "z3,view,2026-02-22T11:00:00Z,ghost",
             "u9,view,2026-02-22T10:00:00Z,"]
    load(store, tmp_path, "more_events.csv", EVENTS_HEADER + "\n" + "\n".join(rows))
    return store


def test_growing_is_the_mirror_of_the_fall():
    # drop 0.3 = 3/10: 10 x now >= 13 x before, before >= 3
    assert [is_growing(39, 30, 0.3), is_growing(38, 30, 0.3), is_growing(3, 2, 0.3), is_growing(0, 0, 0.3)] == [
        True, False, False, False]
    # drop 0.5 = 1/2: 2 x now >= 3 x before
    assert [is_growing(6, 4, 0.5), is_growing(5, 4, 0.5)] == [True, False]


def test_the_list_of_one_day(company, tmp_path):
    # the customers file names cus_h only (an empty name reads as none): the others show their id alone
    load(company, tmp_path, "customers.csv", "customer_id,name,email\ncus_h,Harbour & Co,h@example.com\ncus_a,,\n")
    rows = account_list(company, FEB25)
    assert rows.to_dict("records") == [
        {"customer_id": "cus_d", "name": "",
         "plans": ["pro"], "mrr": 200.0, "active_users": 1, "previous_active_users": 1,
         "change": 0.0, "last_active_day": FEB25, "features": ["view"], "at_risk": False, "growing": False},
        {"customer_id": "cus_a", "name": "",
         "plans": ["pro"], "mrr": 100.0, "active_users": 6, "previous_active_users": 10,
         "change": -0.4, "last_active_day": date(2026, 1, 29), "features": ["view"], "at_risk": True,
         "growing": False},
        {"customer_id": "cus_b", "name": "",
         "plans": ["pro"], "mrr": 50.0, "active_users": 0, "previous_active_users": 2,
         "change": -1.0, "last_active_day": date(2026, 1, 1), "features": [], "at_risk": True, "growing": False},
        {"customer_id": "cus_f", "name": "",
         "plans": ["pro"], "mrr": 40.0, "active_users": 0, "previous_active_users": 0,
         "change": pytest.approx(float("nan"), nan_ok=True), "last_active_day": None, "features": [],
         "at_risk": False, "growing": False},
        {"customer_id": "cus_e", "name": "",
         "plans": ["pro"], "mrr": 30.0, "active_users": 1, "previous_active_users": 1,
         "change": 0.0, "last_active_day": date(2026, 2, 20), "features": ["view"], "at_risk": False,
         "growing": False},
        # 4 users now, 3 before: 10 x 4 = 40 >= 13 x 3 = 39; change (4 - 3) / 3
        {"customer_id": "cus_h", "name": "Harbour & Co",
         "plans": ["addon", "team"], "mrr": 25.0, "active_users": 4, "previous_active_users": 3,
         "change": pytest.approx(1 / 3), "last_active_day": date(2026, 2, 20),
         "features": ["report", "export", "share"], "at_risk": False, "growing": True},
    ]


def test_the_drop_setting_moves_the_growth_threshold(company):
    company.set_setting("at_risk_drop", "0.5")  # 2 x 4 = 8 < 3 x 3 = 9
    assert not account_list(company, FEB25).set_index("customer_id").at["cus_h", "growing"]


def test_features_are_the_products_own_by_users_then_name(company):
    # report 4 users, export 2, share 1 ($pageview is PostHog's); at most two: report, export
    assert features_used(company, FEB25, most=2)["cus_h"] == ["report", "export"]
    # on Jan 28 the window Jan 1 .. Jan 28 holds h1..h3's report only
    assert features_used(company, date(2026, 1, 28))["cus_h"] == ["report"]


def test_last_active_day_stops_at_the_as_of_date(company):
    found = last_active_days(company, date(2026, 2, 24))
    # d1 on Jan 1, Jan 29, Feb 25: Jan 29 by Feb 24
    assert (found["cus_d"], found["cus_h"], found["cus_a"]) == (date(2026, 1, 29), date(2026, 2, 20),
                                                              date(2026, 1, 29))


def test_link_coverage(company):
    found = link_coverage(company, FEB25)
    # paying (MRR above 0): a, b, d, e, f, g, h = 7; with a linked user: a, b, d, e, h = 5 (f's account has no
    # user, g maps to nothing)
    assert (found.paying, found.paying_linked) == (7, 5)
    # events Jan 29 .. Feb 25: a1..a6 6 + d1 2 + Eve 1 + h1 3, h2 2, h3 2, h4 1 = 17 to paying customers;
    # c1 1 (cus_free pays nothing) -> 18 to customers; z2 1, z3 2, u9 1 to none -> 22 in all
    assert (found.events, found.events_to_customer, found.events_to_paying) == (22, 18, 17)
    assert (found.paying_share, found.customer_event_share, found.paying_event_share) == (5 / 7, 18 / 22, 17 / 22)


def test_the_largest_unlinked_accounts(company):
    found = unlinked_accounts(company, FEB25)
    # ghost: z3 twice; nobody: z2 once (z1's Jan 1 is outside the 28 days); u9 names no account
    assert found.to_dict("list") == {"account_id": ["ghost", "nobody"], "users": [1, 1], "events": [2, 1]}
    assert unlinked_accounts(company, FEB25, most=1)["account_id"].tolist() == ["ghost"]


def test_no_user_linked_means_no_features_and_no_list(store, tmp_path):
    load(store, tmp_path, "events.csv", EVENTS_HEADER + "\nu1,view,2026-02-25T10:00:00Z,")
    assert features_used(store, FEB25) == {} and last_active_days(store, FEB25) == {}
    assert account_list(store, FEB25).empty


def test_nothing_linked_reads_as_undefined_shares(store):
    found = link_coverage(store, FEB25)
    assert (found.paying, found.events) == (0, 0)
    assert math.isnan(found.paying_share) and math.isnan(found.paying_event_share)


def test_lead_time_of_the_flagged_churns(store, tmp_path):
    _signal_company(store, tmp_path)
    # k1 (users active Jan 5 only) is at risk from Feb 2 (Jan 5 leaves the 28 days, stays in the 28 before);
    # flagged at Sun Feb 8, churned in the week of Feb 9: Feb 2 .. Feb 9 = 7 days. k2 was never flagged.
    assert lead_time(store, "week") == LeadTime((7,))
    assert lead_time(store, "week").mean_days == 7.0
    later = lead_time(store, "week", start=date(2026, 2, 16))  # no flagged churn from the week of Feb 16
    assert later == LeadTime(()) and math.isnan(later.mean_days)


def test_an_accounts_history(store, tmp_path):
    _signal_company(store, tmp_path)
    # k1 pays 10 from Jan 1 and ends on Feb 11 (not paid that day)
    assert mrr_steps(store, "k1", date(2026, 3, 29)).to_dict("list") == {
        "day": [date(2026, 1, 1), date(2026, 2, 11), date(2026, 3, 29)], "mrr": [10.0, 0.0, 0.0]}
    assert mrr_steps(store, "nobody", date(2026, 3, 29)).empty
    # k4u1, k4u2 active Jan 5 and Feb 16: weeks of Jan 5 .. Feb 16 (Mon), 0 in between
    weeks = weekly_active_users(store, "k4", date(2026, 1, 7), date(2026, 2, 22))
    assert weeks.to_dict("list") == {
        "period_start": [date(2026, 1, 5), date(2026, 1, 12), date(2026, 1, 19), date(2026, 1, 26), date(2026, 2, 2),
                         date(2026, 2, 9), date(2026, 2, 16)],
        "active_users": [2, 0, 0, 0, 0, 0, 2]}


def test_lead_time_counts_from_the_first_flag_in_84_days_even_across_a_gap(store, tmp_path):
    # m1 (users Jan 5 only): at risk Feb 2 .. Feb 24 (paid until Feb 25, a Wednesday); flagged at Sun Feb 22,
    # churned in the week of Feb 23: Feb 2 .. Feb 23 = 21 days.
    # m2 (users Jan 5, one of them again Mon Mar 2): at risk Feb 2 .. Mar 1, not on Mar 2 .. Mar 29 (1 user now,
    # none before), again from Mar 30 (Mar 2 out of the 28 days); paid until Wed Apr 8, flagged at Sun Apr 5. The
    # 84 days up to Apr 5 start on Jan 12, so its first flag there is Feb 2: Feb 2 .. Apr 6 = 63 days.
    # (21 + 63) / 2 = 42. z1 keeps the events going to Apr 19.
    load(store, tmp_path, "subscriptions.csv",
         "subscription_id,customer_id,plan,amount,quantity,currency,interval,interval_count,status,started_at,"
         "trial_end,canceled_at,ended_at\n"
         "s1,m1,pro,10,1,USD,month,1,active,2026-01-01,,,2026-02-25\n"
         "s2,m2,pro,10,1,USD,month,1,active,2026-01-01,,,2026-04-08")
    rows = [f"{c}u{i},view,2026-01-05T10:00:00Z,{c}" for c in ("m1", "m2") for i in (1, 2, 3)]
    rows += ["m2u1,view,2026-03-02T10:00:00Z,m2", "z1,view,2026-04-19T10:00:00Z,"]
    load(store, tmp_path, "events.csv", EVENTS_HEADER + "\n" + "\n".join(rows))
    found = lead_time(store, "week")
    assert found == LeadTime((21, 63)) and found.mean_days == 42.0
