"""One period, one rule: when revenue and product events end on different days, the review, the anomalies, the
targets, the scorecard and the CLI all speak of the last period complete in both, and say so; and what the
pages say about the demo company when your own data is loaded next to it.

The company of :mod:`tests.kpis.two_sources` has revenue to Fri 10 Apr 2026 and product events to Sun
29 Mar 2026: the week of 30 Mar is complete in revenue only, so the last week complete in both is the week of
23 Mar (MRR 84, after 384 the week before).
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from kpis.ingest.importer import import_file
from kpis.plan.anomalies import anomalies
from kpis.plan.scorecard import compare
from kpis.plan.targets import evaluate
from kpis.review.build import build_review
from kpis.review.html import render_html
from kpis.review.markdown import render_markdown
from kpis.store.db import Store
from tests.kpis import two_sources
from tests.kpis.helpers import EVENTS_HEADER, SUBS_HEADER

ROOT = Path(__file__).resolve().parents[2]
APART = ("Revenue to 10 Apr 2026, product events to 29 Mar 2026: the review covers the week of 23 Mar 2026, the "
         "last week complete in both.")
LATER_TARGETS = ("Targets of Q2 2026 (MRR, Active customers) start on 1 Apr 2026, after the week reviewed: this "
                 "review does not judge them.")


@pytest.fixture
def apart(tmp_path: Path) -> Path:
    """A database file holding the two-source company (closed, so a CLI process can open it)."""
    path = tmp_path / "apart.duckdb"
    with Store(path) as store:
        two_sources.build(store, tmp_path)
    return path


def kpis(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m kpis --db DB ARGS`` as a real process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "kpis", "--db", str(db), *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=300)


# -- the rule -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("revenue", "events", "end", "grain", "period"), [
    (date(2026, 4, 10), date(2026, 3, 29), None, "week", (date(2026, 3, 23), date(2026, 3, 29))),
    (date(2026, 4, 10), date(2026, 3, 29), None, "month", (date(2026, 2, 1), date(2026, 2, 28))),
    (date(2026, 4, 10), date(2026, 3, 29), None, "quarter", (date(2025, 10, 1), date(2025, 12, 31))),
    (date(2026, 4, 10), None, None, "week", (date(2026, 3, 30), date(2026, 4, 5))),  # one source: its own
    (None, date(2026, 3, 29), None, "week", (date(2026, 3, 23), date(2026, 3, 29))),
    (date(2026, 4, 10), date(2026, 3, 29), date(2026, 3, 18), "week", (date(2026, 3, 9), date(2026, 3, 15))),
    (date(2026, 4, 10), date(2026, 3, 29), date(2026, 4, 5), "week", (date(2026, 3, 30), date(2026, 4, 5))),
])
def test_the_last_complete_period_ends_by_the_earlier_source_or_the_chosen_day(revenue, events, end, grain, period):
    from kpis.metrics.reporting import complete_period, reporting_as_of

    as_of = reporting_as_of(revenue, events, end)
    assert complete_period(as_of, grain) == period


def test_without_data_there_is_no_period(tmp_path: Path) -> None:
    from kpis.metrics.reporting import last_complete_period, reporting_as_of

    assert reporting_as_of(None, None, date(2026, 3, 1)) is None
    with Store(tmp_path / "empty.duckdb") as store:
        assert last_complete_period(store, "week") is None


@pytest.mark.parametrize(("args", "text"), [
    (("week", date(2026, 3, 23), date(2026, 4, 10), date(2026, 3, 29), None),
     "Revenue to 10 Apr 2026, product events to 29 Mar 2026: showing the week of 23 Mar 2026, the last week "
     "complete in both."),
    (("week", date(2026, 11, 16), date(2026, 11, 22), date(2026, 11, 22), None),
     "Revenue and product events to 22 Nov 2026: showing the week of 16 Nov 2026, the last week complete in both."),
    (("month", date(2026, 2, 1), None, date(2026, 3, 29), None),
     "Product events to 29 Mar 2026 (no revenue data): showing Feb 2026, the last month complete."),
    (("quarter", date(2026, 1, 1), date(2026, 4, 10), None, None),
     "Revenue to 10 Apr 2026 (no product events): showing Q1 2026, the last quarter complete."),
    (("week", date(2026, 3, 9), date(2026, 4, 10), date(2026, 3, 29), date(2026, 3, 18)),
     "Revenue to 10 Apr 2026, product events to 29 Mar 2026, as of 18 Mar 2026: showing the week of 9 Mar 2026, "
     "the last week complete by then."),
    (("week", date(2026, 3, 30), date(2026, 4, 10), date(2026, 3, 29), date(2026, 4, 5)),
     "Revenue to 10 Apr 2026, product events to 29 Mar 2026, as of 5 Apr 2026: showing the week of 30 Mar 2026, "
     "the last week complete by then; product events stop on 29 Mar 2026, before the week ends."),
])
def test_the_statement_says_where_each_source_ends_and_which_period_that_leaves(args, text):
    from kpis.metrics.reporting import LastComplete, complete_period, reporting_as_of

    grain, start, revenue, events, end = args
    as_of = reporting_as_of(revenue, events, end)
    first, last = complete_period(as_of, grain)
    assert first == start
    assert LastComplete(grain, first, last, as_of, revenue, events, end).statement() == text


def test_the_day_targets_are_judged_on_is_stated() -> None:
    from kpis.metrics.reporting import LastComplete

    period = LastComplete("day", date(2026, 3, 29), date(2026, 3, 29), date(2026, 3, 29), date(2026, 4, 10),
                          date(2026, 3, 29))
    assert period.as_of_statement("targets judged") == (
        "Revenue to 10 Apr 2026, product events to 29 Mar 2026: targets judged as of 29 Mar 2026, the last day "
        "with data in both.")
    chosen = LastComplete("day", date(2026, 4, 5), date(2026, 4, 5), date(2026, 4, 5), date(2026, 4, 10),
                          date(2026, 3, 29), date(2026, 4, 5))
    assert chosen.as_of_statement("targets judged") == (
        "Revenue to 10 Apr 2026, product events to 29 Mar 2026, as of 5 Apr 2026: targets judged as of 5 Apr "
        "2026, the day chosen; product events stop on 29 Mar 2026.")


def test_the_store_s_last_complete_week_is_the_one_complete_in_both(apart: Path) -> None:
    from kpis.metrics.reporting import last_complete_period

    with Store(apart) as store:
        week = last_complete_period(store, "week")
    assert (week.start, week.last_day, week.as_of) == (date(2026, 3, 23), date(2026, 3, 29), date(2026, 3, 29))
    assert (week.revenue_as_of, week.events_as_of) == (two_sources.REVENUE_AS_OF, two_sources.EVENTS_AS_OF)


# -- the review, the targets, the anomalies, the scorecard -----------------------------------------------------------

def test_the_review_covers_the_week_complete_in_both_and_says_why(apart: Path) -> None:
    with Store(apart) as store:
        review = build_review(store, None, "week")
    assert (review.period_start, review.period_end, review.as_of) == (
        date(2026, 3, 23), date(2026, 3, 29), date(2026, 3, 29))
    mrr = review.headline("mrr")
    assert (mrr.value, mrr.previous) == (pytest.approx(84), pytest.approx(384))
    assert review.sentences[0].startswith("MRR fell 78.1% week over week to $84, 21% of the Q1 2026 target of $400")
    assert review.period_note == APART
    markdown = render_markdown(review).splitlines()
    assert markdown[:5] == ["# Weekly review: week of 23 Mar 2026", "", "23 Mar 2026 – 29 Mar 2026", "", APART]
    assert APART in render_html(review)


def test_targets_that_begin_after_the_reviewed_week_are_named_not_dropped(apart: Path) -> None:
    with Store(apart) as store:
        review = build_review(store, None, "week")
        segment = build_review(store, None, "week", ("plan", "pro"))
        earlier = build_review(store, date(2026, 3, 15), "week")
    assert [t.period_start for t in review.headline("mrr").targets] == [date(2026, 1, 1)]
    assert LATER_TARGETS in review.caveats  # beside the caveats of KPIs still warming up (events from 2 Mar)
    assert "- " + LATER_TARGETS in render_markdown(review).replace("\\", "").splitlines()
    assert LATER_TARGETS not in segment.caveats, "a segment's review shows no company target at all"
    assert not any(c.startswith("Targets of Q2") for c in earlier.caveats), \
        "as of 15 Mar, Q2 has not begun in the data the review looks at"


def test_targets_are_judged_on_the_day_both_sources_reach(apart: Path) -> None:
    with Store(apart) as store:
        table = evaluate(store).set_index(["kpi", "period_start"])
    q1 = table.loc[("mrr", date(2026, 1, 1))]
    assert (q1["actual"], bool(q1["partial"]), bool(q1["projected"])) == (pytest.approx(84), True, True)
    q2 = table.loc[("mrr", date(2026, 4, 1))]
    assert math.isnan(q2["actual"]) and pd.isna(q2["status"]), "Q2 has not begun by 29 Mar"
    assert math.isnan(table.loc[("active_customers", date(2026, 4, 1)), "actual"])


def test_anomalies_judge_the_week_complete_in_both(apart: Path) -> None:
    with Store(apart) as store:
        found = anomalies(store, "week", kpis=("mrr",))
        chosen = anomalies(store, "week", as_of=date(2026, 4, 5), kpis=("net_new_mrr",))
    # MRR climbs by 10, 12, 9, 11, ... a week to 300 + 84 = 384 on 22 Mar, then the big customer leaves: 84 in the
    # week of 23 Mar, far below its course (the week complete in both sources, not the week of 30 Mar)
    assert [(r.kpi, r.period_start, r.value, r.direction) for r in found.itertuples()] == [
        ("mrr", date(2026, 3, 23), 84.0, "below")]
    # a day chosen by hand is the as-of date: the week of 30 Mar (+500) is then the last complete one
    assert [(r.kpi, r.period_start, r.value, r.direction) for r in chosen.itertuples()] == [
        ("net_new_mrr", date(2026, 3, 30), 500.0, "above")]


def test_a_tile_shows_the_period_it_is_given_not_its_source_s_last() -> None:
    table = pd.DataFrame({"period_start": [date(2026, 3, 16), date(2026, 3, 23), date(2026, 3, 30),
                                           date(2026, 4, 6)],
                          "value": [384.0, 84.0, 584.0, 604.0], "partial": [False, False, False, True]})
    shown = compare(table, "week", "previous", period=date(2026, 3, 23))
    assert (shown.period, shown.value, shown.reference_period, shown.reference) == (
        date(2026, 3, 23), 84.0, date(2026, 3, 16), 384.0)
    assert (shown.running_period, shown.running_value) == (date(2026, 4, 6), 604.0)
    assert compare(table, "week", "previous").period == date(2026, 3, 30), "without a period: the table's last"
    assert compare(table, "week", "previous", period=date(2026, 4, 6)).period is None, "a partial one: none"


# -- the command line ------------------------------------------------------------------------------------------------

def test_cli_review_anomalies_and_targets_speak_of_one_period(apart: Path) -> None:
    review = kpis(apart, "review", "--grain", "week")
    assert (review.returncode, review.stderr) == (0, "")
    lines = review.stdout.splitlines()
    assert lines[0] == "# Weekly review: week of 23 Mar 2026" and lines[4] == APART
    assert "- " + LATER_TARGETS in review.stdout.replace("\\", "").splitlines()

    found = kpis(apart, "anomalies", "--grain", "week")
    assert found.returncode == 0, found.stderr
    rows = found.stdout.splitlines()
    assert rows[0] == "kpi,period_start,value,expected,low,high,direction"
    assert {row.split(",")[1] for row in rows[1:]} == {"2026-03-23"}, "every KPI judged on the same week"
    assert any(row.startswith("mrr,2026-03-23,84,") and row.endswith(",below") for row in rows)
    assert found.stderr == ("note: Revenue to 10 Apr 2026, product events to 29 Mar 2026: anomalies of the week "
                            "of 23 Mar 2026, the last week complete in both.\n")

    listed = kpis(apart, "targets", "list")
    assert listed.returncode == 0
    assert listed.stderr == ("note: Revenue to 10 Apr 2026, product events to 29 Mar 2026: targets judged as of "
                             "29 Mar 2026, the last day with data in both.\n")
    q2 = next(row for row in listed.stdout.splitlines() if row.startswith("mrr,quarter,2026-04-01,"))
    assert q2 == "mrr,quarter,2026-04-01,700,,,,,no,CPO,", "not begun by 29 Mar: no actual, no status"


def test_cli_review_as_of_a_chosen_day(apart: Path) -> None:
    review = kpis(apart, "review", "--grain", "week", "--as-of", "2026-03-18")
    assert review.returncode == 0, review.stderr
    assert review.stdout.splitlines()[4] == (
        "Revenue to 10 Apr 2026, product events to 29 Mar 2026, as of 18 Mar 2026: the review covers the week of "
        "9 Mar 2026, the last week complete by then.")


# -- the demo company next to your own data ---------------------------------------------------------------------------

def _import(store: Store, folder: Path, name: str, text: str, who: str) -> None:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    assert import_file(store, path, who=who).status == "ok"


def test_whose_data_each_source_shows(store: Store, tmp_path: Path) -> None:
    from kpis.ops.demo import BOTH, DEMO_ONLY, YOURS_ONLY, shown_text, whose

    assert whose(store) == {} and shown_text(whose(store)) is None
    _import(store, tmp_path, "demo_subs.csv", SUBS_HEADER + "\nd1,dc1,pro,10,1,USD,month,1,active,2026-01-05,,,\n",
            "demo")
    _import(store, tmp_path, "demo_events.csv", EVENTS_HEADER + "\nd1,login,2026-01-05T10:00:00Z,\n", "demo")
    assert whose(store) == {"subscriptions": DEMO_ONLY, "events": DEMO_ONLY}
    assert shown_text(whose(store)) == ("Showing the demo company, a made-up business, so you can explore the "
                                        "dashboard. Import your own exports, then remove it on the Data page.")
    _import(store, tmp_path, "events.csv", EVENTS_HEADER + "\nu1,login,2026-01-06T10:00:00Z,\n", "local")
    assert whose(store) == {"subscriptions": DEMO_ONLY, "events": BOTH}
    assert shown_text(whose(store)) == (
        "Showing your data and the demo company's together: revenue is the demo company's only; product events "
        "are yours and the demo company's added together. Remove the demo company on the Data page (you are asked "
        "to confirm) so that every number is yours.")
    _import(store, tmp_path, "targets.csv", "kpi,grain,period_start,target\nmrr,quarter,2026-01-01,100\n", "local")
    assert whose(store)["targets"] == YOURS_ONLY
    assert "; targets are yours only." in shown_text(whose(store))
    _import(store, tmp_path, "demo_targets.csv", "kpi,grain,period_start,target\nmrr,quarter,2026-04-01,90\n",
            "demo")
    assert whose(store)["targets"] == BOTH
    assert "; targets are yours and the demo company's. Remove" in shown_text(whose(store)), "not summed"
