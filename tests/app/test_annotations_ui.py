"""Notes on dates in the UI: added and removed on the Review page, drawn on every time chart with the text
escaped in the hover."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from app_pages.ui import charts
from kpis.core.registry import KPIS
from kpis.plan import annotations
from kpis.store.db import Store
from tests.app.test_pages import needs_demo, texts, unescape

REVIEW_PAGE = "app_pages/review.py"


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def series() -> pd.DataFrame:
    return pd.DataFrame({"period_start": [date(2026, 11, 2), date(2026, 11, 9), date(2026, 11, 16)],
                         "value": [1.0, 2.0, 3.0], "partial": [False, False, True]})


def test_notes_inside_the_span_are_lines_with_escaped_hover() -> None:
    figure = charts.lines({"MRR": series()}, KPIS["mrr"], "MRR", "week")
    notes = pd.DataFrame({"annotation_id": [1, 2, 3], "day": [date(2026, 10, 1), date(2026, 11, 10),
                                                              date(2026, 11, 22)],
                          "text": ["before the chart", "<b>Price</b> & plans", "last day of the running week"],
                          "created_by": ["x", "x", "x"]})
    charts.with_notes(figure, notes)
    assert [pd.Timestamp(s.x0).date() for s in figure.layout.shapes] == [date(2026, 11, 10), date(2026, 11, 22)]
    (marker,) = [t for t in figure.data if t.name == "note"]
    assert list(marker.hovertext) == ["10 Nov 2026: &lt;b&gt;Price&lt;/b&gt; &amp; plans",
                                      "22 Nov 2026: last day of the running week"]
    assert marker.yaxis == "y9" and figure.layout.yaxis9.overlaying == "y"


def test_a_chart_without_time_axis_gets_no_notes() -> None:
    figure = charts.power_curve(pd.DataFrame({"days_active": [1, 2], "users": [3, 4]}), "curve")
    assert not (figure.layout.meta or {})
    assert charts.lines({"MRR": series()}, KPIS["mrr"], "MRR", "week").layout.meta == {charts.TIME_AXIS: "week"}


def test_show_draws_the_notes_it_is_given_without_reading_the_store() -> None:
    """The page reads the notes once and passes them to every chart; drawing a chart opens no database."""
    def draw() -> None:
        import pandas as pd

        from app_pages.ui import charts
        from kpis.core.registry import KPIS

        mrr = pd.DataFrame({"period_start": pd.to_datetime(["2026-11-02", "2026-11-09"]), "value": [1.0, 2.0],
                            "partial": [False, True]})
        notes = pd.DataFrame({"day": [pd.Timestamp("2026-11-10").date()], "text": ["launch"]})
        charts.show(charts.lines({"MRR": mrr}, KPIS["mrr"], "MRR", "week"), notes)

    at = AppTest.from_function(draw).run()
    assert not at.exception, [e.value for e in at.exception]
    (spec,) = [json.loads(e.proto.spec) for e in at.get("plotly_chart")]
    (marker,) = [t for t in spec["data"] if t.get("name") == "note"]
    assert marker["hovertext"] == ["10 Nov 2026: launch"]
    assert not hasattr(charts, "cache"), "charts never reach the store"


def test_targets_and_projection_on_a_line_chart() -> None:
    figure = charts.lines({"MRR": series()}, KPIS["mrr"], "MRR", "week", targets={"MRR": [1.5, float("nan"), 2.5]},
                          projected={"MRR": 4.0})
    by_name = {t.name: t for t in figure.data}
    assert by_name["target"].line.dash == "dash" and list(by_name["target"].y) == [1.5, None, 2.5]
    projected = by_name["MRR (projected)"]
    assert list(projected.text) == ["projected"] and list(projected.y) == [4.0]
    assert projected.textposition == "top center" and by_name["MRR (partial)"].textposition == "bottom center", \
        "the two labels of the running period sit apart"
    assert figure.layout.showlegend is not False, "the legend names the target"


@needs_demo
def test_add_a_note_see_it_on_charts_and_remove_it(app: Callable[..., AppTest], db_path: Path) -> None:
    at = ok(app().switch_page(REVIEW_PAGE).run())
    at.date_input(key="note_day").set_value(date(2026, 11, 18))
    at.text_input(key="note_text").input("Launched <i>AI Insights</i> **now**")
    ok(next(b for b in at.button if b.label == "Add the note").click().run())
    assert "Added the note on 18 Nov 2026." in texts(at.success)
    listed = [m.value for m in at.markdown if "AI Insights" in m.value]
    assert listed and all("<i>" not in m and "**now**" not in m for m in listed), listed
    assert any(unescape(m) == "Launched <i>AI Insights</i> **now**" for m in listed)
    assert any("18 Nov 2026: Launched" in unescape(m) for m in listed), "the review lists the note of its week"

    ok(at.switch_page("app_pages/revenue.py").run())
    shown = [json.loads(e.proto.spec) for e in at.get("plotly_chart")]
    timed = [f for f in shown if f["layout"].get("meta", {}).get(charts.TIME_AXIS)]
    assert len(timed) == 6, "MRR, ARR, growth, movements, NRR/GRR and ARPA; the bridge has no time axis"
    for figure in timed:
        (marker,) = [t for t in figure["data"] if t.get("name") == "note"]
        assert marker["hovertext"] == ["18 Nov 2026: Launched &lt;i&gt;AI Insights&lt;/i&gt; **now**"]

    ok(at.switch_page(REVIEW_PAGE).run())
    with Store(db_path) as store:
        (note_id,) = annotations.all_annotations(store)["annotation_id"]
    ok(at.button(key=f"remove_note_{note_id}").click().run())
    assert any(t.startswith(f"Removed annotation {note_id} (2026-11-18: Launched") for t in texts(at.success))
    with Store(db_path) as store:
        assert annotations.all_annotations(store).empty


@needs_demo
def test_an_empty_note_is_refused(app: Callable[..., AppTest], db_path: Path) -> None:
    at = ok(app().switch_page(REVIEW_PAGE).run())
    at.text_input(key="note_text").input("   ")
    ok(next(b for b in at.button if b.label == "Add the note").click().run())
    assert any("an annotation needs a text" in e for e in texts(at.error))
    with Store(db_path) as store:
        assert annotations.all_annotations(store).empty
