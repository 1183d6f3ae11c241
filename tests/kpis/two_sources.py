"""A company whose sources end on different days: revenue to Friday 10 Apr 2026, product events to Sunday
29 Mar 2026. The week of 30 Mar is complete in revenue only, so the last week complete in both is the week of
23 Mar; its weeks and targets are written out by hand below, for the tests of the one period rule.

Net new MRR per week (Mondays): a customer paying 300 from 5 Jan; from 26 Jan one new customer each Monday for
eight weeks, paying 10, 12, 9, 11, 10, 12, 9, 11; the 300 customer leaves on Wed 25 Mar (week of 23 Mar: -300);
a customer paying 500 starts on Wed 1 Apr (week of 30 Mar: +500) and one paying 20 on Fri 10 Apr (the revenue
as-of date). MRR at the end of the week of 16 Mar is 384, of 23 Mar 84, of 30 Mar 584.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from kpis.store.db import Store
from tests.kpis.helpers import events, load, subs

REVENUE_AS_OF = date(2026, 4, 10)
EVENTS_AS_OF = date(2026, 3, 29)
#: the last week complete in both sources
WEEK = date(2026, 3, 23)
NEW = (10, 12, 9, 11, 10, 12, 9, 11)
MONDAYS = ("2026-01-26", "2026-02-02", "2026-02-09", "2026-02-16", "2026-02-23", "2026-03-02", "2026-03-09",
           "2026-03-16")
SUBSCRIPTIONS = "\n".join(
    ["big,cbig,big,300,1,USD,month,1,canceled,2026-01-05,,2026-03-25,2026-03-25"]
    + [f"n{i},c{i},pro,{amount},1,USD,month,1,active,{day},,," for i, (amount, day)
       in enumerate(zip(NEW, MONDAYS, strict=True), start=1)]
    + ["n9,c9,pro,500,1,USD,month,1,active,2026-04-01,,,", "n10,c10,pro,20,1,USD,month,1,active,2026-04-10,,,"])
EVENTS = """u1,login,2026-03-02T10:00:00Z,
u2,login,2026-03-24T10:00:00Z,
u1,login,2026-03-29T10:00:00Z,"""
#: a Q1 target that covers the week of 23 Mar, and Q2 ones that begin after it (revenue already runs into Q2)
TARGETS = """kpi,grain,period_start,target,owner,note
mrr,quarter,2026-01-01,400,CPO,
mrr,quarter,2026-04-01,700,CPO,
active_customers,quarter,2026-04-01,12,CPO,"""


def build(store: Store, folder: Path) -> None:
    """Import the subscriptions, the events and the targets above into ``store`` (files written in ``folder``)."""
    subs(store, folder, SUBSCRIPTIONS)
    events(store, folder, EVENTS)
    load(store, folder, "targets.csv", TARGETS)
