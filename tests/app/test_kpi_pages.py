"""The KPI pages and the shared filters on the demo company (the app loads it itself on an empty database)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
import streamlit as st
from streamlit.proto.Metric_pb2 import Metric as MetricProto
from streamlit.testing.v1 import AppTest

from kpis.core import registry
from kpis.ingest.importer import import_file
from kpis.metrics import engine, revenue
from kpis.store.db import Store
from tests.app.test_pages import needs_demo, unescape

pytestmark = needs_demo

PAGES = {
    "app_pages/overview.py": "Overview",
    "app_pages/revenue.py": "Revenue",
    "app_pages/customers.py": "Customers",
    "app_pages/accounts.py": "Accounts",
    "app_pages/engagement.py": "Engagement",
    "app_pages/retention.py": "Retention",
    "app_pages/targets.py": "Targets",
    "app_pages/review.py": "Review",
    "app_pages/data.py": "Data",
}
#: Pages that draw KPI charts, with the number of Plotly charts each draws at week grain.
CHARTS = {"app_pages/revenue.py": 7, "app_pages/customers.py": 7, "app_pages/engagement.py": 5,
          "app_pages/retention.py": 3, "app_pages/accounts.py": 0}


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def on(at: AppTest, page: str) -> AppTest:
    return ok(at.switch_page(page).run())


def metrics(at: AppTest) -> dict[str, tuple[str, str]]:
    return {m.label: (m.value, m.delta) for m in at.metric}


def figures(at: AppTest) -> list[dict]:
    return [json.loads(e.proto.spec) for e in at.get("plotly_chart")]


def captions(at: AppTest) -> list[str]:
    return [unescape(c.value) for c in at.caption]


def share_link(at: AppTest) -> str:
    (code,) = at.code
    return code.value


def test_every_page_renders_on_the_demo_company(app: Callable[..., AppTest]) -> None:
    at = app()
    for page, title in PAGES.items():
        on(at, page)
        assert [t.value for t in at.title] == [title], page
        if page in CHARTS:
            shown = figures(at)
            assert len(shown) == CHARTS[page], page
            assert all(any(trace.get("x") is not None or trace.get("z") is not None for trace in f["data"])
                       for f in shown), f"an empty chart on {page}"
        assert share_link(at).startswith("/"), "every page has the share link"


def test_overview_scorecard(app: Callable[..., AppTest]) -> None:
    at = app()
    shown = metrics(at)
    assert list(shown) == ["MRR", "Net new MRR", "Active customers", "Logo churn rate", "NRR", "DAU", "MAU",
                           "Stickiness (DAU/MAU)", "Period-1 retention", "MRR at risk"]
    assert shown["MRR at risk"][0].startswith("$")
    mrr, delta = shown["MRR"]
    assert mrr.startswith("$") and mrr[-1] in "kM", "money is shortened: $142.2k, not 142183.5"
    assert delta.startswith(("+$", "-$"))
    assert shown["Logo churn rate"][0].endswith("%") and shown["Logo churn rate"][1].endswith(" pp")
    by_label = {m.label: m.proto for m in at.metric}
    churn = by_label["Logo churn rate"]
    rising = churn.delta.startswith("+")
    colors = MetricProto.MetricColor
    assert churn.color == (colors.RED if rising else colors.GREEN), "lower is better: a rising churn rate is red"
    assert len(by_label["MRR"].chart_data) > 10, "a sparkline"
    assert ("Revenue and product events to 22 Nov 2026: showing the week of 16 Nov 2026, the last week complete in "
            "both.") in captions(at)
    # the demo's data ends on Sunday 22 Nov: every week is complete, and no tile lists a running week
    assert not any("(partial)" in c for c in captions(at))
    at.radio(key="grain").set_value("month").run()
    # November's MRR on the 22nd is the generator's closing MRR, $142.2k
    assert any(c.startswith("Oct 2026 · ") and c.endswith(" · running Nov 2026: $142.2k (partial)")
               for c in captions(at)), "the running period is listed as partial"


def test_overview_tiles_show_their_target_and_status(app: Callable[..., AppTest]) -> None:
    at = app()
    shown = [c for c in captions(at) if c.startswith("Target ")]
    # the demo company has Q4 2026 targets for MRR and active customers, and November ones for logo churn and
    # stickiness: each tile with a target names it, its attainment and its status
    assert any(c.startswith("Target Q4 2026: $168.0k · ") and "(projected)" in c for c in shown)
    assert any(c.startswith("Target Q4 2026: 343 · ") for c in shown)
    assert any(c.startswith("Target Nov 2026: 2.0% · ") and "(so far)" in c for c in shown)
    assert len(shown) == 4  # MRR, active customers, logo churn rate, stickiness: no target for the others
    ok(at.selectbox(key="segment").set_value(at.selectbox(key="segment").options[1]).run())
    assert not [c for c in captions(at) if c.startswith("Target ")], "company targets are not shown for a segment"


def test_the_mrr_at_risk_tile_shows_its_target_met_from_below(app: Callable[..., AppTest], db_path: Path,
                                                              tmp_path: Path) -> None:
    """A target on the MRR at risk is shown on its tile like any other, lower being better: at most $1.00k in
    October, against the demo's thousands of MRR at risk, is off track."""
    app()  # the first run loads the demo company
    path = tmp_path / "risk targets.csv"
    path.write_text("kpi,grain,period_start,target,owner,note\nmrr_at_risk,month,2026-10-01,1000,CS,\n",
                    encoding="utf-8")
    with Store(db_path) as store:
        import_file(store, path, who="test")
    at = app({"grain": "month"})
    (shown,) = [c for c in captions(at) if c.startswith("Target Oct 2026: $1.00k")]
    assert shown.endswith(":red[off track]"), shown
    assert list(metrics(at))[-1] == "MRR at risk"


def test_changing_the_grain_changes_what_is_shown(app: Callable[..., AppTest]) -> None:
    at = app()
    weekly = metrics(at)
    assert any(c.startswith("week of ") for c in captions(at))
    ok(at.radio(key="grain").set_value("month").run())
    monthly = metrics(at)
    assert monthly["Net new MRR"] != weekly["Net new MRR"]
    assert any(c.startswith("Oct 2026") for c in captions(at)), "the last complete month of the demo data"
    assert share_link(at) == "/?grain=month"

    on(at, "app_pages/revenue.py")
    assert share_link(at) == "/revenue?grain=month", "the filters stay when the page changes"
    assert len(figures(at)) == 8, "at month grain the revenue page adds LTV"
    growth = [f for f in figures(at) if f["layout"]["title"]["text"] == "MRR growth rate, month over month"]
    assert len(growth) == 1
    compound = [c for c in captions(at) if c.startswith("Compound monthly growth from the end of ")]
    assert len(compound) == 1 and compound[0].endswith(" a month."), compound
    mrr = figures(at)[0]
    assert len(mrr["data"][0]["x"]) <= 13, "one point per month of the trailing year"


def test_compare_with_a_year_ago(app: Callable[..., AppTest]) -> None:
    at = app()
    ok(at.radio(key="compare").set_value("same period last year").run())
    assert share_link(at) == "/?compare=same+period+last+year"
    mrr = next(m for m in at.metric if m.label == "MRR")
    assert mrr.proto.delta_description == "vs a year ago"
    assert "(week of 16 Nov 2026), compared with week of 17 Nov 2025" in mrr.proto.help, "ISO week 47 of each year"


def test_segment_filter(app: Callable[..., AppTest]) -> None:
    at = app()
    everyone = metrics(at)["Active customers"][0]
    assert "Segment: Enterprise" in at.selectbox(key="segment").options
    ok(at.selectbox(key="segment").set_value("Segment: Enterprise").run())
    assert int(metrics(at)["Active customers"][0].replace(",", "")) < int(everyone.replace(",", ""))
    assert share_link(at) == "/?segment=Segment%3A+Enterprise"


def test_accounts_follow_the_segment(app: Callable[..., AppTest]) -> None:
    at = on(app(), "app_pages/accounts.py")
    everyone = len(at.dataframe[0].value)
    ok(at.selectbox(key="segment").set_value("Segment: Enterprise").run())
    assert 0 < len(at.dataframe[0].value) < everyone
    assert share_link(at) == "/accounts?segment=Segment%3A+Enterprise"


@pytest.mark.parametrize(
    ("param", "value", "note"),
    [
        ("grain", "daily", "grain “daily” is not one of week, month, quarter; showing week."),
        ("compare", "yesterday", "compare “yesterday” is not one of"),
        ("segment", "tier=<b>gold</b>", "segment “tier=<b>gold</b>” does not exist in the data"),
        ("end", "2031-01-01", "to date 2031-01-01 lies outside the data"),
        ("start", "last tuesday", "from date “last tuesday” is not a date"),
    ],
)
def test_an_invalid_url_value_falls_back_with_a_note(app: Callable[..., AppTest], param: str, value: str,
                                                     note: str) -> None:
    at = app({param: value})
    warnings = [unescape(w.value) for w in at.warning]
    assert any(note in w for w in warnings), warnings
    assert at.radio(key="grain").value == "week"
    assert share_link(at) == "/", "the invalid value is not kept in the link"
    assert "MRR" in metrics(at), "the page still shows the default view"


def test_the_note_stays_until_dismissed(app: Callable[..., AppTest]) -> None:
    at = app({"grain": "daily"})
    ok(at.radio(key="grain").set_value("month").run())
    assert any("grain “daily”" in unescape(w.value) for w in at.warning), "the note does not vanish on a rerun"
    ok(at.button(key="dismiss_link_notes").click().run())
    assert not at.warning
    assert at.radio(key="grain").value == "month"


@pytest.mark.parametrize("grain", ["month", "quarter"])
def test_every_page_renders_at_every_grain(app: Callable[..., AppTest], grain: str) -> None:
    at = app({"grain": grain})
    for page, title in PAGES.items():
        on(at, page)
        assert [t.value for t in at.title] == [title], page
        assert at.radio(key="grain").value == grain


def test_a_valid_url_opens_that_view(app: Callable[..., AppTest]) -> None:
    at = app({"grain": "quarter", "end": "2026-06-30"})
    assert not at.warning
    assert at.radio(key="grain").value == "quarter"
    assert share_link(at) == "/?grain=quarter&end=2026-06-30"
    assert any(c.startswith("Q2 2026") for c in captions(at)), "the as-of date closes Q2, the last complete quarter"


def test_revenue_bridge_follows_the_chosen_period(app: Callable[..., AppTest]) -> None:
    at = on(app(), "app_pages/revenue.py")
    bridge = next(f for f in figures(at) if f["data"][0]["type"] == "waterfall")
    assert bridge["data"][0]["measure"][0] == "absolute" and bridge["data"][0]["measure"][-1] == "total"
    texts = bridge["data"][0]["text"]
    assert all(t.startswith(("$", "+$", "-$")) for t in texts), texts
    picker = at.selectbox(key="_url_bridge")
    older = picker.options[5]
    ok(picker.set_value(picker.value).run())  # unchanged value: same chart
    ok(at.selectbox(key="_url_bridge").select(older).run())
    again = next(f for f in figures(at) if f["data"][0]["type"] == "waterfall")
    assert again["data"][0]["text"] != texts


def test_movements_are_stacked_around_zero(app: Callable[..., AppTest]) -> None:
    at = on(app(), "app_pages/revenue.py")
    movements = next(f for f in figures(at) if f["layout"].get("barmode") == "relative")
    by_name = {t["name"]: t for t in movements["data"]}
    assert all(v is None or v <= 0 for v in by_name["Churned"]["y"])
    assert all(v is None or v >= 0 for v in by_name["New"]["y"])
    assert by_name["New"]["marker"]["pattern"]["shape"][-1] == "", "the demo's weeks are all complete"
    at.radio(key="grain").set_value("month").run()
    movements = next(f for f in figures(at) if f["layout"].get("barmode") == "relative")
    by_name = {t["name"]: t for t in movements["data"]}
    shapes = by_name["New"]["marker"]["pattern"]["shape"]
    assert shapes[-1] == "/" and set(shapes[:-1]) == {""}, "the running month's bars (Nov 2026) are hatched"


def test_undefined_values_are_gaps_not_zeros(app: Callable[..., AppTest]) -> None:
    at = on(app(), "app_pages/revenue.py")
    nrr = next(f for f in figures(at) if f["layout"]["title"]["text"].startswith("Net and gross"))
    values = nrr["data"][0]["y"]
    assert 0 not in values and 0.0 not in values


def test_engagement_adoption_table(app: Callable[..., AppTest]) -> None:
    at = on(app(), "app_pages/engagement.py")
    features, tool = (d.value for d in at.dataframe)
    assert list(features.columns) == list(tool.columns) == ["Event", "Users", "Adoption", "Change"]
    assert "dashboard_viewed" in set(features["Event"])
    assert set(tool["Event"]) == {"Page viewed", "Clicked or typed (autocapture)"}, "PostHog's own, in plain words"
    assert all(a.endswith("%") or a == "—" for a in [*features["Adoption"], *tool["Adoption"]])


def test_retention_modes(app: Callable[..., AppTest]) -> None:
    at = on(app(), "app_pages/retention.py")
    heat = figures(at)[0]
    assert heat["data"][0]["type"] == "heatmap"
    assert heat["data"][0]["text"][0][0] == "100%"
    ok(at.radio(key="retention_mode").set_value("unbounded").run())
    assert figures(at)[0]["data"][0]["text"] != heat["data"][0]["text"]
    ok(at.radio(key="grain").set_value("month").run())
    rows = figures(at)[0]["data"][0]["y"]
    assert rows[-1] == "Average" and len(rows) - 1 <= 13, "monthly cohorts of the trailing year, and their average"


def test_plan_pages_show_their_content(app: Callable[..., AppTest]) -> None:
    """Targets and Review are built (tests/app/test_targets_page.py and test_review_page.py go further)."""
    at = app()
    for page in ("app_pages/targets.py", "app_pages/review.py"):
        on(at, page)
        assert not any(i.value.startswith("Coming next") for i in at.info)
        assert at.dataframe, page


def test_every_page_renders_with_events_only(app: Callable[..., AppTest], seeded: object) -> None:
    """One event and no subscriptions: the revenue pages say what is missing, the product pages still work."""
    at = app()
    for page, title in PAGES.items():
        on(at, page)
        assert [t.value for t in at.title] == [title], page
    on(at, "app_pages/revenue.py")
    assert any("No subscriptions are loaded yet" in i.value for i in at.info)


def test_every_page_renders_on_an_empty_database(app: Callable[..., AppTest]) -> None:
    at = on(app(), "app_pages/data.py")
    next(b for b in at.button if b.label == "Remove the demo company").click().run()
    next(b for b in at.button if b.label == "Yes, remove the demo company").click().run()
    for page, title in PAGES.items():
        on(at, page)
        assert [t.value for t in at.title] == [title], page
    assert not at.code, "no share link while nothing is loaded"


def test_the_date_range_travels_in_the_link(app: Callable[..., AppTest]) -> None:
    at = app()
    ok(at.date_input(key="end").set_value(date(2026, 6, 30)).run())
    assert share_link(at) == "/?end=2026-06-30"
    assert any(c.startswith("week of 22 Jun 2026") for c in captions(at)), "the last complete week before the end"
    ok(at.date_input(key="start").set_value(date(2026, 8, 1)).run())
    assert any("The from date is after the to date" in unescape(w.value) for w in at.warning)
    assert not at.exception


def test_pages_hold_no_sql_and_no_raw_html() -> None:
    """Pages arrange components; queries live in kpis/, and nothing is rendered as raw HTML."""
    root = Path(__file__).resolve().parents[2]
    sources = [root / "dashboard.py", *sorted((root / "app_pages").rglob("*.py"))]
    for source in sources:
        text = source.read_text(encoding="utf-8")
        assert "unsafe_allow_html" not in text, source.name
        # one constant script of our own (Enter applies a typed date), with no data in it
        allowed = 'st.html(_ENTER_APPLIES_DATES, unsafe_allow_javascript=True, width="content")'
        assert "st.html" not in text.replace(allowed, "", 1 if source.name == "filters.py" else 0), source.name
        assert not re.search(r"\b(SELECT|FROM\s+\w+\s+WHERE|duckdb)\b", text), source.name
    assert '_ENTER_APPLIES_DATES = """<script>' in (root / "app_pages" / "ui" / "filters.py").read_text(), \
        "the script is a plain constant (no f-string: nothing from data can reach it)"


def test_the_overview_computes_each_table_once(app: Callable[..., AppTest], monkeypatch: pytest.MonkeyPatch) -> None:
    """The overview's tiles, its anomaly flags and its targets share the engine's memo: a cold render computes the
    weekly revenue table once, not once for the tiles and once more for the anomalies."""
    at = app({"grain": "week"})
    real = revenue.revenue_table
    calls: list[tuple[str, bool]] = []

    def counted(store: object, grain: str, **kwargs: object) -> object:
        calls.append((grain, bool(kwargs.get("retention", True))))
        return real(store, grain, **kwargs)

    monkeypatch.setattr(revenue, "revenue_table", counted)
    engine.forget()
    st.cache_data.clear()
    ok(at.run())
    assert calls.count(("week", True)) == 1


def test_the_overview_tiles_are_the_headline_kpis(app: Callable[..., AppTest],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The tiles are the registry's headline KPIs, revenue first, then product (and period-1 retention), then its
    usage x revenue ones: a KPI leaves the overview by leaving its list, in one place."""
    at = app()
    assert list(metrics(at)) == ["MRR", "Net new MRR", "Active customers", "Logo churn rate", "NRR", "DAU", "MAU",
                                 "Stickiness (DAU/MAU)", "Period-1 retention", "MRR at risk"]
    monkeypatch.setattr(registry, "HEADLINE", ("mrr", "nrr", "mau"))
    monkeypatch.setattr(registry, "ACCOUNT_HEADLINE", ("accounts_at_risk",))
    assert list(metrics(ok(at.run()))) == ["MRR", "NRR", "MAU", "Period-1 retention", "Accounts at risk"]
