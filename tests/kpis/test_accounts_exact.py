"""Usage x revenue per account on a small hand-made company, every number worked out by hand.

Subscriptions (monthly, from 2026-01-01): cus_a 100, cus_b 50, cus_d 200, cus_e 30, cus_f 40, cus_g 1000, and
cus_free on a free plan (0). Links: account ``acme`` -> cus_a and ``fox`` -> cus_f (account mapping), user b1 and
b2 -> cus_b (user mapping, although b1's events name acme), ``EVE@e.test`` -> cus_e (email mapping, user id
Eve@E.test); cus_d and cus_free by account ids equal to their customer ids; cus_g maps to nothing; z1's account
``nobody`` is no customer.

Activity (one event a day each): a1..a10 on Jan 1; a7..a10 on Jan 28; a1..a6 on Jan 29. b1, b2 on Jan 1.
c1..c5 (cus_free) on Jan 1. d1 on Jan 1, Jan 29, Feb 25. Eve on Jan 1 and Feb 20. z1 on Jan 1. The events end on
Feb 25 (the as-of date).

A day d compares the users active in d-27 .. d ("now") with d-55 .. d-28 ("before"):

- Feb 24: cus_a now Jan 28 .. Feb 24 = a1..a10 = 10, before Dec 31 .. Jan 27 = 10: not at risk.
- Feb 25: cus_a now Jan 29 .. Feb 25 = a1..a6 = 6, before Jan 1 .. Jan 28 = 10; 6 <= 0.7 x 10: at risk.
- cus_b: now 0 from Jan 29 on, before 2 (Jan 1) until Feb 25: at risk Jan 29 .. Feb 25.
- cus_free: 5 users who stop, but it pays nothing: never at risk, never listed.
- cus_e: Jan 31 now Jan 4 .. Jan 31 = 0, before = 1 (Jan 1): at risk; Feb 25 now 1 (Feb 20), before 1: not.
- cus_d: 1 user now and before on every day asked: not at risk.
"""

from __future__ import annotations

import math
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from kpis.metrics.accounts import account_rows, account_table, signal_check
from kpis.store.db import Store
from tests.kpis.helpers import EVENTS_HEADER, load, subs

ROOT = Path(__file__).resolve().parents[2]


def _events() -> str:
    rows = [f"a{i},view,2026-01-01T10:00:00Z,acme" for i in range(1, 11)]
    rows += [f"a{i},view,2026-01-28T10:00:00Z,acme" for i in range(7, 11)]
    rows += [f"a{i},view,2026-01-29T10:00:00Z,acme" for i in range(1, 7)]
    rows += ["b1,view,2026-01-01T10:00:00Z,acme", "b2,view,2026-01-01T10:00:00Z,"]
    rows += [f"c{i},view,2026-01-01T10:00:00Z,cus_free" for i in range(1, 6)]
    rows += [f"d1,view,2026-{day}T10:00:00Z,cus_d" for day in ("01-01", "01-29", "02-25")]
    rows += ["Eve@E.test,view,2026-01-01T10:00:00Z,", "Eve@E.test,view,2026-02-20T10:00:00Z,"]
    rows += ["z1,view,2026-01-01T10:00:00Z,nobody"]
    return EVENTS_HEADER + "\n" + "\n".join(rows)


def build_company(store: Store, tmp_path: Path) -> Store:
    """Import the company of this module's docstring into ``store`` (files written into ``tmp_path``)."""
    amounts = {"cus_a": 100, "cus_b": 50, "cus_d": 200, "cus_e": 30, "cus_f": 40, "cus_g": 1000, "cus_free": 0}
    subs(store, tmp_path, "\n".join(f"s_{c},{c},{'free' if a == 0 else 'pro'},{a},1,USD,month,1,active,"
                                    "2026-01-01,,," for c, a in amounts.items()))
    load(store, tmp_path, "events.csv", _events())
    load(store, tmp_path, "accounts.csv", "account_id,customer_id\nacme,cus_a\nfox,cus_f")
    load(store, tmp_path, "users.csv", "user_id,customer_id\nb1,cus_b\nb2,cus_b")
    load(store, tmp_path, "emails.csv", "email,customer_id\nEVE@e.test,cus_e")
    return store


@pytest.fixture
def company(store: Store, tmp_path: Path) -> Store:
    return build_company(store, tmp_path)


def _day(store: Store, day: date) -> dict[str, float]:
    table = account_table(store, "day", start=day, end=day)
    row = table[table["period_start"] == day].iloc[0]
    return {"accounts_at_risk": int(row.accounts_at_risk), "mrr_at_risk": float(row.mrr_at_risk),
            "engaged_mrr_share": round(float(row.engaged_mrr_share), 9)}


def test_a_fall_from_10_to_6_users_is_at_risk_on_the_day_it_happens_and_not_the_day_before(company):
    # Feb 24: only cus_b (50) at risk; engaged: a 100 + d 200 (Jan 29) + e 30 (Feb 20) = 330 of the mapped
    # a 100 + b 50 + d 200 + e 30 + f 40 = 420 (cus_f maps to an account that has no events)
    assert _day(company, date(2026, 2, 24)) == {"accounts_at_risk": 1, "mrr_at_risk": 50.0,
                                                "engaged_mrr_share": round(330 / 420, 9)}
    # Feb 25: cus_a (100) and cus_b (50)
    assert _day(company, date(2026, 2, 25)) == {"accounts_at_risk": 2, "mrr_at_risk": 150.0,
                                                "engaged_mrr_share": round(330 / 420, 9)}


def test_two_users_who_stop_put_their_customer_at_risk_for_28_days(company):
    # Jan 28: b1, b2 active on Jan 1 are still inside the 28 days; Jan 29 they are not
    assert _day(company, date(2026, 1, 28))["accounts_at_risk"] == 0
    # Jan 29: cus_b (50) and cus_e (30: Eve's one user of Jan 1 stopped as well); a (Jan 28/29) and d (Jan 29)
    # engaged, b, e, f not
    assert _day(company, date(2026, 1, 29)) == {"accounts_at_risk": 2, "mrr_at_risk": 80.0,
                                                "engaged_mrr_share": round(300 / 420, 9)}


def test_the_month_series_and_a_free_account_never_at_risk(company):
    table = account_table(company, "month")
    # Jan 31: cus_b and cus_e (Eve's Jan 1 is in the 28 days before only) = 80; engaged a 100 + d 200 of 420.
    # Feb 25 (partial): cus_a and cus_b. cus_free's users stopped too, but it pays nothing.
    assert [str(p) for p in table["period_start"]] == ["2026-01-01", "2026-02-01"]
    assert list(table["partial"]) == [False, True]
    assert list(table["accounts_at_risk"]) == [2, 2]
    assert list(table["mrr_at_risk"]) == [80.0, 150.0]
    assert [round(v, 9) for v in table["engaged_mrr_share"]] == [round(300 / 420, 9), round(330 / 420, 9)]


def test_at_risk_drop_setting_moves_the_threshold(company):
    company.set_setting("at_risk_drop", "0.5")  # cus_a's 6 of 10 is no longer a fall of half
    assert _day(company, date(2026, 2, 25))["accounts_at_risk"] == 1
    company.set_setting("at_risk_drop", "0.4")  # 6 <= 0.6 x 10: at risk again (the boundary counts)
    assert _day(company, date(2026, 2, 25))["accounts_at_risk"] == 2


def test_the_rows_of_one_day(company):
    rows = account_rows(company, date(2026, 2, 25))
    # b1's events name acme, but the user mapping puts b1 in cus_b: cus_a's users before are a1..a10 only
    assert rows.to_dict("records") == [
        {"customer_id": "cus_d", "mrr": 200.0, "active_users": 1, "previous_active_users": 1, "change": 0.0,
         "at_risk": False},
        {"customer_id": "cus_a", "mrr": 100.0, "active_users": 6, "previous_active_users": 10, "change": -0.4,
         "at_risk": True},
        {"customer_id": "cus_b", "mrr": 50.0, "active_users": 0, "previous_active_users": 2, "change": -1.0,
         "at_risk": True},
        {"customer_id": "cus_f", "mrr": 40.0, "active_users": 0, "previous_active_users": 0,
         "change": pytest.approx(float("nan"), nan_ok=True), "at_risk": False},
        {"customer_id": "cus_e", "mrr": 30.0, "active_users": 1, "previous_active_users": 1, "change": 0.0,
         "at_risk": False},
    ]


def test_no_mapping_no_events_for_a_customer_means_no_row_and_no_share(store, tmp_path):
    subs(store, tmp_path, "s1,c1,pro,10,1,USD,month,1,active,2026-01-01,,,")
    load(store, tmp_path, "events.csv", EVENTS_HEADER + "\nu1,view,2026-01-05T10:00:00Z,")
    table = account_table(store, "week")
    assert list(table["accounts_at_risk"]) == [0] and list(table["mrr_at_risk"]) == [0.0]
    assert table["engaged_mrr_share"].isna().all()  # no paying customer maps to an account
    assert account_rows(store, date(2026, 1, 5)).empty


def _kpis(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kpis", "--db", str(db), *args], capture_output=True, text=True,
                          cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, check=False)


def test_accounts_command(company, tmp_path):
    db = company.path
    company.close()
    done = _kpis(db, "accounts", "--as-of", "2026-02-25")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == ("customer_id,mrr,active_users,previous_active_users,change,at_risk\n"
                           "cus_d,200,1,1,0,false\n"
                           "cus_a,100,6,10,-0.4,true\n"
                           "cus_b,50,0,2,-1,true\n"
                           "cus_f,40,0,0,,false\n"
                           "cus_e,30,1,1,0,false\n")
    risky = _kpis(db, "accounts", "--as-of", "2026-02-24", "--at-risk")
    assert risky.stdout == ("customer_id,mrr,active_users,previous_active_users,change,at_risk\n"
                            "cus_b,50,0,2,-1,true\n")
    series = _kpis(db, "series", "mrr_at_risk", "--grain", "month")
    assert series.stdout == "period_start,value\n2026-01-01,80\n2026-02-01,150\n"
    bad = _kpis(db, "accounts", "--as-of", "2026-02-30")
    assert bad.returncode == 2 and "expected a date such as 2026-01-05, got '2026-02-30'" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_at_risk_drop_is_set_and_checked_on_the_command_line(company):
    db = company.path
    company.close()
    bad = _kpis(db, "settings", "at_risk_drop", "30%")
    assert (bad.returncode, bad.stdout) == (2, "")
    assert bad.stderr == "error: at_risk_drop: expected a fraction above 0 and below 1 such as 0.3, got '30%'\n"
    done = _kpis(db, "settings", "at_risk_drop", "0.5")
    assert (done.returncode, done.stdout) == (0, "at_risk_drop=0.5\n")


# -- the signal check ------------------------------------------------------------------------------------------------
#
# Weeks from Mon Jan 5 to Sun Mar 29 (the last event day), all paying from Jan 1:
# - k1 (10): k1u1..k1u3 active Jan 5 only; ends Feb 11. At risk from Feb 2 (week end Feb 8); churns in the week of
#   Feb 9: churned, linked (account id k1), flagged the week before. Its Feb 8 flag came true within two weeks.
# - k2 (20): k2u1 active every Monday; ends Mar 4: churns in the week of Mar 2, linked, never at risk (missed).
# - k3 (30): no users; ends Feb 18: churns in the week of Feb 16, linked to no account (left out of recall).
# - k4 (40): k4u1, k4u2 active Jan 5 and Feb 16; pays on. At risk on the week ends Feb 8 and Feb 15, then not:
#   two flags that did not come true.
# recall = 1 / 2; precision = 1 / 3 (k1 Feb 8; k4 Feb 8, Feb 15; every flag's second next week is known).

def _signal_company(store: Store, tmp_path: Path) -> None:
    subs(store, tmp_path, "s1,k1,pro,10,1,USD,month,1,active,2026-01-01,,,2026-02-11\n"
                          "s2,k2,pro,20,1,USD,month,1,active,2026-01-01,,,2026-03-04\n"
                          "s3,k3,pro,30,1,USD,month,1,active,2026-01-01,,,2026-02-18\n"
                          "s4,k4,pro,40,1,USD,month,1,active,2026-01-01,,,")
    rows = [f"k1u{i},view,2026-01-05T10:00:00Z,k1" for i in (1, 2, 3)]
    rows += [f"k2u1,view,{date.fromordinal(date(2026, 1, 5).toordinal() + 7 * w).isoformat()}T10:00:00Z,k2"
             for w in range(12)]
    rows += [f"k4u{i},view,2026-{day}T10:00:00Z,k4" for i in (1, 2) for day in ("01-05", "02-16")]
    rows += ["k2u1,view,2026-03-29T10:00:00Z,k2"]
    load(store, tmp_path, "events.csv", EVENTS_HEADER + "\n" + "\n".join(rows))


def test_the_signal_check_counts_add_up(store, tmp_path):
    _signal_company(store, tmp_path)
    found = signal_check(store, "week")
    assert (found.churned, found.churned_linked, found.churned_flagged) == (3, 2, 1)
    assert (found.flagged, found.flagged_churned) == (3, 1)
    assert (found.recall, found.precision) == (0.5, 1 / 3)
    # from the week of Feb 16: k3's and k2's churns (neither flagged); k4's Feb 15 flag is before the range
    later = signal_check(store, "week", start=date(2026, 2, 16))
    assert (later.churned, later.churned_linked, later.churned_flagged, later.flagged) == (2, 1, 0, 0)
    assert math.isnan(later.precision)


def test_signal_check_command(store, tmp_path):
    _signal_company(store, tmp_path)
    db = store.path
    store.close()
    done = _kpis(db, "signal-check", "--grain", "week")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == ("churned,churned_linked,churned_flagged,recall,flagged,flagged_churned,precision\n"
                           "3,2,1,0.5,3,1,0.3333333333\n")
