"""The Review page: the review of the last complete period at the filters' grain, drawn with native components,
its downloads, and data strings shown escaped."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from streamlit.testing.v1 import AppTest

from app_pages import review_view
from kpis.plan import annotations
from kpis.review.build import build_review
from kpis.review.html import render_html
from kpis.store.db import Store
from tests.app.test_pages import needs_demo, unescape

pytestmark = needs_demo

REVIEW_PAGE = "app_pages/review.py"
NASTY = "<script>alert(1)</script> **bold** [x](javascript:alert(1)) :red[red] $x$"


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def open_review(at: AppTest) -> AppTest:
    return ok(at.switch_page(REVIEW_PAGE).run())


def tables(at: AppTest) -> list:
    return [d.value for d in at.dataframe]


def test_weekly_review(app: Callable[..., AppTest]) -> None:
    at = open_review(app())
    assert [s.value for s in at.subheader][:2] == ["Weekly review: week of 16 Nov 2026", "Notes on dates"]
    assert [b.label for b in at.get("download_button")] == ["Download as HTML", "Download as Markdown"]
    headlines = tables(at)[0]
    assert list(headlines.columns) == ["KPI", "This week", "Week before", "Change", "Target", "Status", "Unusual"]
    mrr = headlines[headlines["KPI"] == "MRR"].iloc[0]
    assert (mrr["This week"], mrr["Week before"], mrr["Change"]) == ("$142.2k", "$137.6k", "+$4.59k (+3.3%)")
    assert mrr["Target"] == "85% of Q4 2026 ($168.0k) · projected 93%" and mrr["Status"] == "at risk (projected)"
    summary = next(unescape(m.value) for m in at.markdown if m.value.startswith("- MRR"))
    assert summary.startswith("- MRR grew 3.3% week over week to $142.2k")
    assert "Churned: Quarry Foods Corp. ($338 MRR)" in summary


def test_monthly_review_and_the_date_range_end(app: Callable[..., AppTest]) -> None:
    at = open_review(app({"grain": "month"}))
    assert at.subheader[0].value == "Monthly review: Oct 2026"
    at = open_review(app({"end": "2026-06-30"}))
    assert at.subheader[0].value == "Weekly review: week of 22 Jun 2026"


def test_quarter_grain_says_the_review_is_weekly_or_monthly(app: Callable[..., AppTest]) -> None:
    at = open_review(app({"grain": "quarter"}))
    assert any("The review covers a week or a month only" in i.value for i in at.info)
    assert not at.get("download_button")


def test_data_strings_are_shown_escaped(app: Callable[..., AppTest], db_path: Path) -> None:
    at = app()
    with Store(db_path) as store:
        annotations.add(store, date(2026, 11, 18), NASTY)
    open_review(at)
    shown = [m.value for m in at.markdown if "alert(1)" in unescape(m.value)]
    assert shown, "the note is listed"
    for value in shown:
        assert "<script>" not in value and "**bold**" not in value, "escaped, never Markdown or HTML"
        assert NASTY in unescape(value)
    with Store(db_path) as store:
        review = build_review(store, grain="week")
    page = render_html(review)
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert review_view.file_stem(review) == "review-week-2026-11-16"


def test_the_review_frames_match_the_review(db_path: Path) -> None:
    from kpis.ops.demo import load_demo

    with Store(db_path) as store:
        load_demo(store)
        review = build_review(store, grain="month")
    bridge = review_view.bridge(review)
    assert bridge is not None and list(bridge[""])[0] == "Start (end of Sep 2026)"
    assert list(review_view.movers(review)[""]) == ["better"] * 3 + ["worse"] * 3
    churned = review_view.customers(review, review.top_churned)
    assert list(churned.columns) == ["Customer", "Month before", "This month", "Change"]
