"""Churn reasons on a hand-made Stripe export, worked out by hand, and a property: on random exports the reasons
of a period add up to its churned customers and churned MRR, at every grain.

    customer  subscription  amount  start       ended        status              reason
    c1 Acme   a1            100     2026-01-05  2026-02-10   canceled            too_expensive (feedback, comment)
    c2        b1             50     2026-01-05  2026-02-20   canceled            too_expensive
    c3        e1             30     2026-01-05  2026-02-15   canceled            (none)
    c4        d1             20     2026-01-05  2026-02-05   canceled            switched_service
    c4        d2             40     2026-01-05  2026-02-25   canceled            missing_features  <- ended last
    c4        d3             90     2026-02-26  2026-02-27   incomplete_expired  (none): never paid, explains nothing
    c5        f1             10     2026-01-05  2026-03-03   canceled            unused
    c6        g1             70     2026-01-05  -            active

Everyone pays from 5 Jan; the as-of date is 3 Mar 2026 (f1's end). February churns c1 (100), c2 (50), c3 (30) and
c4 (20 + 40 = 60); March (partial) churns c5 (10). Segment A: c1, c3.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpis.metrics.drilldown import churned_customers
from kpis.metrics.reasons import NONE_GIVEN, churn_by_reason, last_cancellations
from kpis.metrics.revenue import revenue_table
from kpis.store.db import Store
from tests.kpis.helpers import load

ROOT = Path(__file__).resolve().parents[2]

HEADER = ("id,Customer ID,Customer Name,Plan,Quantity,Currency,Interval,Amount,Status,Cancellation Reason,"
          "Cancellation Feedback,Cancellation Comment,Start Date (UTC),Trial End (UTC),Canceled At (UTC),"
          "Ended At (UTC),segment (metadata)")


def _line(sub: str, customer: str, amount: str, status: str, reason: str, start: str, ended: str, segment: str,
          feedback: str = "", comment: str = "", name: str = "") -> str:
    """One row of a Stripe subscriptions export (Dashboard)."""
    return (f"{sub},{customer},{name},pro,1,usd,month,{amount},{status},{reason},{feedback},{comment},{start},,"
            f"{ended},{ended},{segment}")


ROWS = "\n".join([
    _line("a1", "c1", "100.00", "canceled", "too_expensive", "2026-01-05", "2026-02-10 09:00", "A",
          "too_expensive", "<b>Too</b> pricey =cmd", "Acme"),
    _line("b1", "c2", "50.00", "canceled", "too_expensive", "2026-01-05", "2026-02-20 09:00", "B"),
    _line("e1", "c3", "30.00", "canceled", "", "2026-01-05", "2026-02-15 09:00", "A"),
    _line("d1", "c4", "20.00", "canceled", "switched_service", "2026-01-05", "2026-02-05 09:00", "B"),
    _line("d2", "c4", "40.00", "canceled", "missing_features", "2026-01-05", "2026-02-25 09:00", "B",
          "missing_features", "Needs SSO"),
    _line("d3", "c4", "90.00", "incomplete_expired", "", "2026-02-26", "2026-02-27 10:00", "B"),
    _line("f1", "c5", "10.00", "canceled", "unused", "2026-01-05", "2026-03-03 09:00", "B"),
    _line("g1", "c6", "70.00", "active", "", "2026-01-05", "", "B"),
])
JAN, FEB, MAR = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)
GROUPS = [NONE_GIVEN, "missing_features", "too_expensive", "unused"]  # sorted by name: "(" before letters


@pytest.fixture
def reasons_store(store, tmp_path) -> Store:
    load(store, tmp_path, "stripe_subscriptions.csv", HEADER + "\n" + ROWS)
    return store


def _text(value):
    return None if pd.isna(value) else value


def _rows(table):
    return [(r.period_start, r.group, r.churned_customers, r.churned_mrr) for r in table.itertuples(index=False)]


def test_months_by_reason_by_hand(reasons_store):
    assert _rows(churn_by_reason(reasons_store, "month")) == [
        # January: nobody churned; every reason of the range is listed, at 0
        *[(JAN, g, 0, 0.0) for g in GROUPS],
        (FEB, NONE_GIVEN, 1, -30.0),  # c3
        (FEB, "missing_features", 1, -60.0),  # c4: d2 ended last (25 Feb); d3 never paid
        (FEB, "too_expensive", 2, -150.0),  # c1 100 + c2 50
        (FEB, "unused", 0, 0.0),
        (MAR, NONE_GIVEN, 0, 0.0), (MAR, "missing_features", 0, 0.0), (MAR, "too_expensive", 0, 0.0),
        (MAR, "unused", 1, -10.0),  # c5, as of 3 Mar
    ]


def test_the_reasons_add_up_to_the_churn_kpis(reasons_store):
    by_reason = churn_by_reason(reasons_store, "month").groupby("period_start")[
        ["churned_customers", "churned_mrr"]].sum()
    table = revenue_table(reasons_store, "month").set_index("period_start")
    # 0, 4 (c1, c2, c3, c4) and 1 (c5); 0, -(100 + 50 + 30 + 60) = -240 and -10
    assert list(table["churned_customers"]) == list(by_reason["churned_customers"]) == [0, 4, 1]
    assert list(table["churned_mrr"]) == list(by_reason["churned_mrr"]) == [0, -240, -10]


def test_a_segment_and_a_range(reasons_store):
    # segment A: c1 (too_expensive, 100) and c3 (no reason, 30), both in February
    got = churn_by_reason(reasons_store, "month", segment=("segment", "A"))
    assert [r for r in _rows(got) if r[2]] == [(FEB, NONE_GIVEN, 1, -30.0), (FEB, "too_expensive", 1, -100.0)]
    # from February to 20 Feb: c1 (10 Feb), c3 (15 Feb) and c4's d1 only (c4 still pays d2 on the 20th: not churned);
    # c2's end on 20 Feb is on the as-of day: it no longer pays on it
    got = churn_by_reason(reasons_store, "month", start=FEB, end=date(2026, 2, 20))
    assert _rows(got) == [(FEB, NONE_GIVEN, 1, -30.0), (FEB, "too_expensive", 2, -150.0)]


def test_nobody_churned_is_an_empty_table(reasons_store):
    got = churn_by_reason(reasons_store, "week", end=date(2026, 1, 31))
    assert got.empty and list(got.columns) == ["period_start", "group", "churned_customers", "churned_mrr"]


def test_the_churned_customers_carry_their_reason_feedback_and_comment(reasons_store):
    listed = churned_customers(reasons_store, FEB, date(2026, 2, 28))
    got = {r.customer_id: tuple(_text(v) for v in (r.reason, r.feedback, r.comment))
           for r in listed.itertuples(index=False)}
    assert got == {"c1": ("too_expensive", "too_expensive", "<b>Too</b> pricey =cmd"),
                   "c2": ("too_expensive", None, None), "c3": (None, None, None),
                   "c4": ("missing_features", "missing_features", "Needs SSO")}
    # an unknown customer, or one with nothing ended by the day, has no reason
    found = last_cancellations(reasons_store, date(2026, 2, 28), ["c6", "nobody"])
    assert list(found["customer_id"]) == ["c6", "nobody"]
    assert found[["reason", "feedback", "comment"]].isna().all().all()


# -- property: the reasons add up ----------------------------------------------------------------------------------

_counter = itertools.count()
BASE = date(2026, 1, 1)


@st.composite
def exports(draw: st.DrawFn) -> list[str]:
    """1-7 subscriptions of 1-4 customers over about four months, some ended, with reasons or none."""
    lines = []
    for i in range(draw(st.integers(1, 7))):
        start = BASE + timedelta(days=draw(st.integers(0, 100)))
        length = draw(st.none() | st.integers(0, 80))
        ended = "" if length is None else f"{start + timedelta(days=length)} 12:00"
        status = draw(st.sampled_from(["active", "canceled", "past_due", "incomplete_expired"]))
        reason = draw(st.sampled_from(["", "too_expensive", "unused", " other "]))
        amount = draw(st.sampled_from(["0.00", "10.00", "25.50", "99.00"]))
        interval = draw(st.sampled_from(["month", "year"]))
        customer = f"c{draw(st.integers(1, 4))}"
        lines.append(f"s{i},{customer},,pro,1,usd,{interval},{amount},{status},{reason},,,{start} 09:00,,"
                     f"{ended},{ended},{draw(st.sampled_from(['A', 'B']))}")
    return lines


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=exports(), end=st.none() | st.integers(10, 150))
def test_reasons_add_up_to_the_churn_kpis_at_every_grain(tmp_path: Path, lines, end):
    folder = tmp_path / f"example{next(_counter)}"
    folder.mkdir()
    as_of = None if end is None else BASE + timedelta(days=end)
    with Store(folder / "kpis.duckdb") as store:
        load(store, folder, "stripe_subscriptions.csv", HEADER + "\n" + "\n".join(lines))
        for grain in ("day", "week", "month", "quarter"):
            table = revenue_table(store, grain, end=as_of)
            by_reason = churn_by_reason(store, grain, end=as_of)
            summed = by_reason.groupby("period_start")[["churned_customers", "churned_mrr"]].sum()
            summed = summed.reindex(list(table["period_start"]), fill_value=0)
            assert list(summed["churned_customers"]) == list(table["churned_customers"]), grain
            assert list(summed["churned_mrr"]) == pytest.approx(list(table["churned_mrr"]), abs=1e-6), grain
            assert set(by_reason["period_start"]) <= set(table["period_start"]), grain
            assert (by_reason["churned_mrr"] <= 0).all() and (by_reason["churned_customers"] >= 0).all()
            assert all(g == g.strip() and g for g in by_reason["group"])


def test_series_by_reason_from_the_command_line(tmp_path):
    """``series churned_mrr|churned_customers --by reason`` per the CLI contract: ``period_start,group,value``,
    groups sorted by name, every reason of the range in every period; any other KPI is refused in one line."""
    db = tmp_path / "reasons.duckdb"
    with Store(db) as made:
        load(made, tmp_path, "stripe_subscriptions.csv", HEADER + "\n" + ROWS)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "kpis", "--db", str(db), "series", *args, "--grain", "month",
                               "--by", "reason"], capture_output=True, text=True, cwd=ROOT, timeout=120,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})

    mrr = run("churned_mrr")
    # February: c3 (no reason) -30; c4 -(20 + 40) under d2's missing_features (it ended last); c1 -100 and c2 -50
    # too_expensive = -150. March: c5 -10 unused. January: nobody
    assert (mrr.returncode, mrr.stderr) == (0, "")
    assert mrr.stdout == ("period_start,group,value\n"
                          "2026-01-01,(none given),0\n2026-01-01,missing_features,0\n"
                          "2026-01-01,too_expensive,0\n2026-01-01,unused,0\n"
                          "2026-02-01,(none given),-30\n2026-02-01,missing_features,-60\n"
                          "2026-02-01,too_expensive,-150\n2026-02-01,unused,0\n"
                          "2026-03-01,(none given),0\n2026-03-01,missing_features,0\n"
                          "2026-03-01,too_expensive,0\n2026-03-01,unused,-10\n")
    customers = run("churned_customers")
    assert customers.stdout.splitlines()[5:9] == ["2026-02-01,(none given),1", "2026-02-01,missing_features,1",
                                                  "2026-02-01,too_expensive,2", "2026-02-01,unused,0"]
    refused = run("mrr")
    assert (refused.returncode, refused.stdout) == (2, "")
    assert refused.stderr == ("error: --by reason splits churned_customers and churned_mrr (why a customer left), "
                              "not mrr\n")
