"""Customers' MRR movements come from the revenue KPIs' own rule (one SQL classification)."""

from __future__ import annotations

from datetime import date

from kpis.ingest.importer import import_file
from kpis.metrics.drilldown import period_movements
from kpis.metrics.movements import customer_changes
from kpis.metrics.revenue import revenue_table

SUBS = "subscription_id,customer_id,amount,interval,started_at,ended_at\n"
ROWS = ("a,c1,100,month,2026-01-01,\n"  # unchanged
        "b,c2,50,month,2026-02-01,\n"  # new in Feb
        "c,c3,30,month,2026-03-01,\n"  # new in Mar
        "d1,c4,20,month,2026-01-01,2026-01-20\nd2,c4,20,month,2026-03-05,\n"  # paid in Jan, back in Mar
        "e1,c5,10,month,2026-01-01,\ne2,c5,15,month,2026-03-01,\n"  # 10 -> 25
        "f1,c6,40,month,2026-01-01,2026-03-10\nf2,c6,25,month,2026-03-10,\n"  # 40 -> 25
        "g,c7,60,month,2026-01-01,2026-02-15\n")  # churned in Feb


def test_customer_changes_name_each_movement(store, write):
    import_file(store, write("s.csv", SUBS + ROWS))
    # from the end of Jan 31 to the end of Mar 31 (the movement over Feb 1 .. Mar 31)
    changes = customer_changes(store, date(2026, 1, 31), date(2026, 3, 31))
    found = {r.customer_id: (r.mrr_before, r.mrr_after, r.movement) for r in changes.itertuples(index=False)}
    assert found == {"c2": (0.0, 50.0, "new"), "c3": (0.0, 30.0, "new"), "c4": (0.0, 20.0, "reactivated"),
                     "c5": (10.0, 25.0, "expansion"), "c6": (40.0, 25.0, "contraction"),
                     "c7": (60.0, 0.0, "churned")}


def test_the_customers_of_each_movement_add_up_to_its_kpi(store, write):
    import_file(store, write("s.csv", SUBS + ROWS))
    march = revenue_table(store, "month", end=date(2026, 3, 31)).iloc[-1]
    moves = period_movements(store, date(2026, 3, 1), date(2026, 3, 31))
    total = moves.groupby("movement")["change"].sum().to_dict()
    # March: c3 new 30; c4 back 20; c5 +15; c6 -15 (c2 and c7 moved in February)
    assert total == {"new": 30.0, "reactivated": 20.0, "expansion": 15.0, "contraction": -15.0}
    assert (march["new_mrr"], march["reactivation_mrr"], march["expansion_mrr"], march["contraction_mrr"],
            march["churned_mrr"]) == (30.0, 20.0, 15.0, -15.0, 0.0)
