"""What the pages say and draw about changes, unusual values and warm-up: a real drop flagged in whole users, the
warming-up span of MAU shaded and explained, tiles that do not compare a period warming up, an unbounded quick
ratio, a zero change without a sign or an arrow, and "Who moved" opening on a movement with customers."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.proto.Metric_pb2 import Metric as MetricProto
from streamlit.testing.v1 import AppTest

from app_pages.ui.charts import WARM_FILL
from kpis.store.db import Store
from tests.app.test_pages import needs_demo, unescape
from tests.kpis.helpers import events, subs
from tests.kpis.test_retention_exact import ROWS as RETENTION_ROWS

MAU_WHY = ("MAU counts the users active in the 30 days ending each day, and the events start on 23 Nov 2025: "
           "its value is complete from 22 Dec 2025 on.")


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def tile(at: AppTest, label: str) -> MetricProto:
    (found,) = [m.proto for m in at.metric if m.label == label]
    return found


def figures(at: AppTest) -> list[dict]:
    return [json.loads(e.proto.spec) for e in at.get("plotly_chart")]


@needs_demo
def test_a_real_drop_is_flagged_with_its_range_in_whole_users(app: Callable[..., AppTest]) -> None:
    # the demo company's August 2026 is quieter: DAU averaged 147 against some 173 in July and 204 in September
    at = ok(app({"grain": "month", "end": "2026-09-26"}).switch_page("app_pages/engagement.py").run())
    shown = [unescape(w.value) for w in at.warning]
    (flag,) = [w for w in shown if w.startswith("Unusual: DAU in Aug 2026 (147) was below its usual range of ")]
    low, high = (int(x.replace(",", "")) for x in re.search(r"range of ([\d,]+) to ([\d,]+) \(", flag).groups())
    assert 147 < low < high, flag
    assert "(the trend line of up to 24 months before (periods warming up left out)" in flag


@needs_demo
def test_mau_warming_up_is_shaded_explained_and_never_compared(app: Callable[..., AppTest]) -> None:
    at = ok(app().switch_page("app_pages/engagement.py").run())
    users = figures(at)[0]
    # the events start on Sunday 23 Nov 2025: MAU counts fewer than 30 days up to 21 Dec, the end of the week of
    # 15 Dec; WAU is complete from 29 Nov. The span runs from the week of 17 Nov to the start of the week of 22 Dec
    (span,) = [s for s in users["layout"]["shapes"] if s.get("fillcolor") == WARM_FILL]
    assert (span["x0"][:10], span["x1"][:10]) == ("2025-11-17", "2025-12-22")
    assert [a["text"] for a in users["layout"]["annotations"] if a.get("text") == "warming up"] == ["warming up"]
    (hover,) = [t for t in users["data"] if t.get("name") == "warming up"]
    assert [x[:10] for x in hover["x"]] == ["2025-11-17", "2025-11-24", "2025-12-01", "2025-12-08", "2025-12-15"]
    why = [text.replace("<br>", " ") for text in hover["hovertext"]]  # broken into short lines for the box
    assert why[1] == MAU_WHY
    assert why[0] == ("WAU counts the users active in the 7 days ending each day, and the events start on 23 Nov "
                      f"2025: its value is complete from 29 Nov 2025 on. {MAU_WHY}")
    sticky = figures(at)[1]
    assert [s for s in sticky["layout"]["shapes"] if s.get("fillcolor") == WARM_FILL], "stickiness divides by MAU"

    # as of 14 Dec 2025 the last complete week is MAU's warm-up: shown, not compared
    early = ok(app({"end": "2025-12-14"}).switch_page("app_pages/engagement.py").run())
    mau = tile(early, "MAU")
    assert (mau.delta, mau.delta_description) == ("", "warming up")
    assert f"Warming up, so not compared: {MAU_WHY}" in mau.help
    assert tile(early, "WAU").delta_description == "vs prev."


@needs_demo
def test_the_first_cohort_is_marked_warming_up(app: Callable[..., AppTest]) -> None:
    at = ok(app().switch_page("app_pages/retention.py").run())
    heatmap = figures(at)[0]["data"][0]
    # the week of 17 Nov 2025 holds one day of first events (Sunday 23 Nov) and everyone already using the product
    assert heatmap["y"][0].startswith("17 Nov 2025 · ") and heatmap["y"][0].endswith(" · warming up")
    assert not any(label.endswith("warming up") for label in heatmap["y"][1:])
    assert any("Shaded rows (warming up)" in unescape(c.value) for c in at.caption)


# -- a small company: no MRR lost in the last week, one customer back, nobody churned ---------------------------

# Week of Monday 9 Mar 2026, complete on Sunday 15 Mar (the export's last recorded day: c1's cancellation,
# effective later): c2 comes back on 11 Mar (+50), nobody leaves or pays less. The week before, nothing moved.
SMALL = """
s1,c1,pro,100,1,USD,month,1,active,2026-01-05,,2026-03-15,
s2,c2,pro,50,1,USD,month,1,canceled,2026-01-05,,,2026-02-02
s3,c2,pro,50,1,USD,month,1,active,2026-03-11,,,
s4,c3,pro,80,1,USD,month,1,active,2026-01-12,,,
"""


@pytest.fixture
def small(db_path: Path, tmp_path: Path) -> Path:
    with Store(db_path) as store:
        subs(store, tmp_path, SMALL)
    return db_path


def test_a_quick_ratio_without_losses_says_so(app: Callable[..., AppTest], small: Path) -> None:
    at = ok(app().switch_page("app_pages/customers.py").run())
    quick = tile(at, "Quick ratio")
    # gains 50 / losses 0: unbounded, not "—, nothing to compare with"
    assert (quick.body, quick.delta, quick.delta_description) == ("no MRR lost", "", "the ratio is unbounded")


def test_a_zero_change_has_no_sign_and_no_arrow(app: Callable[..., AppTest], small: Path) -> None:
    at = ok(app().switch_page("app_pages/customers.py").run())
    churn = tile(at, "Logo churn rate")
    # 0 churned of 2 paying (c1, c3) in the week of 9 Mar and of 2 in the week before: 0.0% both times
    assert (churn.body, churn.delta) == ("0.0%", "0.0 pp")
    assert churn.direction == MetricProto.MetricDirection.NONE and churn.color == MetricProto.MetricColor.GRAY


def test_who_moved_opens_on_a_movement_with_customers(app: Callable[..., AppTest], small: Path) -> None:
    at = ok(app().switch_page("app_pages/customers.py").run())
    movement = at.segmented_control(key="drill_movement")
    assert movement.value == "reactivated"
    assert movement.options == [
        "New (0)", "Reactivated (1)", "Expansion (0)", "Contraction (0)", "Churned (0)"]
    (table,) = [d.value for d in at.dataframe]
    assert list(table["customer_id"]) == ["c2"] and list(table["change"]) == [50.0]


# -- the cohorts' average row (the cohorts of tests/kpis/test_retention_exact.py) --------------------------------

@pytest.fixture
def cohort_company(db_path: Path, tmp_path: Path) -> Path:
    with Store(db_path) as store:
        # and z, active on 1 Jan only: the events start with January, so its cohort is not warming up
        events(store, tmp_path, RETENTION_ROWS + "z,view,2026-01-01T10:00:00Z,\n")
    return db_path


def test_the_heatmap_ends_with_the_cohorts_average(app: Callable[..., AppTest], cohort_company: Path) -> None:
    at = ok(app({"grain": "month"}).switch_page("app_pages/retention.py").run())
    heatmap = figures(at)[0]["data"][0]
    # Jan (a, b, c, z) 4/4, 1/4 (a), 2/4 (a, b; partial); Feb 2/2, 1/2 (partial); Mar 1/1 (partial). The average
    # of complete cells: k=0 (4 + 2) / (4 + 2) = 100%; k=1 Jan's 1/4 = 25%; k=2 only a partial cell: none
    assert heatmap["y"][-1] == "Average"
    assert heatmap["text"][-1] == ["100%", "25%", ""]
    assert heatmap["z"][-1][:2] == [1.0, 0.25]
    curves = figures(at)[1]["data"]
    average = [trace for trace in curves if trace["name"] == "Average"]
    assert len(average) == 1 and list(average[0]["x"]) == [0, 1]
    assert any("the cohorts' average" in unescape(c.value) for c in at.caption)


def test_the_page_average_leaves_out_cohorts_warming_up(app: Callable[..., AppTest], db_path: Path,
                                                        tmp_path: Path) -> None:
    with Store(db_path) as store:
        events(store, tmp_path, RETENTION_ROWS)  # the events start on 5 Jan: January's cohort is warming up
    at = ok(app({"grain": "month"}).switch_page("app_pages/retention.py").run())
    heatmap = figures(at)[0]["data"][0]
    # only February's complete cell (k=0, 2/2) is averaged; its k=1 is partial
    assert heatmap["y"][0].endswith("warming up") and heatmap["text"][-1] == ["100%", "", ""]
    assert any("and cohorts warming up left out" in unescape(c.value) for c in at.caption)


def test_the_engagement_page_draws_the_lifecycle(app: Callable[..., AppTest], cohort_company: Path) -> None:
    at = ok(app({"grain": "month"}).switch_page("app_pages/engagement.py").run())
    chart = [f for f in figures(at) if f["layout"]["title"]["text"].startswith("Active users by where they come")]
    assert len(chart) == 1
    bars = {trace["name"]: trace for trace in chart[0]["data"]}
    assert list(bars) == ["New", "Returning", "Resurrected", "Dormant"]
    # February, the last month complete (events to 18 Mar): d, e new; a returning; b, c gone dormant (z joined and
    # left in January: it is dormant too)
    assert any(unescape(c.value).startswith("User quick ratio in Feb 2026: 0.67 (new 2 + resurrected 0, against 3 "
                                            "gone dormant).") for c in at.caption), [c.value for c in at.caption]
