"""Every label a CPO reads in plain English: segments, sources and import messages, the review page, the power-user
curve, feature adoption (a tool's own events under plain names, housekeeping left out), amounts in the reporting
currency, the import history's columns, and the full link to share."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from kpis.ingest.importer import import_file
from kpis.store.db import Store
from tests.app.test_pages import DATA_PAGE, history, open_data_page, texts, unescape

#: Two customers billed in euros; plans as Stripe ids, segments as abbreviations.
SUBSCRIPTIONS = ("id,Customer ID,Plan,Currency,Interval,Amount,Status,Created (UTC),Start (UTC),segment (metadata)\n"
                 "sub_1,cus_1,price_enterprise_quarterly,eur,month,1200.00,active,2026-01-05 10:00,"
                 "2026-01-05 10:00,ent\n"
                 "sub_2,cus_2,price_team_monthly,eur,month,300.00,active,2026-02-02 10:00,2026-02-02 10:00,smb\n"
                 # an attempt that never paid: it takes the revenue data to 16 March, as far as the events go
                 "sub_3,cus_3,price_team_monthly,eur,month,300.00,incomplete,2026-03-16 09:00,2026-03-16 09:00,smb\n")


def _events() -> str:
    """Weeks of 2 and 9 March 2026 (both complete, the data runs to 16 March): u1 and u2 view pages and create
    reports, u1's clicks are autocaptured, and PostHog checks feature flags and identifies users."""
    rows = ["uuid,event,distinct_id,timestamp"]
    for day in range(2, 17):
        for user, events in (("u1", ["$pageview", "report_created", "$autocapture", "$feature_flag_called"]),
                             ("u2", ["$pageview", "$identify"])):
            if user == "u2" and day % 2:
                continue
            rows += [f"{user}-{day}-{i},{e},{user},2026-03-{day:02d}T10:0{i}:00Z" for i, e in enumerate(events)]
    return "\n".join(rows) + "\n"


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture
def company(db_path: Path, tmp_path: Path) -> Path:
    """A small company: subscriptions in euros and three weeks of PostHog events."""
    (tmp_path / "subs.csv").write_text(SUBSCRIPTIONS, encoding="utf-8")
    (tmp_path / "ph.csv").write_text(_events(), encoding="utf-8")
    with Store(db_path) as store:
        import_file(store, tmp_path / "subs.csv", who="test")
        import_file(store, tmp_path / "ph.csv", who="test")
    return db_path


def figures(at: AppTest) -> list[dict]:
    return [json.loads(e.proto.spec) for e in at.get("plotly_chart")]


def test_segments_read_as_words(app: Callable[..., AppTest], company: Path) -> None:
    at = app()
    assert at.selectbox(key="segment").options == [
        "all customers", "Plan: Enterprise quarterly", "Plan: Team monthly", "Segment: ent", "Segment: smb"]
    ok(at.selectbox(key="segment").set_value("Plan: Enterprise quarterly").run())
    assert at.session_state["shared_filters"].segment == ("plan", "price_enterprise_quarterly")


def test_sources_and_import_messages_read_as_words(app: Callable[..., AppTest], company: Path) -> None:
    at = open_data_page(app())
    assert list(history(at)["source"]) == ["PostHog events export (CSV)", "Stripe subscriptions export (Dashboard)"]
    undo = next(s for s in at.selectbox if s.label == "Import to undo")
    assert [o.split(" (", 1)[1].rsplit(",", 1)[0] for o in undo.options] == [
        "PostHog events export (CSV)", "Stripe subscriptions export (Dashboard)"]
    at.file_uploader[0].set_value([("more.csv", b"user_id,event,timestamp\nu9,signup,2026-03-16T09:00:00Z\n",
                                    "text/csv")]).run()
    ok(next(b for b in at.button if b.label == "Import 1 file").click().run())
    assert texts(at.success) == ["more.csv: Events CSV (this dashboard's format), import 3: 1 rows added, "
                                 "0 updated, 0 duplicates skipped, 0 rows rejected"]


def test_the_history_shows_status_and_file_names_whole(app: Callable[..., AppTest], company: Path) -> None:
    at = open_data_page(app())
    (table,) = [d for d in at.dataframe if "filename" in d.value.columns]
    columns = json.loads(table.proto.columns)
    # no fixed width: the grid sizes these columns to their longest value ("undone 2026-03-16 10:00", long names)
    assert {k: "width" in columns[k] for k in ("filename", "status", "source")} == {
        "filename": False, "status": False, "source": False}


def test_the_review_page_speaks_of_its_downloads(app: Callable[..., AppTest], company: Path) -> None:
    at = ok(app().switch_page("app_pages/review.py").run())
    captions = [unescape(c.value) for c in at.caption]
    assert any(c.endswith("compared with the one before; the downloads below hold the same numbers.")
               for c in captions), captions
    assert not any("python -m kpis" in c for c in captions)


def test_engagement_names_the_power_curve_and_sorts_adoption(app: Callable[..., AppTest], company: Path) -> None:
    at = ok(app().switch_page("app_pages/engagement.py").run())
    titles = [f["layout"]["title"]["text"] for f in figures(at)]
    assert "Power-user curve: users by days active in the week of 9 Mar 2026" in titles
    features, tool = (d.value for d in at.dataframe)
    assert list(features["Event"]) == ["report_created"]
    # the week of 9 Mar: u1 every day, u2 on 10, 12 and 14 March: both viewed pages, u1 alone clicked
    assert tool[["Event", "Users", "Adoption"]].to_dict("records") == [
        {"Event": "Page viewed", "Users": "2", "Adoption": "100.0%"},
        {"Event": "Clicked or typed (autocapture)", "Users": "1", "Adoption": "50.0%"}]
    shown = " ".join(unescape(m.value) for m in at.markdown)
    assert "The product's features" in shown and "Recorded by the analytics tool" in shown
    assert not any(name in shown for name in ("$pageview", "$autocapture", "$feature_flag_called", "$identify"))


def test_amounts_carry_the_reporting_currency(app: Callable[..., AppTest], company: Path) -> None:
    at = ok(app().switch_page("app_pages/revenue.py").run())
    mrr = next(m for m in at.metric if m.label == "MRR")
    assert mrr.value == "€1.50k", "the week of 9 Mar, the last complete in both: sub_1 1,200 + sub_2 300"
    assert not any(m.value.startswith("$") for m in at.metric)
    chart = next(e for e in at.get("plotly_chart"))
    assert json.loads(chart.proto.config)["locales"]["en-reporting"]["format"]["currency"] == ["€", ""]


def test_amounts_are_in_dollars_for_dollars(app: Callable[..., AppTest], db_path: Path, tmp_path: Path) -> None:
    (tmp_path / "subs.csv").write_text(SUBSCRIPTIONS.replace(",eur,", ",usd,"), encoding="utf-8")
    with Store(db_path) as store:
        import_file(store, tmp_path / "subs.csv", who="test")
    at = ok(app().switch_page("app_pages/revenue.py").run())
    assert next(m for m in at.metric if m.label == "MRR").value == "$1.50k"  # the week of 9 Mar: 1,200 + 300


def _share(at: AppTest) -> str:
    (code,) = at.code
    return code.value


def test_the_share_box_shows_the_full_link(app: Callable[..., AppTest], company: Path) -> None:
    at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "dashboard.py"), default_timeout=120)
    at.context = {"url": "http://dash.example:8501/revenue"}
    at.query_params.update({"grain": "month"})
    ok(at.switch_page("app_pages/revenue.py").run())
    assert _share(at) == "http://dash.example:8501/revenue?grain=month"
    ok(at.switch_page("app_pages/overview.py").run())
    assert _share(at) == "http://dash.example:8501/?grain=month"


def test_a_public_address_wins_behind_a_proxy(app: Callable[..., AppTest], company: Path) -> None:
    from kpis.store.settings import set_public_url

    with Store(company) as store:
        set_public_url(store, "https://kpis.example.com/board/")
    at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "dashboard.py"), default_timeout=120)
    at.context = {"url": "http://10.0.0.5:8501/revenue"}
    ok(at.switch_page("app_pages/revenue.py").run())
    assert _share(at) == "https://kpis.example.com/board/revenue"


def test_without_an_address_the_link_stays_relative(app: Callable[..., AppTest], company: Path) -> None:
    at = ok(app({"grain": "month"}).switch_page(DATA_PAGE).run())
    assert _share(at) == "/data?grain=month"
