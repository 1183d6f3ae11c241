"""The periodic review: its numbers equal ``python -m kpis series``, its period is the last complete one, the MRR
bridge adds up, the customers behind churn and expansion are exact, and the documents are safe to open.

The demo company (``kpis.ops.demo``) is loaded once into a database file; each test opens it anew. The small fixture
is written out by hand below.
"""

from __future__ import annotations

import argparse
import math
import re
from datetime import date
from pathlib import Path

import pytest

from kpis.cli import review as review_cli
from kpis.cli.main import main
from kpis.core.errors import DataError, InputError
from kpis.core.registry import HEADLINE, KPIS, MAGNITUDE
from kpis.metrics.engagement import engagement_as_of
from kpis.metrics.movements import customer_changes
from kpis.metrics.reporting import complete_period
from kpis.metrics.revenue import revenue_as_of
from kpis.metrics.series import series
from kpis.ops.demo import load_demo
from kpis.plan import annotations
from kpis.review.build import build_review, improved, rank_size, relative_change
from kpis.review.html import render_html
from kpis.review.markdown import anomaly_cells, change_cell, mover_text, render_markdown
from kpis.review.model import Anomaly, Change
from kpis.store.db import Store
from tests.kpis.helpers import load, subs

XSS = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("review") / "demo.duckdb"
    with Store(path) as store:
        load_demo(store)
        annotations.add(store, date(2026, 11, 17), "Launched <b>AI Insights</b> & \"v2\" pricing")
    return path


@pytest.fixture(scope="module")
def demo(demo_db) -> Store:
    with Store(demo_db) as store:
        yield store


@pytest.fixture(scope="module")
def review_of(demo):
    """``review_of(as_of, grain, segment=None)``: the demo's review, built once per module (it only reads)."""
    built: dict[tuple, object] = {}

    def get(as_of: date | None, grain: str, segment: tuple[str, str] | None = None):
        key = (as_of, grain, segment)
        if key not in built:
            built[key] = build_review(demo, as_of, grain, segment)
        return built[key]

    return get


def _cli_series(db: Path, capsys, kpi: str, grain: str, end: date, segment: str | None = None) -> dict[date, str]:
    """``python -m kpis series`` as a dict ``{period_start: printed value}``."""
    argv = ["--db", str(db), "series", kpi, "--grain", grain, "--end", end.isoformat()]
    if segment:
        argv += ["--segment", segment]
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "period_start,value"
    return {date.fromisoformat(p): v for p, v in (line.split(",") for line in lines[1:])}


def _same(printed: str, value: float) -> bool:
    if printed == "":
        return math.isnan(value)
    return not math.isnan(value) and float(printed) == pytest.approx(value, rel=1e-9, abs=1e-9)


# -- numbers and period --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("grain", "as_of", "segment", "period"), [
    ("week", date(2026, 11, 22), None, date(2026, 11, 16)),
    ("week", date(2026, 11, 19), None, date(2026, 11, 9)),  # a Thursday: the review is of the week before
    ("month", date(2026, 11, 22), None, date(2026, 10, 1)),
    ("month", date(2026, 10, 31), ("segment", "SMB"), date(2026, 10, 1)),
])
def test_every_number_equals_the_cli_series(demo_db, review_of, capsys, grain, as_of, segment, period):
    review = review_of(as_of, grain, segment)
    assert review.period_start == period
    flag = f"{segment[0]}={segment[1]}" if segment else None
    for headline in review.headlines:
        printed = _cli_series(demo_db, capsys, headline.kpi, grain, as_of, flag)
        assert _same(printed[review.period_start], headline.value), headline.kpi
        assert _same(printed[review.previous_start], headline.previous), headline.kpi
    for change in (*review.improvers, *review.decliners):
        printed = _cli_series(demo_db, capsys, change.kpi, grain, as_of, flag)
        assert _same(printed[review.period_start], change.value), change.kpi
        assert _same(printed[review.previous_start], change.previous), change.kpi


def test_the_sparklines_are_the_series_up_to_the_period(demo, review_of):
    review = review_of(date(2026, 11, 22), "week")
    assert len(review.spark_periods) == 12 and review.spark_periods[-1] == review.period_start
    mrr = series(demo, "mrr", "week", end=date(2026, 11, 22)).set_index("period_start")["value"]
    assert review.headline("mrr").sparkline == pytest.approx([mrr[p] for p in review.spark_periods])


@pytest.mark.parametrize(("as_of", "grain", "first", "last"), [
    (date(2026, 11, 22), "week", date(2026, 11, 16), date(2026, 11, 22)),  # Sunday: its week is complete
    (date(2026, 11, 21), "week", date(2026, 11, 9), date(2026, 11, 15)),
    (date(2026, 11, 23), "week", date(2026, 11, 16), date(2026, 11, 22)),
    (date(2026, 10, 31), "month", date(2026, 10, 1), date(2026, 10, 31)),
    (date(2026, 11, 22), "month", date(2026, 10, 1), date(2026, 10, 31)),
    (date(2026, 3, 1), "month", date(2026, 2, 1), date(2026, 2, 28)),
])
def test_the_period_is_the_last_complete_one(as_of, grain, first, last):
    assert complete_period(as_of, grain) == (first, last)


def test_the_default_as_of_is_the_earlier_source(demo, review_of):
    review = review_of(None, "week")
    expected = min(revenue_as_of(demo), engagement_as_of(demo))
    assert review.as_of == expected
    assert (review.period_start, review.period_end) == complete_period(expected, "week")
    assert (review.revenue_as_of, review.engagement_as_of) == (revenue_as_of(demo), engagement_as_of(demo))


@pytest.mark.parametrize("grain", ["week", "month"])
def test_the_bridge_adds_up(review_of, grain):
    review = review_of(date(2026, 11, 22), grain)
    bridge = review.bridge
    assert bridge is not None
    assert bridge.start + sum(amount for _, amount in bridge.movements) == pytest.approx(bridge.end, abs=1e-6)
    assert bridge.start == pytest.approx(review.headline("mrr").previous)
    assert bridge.end == pytest.approx(review.headline("mrr").value)
    assert bridge.net == pytest.approx(review.headline("net_new_mrr").value, abs=1e-6)


def test_movers_are_ranked_and_honour_the_direction(review_of):
    review = review_of(date(2026, 11, 22), "month")
    assert review.improvers and review.decliners
    for movers, better in ((review.improvers, True), (review.decliners, False)):
        sizes = [abs(c.relative_change) for c in movers]
        assert sizes == sorted(sizes, reverse=True)
        for c in movers:
            assert c.improved is better
            if c.kpi in MAGNITUDE:
                assert (abs(c.value) < abs(c.previous)) is better
            else:
                assert ((c.value > c.previous) == KPIS[c.kpi].higher_is_better) is better
    ranked = [c for c in review.changes if c.improved is not None and not math.isnan(c.relative_change)]
    largest = max(abs(c.relative_change) for c in ranked)
    assert largest == max(abs(review.improvers[0].relative_change), abs(review.decliners[0].relative_change))
    assert {"arr", "adoption"}.isdisjoint(c.kpi for c in review.changes)


def test_targets_and_anomalies_of_the_demo(review_of):
    review = review_of(date(2026, 11, 22), "week")
    mrr = review.headline("mrr")
    assert [(t.grain, t.period_start) for t in mrr.targets] == [("quarter", date(2026, 10, 1))]
    line = mrr.targets[0]
    assert line.actual == pytest.approx(mrr.value)  # judged on the review's last day
    assert line.attainment == pytest.approx(mrr.value / 168_000)
    assert line.running and line.projected and line.status in ("on track", "at risk", "off track")
    assert review.headline("stickiness").targets[0].grain == "month"
    assert not review.headline("nrr").targets
    assert review.sentences[0].startswith(f"MRR grew {(mrr.relative_change * 100):.1f}% week over week to $142.2k, "
                                          f"{line.attainment * 100:.0f}% of the Q4 2026 target of $168.0k; "
                                          f"at this pace the quarter ends at")
    for anomaly in review.anomalies:
        assert review.headline(anomaly.kpi).anomaly == anomaly
        assert anomaly.value == pytest.approx(review.headline(anomaly.kpi).value)
        assert (anomaly.value > anomaly.high) if anomaly.direction == "above" else (anomaly.value < anomaly.low)


def test_the_period_annotations_are_listed(review_of):
    review = review_of(date(2026, 11, 22), "week")
    assert [n.text for n in review.annotations] == ["Launched <b>AI Insights</b> & \"v2\" pricing"]
    assert review_of(date(2026, 11, 19), "week").annotations == ()  # the week of 9 Nov


# -- the documents -------------------------------------------------------------------------------------------------

def test_markdown_names_every_headline_kpi(review_of):
    review = review_of(date(2026, 11, 22), "week")
    text = render_markdown(review)
    assert text.startswith("# Weekly review: week of 16 Nov 2026\n")
    for kpi in HEADLINE:
        assert f"| {KPIS[kpi].label} |" in text
    for sentence in review.sentences:
        assert sentence.split(" ")[0] in text
    assert "## MRR bridge" in text and "| New | +\\$4.82k |" in text
    assert "Launched \\<b\\>AI Insights\\</b\\> & \"v2\" pricing" in text  # no raw HTML from data


def test_html_is_self_contained_and_safe(review_of):
    html = render_html(review_of(date(2026, 11, 22), "week"))
    assert html.startswith("<!DOCTYPE html>")
    assert "<script" not in html.lower()
    assert not re.search(r"https?://", html) and "src=" not in html and "@import" not in html
    assert "max-width:720px" in html and html.count("<svg") >= len(HEADLINE) + 1
    assert "Launched &lt;b&gt;AI Insights&lt;/b&gt; &amp; &quot;v2&quot; pricing" in html
    for kpi in HEADLINE:
        assert f"<b>{KPIS[kpi].label}</b>" in html


# -- a small company, by hand ----------------------------------------------------------------------------------------
#
#   February 2026, compared with January (m0 = MRR on Jan 31, m1 = MRR on Feb 28):
#   c1 Acme         100/month, ends Feb 10                      m0 100  m1   0  churned
#   c2 <script>      50/month, ends Feb 20                      m0  50  m1   0  churned
#   c5 (no name)     10/month, ends Feb 3                       m0  10  m1   0  churned
#   c3 Core          30/month, + a second plan 20/month Feb 15  m0  30  m1  50  expansion +20
#   c4 Delta       1200/year = 100/month, upgraded Feb 1 to 2400/year = 200/month   expansion +100
#   c6 Echo          40/month, trial until Feb 5                m0   0  m1  40  new
#   c7 Fox            5/week x 2 seats = 43.33/month            unchanged
#   c8 Gone         999/month, incomplete                       never pays
#   start = 100 + 50 + 10 + 30 + 100 + 43.33 = 333.33; end = 50 + 200 + 40 + 43.33 = 333.33
#   new 40, expansion 120, churned -160: 333.33 + 40 + 120 - 160 = 333.33

SMALL_SUBS = """
s1,c1,basic,100,1,USD,month,1,canceled,2026-01-05,,2026-02-10,2026-02-10
s2,c2,basic,50,1,USD,month,1,canceled,2026-01-05,,2026-02-20,2026-02-20
s5,c5,basic,10,1,USD,month,1,canceled,2026-01-05,,2026-02-03,2026-02-03
s3,c3,basic,30,1,USD,month,1,active,2026-01-05,,,
s3b,c3,addon,20,1,USD,month,1,active,2026-02-15,,,
s4,c4,annual,1200,1,USD,year,1,canceled,2026-01-10,,2026-02-01,2026-02-01
s4b,c4,annual_plus,2400,1,USD,year,1,active,2026-02-01,,,
s6,c6,basic,40,1,USD,month,1,trialing,2026-01-20,2026-02-05,,
s7,c7,weekly,5,2,USD,week,1,active,2026-01-05,,,
s8,c8,big,999,1,USD,month,1,incomplete,2026-01-10,,,
"""
SMALL_CUSTOMERS = f"""customer_id,name,email
c1,Acme,a@acme.test
c2,{XSS},x@evil.test
c3,Core,c@core.test
c4,Delta,d@delta.test
c6,Echo,e@echo.test
c7,Fox,f@fox.test"""
FEB = date(2026, 2, 28)


@pytest.fixture
def small(store, tmp_path) -> Store:
    load(store, tmp_path, "customers.csv", SMALL_CUSTOMERS)
    subs(store, tmp_path, SMALL_SUBS)
    load(store, tmp_path, "targets.csv", "kpi,grain,period_start,target,owner,note\n"
                                         "mrr,month,2026-02-01,400,CPO,Plan\n"
                                         "net_new_mrr,month,2026-02-01,50,CPO,\n")
    annotations.add(store, date(2026, 2, 12), "<img src=x onerror=alert(1)>")
    return store


def test_a_yearly_target_is_named_by_its_year(store, tmp_path):
    load(store, tmp_path, "customers.csv", SMALL_CUSTOMERS)
    subs(store, tmp_path, SMALL_SUBS)
    load(store, tmp_path, "targets.csv", "kpi,grain,period_start,target,owner,note\nmrr,year,2026-01-01,4000,CPO,\n")
    text = render_markdown(build_review(store, FEB, "month"))
    assert "MRR was flat month over month at \\$333, 8% of the 2026 target of \\$4.00k" in text  # 333.33 / 4000
    assert "| 8% of 2026 (" in text and "1 Jan 2026" not in text


def test_a_target_cell_escapes_its_amount_once(store, tmp_path):
    """The table's target cell is escaped as every cell is, once: ``\\$4.00k`` reads as $4.00k, ``\\\\\\$`` would
    show a backslash."""
    load(store, tmp_path, "customers.csv", SMALL_CUSTOMERS)
    subs(store, tmp_path, SMALL_SUBS)
    load(store, tmp_path, "targets.csv", "kpi,grain,period_start,target,owner,note\nmrr,year,2026-01-01,4000,CPO,\n")
    row = next(line for line in render_markdown(build_review(store, FEB, "month")).splitlines()
               if line.startswith("| MRR |"))
    assert row.endswith("| 8% of 2026 (\\$4.00k) · projected 12% · off track |")


def test_a_segment_review_shows_no_company_target(small):
    review = build_review(small, FEB, "month", ("plan", "basic"))
    assert review.headline("mrr").targets == ()
    assert review.caveats[-1] == "Targets are set for the whole company, so this segment's review compares with none."
    assert build_review(small, FEB, "month").headline("mrr").targets[0].target == 400


def test_top_churn_and_expansion_are_exact(small):
    review = build_review(small, FEB, "month")
    assert [(m.customer_id, m.name, m.mrr_before, m.mrr_after) for m in review.top_churned] == [
        ("c1", "Acme", 100, 0), ("c2", XSS, 50, 0), ("c5", None, 10, 0)]
    assert [(m.customer_id, m.name, m.mrr_before, m.mrr_after) for m in review.top_expansion] == [
        ("c4", "Delta", pytest.approx(100), pytest.approx(200)), ("c3", "Core", 30, 50)]
    assert review.top_churned[2].display_name == "c5"
    assert (review.churned_count, review.expansion_count) == (3, 2)


def test_the_small_bridge_and_its_sentences(small):
    review = build_review(small, FEB, "month")
    b = review.bridge
    fox = 5 * 2 * 52 / 12
    assert (b.start, b.new, b.expansion, b.reactivation, b.contraction, b.churned, b.end) == pytest.approx(
        (333 + 1 / 3, 40, 120, 0, 0, -160, 333 + 1 / 3))
    assert b.start == pytest.approx(290 + fox)
    assert list(review.sentences[:5]) == [
        "MRR was flat month over month at $333, 83% of the Feb 2026 target of $400 (off track).",
        "Net new MRR was $0 (+$333 the month before): new +$40, expansion +$120, churned -$160.",
        "Net new MRR: 0% of the Feb 2026 target of $50 (off track).",
        "Active customers fell by 2 to 4 (1 new, 3 churned).",  # c1, c2, c5 leave; c6 starts paying
        "Logo churn rate was 50.0%.",  # 3 churned / 6 active at the end of January
    ]
    assert ("Churned: Acme ($100 MRR), <script>alert(1)</script> ($50 MRR) and c5 ($10 MRR). "
            "Largest expansion: Delta (+$100 to $200) and Core (+$20 to $50).") in review.sentences
    assert any(s.startswith("Noted this month: 12 Feb 2026: <img") for s in review.sentences)


def test_churned_customers_are_counted_beyond_the_top(review_of):
    review = review_of(date(2026, 11, 22), "month")  # October: 6 customers churned
    assert review.churned_count == review.change("churned_customers").value == 6
    assert len(review.top_churned) == 5 and review.expansion_count >= len(review.top_expansion)
    accounts = next(s for s in review.sentences if s.startswith("Churned: "))
    assert " and 3 others." in accounts and f"and {review.expansion_count - 3} others." in accounts


def test_every_churned_customer_adds_up_to_churned_mrr(small):
    changes = customer_changes(small, date(2026, 1, 31), FEB)
    churned = changes[(changes["mrr_before"] > 0) & (changes["mrr_after"] == 0)]
    review = build_review(small, FEB, "month")
    assert (churned["mrr_after"] - churned["mrr_before"]).sum() == pytest.approx(review.bridge.churned)
    assert "c7" not in set(changes["customer_id"]) and "c8" not in set(changes["customer_id"])


def test_names_from_data_are_escaped(small):
    review = build_review(small, FEB, "month")
    html = render_html(review)
    assert "<script" not in html.lower() and "<img" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert not re.search(r"https?://", html)
    markdown = render_markdown(review)
    assert not re.search(r"(?<!\\)<", markdown)  # every < from data is escaped: Markdown shows it as text
    assert "\\<script\\>alert(1)\\</script\\>" in markdown
    assert "\\<img src=x onerror=alert(1)\\>" in markdown


def test_markdown_never_typesets_math_or_strikes_through(small):
    """``$...$`` is math in GitHub, GitLab and most wikis, ``~~...~~`` strikethrough: a note (or a name) holding them
    is shown as typed, and so is every amount (two of them in a row would pair up as math)."""
    annotations.add(small, date(2026, 2, 13), "Price $x^2$ for ~~all~~ $5 plans")
    markdown = render_markdown(build_review(small, FEB, "month"))
    assert "- 13 Feb 2026: Price \\$x^2\\$ for \\~\\~all\\~\\~ \\$5 plans" in markdown.splitlines()
    assert not re.search(r"(?<!\\)[$~]", markdown), "every $ and ~ is escaped"
    assert "| MRR | \\$333 | \\$333 |" in markdown


def test_without_events_engagement_is_undefined_and_said(small):
    review = build_review(small, FEB, "month")
    for kpi in ("dau", "mau", "stickiness"):
        assert math.isnan(review.headline(kpi).value)
    assert any("No product events" in c for c in review.caveats)
    assert "| DAU | — | — | — |" in render_markdown(review)


def test_the_activation_sentence_is_written_from_the_numbers(store, tmp_path):
    """The events of tests/kpis/test_activation_exact.py, with a window of one day: the review of the week of
    12 Jan (as of 18 Jan, the last complete week: the data ends on Thursday 22 Jan) speaks of that week, whose
    starters' one-day windows have all ended by 18 Jan."""
    from kpis.store import settings
    from tests.kpis.helpers import events
    from tests.kpis.test_activation_exact import ROWS

    events(store, tmp_path, ROWS)
    settings.set_inactive_events(store, ["$identify"])
    assert build_review(store, grain="week").activation is None, "no activation event: no sentence"
    settings.set_activation(store, "report_created", 1, ["report_created"])
    review = build_review(store, grain="week")
    # week of 12 Jan: e (12 Jan; created a report on 14 Jan), f (14 Jan; never), h (16 Jan; on 22 Jan): 0 of 3
    # week of 5 Jan: a (report on 11 Jan), b (12 Jan), c (the same day: yes), d (13 Jan): 1 of 4 = 25%
    assert "0.0% of the users who started in the week of 12 Jan 2026 activated (did report_created within 1 day: "\
           "0 of 3), against 25.0% the week before." in review.sentences
    settings.set_activation_window(store, 7)
    review = build_review(store, grain="week")
    # seven days: the latest week whose windows all ended by 18 Jan is that of 5 Jan (11 + 6 = 17 Jan): a, c, d of
    # a, b, c, d = 75%; the week before (29 Dec) had no starters (undefined): nothing to compare with
    assert "75.0% of the users who started in the week of 5 Jan 2026 activated (did report_created within 7 days: "\
           "3 of 4)." in review.sentences
    assert "75.0% of the users who started" in render_markdown(review)
    assert "75.0% of the users who started" in render_html(review)


# -- errors and the CLI ----------------------------------------------------------------------------------------------

def test_errors(store, small):
    with pytest.raises(InputError, match="a review covers a week or a month, not 'quarter'"):
        build_review(small, FEB, "quarter")
    with pytest.raises(InputError, match="no complete week with data ends on or before 2025-06-01"):
        build_review(small, date(2025, 6, 1), "week")


def test_an_empty_store_has_nothing_to_review(tmp_path):
    with Store(tmp_path / "empty.duckdb") as empty, pytest.raises(DataError, match="no data to review"):
        build_review(empty, None, "week")


def _run(store, capsys, *argv: str) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="python -m kpis")
    review_cli.add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.run(store, args), capsys.readouterr().out


def test_cli_review(small, capsys, tmp_path):
    code, out = _run(small, capsys, "review", "--as-of", "2026-02-28", "--grain", "month")
    assert code == 0 and out.startswith("# Monthly review: Feb 2026\n")
    code, out = _run(small, capsys, "review", "--as-of", "2026-02-28", "--grain", "month", "--format", "html",
                     "--segment", "plan=basic")
    assert code == 0 and out.startswith("<!DOCTYPE html>") and "Plan: basic" in out
    assert "Targets are set for the whole company, so this segment&#x27;s review compares with none." in out
    target = tmp_path / "review.html"
    code, out = _run(small, capsys, "review", "--as-of", "2026-02-28", "--grain", "month", "--format", "html",
                     "--output", str(target))
    assert code == 0 and out == f"wrote the monthly review of 2026-02-01 to {target}\n"
    assert target.read_text(encoding="utf-8") == render_html(build_review(small, FEB, "month"))


# -- words and numbers that fit ------------------------------------------------------------------------------------

def _moved(kpi: str, value: float, previous: float) -> Change:
    k = KPIS[kpi]
    return Change(kpi, k.label, k.unit, k.higher_is_better, value, previous, value - previous,
                  relative_change(kpi, value, previous), improved(kpi, value, previous))


def test_movers_are_said_in_points_money_or_percent_as_fits(small):
    review = build_review(small, FEB, "month")
    assert [mover_text(review, c) for c in (
        _moved("contraction_mrr", -1_140.0, -20.0),  # 57 times its size: no percentage
        _moved("net_new_mrr", -15_010.0, 1_000.0),  # the sign flips: no percentage
        _moved("revenue_churn_rate", 0.097, 0.012),  # a rate: percentage points
        _moved("new_mrr", 4_820.0, 989.0),
    )] == [
        "Contraction MRR +$1.12k in size (-$20 → -$1.14k)",
        "Net new MRR -$16.0k ($1.00k → -$15.0k)",
        "Revenue churn rate +8.5 pp (1.2% → 9.7%)",
        "New MRR +387.4% ($989 → $4.82k)",
    ]
    # ranked by their relative change up to tenfold: the flip and the 57-fold rank with any tenfold move
    assert [rank_size(_moved(k, v, p)) for k, v, p in (("contraction_mrr", -1_140.0, -20.0),
                                                       ("net_new_mrr", -15_010.0, 1_000.0),
                                                       ("new_mrr", 4_820.0, 989.0))] == [
        9.0, 9.0, pytest.approx(3_831 / 989)]
    # the headline table keeps the amount and leaves out a percentage that means nothing
    assert change_cell(review, _moved("net_new_mrr", -15_010.0, 1_000.0)) == "-$16.0k"
    assert change_cell(review, _moved("mrr", 110.0, 100.0)) == "+$10 (+10.0%)"


def test_an_unusual_rate_or_count_has_a_range_it_can_take(small):
    review = build_review(small, FEB, "month")
    rate = Anomaly("logo_churn_rate", "Logo churn rate", 0.09, 0.0, 0.021, "above")
    count = Anomaly("active_customers", "Active customers", 203.0, 194.0, 200.0, "above")
    assert anomaly_cells(review, rate) == ("9.0%", "0.0% to 2.1%", "above its usual range")
    assert anomaly_cells(review, count) == ("203", "194 to 200", "above its usual range")


def test_warming_up_kpis_are_shown_but_not_compared(demo, review_of):
    # December 2025: the events start on Sunday 23 Nov 2025, so MAU counts fewer than 30 days until 21 Dec, and
    # stickiness divides by it; November's flows hold only 8 days of events (everyone new): not compared either
    review = review_of(date(2025, 12, 31), "month")
    mau = series(demo, "mau", "month", end=date(2025, 12, 31)).set_index("period_start")["value"]
    for kpi in ("mau", "stickiness"):
        h = review.headline(kpi)
        assert math.isnan(h.change) and math.isnan(h.relative_change) and h.improved is None, kpi
    assert not math.isnan(review.headline("dau").change)  # a mean over the days with events: comparable
    assert math.isnan(review.change("new_users").change)
    assert review.headline("mau").value == mau[date(2025, 12, 1)]
    assert not {"mau", "stickiness", "new_users"} & {c.kpi for c in (*review.improvers, *review.decliners)}
    assert not {"mau", "stickiness"} & {a.kpi for a in review.anomalies}
    assert review.caveats == (
        "MAU counts the users active in the 30 days ending each day, and the events start on 23 Nov 2025: its "
        "value is complete from 22 Dec 2025 on. Until then it is not compared with the period before nor judged "
        "unusual.",
        "Stickiness (DAU/MAU) divides by MAU, which counts the users active in the 30 days ending each day, and "
        "the events start on 23 Nov 2025: its value is complete from 22 Dec 2025 on. Until then it is not "
        "compared with the period before nor judged unusual.",
    )
    text = render_markdown(review)
    assert f"| MAU | {mau[date(2025, 12, 1)]:,.0f} | {mau[date(2025, 11, 1)]:,.0f} | — |" in text
    sentence = next(s for s in review.sentences if s.startswith("DAU averaged"))
    assert re.search(r", MAU was [\d,]+ and stickiness \(DAU/MAU\) was [\d.]+% month over month\.$", sentence)


# -- trials and churn reasons ----------------------------------------------------------------------------------------
#
#   A Stripe export, reviewed for February 2026 (as of 1 Mar, s10's start):
#   r1 c1 100  ended 10 Feb  too_expensive     churned in February
#   r2 c2  50  ended 12 Feb  too_expensive     churned
#   r3 c3  30  ended 14 Feb  unused            churned
#   r4 c4  40  ended 16 Feb  (no reason)       churned
#   t1 c5  trial 10 -> 24 Jan, goes on paying               January: converted
#   t2 c6  trial 12 -> 26 Jan, ended 20 Jan                 January: not converted (1 of 2)
#   t3 c7  trial 1 -> 15 Feb, t4 c8 trial 2 -> 16 Feb       February: converted
#   t5 c9  trial 3 -> 17 Feb, ended 17 Feb                  February: not converted (2 of 3)

STRIPE_HEADER = ("id,Customer ID,Customer Name,Plan,Quantity,Currency,Interval,Amount,Status,Cancellation Reason,"
                 "Start Date (UTC),Trial End (UTC),Canceled At (UTC),Ended At (UTC)")
STRIPE_ROWS = [
    ("r1", "c1", "100.00", "canceled", "too_expensive", "2026-01-05", "", "2026-02-10"),
    ("r2", "c2", "50.00", "canceled", "too_expensive", "2026-01-05", "", "2026-02-12"),
    ("r3", "c3", "30.00", "canceled", "unused", "2026-01-05", "", "2026-02-14"),
    ("r4", "c4", "40.00", "canceled", "", "2026-01-05", "", "2026-02-16"),
    ("t1", "c5", "20.00", "active", "", "2026-01-10", "2026-01-24", ""),
    ("t2", "c6", "20.00", "canceled", "", "2026-01-12", "2026-01-26", "2026-01-20"),
    ("t3", "c7", "20.00", "active", "", "2026-02-01", "2026-02-15", ""),
    ("t4", "c8", "20.00", "active", "", "2026-02-02", "2026-02-16", ""),
    ("t5", "c9", "20.00", "canceled", "", "2026-02-03", "2026-02-17", "2026-02-17"),
    ("s10", "c10", "10.00", "active", "", "2026-03-01", "", ""),
]


@pytest.fixture
def reasons(store, tmp_path) -> Store:
    lines = [f"{i},{c},,pro,1,usd,month,{a},{s},{r},{start},{trial},{end},{end}"
             for i, c, a, s, r, start, trial, end in STRIPE_ROWS]
    load(store, tmp_path, "stripe.csv", STRIPE_HEADER + "\n" + "\n".join(lines))
    return store


def test_the_trials_and_the_top_churn_reason_in_words(reasons):
    review = build_review(reasons, date(2026, 3, 1), "month")
    assert review.period_start == date(2026, 2, 1)
    # February: t3, t4 converted, t5 not: 2 of 3; January: t1 of t1, t2: 1 of 2
    assert (review.trials.ended, review.trials.converted) == (3, 2)
    assert "2 of 3 trials that ended this month converted (66.7%), against 50.0% the month before." in review.sentences
    # too_expensive: c1 and c2, 100 + 50; then unused (c3, 30) and c4 without a reason (40)
    assert [(r.reason, r.customers, r.mrr) for r in review.churn_reasons] == [
        ("too_expensive", 2, -150.0), ("(none given)", 1, -40.0), ("unused", 1, -30.0)]
    assert ("The most given churn reason was too_expensive: 2 of 4 churned customers, $150 of MRR."
            in review.sentences)
    markdown = render_markdown(review)
    assert "| too\\_expensive | 2 | -\\$150 |" in markdown and "| (none given) | 1 | -\\$40 |" in markdown
    html = render_html(review)
    assert ">Churn reasons</h2>" in html and "too_expensive" in html


def test_no_reason_no_sentence_and_a_lone_trial(small):
    review = build_review(small, FEB, "month")
    # c1, c2, c5 churned without a reason; c6's trial (20 Jan to 5 Feb) ended and converted; none ended in January
    assert [r.reason for r in review.churn_reasons] == ["(none given)"]
    assert not [s for s in review.sentences if s.startswith("The most given churn reason")]
    assert "1 of 1 trial that ended this month converted (100.0%)." in review.sentences


# -- accounts at risk --------------------------------------------------------------------------------------------

def test_the_accounts_at_risk_sentence_is_written_from_the_numbers(store, tmp_path):
    """The company of tests/kpis/test_accounts_exact.py (events end on Wed 25 Feb), with names for two customers.

    January (as of 31 Jan): cus_b (50; b1, b2 active on 1 Jan, none since) and cus_e (30; Eve on 1 Jan, then
    not until 20 Feb) are at risk, 80 together; the largest is cus_b, 2 active users to 0. cus_a has its 10 users
    now (28/29 Jan) as before (1 Jan); cus_d its 1.
    Week of 16 Feb (as of 22 Feb): only cus_b (Eve is back on 20 Feb), so one account.
    Week of 19 Jan (as of 25 Jan): b1 and b2's 1 Jan is inside the 28 days, nobody at risk: no sentence.
    """
    from tests.kpis.test_accounts_exact import build_company

    build_company(store, tmp_path)
    load(store, tmp_path, "customers.csv", "customer_id,name,email\ncus_b,Bolt & Co,b@bolt.test\n"
                                           "cus_a,Acme,a@acme.test")
    month = build_review(store, date(2026, 2, 25), "month")
    assert month.period_start == date(2026, 1, 1)
    assert "2 accounts with $80 MRR are at risk; the largest, Bolt & Co ($50), went from 2 active users to 0." \
        in month.sentences
    assert "2 accounts with \\$80 MRR are at risk" in render_markdown(month)
    assert "Bolt &amp; Co ($50)" in render_html(month)
    week = build_review(store, date(2026, 2, 25), "week")
    assert week.period_end == date(2026, 2, 22)
    assert "1 account with $50 MRR is at risk: Bolt & Co went from 2 active users to 0." in week.sentences
    quiet = build_review(store, date(2026, 1, 25), "week")
    assert quiet.at_risk is None and not [s for s in quiet.sentences if "is at risk" in s or "are at risk" in s]
