"""The Engagement page's funnel, on the hand-made events of tests/kpis/test_funnel_exact.py (worked out there):
signup -> invite -> upgrade in 7 days is 8, 7, 2 users; the date range on screen holds every event (20 Dec 2025
to 3 Feb 2026), so every signup can enter."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from kpis.ingest.importer import import_file
from kpis.store.db import Store
from tests.app.test_pages import unescape
from tests.kpis.helpers import EVENTS_HEADER
from tests.kpis.test_funnel_exact import ROWS

ENGAGEMENT = "app_pages/engagement.py"
HINT = "Pick 2 to 6 events, in the order users take them, to draw a funnel."


@pytest.fixture
def funnel_db(db_path: Path, tmp_path: Path) -> Path:
    events = tmp_path / "funnel_events.csv"
    events.write_text(EVENTS_HEADER + "\n" + ROWS.strip() + "\n", encoding="utf-8")
    with Store(db_path) as store:
        assert import_file(store, events, who="test").status == "ok"
    return db_path


def on_engagement(app: Callable[..., AppTest], query: dict[str, str | list[str]]) -> AppTest:
    at = app(query).switch_page(ENGAGEMENT).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def funnel_figure(at: AppTest) -> dict | None:
    found = [json.loads(e.proto.spec) for e in at.get("plotly_chart")]
    found = [f for f in found if f["layout"]["title"]["text"].startswith("Funnel")]
    return found[0] if found else None


def share_link(at: AppTest) -> str:
    (code,) = at.code
    return code.value


def notes(at: AppTest) -> list[str]:
    return [unescape(w.value) for w in at.warning]


def test_no_funnel_is_drawn_until_two_events_are_picked(funnel_db: Path, app: Callable[..., AppTest]) -> None:
    at = on_engagement(app, {})
    assert funnel_figure(at) is None
    assert HINT in [c.value for c in at.caption]
    # the options: every event, the most frequent first (10 invites, 10 signups: by name; 4 upgrades)
    assert at.multiselect(key="_url_funnel").options == ["invite", "signup", "upgrade"]
    assert share_link(at) == "/engagement"


def test_the_funnel_comes_from_the_link(funnel_db: Path, app: Callable[..., AppTest]) -> None:
    at = on_engagement(app, {"funnel": ["signup", "invite", "upgrade"]})
    figure = funnel_figure(at)
    assert figure["layout"]["title"]["text"] == "Funnel: users who did the first step from 20 Dec 2025 to 3 Feb 2026"
    bars = figure["data"][0]
    # 8 enter; 7 of them invite (7/8 = 87.5%) in a median of 1 day; 2 upgrade (2/7 = 28.6%, 2/8 = 25.0%) in a
    # median of (1 day + 30 min) / 2 = 44,100 s = 12.25 h, shown to one decimal (12.2)
    assert bars["text"] == ["8", "7 · from previous 87.5% · from first 87.5%",
                            "2 · from previous 28.6% · from first 25.0%"]
    assert bars["y"] == ["1. signup",
                         "2. invite<br><span style='font-size:11px'>median 1.0 day after step 1</span>",
                         "3. upgrade<br><span style='font-size:11px'>median 12.2 h after step 2</span>"]
    assert at.number_input(key="_url_funnel_window").value == 7
    assert share_link(at) == "/engagement?funnel=signup&funnel=invite&funnel=upgrade"


def test_the_window_comes_from_the_link(funnel_db: Path, app: Callable[..., AppTest]) -> None:
    # 8 days: u4's invite (7 days and 1 s after signing up) counts, and u3's upgrade
    at = on_engagement(app, {"funnel": ["signup", "invite", "upgrade"], "funnel_window": "8"})
    assert [t.split(" ·")[0] for t in funnel_figure(at)["data"][0]["text"]] == ["8", "8", "3"]
    assert share_link(at) == "/engagement?funnel=signup&funnel=invite&funnel=upgrade&funnel_window=8"


def test_picking_puts_the_funnel_in_the_link(funnel_db: Path, app: Callable[..., AppTest]) -> None:
    at = on_engagement(app, {})
    at.multiselect(key="_url_funnel").set_value(["signup", "upgrade"]).run()
    assert not at.exception
    assert at.query_params["funnel"] == ["signup", "upgrade"]
    assert share_link(at) == "/engagement?funnel=signup&funnel=upgrade"
    # signup -> upgrade: u1, u2 (whose upgrade came after signing up, before inviting), u5; u3's comes 7 days
    # and 1 s after: 3 of 8
    assert funnel_figure(at)["data"][0]["text"][1] == "3 · from previous 37.5% · from first 37.5%"
    at.number_input(key="_url_funnel_window").set_value(8).run()
    assert share_link(at) == "/engagement?funnel=signup&funnel=upgrade&funnel_window=8"
    assert funnel_figure(at)["data"][0]["text"][1].startswith("4 ·")  # u3 too
    at.number_input(key="_url_funnel_window").set_value(7).run()
    assert share_link(at) == "/engagement?funnel=signup&funnel=upgrade", "the default window stays out of the link"


def test_unknown_events_in_the_link_are_left_out_with_a_note(funnel_db: Path, app: Callable[..., AppTest]) -> None:
    at = on_engagement(app, {"funnel": ["signup", "<b>x</b>", "invite", "signup", "upgrade';--"]})
    assert notes(at) == ["The link's funnel “<b>x</b>”, “upgrade';--” is not in the data; left out."]
    assert at.multiselect(key="_url_funnel").value == ["signup", "invite"], "a repeat is taken once"
    assert share_link(at) == "/engagement?funnel=signup&funnel=invite", "the link is cleaned at once"
    assert funnel_figure(at)["data"][0]["text"][1].startswith("7 ·")


def test_more_than_six_events_keep_the_first_six(tmp_path: Path, db_path: Path, app: Callable[..., AppTest]) -> None:
    events = tmp_path / "seven.csv"
    events.write_text("user_id,event,timestamp\n" + "".join(f"u1,e{i},2026-01-05T10:0{i}:00Z\n" for i in range(7)),
                      encoding="utf-8")
    with Store(db_path) as store:
        assert import_file(store, events, who="test").status == "ok"
    at = on_engagement(app, {"funnel": [f"e{i}" for i in range(7)]})
    assert notes(at) == ["The link's funnel has more than 6 different values; the first 6 are kept."]
    assert at.multiselect(key="_url_funnel").value == [f"e{i}" for i in range(6)]
    # u1 does e0 .. e5 a minute apart: one user at every step, 100% from the previous one
    assert funnel_figure(at)["data"][0]["text"][5] == "1 · from previous 100.0% · from first 100.0%"


@pytest.mark.parametrize("window", ["0", "366", "7.5", "abc", "١٢"])
def test_a_bad_window_in_the_link_falls_back_to_seven_days(funnel_db: Path, app: Callable[..., AppTest],
                                                           window: str) -> None:
    at = on_engagement(app, {"funnel": ["signup", "invite"], "funnel_window": window})
    assert notes(at) == [f"The link's funnel_window “{window}” is not a whole number from 1 to 365; showing 7."]
    assert at.number_input(key="_url_funnel_window").value == 7
    assert share_link(at) == "/engagement?funnel=signup&funnel=invite"


def test_event_names_from_uploads_are_escaped_in_the_chart(tmp_path: Path, db_path: Path,
                                                          app: Callable[..., AppTest]) -> None:
    events = tmp_path / "hostile.csv"
    events.write_text('user_id,event,timestamp\nu1,<b>x</b>,2026-01-05T10:00:00Z\nu1,"<img src=y>",'
                      "2026-01-05T10:01:00Z\n", encoding="utf-8")
    with Store(db_path) as store:
        assert import_file(store, events, who="test").status == "ok"
    at = on_engagement(app, {"funnel": ["<b>x</b>", "<img src=y>"]})
    ticks = funnel_figure(at)["data"][0]["y"]
    assert ticks[0] == "1. &lt;b&gt;x&lt;/b&gt;"
    assert ticks[1].startswith("2. &lt;img src=y&gt;<br>")
