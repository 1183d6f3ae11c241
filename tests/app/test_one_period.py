"""What the pages show when the sources end on different days, and when your data sits next to the demo company.

The company of :mod:`tests.kpis.two_sources` has revenue to Fri 10 Apr 2026 and product events to Sun 29 Mar
2026: every page shows the week of 23 Mar, the last complete in both (MRR $84), and says so.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app_pages.demo_company import QUESTION
from kpis.ingest.importer import import_file
from kpis.store.db import Store
from tests.app.test_pages import needs_demo, texts, unescape
from tests.kpis import two_sources

SHOWING = ("Revenue to 10 Apr 2026, product events to 29 Mar 2026: showing the week of 23 Mar 2026, the last week "
           "complete in both.")
PAGES = ("app_pages/overview.py", "app_pages/revenue.py", "app_pages/customers.py", "app_pages/engagement.py",
         "app_pages/retention.py", "app_pages/targets.py", "app_pages/review.py", "app_pages/data.py")
#: your subscriptions, from Jan 2025 to Fri 10 Apr 2026 (no events): next to the demo's, which end 22 Nov 2026
YOURS = ("subscription_id,customer_id,plan,amount,quantity,currency,interval,interval_count,status,started_at,"
         "trial_end,canceled_at,ended_at\n"
         "r1,rc1,pro,100,1,USD,month,1,active,2025-01-06,,,\n"
         "r2,rc2,pro,200,1,USD,month,1,canceled,2025-03-03,,2026-04-10,2026-04-10\n")


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def on(at: AppTest, page: str) -> AppTest:
    return ok(at.switch_page(page).run())


def captions(at: AppTest) -> list[str]:
    return [unescape(c.value) for c in at.caption]


def said(elements: object) -> list[str]:
    """Messages as read, without the bold marks."""
    return [t.replace("**", "") for t in texts(elements)]


@pytest.fixture
def apart(db_path: Path, tmp_path: Path) -> Path:
    """The database holds the two-source company (so the demo company is never loaded)."""
    with Store(db_path) as store:
        two_sources.build(store, tmp_path)
    return db_path


# -- one period ------------------------------------------------------------------------------------------------------

def test_the_overview_shows_the_week_complete_in_both(app: Callable[..., AppTest], apart: Path) -> None:
    at = app()
    assert SHOWING in captions(at)
    shown = {m.label: m.value for m in at.metric}
    assert (shown["MRR"], shown["Active customers"], shown["Net new MRR"]) == ("$84", "8", "-$300")
    assert "week of 23 Mar 2026 · running week of 6 Apr 2026: $604 (partial)" in captions(at), "MRR's tile"
    assert any(c.startswith("Target Q1 2026: $400 · ") for c in captions(at)), "the target covering that week"
    assert not any(c.startswith("Target Q2 2026") for c in captions(at))


def test_every_kpi_page_states_the_week_and_starts_from_it(app: Callable[..., AppTest], apart: Path) -> None:
    at = on(app(), "app_pages/revenue.py")
    assert SHOWING in captions(at)
    assert at.metric[0].label == "MRR" and at.metric[0].value == "$84"
    assert at.selectbox(key="_url_bridge").value == date(2026, 3, 23), "the bridge opens on that week"
    at = on(at, "app_pages/customers.py")
    assert SHOWING in captions(at)
    assert at.selectbox(key="_url_moved").value == date(2026, 3, 23), "who moved, that week"
    for page in ("app_pages/engagement.py", "app_pages/retention.py"):
        assert SHOWING in captions(on(at, page)), page


def test_the_review_page_says_which_week_and_names_later_targets(app: Callable[..., AppTest], apart: Path) -> None:
    at = on(app(), "app_pages/review.py")
    assert at.subheader[0].value == "Weekly review: week of 23 Mar 2026"
    assert ("Revenue to 10 Apr 2026, product events to 29 Mar 2026: the review covers the week of 23 Mar 2026, "
            "the last week complete in both.") in captions(at)
    assert ("Targets of Q2 2026 (MRR, Active customers) start on 1 Apr 2026, after the week reviewed: this "
            "review does not judge them.") in texts(at.warning)


def test_the_targets_page_states_the_day_targets_are_judged_on(app: Callable[..., AppTest], apart: Path) -> None:
    at = on(app(), "app_pages/targets.py")
    assert any("Revenue to 10 Apr 2026, product events to 29 Mar 2026: targets judged as of 29 Mar 2026, the "
               "last day with data in both." in c for c in captions(at))


def test_a_moved_date_range_end_is_the_as_of_date(app: Callable[..., AppTest], apart: Path) -> None:
    at = app()
    ok(at.date_input(key="end").set_value(date(2026, 3, 18)).run())
    assert ("Revenue to 10 Apr 2026, product events to 29 Mar 2026, as of 18 Mar 2026: showing the week of 9 Mar "
            "2026, the last week complete by then.") in captions(at)
    assert {m.label: m.value for m in at.metric}["MRR"] == "$373"  # by 15 Mar: 300 + 10 + 12 + 9 + 11 + 10 + 12 + 9


# -- the demo company next to your data ------------------------------------------------------------------------------

def _add_yours(db_path: Path, tmp_path: Path, text: str = YOURS) -> None:
    path = tmp_path / "yours.csv"
    path.write_text(text, encoding="utf-8")
    with Store(db_path) as store:
        assert import_file(store, path, who="local").status == "ok"


@needs_demo
def test_every_page_says_your_data_and_the_demo_are_added_together(app: Callable[..., AppTest], db_path: Path,
                                                                    tmp_path: Path) -> None:
    at = app()
    assert any(t.startswith("Showing the demo company, a made-up business") for t in said(at.info))
    _add_yours(db_path, tmp_path)
    both = ("Showing your data and the demo company's together: revenue is yours and the demo company's added "
            "together; product events are the demo company's only; targets are the demo company's only. Remove the "
            "demo company on the Data page (you are asked to confirm) so that every number is yours.")
    for page in PAGES:
        on(at, page)
        assert both in said(at.warning), page
        assert not any("Showing the demo company," in t for t in said(at.info)), page


@needs_demo
def test_removing_the_demo_asks_first(app: Callable[..., AppTest], db_path: Path) -> None:
    at = on(app(), "app_pages/data.py")
    ok(at.button(key="demo_remove").click().run())
    assert QUESTION in texts(at.warning)
    assert any(t.startswith("Showing the demo company") for t in said(at.info)), "nothing removed yet"
    ok(at.button(key="demo_remove_no").click().run())
    assert QUESTION not in texts(at.warning) and at.button(key="demo_remove").label == "Remove the demo company"
    ok(at.button(key="demo_remove").click().run())
    ok(at.button(key="demo_remove_yes").click().run())
    assert texts(at.success)[0].startswith("The demo company was removed (5 imports undone)")
    assert not any("demo company" in t for t in texts(at.info) + texts(at.warning))


@needs_demo
def test_after_removal_the_dates_fall_back_to_your_data(app: Callable[..., AppTest], db_path: Path,
                                                        tmp_path: Path) -> None:
    at = app()
    _add_yours(db_path, tmp_path)
    ok(at.run())
    # both: the demo's events run Nov 2024 to 22 Nov 2026, so the date range spans both companies
    assert (at.date_input(key="start").value, at.date_input(key="end").value) == (
        date(2025, 11, 23), date(2026, 11, 22))
    on(at, "app_pages/data.py")
    ok(at.button(key="demo_remove").click().run())
    ok(at.button(key="demo_remove_yes").click().run())
    # yours alone: 6 Jan 2025 to 10 Apr 2026; the default range is the trailing year (from 11 Apr 2025)
    assert (at.date_input(key="start").value, at.date_input(key="end").value) == (
        date(2025, 4, 11), date(2026, 4, 10))
    assert at.code[0].value == "/data", "defaults: nothing in the link"


@needs_demo
def test_after_removal_a_date_you_chose_within_your_data_stays(app: Callable[..., AppTest], db_path: Path,
                                                               tmp_path: Path) -> None:
    at = app()
    _add_yours(db_path, tmp_path)
    ok(at.run())
    ok(at.date_input(key="end").set_value(date(2026, 3, 31)).run())
    on(at, "app_pages/data.py")
    ok(at.button(key="demo_remove").click().run())
    ok(at.button(key="demo_remove_yes").click().run())
    assert (at.date_input(key="start").value, at.date_input(key="end").value) == (
        date(2025, 4, 11), date(2026, 3, 31))
    assert at.code[0].value == "/data?end=2026-03-31"
