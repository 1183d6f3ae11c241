"""The Retention page's segment choice (the sidebar's segment, chosen on the page, in the link) and its feature
impact section (a correlation, labelled as one), on the demo company."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from streamlit.testing.v1 import AppTest

from kpis.metrics.impact import impact
from kpis.store.db import Store
from tests.app.test_pages import needs_demo, unescape

pytestmark = needs_demo

RETENTION = "app_pages/retention.py"
ENTERPRISE = "Segment: Enterprise"
IMPACT_TITLE = "Week-4 retention: did it in the first week minus did not"


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def figures(at: AppTest) -> list[dict]:
    return [json.loads(e.proto.spec) for e in at.get("plotly_chart")]


def heatmap_rows(at: AppTest) -> list[str]:
    """The heatmap's row labels: ``cohort · size``, then the average."""
    return next(f["data"][0]["y"] for f in figures(at) if f["data"][0]["type"] == "heatmap")


def cohort_sizes(at: AppTest) -> int:
    return sum(int(row.split(" · ")[1].replace(",", "")) for row in heatmap_rows(at)[:-1])


def share_link(at: AppTest) -> str:
    (code,) = at.code
    return code.value


def captions(at: AppTest) -> list[str]:
    return [unescape(c.value) for c in at.caption]


def test_the_segment_is_chosen_on_the_page_and_travels_in_the_link(app: Callable[..., AppTest]) -> None:
    at = ok(app().switch_page(RETENTION).run())
    assert at.selectbox(key="retention_segment").label == "Cohorts of"
    assert at.selectbox(key="retention_segment").value == "all customers"
    assert ENTERPRISE in at.selectbox(key="retention_segment").options
    everyone = cohort_sizes(at)
    ok(at.selectbox(key="retention_segment").set_value(ENTERPRISE).run())
    assert at.selectbox(key="segment").value == ENTERPRISE, "one choice: the sidebar's segment follows the page's"
    assert share_link(at) == "/retention?segment=Segment%3A+Enterprise"
    assert 0 < cohort_sizes(at) < everyone, "the cohorts hold the segment's users alone"
    assert any(c.startswith(f"Only the users whose account is a customer in {ENTERPRISE}:") for c in captions(at))
    enterprise_rows = heatmap_rows(at)

    opened = ok(app({"segment": ENTERPRISE}).switch_page(RETENTION).run())  # the link, opened by someone else
    assert opened.selectbox(key="retention_segment").value == ENTERPRISE
    assert heatmap_rows(opened) == enterprise_rows
    ok(opened.selectbox(key="segment").set_value("all customers").run())  # and the sidebar moves the page's
    assert opened.selectbox(key="retention_segment").value == "all customers"
    assert cohort_sizes(opened) == everyone and share_link(opened) == "/retention"


def test_feature_impact_is_labelled_a_correlation(app: Callable[..., AppTest], db_path) -> None:
    at = ok(app().switch_page(RETENTION).run())
    assert "Feature impact (correlation)" in [s.value for s in at.subheader]
    assert any(c.startswith("**A correlation, not a cause**: users who do X in their first week retain better; "
                            "that does not mean X makes them stay.") for c in [c.value for c in at.caption])
    (chart,) = [f for f in figures(at) if f["layout"]["title"]["text"] == IMPACT_TITLE]
    bars = chart["data"][0]
    with Store(db_path) as store:
        table = impact(store, start=at.date_input(key="start").value)
    # every event of the demo has a difference; the page shows them largest first, in percentage points, with
    # the plain names of the tool's events, and the users behind each side in the hover
    assert bars["x"] == pytest.approx([100 * d for d in table["difference"]])
    assert "Page viewed" in bars["y"] and "dashboard_viewed" in bars["y"]
    top = table.iloc[0]
    assert bars["customdata"][0].startswith(f"did it in their first week: {top.users_did:,} users, ")
    assert f"did not: {top.users_did_not:,} users, " in bars["customdata"][0]
    assert any(c.startswith("New users whose first day is in the date range and whose week 4 has ended: ")
               for c in captions(at))
