"""The CLI output contract, checked on the exact stdout of ``python -m kpis`` run as a real process.

``series`` prints ``period_start,value``: one row per period, plain decimals, ratios as fractions, undefined
values empty; with ``--by`` it prints ``period_start,group,value``, groups sorted by name within a period.
``cohorts`` prints ``cohort_start,period,cohort_size,retained,retention`` and the average row
(``cohort_start`` = ``average``); ``curve`` prints ``days_active,users``. Every run gets its own copy of a
fixture database, so the processes run side by side.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from kpis.store.db import Store
from tests.kpis.helpers import events, load, subs
from tests.kpis.test_engagement_exact import CUSTOMERS as EVENT_CUSTOMERS
from tests.kpis.test_engagement_exact import EVENT_ROWS
from tests.kpis.test_retention_exact import ROWS as RETENTION_ROWS

ROOT = Path(__file__).resolve().parents[2]

# Revenue fixture (as-of 2026-04-15, so April is partial):
#   c1 100/month 01-05 .. 02-01, again from 04-10 (reactivation); c2 600/year = 50/month from 01-20;
#   c3 300 every 3 months = 100/month, trial until 03-01; c4 incomplete (never pays).
#   mrr at month ends: Jan 100 + 50 = 150; Feb 50; Mar 50 + 100 = 150; Apr(15th) 100 + 50 + 100 = 250
REVENUE_ROWS = """
s1,c1,basic,100,1,USD,month,1,canceled,2026-01-05,,2026-02-01,2026-02-01
s1b,c1,basic,100,1,USD,month,1,active,2026-04-10,,,
s2,c2,annual,600,1,USD,year,1,active,2026-01-20,,,
s3,c3,quarterly,300,1,USD,month,3,trialing,2026-02-15,2026-03-01,,
s4,c4,big,999,1,USD,month,1,incomplete,2026-01-10,,,
"""
REVENUE_CUSTOMERS = "customer_id,name,email,segment\nc1,A,,Enterprise\nc2,B,,SMB\nc3,C,,Enterprise"
END = ("--end", "2026-04-15")

RUNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "mrr": ("revenue", ("series", "mrr", "--grain", "month", *END)),
    "logo_churn": ("revenue", ("series", "logo_churn_rate", "--grain", "month", *END)),
    "net_new_customers": ("revenue", ("series", "net_new_customers", "--grain", "month", *END)),
    "arr_weeks": ("revenue", ("series", "arr", "--grain", "week", "--start", "2026-03-30", *END)),
    "segment": ("revenue", ("series", "mrr", "--grain", "month", "--segment", "Segment=Enterprise", *END)),
    "ltv_week": ("revenue", ("series", "ltv", "--grain", "week")),
    "mixed": ("mixed", ("series", "mrr", "--grain", "month")),
    "weekly_arr": ("weekly", ("series", "arr", "--grain", "month", "--end", "2026-01-31")),
    "dau": ("events", ("series", "dau", "--grain", "week")),
    "adoption": ("events", ("series", "adoption", "--grain", "week", "--event", "export")),
    "curve": ("events", ("curve", "--grain", "week", "--period", "2026-01-07")),
    "cohorts": ("retention", ("cohorts", "--grain", "month", "--mode", "n-day")),
    "lifecycle": ("retention", ("lifecycle", "--grain", "month")),
    "cohorts_unbounded": ("retention", ("cohorts", "--grain", "month", "--mode", "unbounded", "--end", "2026-02-28")),
    "kpis": ("events", ("kpis",)),
    "by_plan": ("revenue", ("series", "mrr", "--grain", "month", "--by", "plan", *END)),
    "by_segment": ("revenue", ("series", "logo_churn_rate", "--grain", "month", "--by", "Segment", *END)),
    "by_unknown": ("revenue", ("series", "mrr", "--grain", "month", "--by", "city")),
    "by_events": ("events", ("series", "dau", "--grain", "week", "--by", "segment")),
}


def _build(folder: Path) -> dict[str, Path]:
    """The fixture databases, each closed (so it can be copied)."""
    made = {}
    for name in ("revenue", "mixed", "weekly", "events", "retention"):
        sub = folder / name
        sub.mkdir()
        with Store(sub / "kpis.duckdb") as store:
            if name == "revenue":
                load(store, sub, "customers.csv", REVENUE_CUSTOMERS)
                subs(store, sub, REVENUE_ROWS)
            elif name == "mixed":
                subs(store, sub, "s1,c1,b,100,1,USD,month,1,active,2026-01-05,,,\n"
                                 "s2,c2,b,100,1,EUR,month,1,active,2026-01-05,,,")
            elif name == "weekly":
                subs(store, sub, "s1,c1,weekly,10,1,USD,week,1,active,2026-01-05,,,")
            elif name == "events":
                load(store, sub, "customers.csv", EVENT_CUSTOMERS)
                events(store, sub, EVENT_ROWS)
            else:
                events(store, sub, RETENTION_ROWS)
        made[name] = sub / "kpis.duckdb"
    return made


def _run(db: Path, args: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "kpis", "--db", str(db), *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=120)


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> dict[str, subprocess.CompletedProcess[str]]:
    """Every run of RUNS, side by side, each on its own copy of its fixture database."""
    folder = tmp_path_factory.mktemp("cli")
    databases = _build(folder)
    jobs = {}
    for key, (fixture, args) in RUNS.items():
        copy = folder / f"{key}.duckdb"
        shutil.copyfile(databases[fixture], copy)
        jobs[key] = (copy, args)
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {key: pool.submit(_run, db, args) for key, (db, args) in jobs.items()}
        return {key: future.result() for key, future in futures.items()}


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    return result.stdout


def test_series_mrr(out):
    assert _ok(out["mrr"]) == "period_start,value\n2026-01-01,150\n2026-02-01,50\n2026-03-01,150\n2026-04-01,250\n"


def test_ratios_are_fractions_and_undefined_values_are_empty(out):
    # logo churn: Jan nobody a period ago (empty); Feb c1 of c1, c2 churned: 1/2; Mar 0/1; Apr 0/2
    assert _ok(out["logo_churn"]) == \
        "period_start,value\n2026-01-01,\n2026-02-01,0.5\n2026-03-01,0\n2026-04-01,0\n"


def test_counts_are_plain_integers_and_can_be_negative(out):
    # c1, c2 new; c1 churned; c3 new; c1 reactivated
    assert _ok(out["net_new_customers"]) == \
        "period_start,value\n2026-01-01,2\n2026-02-01,-1\n2026-03-01,1\n2026-04-01,1\n"


def test_start_end_and_segment(out):
    # weeks from --start's week: ends 04-05 (c2 50 + c3 100) x 12; 04-12 (+ c1 100 from 04-10); 04-15 (as-of)
    assert _ok(out["arr_weeks"]) == "period_start,value\n2026-03-30,1800\n2026-04-06,3000\n2026-04-13,3000\n"
    # Enterprise = c1 and c3 (the key is not case-sensitive)
    assert _ok(out["segment"]) == "period_start,value\n2026-01-01,100\n2026-02-01,0\n2026-03-01,100\n2026-04-01,200\n"


def test_errors_are_one_line_on_stderr(out):
    assert (out["ltv_week"].returncode, out["ltv_week"].stdout) == (2, "")
    assert out["ltv_week"].stderr == "error: ltv exists at month grain, not week\n"
    mixed = out["mixed"]
    assert (mixed.returncode, mixed.stdout) == (1, "")
    assert mixed.stderr.startswith("error: subscriptions are in several currencies (EUR, USD)")
    assert mixed.stderr.count("\n") == 1 and "Traceback" not in mixed.stderr


def test_engagement_series(out):
    # see test_engagement_exact: dau 1, 4/7, 1; adoption of export 0, 0, 2/3
    assert _ok(out["dau"]) == "period_start,value\n2025-12-29,1\n2026-01-05,0.5714285714\n2026-01-12,1\n"
    assert _ok(out["adoption"]) == "period_start,value\n2025-12-29,0\n2026-01-05,0\n2026-01-12,0.6666666667\n"


def test_curve(out):
    # week of 01-05: u1 and u2 on one day, u3 on two
    assert _ok(out["curve"]) == "days_active,users\n1,2\n2,1\n3,0\n4,0\n5,0\n6,0\n7,0\n"


def test_cohorts(out):
    # see test_retention_exact
    assert _ok(out["cohorts"]) == (
        "cohort_start,period,cohort_size,retained,retention\n"
        "2026-01-01,0,3,3,1\n"
        "2026-01-01,1,3,1,0.3333333333\n"
        "2026-01-01,2,3,2,0.6666666667\n"
        "2026-02-01,0,2,2,1\n"
        "2026-02-01,1,2,1,0.5\n"
        "2026-03-01,0,1,1,1\n"
        # the average row, complete cells only: k=0 Jan 3/3 + Feb 2/2 (March's is partial) = 5/5; k=1 Jan's 1/3
        # alone (Feb's is partial); k=2 only Jan's, partial: no average
        "average,0,5,5,1\n"
        "average,1,3,1,0.3333333333\n")
    assert _ok(out["cohorts_unbounded"]) == (
        "cohort_start,period,cohort_size,retained,retention\n"
        "2026-01-01,0,3,3,1\n"
        "2026-01-01,1,3,1,0.3333333333\n"
        "2026-02-01,0,2,2,1\n"
        # February ends on the as-of date: every cell is complete
        "average,0,5,5,1\n"
        "average,1,3,1,0.3333333333\n")


def test_kpis_lists_every_registered_kpi(out):
    from kpis.core.registry import KPIS

    lines = _ok(out["kpis"]).splitlines()
    assert lines[0] == "id,label,unit,source,direction,grains,definition"
    assert [line.split(",")[0] for line in lines[1:]] == list(KPIS)
    assert lines[1].startswith("mrr,MRR,currency,revenue,higher is better,day|week|month|quarter,")
    assert any(line.startswith("ltv,LTV,currency,revenue,higher is better,month,") for line in lines)
    assert any(line.startswith("logo_churn_rate,Logo churn rate,ratio,revenue,lower is better,") for line in lines)


def test_arr_of_a_weekly_plan_is_52_times_its_amount(out):
    # 10/week: mrr = 10 x 52/12, arr = 12 x mrr = 520
    assert _ok(out["weekly_arr"]) == "period_start,value\n2026-01-01,520\n"


def test_lifecycle(out):
    # see test_lifecycle_exact: Jan a, b, c new; Feb d, e new, a returning, b, c dormant; Mar f new, a, e
    # returning, b resurrected, d dormant
    assert _ok(out["lifecycle"]) == ("period_start,new,returning,resurrected,dormant\n"
                                     "2026-01-01,3,0,0,0\n"
                                     "2026-02-01,2,1,0,-2\n"
                                     "2026-03-01,1,2,1,-1\n")


def test_series_by_plan(out):
    # plans at month ends: annual c2 50 throughout; basic c1 100 in Jan, gone Feb-Mar, back 04-10; quarterly c3
    # 100 from 03-01 (its trial's end); big never pays (incomplete), so it is no group. Sums: 150, 50, 150, 250
    assert _ok(out["by_plan"]) == ("period_start,group,value\n"
                                   "2026-01-01,annual,50\n2026-01-01,basic,100\n2026-01-01,quarterly,0\n"
                                   "2026-02-01,annual,50\n2026-02-01,basic,0\n2026-02-01,quarterly,0\n"
                                   "2026-03-01,annual,50\n2026-03-01,basic,0\n2026-03-01,quarterly,100\n"
                                   "2026-04-01,annual,50\n2026-04-01,basic,100\n2026-04-01,quarterly,100\n")


def test_series_by_an_attribute_sorts_groups_and_leaves_undefined_values_empty(out):
    # Enterprise = c1, c3; SMB = c2; (none) = c4, not in the customers file, who never pays: always undefined.
    # Enterprise: Feb c1 of c1 churned = 1, Mar nobody active in Feb (undefined), Apr 0 of c3 = 0; SMB: 0 of c2
    assert _ok(out["by_segment"]) == ("period_start,group,value\n"
                                      "2026-01-01,(none),\n2026-01-01,Enterprise,\n2026-01-01,SMB,\n"
                                      "2026-02-01,(none),\n2026-02-01,Enterprise,1\n2026-02-01,SMB,0\n"
                                      "2026-03-01,(none),\n2026-03-01,Enterprise,\n2026-03-01,SMB,0\n"
                                      "2026-04-01,(none),\n2026-04-01,Enterprise,0\n2026-04-01,SMB,0\n")


def test_series_by_refuses_what_it_cannot_break_down(out):
    assert (out["by_unknown"].returncode, out["by_unknown"].stdout) == (2, "")
    assert out["by_unknown"].stderr == "error: unknown --by 'city'; known: plan, reason, segment\n"
    assert (out["by_events"].returncode, out["by_events"].stdout) == (2, "")
    assert out["by_events"].stderr == ("error: --by breaks down revenue KPIs (groups are customers' attributes and "
                                       "plans); dau is counted from events\n")
