"""Targets on the charts, as drawn: a target of a single period carries a visible mark at every grain, and a
target after the as-of date stretches the time axis to its period with the projection drawn up to it.

The demo company (its data ends on Sunday 22 Nov 2026) with its own targets replaced by a test-local file: MRR
for Q2 2026 alone and for Q1 2027, a quarter ahead of the data.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from kpis.ingest.importer import import_file, undo
from kpis.store.db import Store
from tests.app.test_pages import needs_demo

OWN_TARGETS = ("kpi,grain,period_start,target,owner,note\n"
               "mrr,quarter,2026-04-01,100000,CPO,Q2 alone\n"
               "mrr,quarter,2027-01-01,190000,CPO,a quarter ahead\n")
#: grain -> the first period of the Q2 2026 target, the period holding its last day (Jun 30), and the one
#: holding Mar 31 2027, the last day of the target ahead (its week starts on Monday Mar 29)
PERIODS = {"quarter": ("2026-04-01", "2026-04-01", "2027-01-01"),
           "month": ("2026-04-01", "2026-06-01", "2027-03-01"),
           "week": ("2026-03-30", "2026-06-29", "2027-03-29")}


@pytest.fixture
def own_targets(app: Callable[..., AppTest], db_path: Path, tmp_path: Path) -> Callable[..., AppTest]:
    """The demo company with the test's targets in place of its own; returns the ``app`` starter."""
    app()  # the first run loads the demo company into the empty database
    path = tmp_path / "own targets.csv"
    path.write_text(OWN_TARGETS, encoding="utf-8")
    with Store(db_path) as store:
        ((demo_targets,),) = store.query("SELECT import_id FROM imports WHERE source = 'targets_csv'")
        undo(store, int(demo_targets), backup=False)
        import_file(store, path, who="test")
    return app


def mrr_chart(at: AppTest) -> dict:
    figures = [json.loads(e.proto.spec) for e in at.get("plotly_chart")]
    (figure,) = [f for f in figures if f["layout"]["title"]["text"] == "MRR"]
    return figure


def traces(figure: dict) -> dict[str, dict]:
    return {t.get("name"): t for t in figure["data"]}


def day(x: str) -> str:
    return x[:10]


def sizes(trace: dict) -> list[float]:
    size = trace["marker"]["size"]
    return list(size) if isinstance(size, list) else [size] * len(trace["x"])


@needs_demo
@pytest.mark.parametrize("grain", list(PERIODS))
def test_a_target_of_one_period_is_marked_at_every_grain(own_targets: Callable[..., AppTest], grain: str) -> None:
    at = own_targets({"grain": grain}).switch_page("app_pages/revenue.py").run()
    assert not at.exception, [e.value for e in at.exception]
    target = traces(mrr_chart(at))["target"]
    assert "markers" in target["mode"]
    first, last, _ = PERIODS[grain]
    q2 = [(day(x), y, size) for x, y, size in zip(target["x"], target["y"], sizes(target), strict=True)
          if first <= day(x) <= last and y is not None]
    assert q2, f"nothing of the Q2 target is drawn at {grain} grain"
    assert q2[-1][2] > 0, "the Q2 target carries a visible mark"
    if grain == "quarter":  # one point between two without target: a line alone would draw nothing
        assert q2 == [("2026-04-01", 100000.0, q2[0][2])]
        at_q2 = [day(x) for x in target["x"]].index("2026-04-01")
        assert target["y"][at_q2 - 1] is None and target["y"][at_q2 + 1] is None


@needs_demo
@pytest.mark.parametrize("grain", list(PERIODS))
def test_the_time_axis_reaches_a_target_ahead_with_the_projection(own_targets: Callable[..., AppTest],
                                                                  grain: str) -> None:
    at = own_targets({"grain": grain}).switch_page("app_pages/revenue.py").run()
    assert not at.exception, [e.value for e in at.exception]
    figure = mrr_chart(at)
    drawn = traces(figure)
    end = PERIODS[grain][2]
    target, ahead = drawn["target"], drawn["MRR (projected ahead)"]
    assert (day(target["x"][-1]), target["y"][-1]) == (end, 190000.0)
    assert day(ahead["x"][-1]) == end and ahead["y"][-1] > 0
    assert max(day(x) for x in drawn["MRR"]["x"]) < "2026-11-23", "the data itself ends on 22 Nov 2026"
    labels = sorted(a["text"] for a in figure["layout"]["annotations"])
    assert labels[1] == "target $190.0k"
    assert re.fullmatch(r"projected \$\d{3}\.\dk", labels[0]), labels
    assert labels[0] == f"projected ${ahead['y'][-1] / 1000:.1f}k"
    if grain != "week":
        assert figure["layout"]["xaxis"]["ticktext"][-1] == {"quarter": "Q1 2027", "month": "Mar 2027"}[grain]


@needs_demo
def test_a_range_ending_before_the_as_of_date_stops_there(own_targets: Callable[..., AppTest]) -> None:
    at = own_targets({"grain": "month", "end": "2026-09-30"}).switch_page("app_pages/revenue.py").run()
    assert not at.exception, [e.value for e in at.exception]
    drawn = traces(mrr_chart(at))
    assert max(day(x) for x in drawn["target"]["x"]) == "2026-09-01"
    assert "MRR (projected ahead)" not in drawn


def chart(at: AppTest, title_start: str) -> dict:
    figures = [json.loads(e.proto.spec) for e in at.get("plotly_chart")]
    (figure,) = [f for f in figures if f["layout"]["title"]["text"].startswith(title_start)]
    return figure


def drawn_points(trace: dict) -> list[tuple[str, float]]:
    return [(day(x), y) for x, y in zip(trace["x"], trace["y"], strict=True) if y is not None]


@needs_demo
def test_the_demo_targets_of_customers_are_on_their_charts(app: Callable[..., AppTest]) -> None:
    """The demo's targets (sample_data/targets.csv): new customers 71 in Q3 and 86 in Q4 2026; logo churn 2% in
    each month from July to November (at quarter grain: September's for Q3, November's for Q4)."""
    at = app({"grain": "quarter"}).switch_page("app_pages/customers.py").run()
    assert not at.exception, [e.value for e in at.exception]
    bars = traces(chart(at, "Customers won and lost"))
    assert drawn_points(bars["New target"]) == [("2026-07-01", 71.0), ("2026-10-01", 86.0)]
    assert "markers" in bars["New target"]["mode"]
    churn = traces(chart(at, "Logo churn rate"))
    assert drawn_points(churn["target"]) == [("2026-07-01", 0.02), ("2026-10-01", 0.02)]
