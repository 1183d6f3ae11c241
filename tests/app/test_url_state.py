"""Page choices in the link: the revenue bridge's period and the retention page's cohorts (demo company)."""

from __future__ import annotations

import ast
import json
from collections.abc import Callable
from datetime import date
from pathlib import Path

from streamlit.testing.v1 import AppTest

from app_pages.ui.charts import AVERAGE_LABEL
from app_pages.ui.keys import QUERY_KEYS
from tests.app.test_pages import needs_demo, unescape

pytestmark = needs_demo

REVENUE, RETENTION = "app_pages/revenue.py", "app_pages/retention.py"


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def on(at: AppTest, page: str) -> AppTest:
    return ok(at.switch_page(page).run())


def figures(at: AppTest) -> list[dict]:
    return [json.loads(e.proto.spec) for e in at.get("plotly_chart")]


def bridge_title(at: AppTest) -> str:
    return next(f["layout"]["title"]["text"] for f in figures(at) if f["data"][0]["type"] == "waterfall")


def curve_names(at: AppTest) -> list[str]:
    """The cohorts whose retention curves are drawn (the cohorts' average is drawn with them, always)."""
    (curves,) = [f for f in figures(at) if f["layout"]["title"]["text"].startswith("Retention curves")]
    names = [trace["name"] for trace in curves["data"]]
    assert names[0] == AVERAGE_LABEL
    return names[1:]


def share_link(at: AppTest) -> str:
    (code,) = at.code
    return code.value


def test_the_bridge_period_comes_from_the_link(app: Callable[..., AppTest]) -> None:
    # a date inside September is read as the month holding it
    at = on(app({"grain": "month", "bridge": "2026-09-15"}), REVENUE)
    assert at.selectbox(key="_url_bridge").value == date(2026, 9, 1)
    assert bridge_title(at) == "MRR bridge, Sep 2026"
    assert share_link(at) == "/revenue?grain=month&bridge=2026-09-15"


def test_picking_a_bridge_period_puts_it_in_the_link(app: Callable[..., AppTest]) -> None:
    at = on(app({"grain": "month"}), REVENUE)
    default = at.selectbox(key="_url_bridge").value
    assert default == date(2026, 10, 1), "the last complete month of the demo data"
    assert "bridge" not in at.query_params
    ok(at.selectbox(key="_url_bridge").set_value(date(2026, 7, 1)).run())
    assert bridge_title(at) == "MRR bridge, Jul 2026"
    assert share_link(at) == "/revenue?grain=month&bridge=2026-07-01"
    ok(at.selectbox(key="_url_bridge").set_value(default).run())
    assert share_link(at) == "/revenue?grain=month", "the default is not written into the link"


def test_who_moved_takes_its_period_from_the_link_and_puts_it_there(app: Callable[..., AppTest]) -> None:
    """The Customers page's "who moved" period is in the URL (``?moved=``) like the bridge's: a link opens it."""
    at = on(app({"grain": "month", "moved": "2026-08-20"}), "app_pages/customers.py")
    assert at.selectbox(key="_url_moved").value == date(2026, 8, 1)
    assert share_link(at) == "/customers?grain=month&moved=2026-08-20"
    ok(at.selectbox(key="_url_moved").set_value(date(2026, 6, 1)).run())
    assert share_link(at) == "/customers?grain=month&moved=2026-06-01"
    ok(at.selectbox(key="_url_moved").set_value(date(2026, 10, 1)).run())
    assert share_link(at) == "/customers?grain=month", "the last complete month is the default, not in the link"


def test_a_weekly_bridge_becomes_its_month_when_the_grain_changes(app: Callable[..., AppTest]) -> None:
    at = on(app({"bridge": "2026-08-10"}), REVENUE)  # the ISO week Mon 10 Aug - Sun 16 Aug 2026
    assert bridge_title(at) == "MRR bridge, week of 10 Aug 2026"
    ok(at.radio(key="grain").set_value("month").run())
    assert bridge_title(at) == "MRR bridge, Aug 2026"
    assert not at.warning or not any("bridge" in w.value for w in at.warning)


def test_an_invalid_bridge_falls_back_with_a_note(app: Callable[..., AppTest]) -> None:
    at = on(app({"grain": "month", "bridge": "2026-09-15';DROP TABLE events;--"}), REVENUE)
    notes = [unescape(w.value) for w in at.warning if "bridge" in w.value]  # cut at 30 characters
    assert notes == ["The link's bridge “2026-09-15';DROP TABLE events;” is not a month in this date range; "
                     "showing the default."]
    assert at.selectbox(key="_url_bridge").value == date(2026, 10, 1)
    assert "bridge" not in at.query_params
    # a real date outside the range on screen is refused the same way
    at = on(app({"grain": "month", "bridge": "2019-01-01"}), REVENUE)
    assert any("bridge “2019-01-01”" in unescape(w.value) for w in at.warning)
    assert at.selectbox(key="_url_bridge").value == date(2026, 10, 1)


def test_the_chosen_cohorts_come_from_the_link(app: Callable[..., AppTest]) -> None:
    at = on(app({"grain": "month", "cohorts": ["2026-05-01", "2026-07-20"]}), RETENTION)
    assert at.multiselect(key="_url_cohorts").value == [date(2026, 5, 1), date(2026, 7, 1)]
    assert curve_names(at) == ["May 2026", "Jul 2026"]
    assert share_link(at) == "/retention?grain=month&cohorts=2026-05-01&cohorts=2026-07-20"


def test_picking_cohorts_puts_them_in_the_link(app: Callable[..., AppTest]) -> None:
    at = on(app({"grain": "month"}), RETENTION)
    default = at.multiselect(key="_url_cohorts").value
    assert len(curve_names(at)) == len(default) == 4
    ok(at.multiselect(key="_url_cohorts").set_value([date(2026, 6, 1)]).run())
    assert curve_names(at) == ["Jun 2026"]
    assert share_link(at) == "/retention?grain=month&cohorts=2026-06-01"
    ok(at.multiselect(key="_url_cohorts").set_value([]).run())
    assert share_link(at) == "/retention?grain=month&cohorts=none", "no cohort at all is a choice too"
    assert "Pick one or more cohorts to draw their curves." in [c.value for c in at.caption]
    reopened = on(app({"grain": "month", "cohorts": "none"}), RETENTION)
    assert reopened.multiselect(key="_url_cohorts").value == []


def test_invalid_cohorts_are_dropped_with_a_note(app: Callable[..., AppTest]) -> None:
    at = on(app({"grain": "month", "cohorts": ["2026-06-01", "<b>x</b>", "2015-01-01"]}), RETENTION)
    notes = [unescape(w.value) for w in at.warning if "cohorts" in w.value]
    assert notes == ["The link's cohorts “<b>x</b>”, “2015-01-01” is not a month in this date range; "
                     "showing the default."]
    assert curve_names(at) == ["Jun 2026"], "the valid cohort stays"
    assert share_link(at) == "/retention?grain=month&cohorts=2026-06-01", "the link is cleaned at once"
    assert share_link(ok(at.run())) == "/retention?grain=month&cohorts=2026-06-01"


def test_a_refused_value_never_reaches_the_link(app: Callable[..., AppTest]) -> None:
    at = on(app({"grain": "month", "bridge": "9999-12-31"}), REVENUE)
    assert any("bridge “9999-12-31”" in unescape(w.value) for w in at.warning)
    assert share_link(at) == "/revenue?grain=month", "the link carries the default the page shows"
    at = on(app({"grain": "month", "cohorts": ["none", "2026-06-01"]}), RETENTION)
    assert curve_names(at) == ["Jun 2026"]
    assert share_link(at) == "/retention?grain=month&cohorts=2026-06-01", "“none” with a cohort is refused"


def test_the_link_carries_only_the_choices_of_the_page_on_screen(app: Callable[..., AppTest]) -> None:
    query = {"grain": "month", "bridge": "2026-09-15", "cohorts": "none", "retention_mode": "unbounded"}
    assert share_link(on(app(query), "app_pages/overview.py")) == "/?grain=month"
    assert share_link(on(app(query), REVENUE)) == "/revenue?grain=month&bridge=2026-09-15"
    assert share_link(on(app(query), RETENTION)) == "/retention?grain=month&retention_mode=unbounded&cohorts=none"


def test_a_page_that_stops_early_links_its_filters_only(seeded: object, app: Callable[..., AppTest]) -> None:
    """Events only: the Revenue page stops at "No subscriptions are loaded yet", before its bridge."""
    at = on(app({"bridge": "2026-01-05", "retention_mode": "unbounded"}), REVENUE)
    assert any("No subscriptions" in i.value for i in at.info)
    assert share_link(at) == "/revenue"


def test_query_keys_are_named_in_keys_py_only() -> None:
    """A widget bound to the URL and every url_state call name their query key by its constant in
    app_pages/ui/keys.py, so that renaming a key is one change."""
    root = Path(__file__).resolve().parents[2]
    spelled = []
    for source in sorted((root / "app_pages").rglob("*.py")):
        if source.name == "keys.py":
            continue
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            url_call = isinstance(node.func, ast.Attribute) and getattr(node.func.value, "id", None) == "url_state"
            values = [k.value for k in node.keywords if k.arg == "key"] + (node.args if url_call else [])
            spelled += [f"{source.name}:{node.lineno} {v.value}" for v in values
                        if isinstance(v, ast.Constant) and v.value in QUERY_KEYS]
    assert spelled == []


def breakdown_chart(at: AppTest) -> dict | None:
    return next((f for f in figures(at) if f["data"] and f["data"][0].get("stackgroup")), None)


def test_choosing_a_breakdown_by_plan_stacks_mrr_by_plan_and_puts_it_in_the_link(app: Callable[..., AppTest]) -> None:
    at = on(app({"grain": "month"}), REVENUE)
    assert at.selectbox(key="_url_by").value == "none" and breakdown_chart(at) is None
    count = len(figures(at))
    ok(at.selectbox(key="_url_by").set_value("plan").run())
    chart = breakdown_chart(at)
    assert chart is not None and chart["layout"]["title"]["text"] == "MRR by plan"
    names = [t["name"] for t in chart["data"]]
    # the demo company has 12 plans: the 8 largest in the last month shown, the other 4 as Other
    assert len(names) == 9 and names[-1] == "Other" and names[0] == "Enterprise Annual"
    assert len(figures(at)) == count + 1, "one chart more: the stacked MRR"
    assert share_link(at) == "/revenue?grain=month&by=plan"
    assert at.query_params["by"] == "plan"
    table = at.dataframe[0].value
    assert table.columns[0] == "Plan" and list(table["Plan"])[-1] == "Total"
    assert list(table.columns[1:]) == ["MRR at start", "Net new", "MRR at end"], "a plan's MRR has no movements"
    assert all(v.startswith(("$", "+$", "-$")) for v in table["MRR at end"]), "amounts in the currency"
    ok(at.selectbox(key="_url_by").set_value("none").run())
    assert breakdown_chart(at) is None and share_link(at) == "/revenue?grain=month"


def test_a_breakdown_by_an_attribute_comes_from_the_link(app: Callable[..., AppTest]) -> None:
    at = on(app({"grain": "month", "by": "segment"}), REVENUE)
    assert at.selectbox(key="_url_by").value == "segment"
    assert [t["name"] for t in breakdown_chart(at)["data"]] == ["Enterprise", "Mid-Market", "SMB"]
    table = at.dataframe[0].value
    assert list(table["Segment"]) == ["Enterprise", "Mid-Market", "SMB", "Total"]
    assert list(table.columns[1:]) == ["MRR at start", "New", "Expansion", "Reactivation", "Contraction", "Churned",
                                       "Net new", "MRR at end"]
    assert share_link(at) == "/revenue?grain=month&by=segment"


def test_an_invalid_breakdown_falls_back_with_a_note(app: Callable[..., AppTest]) -> None:
    at = on(app({"grain": "month", "by": "phone';DROP TABLE events;--"}), REVENUE)
    notes = [unescape(w.value) for w in at.warning if "link's by" in w.value]
    assert notes == ["The link's by “phone';DROP TABLE events;--” is not one of: none, plan, country, segment; "
                     "showing nothing."]
    assert at.selectbox(key="_url_by").value == "none" and breakdown_chart(at) is None
    assert "by" not in at.query_params and share_link(at) == "/revenue?grain=month"
