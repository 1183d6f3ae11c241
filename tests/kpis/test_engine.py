"""The metrics engine: each table computed once per data version, for every caller; never a stale number."""

from __future__ import annotations

import threading
from datetime import date

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from kpis.ingest.importer import import_file, undo
from kpis.metrics import engagement, engine
from kpis.metrics.series import series, trend_series
from kpis.plan.targets import evaluate
from kpis.store.settings import set_timezone

SUBS = "subscription_id,customer_id,amount,interval,started_at,ended_at\n"
TARGETS = "kpi,grain,period_start,target,owner,note\n"
# c1 pays 100 a month from Jan 1, c2 50 from Feb 1 to Apr 10, c3 30 from Mar 1; the data run to Jun 15
BASE = SUBS + ("a,c1,100,month,2026-01-01,\nb,c2,50,month,2026-02-01,2026-04-10\nc,c3,30,month,2026-03-01,\n"
               "z,c9,10,month,2026-06-15,2026-06-16\n")


def _revenue_runs() -> int:
    return engine.computations().get("revenue", 0)


def _mrr(store, grain: str = "month") -> dict[str, float]:
    table = series(store, "mrr", grain)
    return {p.isoformat(): float(v) for p, v in zip(table["period_start"], table["value"], strict=True)}


def test_a_cold_evaluate_computes_the_revenue_table_once(store, write):
    import_file(store, write("s.csv", BASE))
    # five targets of four revenue KPIs over four complete months: one monthly revenue table answers them all
    import_file(store, write("t.csv", TARGETS + "mrr,month,2026-01-01,100,,\nmrr,month,2026-03-01,200,,\n"
                                                "new_customers,month,2026-02-01,1,,\n"
                                                "logo_churn_rate,month,2026-04-01,0.1,,\n"
                                                "net_new_mrr,month,2026-05-01,10,,\n"))
    engine.forget()
    before = _revenue_runs()
    table = evaluate(store, as_of=date(2026, 6, 15))
    assert _revenue_runs() - before == 1
    # Jan: 100; Mar: 100 + 50 + 30 = 180; Feb: c2 is new; Apr: c2 left, 1 of 3 paying on Mar 31; May: nothing moved
    actual = dict(zip(zip(table["kpi"], table["period_start"], strict=True), table["actual"], strict=True))
    assert actual == {("mrr", date(2026, 1, 1)): 100.0, ("mrr", date(2026, 3, 1)): 180.0,
                      ("new_customers", date(2026, 2, 1)): 1.0, ("logo_churn_rate", date(2026, 4, 1)): 1 / 3,
                      ("net_new_mrr", date(2026, 5, 1)): 0.0}
    evaluate(store, as_of=date(2026, 6, 15))
    series(store, "arr", "month", start=date(2026, 3, 1), end=date(2026, 6, 15))
    assert _revenue_runs() - before == 1  # warm: every later caller reads the same table


def test_a_new_import_or_undo_recomputes_and_never_returns_stale_numbers(store, write):
    import_file(store, write("s.csv", BASE))
    engine.forget()
    before = _revenue_runs()
    assert _mrr(store)["2026-05-01"] == 130.0  # c1 100 + c3 30
    assert _mrr(store)["2026-05-01"] == 130.0 and _revenue_runs() - before == 1
    added = import_file(store, write("more.csv", SUBS + "d,c4,70,month,2026-05-01,\n"))
    assert _mrr(store)["2026-05-01"] == 200.0 and _revenue_runs() - before == 2
    undo(store, added.import_id, backup=False)
    assert _mrr(store)["2026-05-01"] == 130.0 and _revenue_runs() - before == 3


def test_a_changed_setting_is_a_new_data_version(store, write):
    # c1 starts at 23:00 UTC on Jan 31: Jan 31 in UTC, Feb 1 in Berlin
    import_file(store, write("s.csv", SUBS + "a,c1,100,month,2026-01-31T23:00:00Z,\nz,c9,5,month,2026-03-01,\n"))
    assert _mrr(store, "day")["2026-01-31"] == 100.0
    set_timezone(store, "Europe/Berlin")
    assert "2026-01-31" not in _mrr(store, "day") and _mrr(store, "day")["2026-02-01"] == 100.0


def test_a_caller_cannot_change_what_the_next_one_reads(store, write):
    import_file(store, write("s.csv", BASE))
    first = engine.revenue_table(store, "month")
    first["mrr"] = 0.0
    first.loc[0, "arr"] = -1.0
    again = engine.revenue_table(store, "month")
    assert again["mrr"].iloc[0] == 100.0 and again["arr"].iloc[0] == 1200.0


def test_threads_asking_at_once_share_one_computation(store, write):
    import_file(store, write("s.csv", BASE))
    engine.forget()
    before, start = _revenue_runs(), threading.Barrier(4)
    found: list[pd.DataFrame] = []

    def ask() -> None:
        start.wait()
        found.append(engine.revenue_table(store, "week"))

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert _revenue_runs() - before == 1 and len(found) == 4
    assert all(table.equals(found[0]) for table in found)


@given(st.lists(st.integers(min_value=0, max_value=6), max_size=60))
def test_the_memo_is_bounded_and_returns_each_keys_own_value(keys):
    memo, computed = engine.Memo(3), []

    def compute(key: int) -> int:
        computed.append(key)
        return key * 10

    for key in keys:
        assert memo.get(key, lambda key=key: compute(key)) == key * 10
        assert len(memo) <= 3
    # a key is computed again only after three other keys were used since its last use
    assert len(computed) <= len(keys) and len(set(computed)) == len(set(keys))


def test_targets_read_once_are_read_again_after_a_targets_import(store, write):
    import_file(store, write("s.csv", BASE))
    import_file(store, write("t.csv", TARGETS + "mrr,month,2026-01-01,100,,\n"))
    assert list(evaluate(store, as_of=date(2026, 6, 15))["target"]) == [100.0]
    # a newer export of the same target replaces it; a new one is added
    import_file(store, write("t2.csv", TARGETS + "mrr,month,2026-01-01,120,,\nmrr,month,2026-02-01,150,,\n"))
    table = evaluate(store, as_of=date(2026, 6, 15))
    assert list(zip(table["period_start"], table["target"], table["actual"], strict=True)) == [
        (date(2026, 1, 1), 120.0, 100.0), (date(2026, 2, 1), 150.0, 150.0)]  # Feb: c1 100 + c2 50


def test_a_trend_reads_a_lighter_table_with_the_same_values(store, write):
    import_file(store, write("s.csv", BASE))
    import_file(store, write("e.csv", "user_id,event,timestamp\nu1,open,2026-03-02T10:00:00Z\n"
                                      "u2,open,2026-03-03T10:00:00Z\nu1,open,2026-03-10T10:00:00Z\n"))
    engine.forget()
    before = engine.computations()
    trend = trend_series(store, "mrr", "week")
    mau = trend_series(store, "mau", "week")
    after = engine.computations()
    ran = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    assert {k: n for k, n in ran.items() if n} == {"revenue_without_retention": 1, "engagement_rolling": 1}
    assert trend.equals(series(store, "mrr", "week")) and mau.equals(series(store, "mau", "week"))
    # week of Mar 2: MAU counts u1 and u2; week of Mar 9: still both (u2's 30 days run on)
    assert list(mau["value"])[:2] == [2.0, 2.0]
    light = engine.table(store, "revenue_without_retention", "week")
    full = engine.table(store, "revenue", "week")
    assert light.drop(columns=["nrr", "grr"]).equals(full.drop(columns=["nrr", "grr"]))
    assert light["nrr"].isna().all()
    runs = engine.computations()
    trend_series(store, "mrr", "week")  # the full table is at hand now: read from it
    assert engine.computations() == runs


def test_the_user_days_are_summed_once_for_every_grain(store, write, monkeypatch):
    """Every engagement count follows from one pass over ``user_days`` (its rows summed per day and gap): the
    rolling counts and each grain's active users read the same pass."""
    import_file(store, write("e.csv", "user_id,event,timestamp\nu1,a,2026-01-05T10:00:00Z\n"
                                      "u2,a,2026-01-06T10:00:00Z\nu1,a,2026-01-20T10:00:00Z\n"))
    passes = []
    real = engagement.day_gaps

    def counted(*args, **kwargs):
        passes.append(args[1:])
        return real(*args, **kwargs)

    monkeypatch.setattr(engagement, "day_gaps", counted)
    engine.forget()
    week = engine.engagement_table(store, "week", kpis=("dau", "active_users"))
    month = engine.engagement_table(store, "month", kpis=("active_users",))
    assert len(passes) == 1
    # u1 on Jan 5 and Jan 20, u2 on Jan 6: weeks of Jan 5 (both) and Jan 19 (u1); January: both
    assert list(week["active_users"]) == [2, 0, 1] and list(month["active_users"]) == [2]
