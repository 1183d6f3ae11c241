"""The activation event on the Data page (set, unset, refused for viewers) and the Engagement page's Activation
section: an explanation without the event, the rate by signup week with its target line and the window's caption
with it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from streamlit.testing.v1 import AppTest

from kpis.ingest.importer import import_file
from kpis.store import settings
from kpis.store.db import Store
from tests.app.test_access_ui import VIEWER, start
from tests.app.test_kpi_pages import figures, needs_demo, on
from tests.app.test_pages import DATA_PAGE, open_data_page, texts, unescape

ENGAGEMENT = "app_pages/engagement.py"


def _form(at: AppTest):
    event = next(s for s in at.selectbox if s.label == "Activation event")
    days = next(n for n in at.number_input if n.label.startswith("Window in days"))
    return event, days


def _save(at: AppTest) -> AppTest:
    button = next(b for b in at.button if b.label == "Save" and b.proto.form_id == "activation")
    at = button.click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_data_page_sets_and_unsets_the_activation_event(app: Callable[[], AppTest], seeded: Path) -> None:
    at = open_data_page(app())
    event, days = _form(at)
    # the seeded database holds one event, signup; nothing is set: the window shows its default
    assert (event.options, event.value, days.value) == (["(not set)", "signup"], "", 7)
    event.set_value("signup")
    days.set_value(14)
    at = _save(at)
    assert texts(at.success) == ["Activated now means: did signup within 14 days of the first active day."]
    with Store(seeded) as store:
        assert (settings.activation_event(store), settings.activation_window_days(store)) == ("signup", 14)
    event, days = _form(at)
    assert (event.value, days.value) == ("signup", 14)
    event.set_value("")
    at = _save(at)
    assert texts(at.success) == ["The activation event is unset: the activation rate waits for one."]
    with Store(seeded) as store:
        assert settings.activation_event(store) is None


def test_an_event_set_from_the_command_line_is_offered_with_a_note_free_form(app: Callable[[], AppTest],
                                                                             seeded: Path) -> None:
    with Store(seeded) as store:
        assert settings.set_activation_event(store, "invited", ["signup"]) is not None  # the note: not imported
    event, _ = _form(open_data_page(app()))
    assert event.options == ["(not set)", "invited", "signup"] and event.value == "invited"


def test_a_viewer_sees_the_setting_and_cannot_change_it(seeded: Path) -> None:
    with Store(seeded) as store:
        settings.set_activation(store, "signup", 3, ["signup"])
    at = start(VIEWER, page=DATA_PAGE)
    assert "Activation event: signup within 3 days." in [unescape(c.value) for c in at.caption]
    assert not [s for s in at.selectbox if s.label == "Activation event"]


@needs_demo
def test_the_engagement_page_explains_the_event_until_it_is_set(app: Callable[..., AppTest], db_path: Path,
                                                                 tmp_path: Path) -> None:
    at = app()  # loads the demo company, which declares its activation event: unset it
    with Store(db_path) as store:
        settings.set_from_text(store, "activation_event", "", ())
    at = on(at, ENGAGEMENT)
    (explained,) = [i.value for i in at.info if "activation event" in i.value]
    assert "keep coming back more than the others" in explained and "Data page" in explained
    assert not any(f["layout"]["title"]["text"].startswith("Activation rate") for f in figures(at))
    with Store(db_path) as store:
        settings.set_activation(store, "report_created", 7, ["report_created"])
        goal = tmp_path / "goal.csv"
        goal.write_text("kpi,grain,period_start,target,owner,note\nactivation_rate,week,2026-11-16,0.4,CPO,\n",
                        encoding="utf-8")
        assert import_file(store, goal).status == "ok"
    at = on(at, ENGAGEMENT)
    assert not [i for i in at.info if "activation event" in i.value]
    (chart,) = [f for f in figures(at) if f["layout"]["title"]["text"].startswith("Activation rate")]
    names = [trace.get("name") for trace in chart["data"]]
    assert "Activation rate" in names and any("arget" in str(n) for n in names), names
    caption = next(unescape(c.value) for c in at.caption if "Activated = did" in unescape(c.value))
    assert "Activated = did report_created within 7 days of their first active day (that day included)." in caption
    assert caption.startswith("In the week of 16 Nov 2026: ") and " users who started). " in caption
    assert json.dumps(chart["data"][0]["y"]) != "[]"
