"""The account KPIs in planning: targets on them (lower is better), and their warm-up, which anomalies and the
overview's tile leave out of a KPI's history, counted from the first event day.

The company of tests/kpis/test_accounts_exact.py: its events start on 1 Jan 2026 and end on 25 Feb 2026. On
31 Jan, cus_b (50) and cus_e (30) are at risk (their users were last active on 1 Jan): 2 accounts, 80 of MRR.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from kpis.core.registry import KPIS
from kpis.metrics import engine, warmup
from kpis.plan.anomalies import JUDGED
from kpis.plan.targets import evaluate
from kpis.store.db import Store
from tests.kpis.helpers import load
from tests.kpis.test_accounts_exact import build_company


def test_targets_on_accounts_at_risk_and_mrr_at_risk_are_met_from_below(store: Store, tmp_path: Path) -> None:
    build_company(store, tmp_path)
    load(store, tmp_path, "targets.csv", "kpi,grain,period_start,target,owner,note\n"
                                         "accounts_at_risk,month,2026-01-01,1,CS,\n"
                                         "mrr_at_risk,month,2026-01-01,100,CS,\n")
    found = evaluate(store, as_of=date(2026, 2, 25)).set_index("kpi")
    # 2 accounts at risk against at most 1: 1 / 2 = 50%, off track; 80 of MRR against at most 100: 100 / 80
    assert (found.at["accounts_at_risk", "actual"], found.at["accounts_at_risk", "attainment"],
            found.at["accounts_at_risk", "status"]) == (2, 0.5, "off track")
    assert (found.at["mrr_at_risk", "actual"], found.at["mrr_at_risk", "attainment"],
            found.at["mrr_at_risk", "status"]) == (80, 1.25, "on track")


def test_the_account_kpis_warm_up_from_the_first_event_day(store: Store, tmp_path: Path) -> None:
    build_company(store, tmp_path)
    first = engine.first_days(store)["accounts"]
    assert first == date(2026, 1, 1)
    # two windows of 28 days: the first day that compares full windows is 1 Jan + 55 days = 25 Feb
    kpi = KPIS["mrr_at_risk"]
    assert warmup.period_warming_up(kpi, date(2026, 2, 16), "week", first)  # ends Sun 22 Feb
    assert not warmup.period_warming_up(kpi, date(2026, 2, 23), "week", first)  # ends Sun 1 Mar
    assert "mrr_at_risk" in JUDGED
