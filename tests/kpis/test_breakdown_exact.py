"""Breakdowns on a hand-made company: MRR by plan, revenue KPIs by a customer attribute with its "(none)" group,
ratios per group; then, on random small subscription sets, the groups of every flow and snapshot that adds up sum
to its total, and each group equals the naive oracle on that group's customers."""

from __future__ import annotations

import itertools
from datetime import date
from fractions import Fraction
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpis.core.errors import InputError
from kpis.core.registry import KPIS
from kpis.metrics import breakdown as bd
from kpis.metrics.revenue import REVENUE_COLUMNS
from kpis.metrics.series import series
from kpis.metrics.trials import TRIAL_COLUMNS
from kpis.store.db import Store
from tests.kpis.helpers import load, same, subs
from tests.kpis.oracle import RevenueOracle, Sub, days_between
from tests.kpis.test_oracle import revenue_cases
from tests.kpis.test_segments import load as load_phones

# Customers: a and b in DE, c in FR, d with an empty country, e not in the customers file at all.
CUSTOMERS = "customer_id,name,email,country\na,A,,DE\nb,B,,DE\nc,C,,FR\nd,D,,"
# a: pro 100 from 01-10, and addon 20 from 02-05 (a customer on two plans); b: pro 100 from 01-15 to 02-20;
# c: team 50 from 02-01; d: team 50 from 01-03 to 03-10; e: pro 300 a year = 25/month from 03-01.
ROWS = """
s1,a,pro,100,1,USD,month,1,active,2026-01-10,,,
s2,a,addon,20,1,USD,month,1,active,2026-02-05,,,
s3,b,pro,100,1,USD,month,1,canceled,2026-01-15,,2026-02-20,2026-02-20
s4,c,team,50,1,USD,month,1,active,2026-02-01,,,
s5,d,team,50,1,USD,month,1,canceled,2026-01-03,,2026-03-10,2026-03-10
s6,e,pro,300,1,USD,year,1,active,2026-03-01,,,
"""
END = date(2026, 3, 31)
JAN, FEB, MAR = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)
NAN = float("nan")


@pytest.fixture
def company(store: Store, tmp_path: Path) -> Store:
    load(store, tmp_path, "customers.csv", CUSTOMERS)
    subs(store, tmp_path, ROWS)
    return store


def values(table: pd.DataFrame) -> dict[tuple[date, str], float]:
    return {(p, g): float(v) for p, g, v in zip(table["period_start"], table["group"], table["value"], strict=True)}


def assert_same(actual: dict[tuple[date, str], float], expected: dict[tuple[date, str], float]) -> None:
    assert list(actual) == list(expected), "periods and groups, groups sorted by name within a period"
    wrong = {k: (actual[k], expected[k]) for k in expected if not same(actual[k], expected[k])}
    assert not wrong, f"(actual, expected) {wrong}"


def test_mrr_by_plan_per_month(company: Store) -> None:
    # Jan 31: pro a 100 + b 100 = 200; addon 0; team d 50                 (total 250)
    # Feb 28: pro a 100 (b ended 02-20); addon a 20; team c 50 + d 50 = 100 (total 220)
    # Mar 31: pro a 100 + e 25 = 125; addon 20; team c 50 (d ended 03-10)  (total 195)
    found = bd.breakdown(company, "mrr", "month", "plan", end=END)
    assert_same(values(found), {(JAN, "addon"): 0, (JAN, "pro"): 200, (JAN, "team"): 50,
                                (FEB, "addon"): 20, (FEB, "pro"): 100, (FEB, "team"): 100,
                                (MAR, "addon"): 20, (MAR, "pro"): 125, (MAR, "team"): 50})
    total = series(company, "mrr", "month", end=END)
    assert list(total["value"]) == [250, 220, 195]
    arr = bd.breakdown(company, "arr", "month", "plan", end=END, start=MAR)
    assert_same(values(arr), {(MAR, "addon"): 240, (MAR, "pro"): 1500, (MAR, "team"): 600})  # 12 x MRR


def test_mrr_by_plan_within_a_segment(company: Store) -> None:
    # DE = a and b: pro a 100 + b 100, then a 100; addon a 20 from February; no team
    found = bd.breakdown(company, "mrr", "month", "plan", end=END, segment=("country", "DE"))
    assert_same(values(found), {(JAN, "addon"): 0, (JAN, "pro"): 200, (FEB, "addon"): 20, (FEB, "pro"): 100,
                                (MAR, "addon"): 20, (MAR, "pro"): 100})


def test_mrr_by_an_attribute_has_a_none_group(company: Store) -> None:
    # DE = a, b; FR = c; (none) = d (empty country) and e (not in the customers file)
    # Jan: DE 200, FR 0, (none) d 50; Feb: DE a 120, FR 50, (none) d 50; Mar: DE 120, FR 50, (none) e 25
    found = bd.breakdown(company, "mrr", "month", "country", end=END)
    assert_same(values(found), {(JAN, "(none)"): 50, (JAN, "DE"): 200, (JAN, "FR"): 0,
                                (FEB, "(none)"): 50, (FEB, "DE"): 120, (FEB, "FR"): 50,
                                (MAR, "(none)"): 25, (MAR, "DE"): 120, (MAR, "FR"): 50})


def test_flows_by_an_attribute(company: Store) -> None:
    # new MRR: Jan DE a 100 + b 100, (none) d 50; Feb FR c 50 (a's addon is expansion); Mar (none) e 25
    new_mrr = bd.breakdown(company, "new_mrr", "month", "country", end=END)
    assert_same(values(new_mrr), {(JAN, "(none)"): 50, (JAN, "DE"): 200, (JAN, "FR"): 0,
                                  (FEB, "(none)"): 0, (FEB, "DE"): 0, (FEB, "FR"): 50,
                                  (MAR, "(none)"): 25, (MAR, "DE"): 0, (MAR, "FR"): 0})
    # churned customers: Feb b (DE); Mar d ((none))
    churned = bd.breakdown(company, "churned_customers", "month", "country", end=END)
    assert_same(values(churned), {(JAN, "(none)"): 0, (JAN, "DE"): 0, (JAN, "FR"): 0,
                                  (FEB, "(none)"): 0, (FEB, "DE"): 1, (FEB, "FR"): 0,
                                  (MAR, "(none)"): 1, (MAR, "DE"): 0, (MAR, "FR"): 0})
    expansion = bd.breakdown(company, "expansion_mrr", "month", "country", end=END, start=FEB)
    assert values(expansion)[(FEB, "DE")] == 20  # a: 100 -> 120


def test_a_ratio_by_group_is_each_groups_own(company: Store) -> None:
    # logo churn = churned / active a period ago, per group:
    # Jan: nobody a period ago anywhere (undefined); Feb: DE b of a, b = 1/2, FR nobody active in Jan (undefined),
    # (none) 0 of d = 0; Mar: DE 0 of a = 0, FR 0 of c = 0, (none) d of d = 1
    found = bd.breakdown(company, "logo_churn_rate", "month", "country", end=END)
    assert_same(values(found), {(JAN, "(none)"): NAN, (JAN, "DE"): NAN, (JAN, "FR"): NAN,
                                (FEB, "(none)"): 0, (FEB, "DE"): 0.5, (FEB, "FR"): NAN,
                                (MAR, "(none)"): 1, (MAR, "DE"): 0, (MAR, "FR"): 0})
    # the total is not the sum: Feb b of a, b, d = 1/3; Mar d of a, c, d = 1/3
    assert list(series(company, "logo_churn_rate", "month", end=END)["value"])[1:] == [1 / 3, 1 / 3]


def test_an_attribute_every_customer_has_no_none_group(store: Store, tmp_path: Path) -> None:
    load_phones(store, tmp_path)  # 51 customers with a segment and a phone each; c00 and c01 subscribe
    assert bd.attribute_groups(store, "segment") == [("Enterprise", "Enterprise"), ("SMB", "SMB")]


def test_refusals_say_what_is_wrong(company: Store, store: Store, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    cases = {
        ("new_mrr", "plan"): "--by plan splits mrr and arr (a subscription's plan); for new_mrr, take the customers "
                             "of one plan with --segment plan=NAME",
        ("mrr", "city"): "unknown --by 'city'; known: plan, reason, country",
        ("dau", "country"): "--by breaks down revenue KPIs (groups are customers' attributes and plans); dau is "
                            "counted from events",
        ("mrr", "reason"): "--by reason splits churned_customers and churned_mrr (why a customer left), not mrr",
    }
    for (kpi, by), message in cases.items():
        with pytest.raises(InputError) as raised:
            bd.breakdown(company, kpi, "month", by)
        assert str(raised.value) == message
    with pytest.raises(InputError, match=r"^--by country covers every customer: it cannot be combined with "):
        bd.breakdown(company, "mrr", "month", "country", segment=("country", "DE"))
    monkeypatch.setenv("KPI_MAX_SEGMENT_VALUES", "1")
    with pytest.raises(InputError) as raised:
        bd.breakdown(company, "mrr", "month", "country")
    assert str(raised.value) == ("--by country: country has 2 values, more than the 1 a breakdown may have "
                                 "(KPI_MAX_SEGMENT_VALUES)")


def test_the_bridge_per_group_adds_up_to_the_bridge(company: Store) -> None:
    # February by country: DE 200 -> 120 (b churned -100, a expanded +20); FR 0 -> 50 (c new); (none) 50 -> 50
    rows = bd.bridge_by_group(company, "month", "country", FEB, end=END).set_index("group")
    assert rows.loc["DE"].to_dict() == {"mrr_start": 200, "new_mrr": 0, "expansion_mrr": 20, "reactivation_mrr": 0,
                                        "contraction_mrr": 0, "churned_mrr": -100, "net_new_mrr": -80, "mrr_end": 120}
    assert rows.loc["FR", "new_mrr"] == 50 and rows.loc["(none)", "net_new_mrr"] == 0
    assert rows["net_new_mrr"].sum() == 220 - 250
    # by plan: MRR at the two ends and the change; movements are a customer's
    by_plan = bd.bridge_by_group(company, "month", "plan", FEB, end=END).set_index("group")
    assert by_plan["mrr_end"].to_dict() == {"addon": 20, "pro": 100, "team": 100}
    assert by_plan["net_new_mrr"].to_dict() == {"addon": 20, "pro": -100, "team": 50}
    assert by_plan["new_mrr"].isna().all()


# -- properties ----------------------------------------------------------------------------------------------------

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
_counter = itertools.count()


def _store(tmp_path: Path, case_subs: list[Sub], countries: dict[str, str]) -> Store:
    folder = tmp_path / f"example{next(_counter)}"
    folder.mkdir()
    store = Store(folder / "kpis.duckdb")
    load(store, folder, "subs.csv", Sub.HEADER + "\n" + "\n".join(s.csv_line() for s in case_subs))
    load(store, folder, "customers.csv",
         "customer_id,name,country\n" + "\n".join(f"{c},{c.upper()},{v}" for c, v in countries.items()))
    return store


def _oracle_by_plan(oracle: RevenueOracle, grain: str, end: date | None) -> dict[tuple[date, str], Fraction]:
    """MRR by plan: the monthly amounts of each plan's subscriptions paying on the period's end (every plan that
    pays on some day up to the last period's end, in every period)."""
    ends = {row["period_start"]: row["period_end"] for row in oracle.table(grain, end)}
    last = max(ends.values(), default=None)
    plans = sorted({s.plan for s in oracle.subs if oracle.monthly(s) > 0 and last is not None
                    and any(oracle.pays_on(s, d) for d in days_between(date(2025, 12, 1), last))})
    return {(start, plan): sum((oracle.monthly(s) for s in oracle.subs
                                if s.plan == plan and oracle.monthly(s) > 0 and oracle.pays_on(s, p_end)), Fraction(0))
            for start, p_end in ends.items() for plan in plans}


@st.composite
def breakdown_cases(draw: st.DrawFn) -> tuple[list[Sub], dict[str, str], date | None]:
    """revenue_cases' subscriptions (one currency), plans from three, each customer DE, FR or no country."""
    case = draw(revenue_cases())
    plans = [draw(st.sampled_from(["pro", "team", "addon"])) for _ in case.subs]
    subs_ = [Sub(**{**s.__dict__, "plan": p, "currency": "USD"}) for s, p in zip(case.subs, plans, strict=True)]
    customers = sorted({s.customer_id for s in subs_})
    return subs_, {c: draw(st.sampled_from(["DE", "FR", ""])) for c in customers}, case.end


ADDITIVE = sorted(bd.ADDITIVE)


def test_the_additive_kpis_are_the_flows_and_sums() -> None:
    assert ADDITIVE == sorted(["mrr", "arr", "new_mrr", "expansion_mrr", "contraction_mrr", "churned_mrr",
                               "reactivation_mrr", "net_new_mrr", "active_customers", "new_customers",
                               "reactivated_customers", "churned_customers", "net_new_customers",
                               "trials_started", "trials_ended"])
    assert set(ADDITIVE) <= set(REVENUE_COLUMNS) | set(TRIAL_COLUMNS)
    assert all(KPIS[k].source == "revenue" for k in ADDITIVE)


@SETTINGS
@given(case=breakdown_cases(), grain=st.sampled_from(["week", "month", "quarter"]))
def test_groups_sum_to_the_total_and_match_the_oracle(tmp_path: Path, case, grain: str) -> None:
    case_subs, countries, end = case
    oracle = RevenueOracle(case_subs)
    with _store(tmp_path, case_subs, countries) as store:
        total = series(store, "mrr", grain, end=end)
        if total.empty:
            return
        by_plan = bd.breakdown(store, "mrr", grain, "plan", end=end)
        expected = _oracle_by_plan(oracle, grain, end)
        assert_same(values(by_plan), {k: float(v) for k, v in expected.items()})
        has_country = any(countries.values())
        for kpi in ADDITIVE:
            own = series(store, kpi, grain, end=end)  # the trials' series may start before the first paid day
            whole = dict(zip(own["period_start"], own["value"], strict=True))
            parts = [bd.breakdown(store, kpi, grain, "plan", end=end)] if kpi in bd.BY_PLAN else []
            if has_country:
                parts.append(bd.breakdown(store, kpi, grain, "country", end=end))
            for part in parts:
                sums = part.groupby("period_start")["value"].sum()
                # no group at all (nobody paid up to the as-of date): no rows, whose sum is 0
                wrong = {p: (sums.get(p, 0.0), v) for p, v in whole.items() if not same(float(sums.get(p, 0.0)),
                                                                                         float(v))}
                assert not wrong, f"{kpi}: (sum of groups, total) {wrong}"
        if has_country:
            _groups_match_the_oracle(store, case_subs, countries, grain, end)


def _groups_match_the_oracle(store: Store, case_subs: list[Sub], countries: dict[str, str], grain: str,
                             end: date | None) -> None:
    """Each group's every revenue KPI equals the oracle's on that group's customers (0 or undefined before the
    group's first paid day)."""
    groups = {g: {c for c, v in countries.items() if (v or "(none)") == g} for g in {v or "(none)" for v in
                                                                                     countries.values()}}
    for kpi in ("mrr", "new_mrr", "churned_customers", "logo_churn_rate", "arpa", "quick_ratio"):
        found = values(bd.breakdown(store, kpi, grain, "country", end=end))
        for group, members in groups.items():
            rows = {r["period_start"]: r[kpi] for r in RevenueOracle(case_subs, customers=members).table(grain, end)}
            for (period, name), value in found.items():
                if name == group:
                    want = rows.get(period, 0.0 if kpi in bd.ADDITIVE else NAN)
                    assert same(value, float(want)), f"{kpi} of {group} in {period}: {value} != {want}"


def test_trials_by_an_attribute_start_with_the_first_trial(tmp_path: Path) -> None:
    # c1 (DE) starts a trial on 1 Jan that ends on 1 Feb and pays from then; c2 (FR) pays from 1 Feb without one.
    # The trials' series starts in January (the first trial), a month before the first paid day: its groups too.
    # trials_started: Jan DE 1, FR 0 (= 1); Feb 0, 0. trials_ended: Jan 0, 0; Feb DE 1, FR 0 (= 1)
    case = [Sub("s1", "c1", "10", "2026-01-01T00:00:00Z", trial_end="2026-02-01T00:00:00Z"),
            Sub("s2", "c2", "20", "2026-02-01T00:00:00Z")]
    with _store(tmp_path, case, {"c1": "DE", "c2": "FR"}) as store:
        jan, feb = date(2026, 1, 1), date(2026, 2, 1)
        assert values(bd.breakdown(store, "trials_started", "month", "country")) == {
            (jan, "DE"): 1.0, (jan, "FR"): 0.0, (feb, "DE"): 0.0, (feb, "FR"): 0.0}
        assert values(bd.breakdown(store, "trials_ended", "month", "country")) == {
            (jan, "DE"): 0.0, (jan, "FR"): 0.0, (feb, "DE"): 1.0, (feb, "FR"): 0.0}
