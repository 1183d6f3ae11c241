"""Strings from uploads (customer, plan and event names, segment values, notes, targets' owners and notes, file
names) come out as literal text: escaped wherever Markdown or HTML is rendered, quoted in CSV downloads.

The real dashboard runs in Streamlit's AppTest against a real DuckDB file that imported hostile exports; every
element that Streamlit renders as Markdown is checked, and so are the review's HTML and Markdown downloads.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from kpis.ingest.importer import import_file
from kpis.plan import annotations
from kpis.review.build import build_review
from kpis.review.html import render_html
from kpis.review.markdown import render_markdown
from kpis.store.db import Store

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
BOLD = "**bold**"
LINK = "[link](javascript:alert(1))"
FORMULA = '=HYPERLINK("http://evil.example","x")'
HOSTILE = (SCRIPT, IMG, BOLD, LINK, FORMULA)
#: What a hostile string looks like when it is live Markdown or HTML (its escaped forms never contain these).
LIVE = ("<script>", "<img src=x", "**bold**", "[link](javascript")
FILE_NAME = f"{IMG}.csv"

# As of 27 Nov 2026 with revenue data to 25 Nov, the last complete week is 16-22 Nov: the <script> customer churns
# in it (ended 18 Nov) and the <img> customer is new in it (17 Nov).
SUBSCRIPTIONS = (
    "id,Customer ID,Customer Name,Customer Email,Plan,Quantity,Currency,Interval,Amount,Status,Created (UTC),"
    "Start (UTC),Canceled At (UTC),Ended At (UTC),Segment (metadata)\n"
    f'sub_1,cus_1,{SCRIPT},a@x.test,{BOLD},1,usd,month,100.00,canceled,2026-08-03 10:00,2026-08-03 10:00,'
    f'2026-11-18 09:00,2026-11-18 09:00,{BOLD}\n'
    f'sub_2,cus_2,{IMG},b@x.test,{IMG},1,usd,month,80.00,active,2026-11-17 10:00,2026-11-17 10:00,,,{SCRIPT}\n'
    f'sub_3,cus_3,"{FORMULA.replace(chr(34), chr(34) * 2)}",c@x.test,Pro,1,usd,month,50.00,active,'
    f"2026-08-03 10:00,2026-08-03 10:00,,,{LINK}\n"
    f"sub_4,cus_4,{LINK},d@x.test,Pro,1,usd,month,40.00,active,2026-08-03 10:00,2026-08-03 10:00,,,SMB\n"
    "sub_5,cus_5,Zed,e@x.test,Pro,1,usd,month,30.00,active,2026-11-25 10:00,2026-11-25 10:00,,,SMB\n"
)
EVENTS = "user_id,event,timestamp,account_id\n" + "".join(
    f'u{i},"{name.replace(chr(34), chr(34) * 2)}",2026-11-{day:02d}T10:00:00Z,cus_{1 + i % 4}\n'
    for i, name in enumerate(HOSTILE) for day in range(2, 27))
TARGETS = ("kpi,grain,period_start,target,owner,note\n"
           f'mrr,month,2026-11-01,1000,"{FORMULA.replace(chr(34), chr(34) * 2)}",{IMG} {BOLD}\n')
NOTE = f"{BOLD} {SCRIPT} {LINK}"


@pytest.fixture
def hostile_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A database that imported hostile exports, as the app under test opens it (``KPI_DB``)."""
    db = tmp_path / "hostile.duckdb"
    monkeypatch.setenv("KPI_DB", str(db))
    files = {FILE_NAME: SUBSCRIPTIONS, "events.csv": EVENTS, "targets.csv": TARGETS}
    with Store(db) as store:
        for name, text in files.items():
            path = tmp_path / f"upload{len(name)}.csv"
            path.write_text(text, encoding="utf-8")
            assert import_file(store, path, name=name, who="test").status == "ok"
        annotations.add(store, date(2026, 11, 18), NOTE, who="test")
    st.cache_data.clear()
    st.cache_resource.clear()
    yield db
    st.cache_data.clear()
    st.cache_resource.clear()


def _markdown_texts(at: AppTest) -> list[str]:
    """Every string the app handed to Streamlit's Markdown renderer: text elements, alerts, labels, help,
    radio options."""
    texts: list[str] = []
    for kind in ("markdown", "caption", "info", "warning", "error", "success", "title", "header", "subheader",
                 "toast", "latex"):
        texts += [str(e.value) for e in at.get(kind)]
    for kind in ("metric", "expander", "button", "download_button", "radio", "selectbox", "multiselect",
                 "segmented_control", "pills", "checkbox", "toggle", "text_input", "date_input", "tab",
                 "status", "popover", "page_link"):
        for element in at.get(kind):
            proto = getattr(element, "proto", None)
            for field in ("label", "help", "body", "caption"):
                value = getattr(proto, field, None) if proto is not None else None
                if isinstance(value, str):
                    texts.append(value)
            if kind in ("radio", "segmented_control", "pills"):  # their options are Markdown too
                texts += [str(o) for o in getattr(element, "options", [])]
    return texts


def _charts(at: AppTest) -> list[str]:
    return [element.proto.spec for element in at.get("plotly_chart")]


def _check_page(at: AppTest) -> list[str]:
    assert not at.exception, [e.value for e in at.exception]
    texts = _markdown_texts(at)
    live = [t for t in texts if any(marker in t for marker in LIVE)]
    assert live == [], live
    for spec in _charts(at):
        figure = json.dumps(json.loads(spec))
        assert "<script" not in figure and "<img" not in figure
    return texts


PAGES = ["app_pages/overview.py", "app_pages/revenue.py", "app_pages/customers.py", "app_pages/engagement.py",
         "app_pages/retention.py", "app_pages/targets.py", "app_pages/review.py", "app_pages/data.py"]


@pytest.mark.parametrize("query", [{}, {"segment": f"Segment: {SCRIPT}"}, {"segment": f"Plan: {IMG}"},
                                   {"segment": f"{LINK}"}], ids=["all", "segment", "plan", "unknown"])
def test_every_page_shows_hostile_strings_as_text(hostile_db: Path, query: dict[str, str]) -> None:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    at.query_params.update(query)
    at.run()
    seen: list[str] = []
    for page in PAGES:
        at.switch_page(page).run()
        seen += _check_page(at)
    shown = " ".join(seen)
    if query.get("segment", "").startswith(("Segment: ", "Plan: ")):  # the hostile segment was applied
        assert at.selectbox(key="segment").value == query["segment"]
    if query.get("segment") == LINK:  # a segment that does not exist is quoted back in the note, escaped
        assert r"\[link\]\(javascript\:alert\(1\)\)" in shown


@pytest.mark.parametrize("by", ["segment", "plan", LINK])
def test_a_breakdown_shows_hostile_groups_as_text(hostile_db: Path, by: str) -> None:
    """Plans and attribute values name the groups of the Revenue page's breakdown: in the legend, the table and the
    notes they stay text; a hostile ``?by=`` is quoted back escaped."""
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    at.query_params.update({"by": by})
    at.run()
    at.switch_page("app_pages/revenue.py").run()
    shown = " ".join(_check_page(at))
    if by == LINK:
        assert r"by “\[link\]\(javascript\:alert\(1\)\)” is not one of" in shown
        return
    stacked = next(json.loads(c) for c in _charts(at) if '"stackgroup"' in c)
    names = {trace["name"] for trace in stacked["data"]}
    assert "&lt;img src=x onerror=alert(1)&gt;" in names or "&lt;script&gt;alert(1)&lt;/script&gt;" in names
    assert at.dataframe[0].value.iloc[:, 0].isin([IMG, SCRIPT]).any(), "the table holds the names as they are"


def test_review_page_and_customer_drilldown_quote_customers_literally(hostile_db: Path) -> None:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    at.run()
    at.switch_page("app_pages/review.py").run()
    texts = _check_page(at)
    summary = next(t for t in texts if "Churned" in t)
    assert r"Churned\: \<script\>alert\(1\)\</script\> \(\$100 MRR\)" in summary
    notes = [t for t in texts if "javascript" in t]
    assert r"\*\*bold\*\* \<script\>alert\(1\)\</script\> \[link\]\(javascript\:alert\(1\)\)" in " ".join(notes)
    tables = [d.value for d in at.dataframe]
    assert any(SCRIPT in frame.to_string() for frame in tables), "the churned customer, as plain text"

    at.switch_page("app_pages/customers.py").run()
    _check_page(at)
    (table,) = [d.value for d in at.dataframe if "customer_id" in d.value.columns]
    assert list(table["name"]) == [SCRIPT]  # churned in the week of 16 Nov, shown as typed


def test_data_page_names_the_hostile_file_as_text(hostile_db: Path) -> None:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    at.run()
    at.switch_page("app_pages/data.py").run()
    _check_page(at)
    history = " ".join(frame.to_string() for frame in (d.value for d in at.dataframe))
    assert FILE_NAME in history


def test_review_html_and_markdown_escape_data(hostile_db: Path) -> None:
    with Store(hostile_db) as store:
        review = build_review(store, date(2026, 11, 27), "week")
    page = render_html(review)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the churned customer and the note, as text
    assert "<script" not in page and "<img" not in page and "javascript:alert" in page
    assert not re.search(r"<a\s", page), "no link from data"
    markdown = render_markdown(review)
    assert r"\<script\>alert(1)\</script\>" in markdown
    assert all(marker not in markdown for marker in LIVE), markdown
