"""The customers behind a movement (:mod:`kpis.metrics.drilldown`) on a hand-written fixture, the CSV that neutralises
formulas, and the customers page's "Who moved" section on the demo company."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from kpis.core.csv_safety import frame_csv
from kpis.metrics.drilldown import movement_customers, period_movements
from kpis.metrics.revenue import MOVEMENTS, revenue_table
from kpis.store.db import Store
from tests.app.test_pages import needs_demo, unescape
from tests.kpis.helpers import load, subs

FEB, FEB_END = date(2026, 2, 1), date(2026, 2, 28)

# February 2026 at month grain: "before" is the MRR on 31 Jan, "after" the MRR on 28 Feb.
SUBSCRIPTIONS = """
s_new,c_new,pro,100,1,USD,month,1,active,2026-02-10,,,
s_old,c_back,pro,50,1,USD,month,1,canceled,2025-10-01,,,2025-12-01
s_back,c_back,pro,80,1,USD,month,1,active,2026-02-15,,,
s_base,c_up,pro,200,1,USD,month,1,active,2025-06-01,,,
s_seats,c_up,pro,150,1,USD,month,1,active,2026-02-05,,,
s_year,c_up2,pro,1200,1,USD,year,1,active,2025-03-01,,,
s_addon,c_up2,pro,30,1,USD,month,1,active,2026-02-20,,,
s_big,c_down,pro,500,1,USD,month,1,canceled,2025-01-01,,,2026-02-10
s_small,c_down,pro,300,1,USD,month,1,active,2026-02-10,,,
s_gone,c_gone,pro,400,1,USD,month,1,canceled,2025-05-01,,,2026-02-20
s_gone2,c_gone2,pro,90,1,USD,month,1,canceled,2025-09-01,,,2026-02-01
s_stay,c_stay,pro,70,1,USD,month,1,active,2025-01-01,,,
s_blip,c_blip,pro,60,1,USD,month,1,canceled,2026-02-03,,,2026-02-17
"""
CUSTOMERS = '''customer_id,name,email
c_new,New Co,a@new.example
c_back,@Back Again,b@back.example
c_up,"=HYPERLINK(""http://evil.example"",""x"")",c@up.example
c_up2,+Up Two,d@up.example
c_down,-Down Ltd,e@down.example
c_gone,Gone Inc,f@gone.example
c_gone2,Gone Two,g@gone.example
c_stay,Stay Co,h@stay.example
c_blip,Blip Co,i@blip.example
'''


@pytest.fixture
def store(tmp_path: Path) -> Store:
    with Store(tmp_path / "kpis.duckdb") as opened:
        subs(opened, tmp_path, SUBSCRIPTIONS)
        load(opened, tmp_path, "customers.csv", CUSTOMERS)
        yield opened


def rows(frame: pd.DataFrame) -> list[tuple[str, float, float, float]]:
    return [(r.customer_id, r.mrr_before, r.mrr_after, r.change) for r in frame.itertuples(index=False)]


def test_each_movement_lists_its_customers_largest_first(store: Store) -> None:
    got = {m: rows(movement_customers(store, FEB, FEB_END, m)) for m in MOVEMENTS}
    assert got == {
        "new": [("c_new", 0.0, 100.0, 100.0)],  # first paid day 10 Feb lies in February
        "reactivated": [("c_back", 0.0, 80.0, 80.0)],  # paid Oct-Nov 2025, nothing on 31 Jan, 80 again from 15 Feb
        "expansion": [("c_up", 200.0, 350.0, 150.0),  # 200 + 150 seats from 5 Feb
                      ("c_up2", 100.0, 130.0, 30.0)],  # 1200 a year = 100 a month, + a 30 add-on from 20 Feb
        "contraction": [("c_down", 500.0, 300.0, -200.0)],  # 500 replaced by 300 on 10 Feb
        "churned": [("c_gone", 400.0, 0.0, -400.0),  # ended 20 Feb
                    ("c_gone2", 90.0, 0.0, -90.0)],  # ended 1 Feb: paying on 31 Jan, not on 28 Feb
    }
    # c_stay did not change; c_blip paid from 3 to 17 Feb only: nothing on 31 Jan, nothing on 28 Feb
    assert set(period_movements(store, FEB, FEB_END)["customer_id"]) == {
        "c_new", "c_back", "c_up", "c_up2", "c_down", "c_gone", "c_gone2"}
    assert movement_customers(store, FEB, FEB_END, "churned")["name"].tolist() == ["Gone Inc", "Gone Two"]


def test_the_lists_add_up_to_the_kpis(store: Store) -> None:
    (feb,) = revenue_table(store, "month", end=FEB_END).query("period_start == @FEB").to_dict("records")
    moves = period_movements(store, FEB, FEB_END)
    total = moves.groupby("movement")["change"].sum().to_dict()
    count = moves["movement"].value_counts().to_dict()
    assert (feb["new_mrr"], total["new"], feb["new_customers"], count["new"]) == (100, 100, 1, 1)
    assert (feb["reactivation_mrr"], total["reactivated"], feb["reactivated_customers"]) == (80, 80, 1)
    assert (feb["expansion_mrr"], total["expansion"]) == (180, 180)  # 150 + 30
    assert (feb["contraction_mrr"], total["contraction"]) == (-200, -200)
    assert (feb["churned_mrr"], total["churned"], feb["churned_customers"], count["churned"]) == (-490, -490, 2, 2)


def test_a_period_without_movements_is_an_empty_list(store: Store) -> None:
    frame = movement_customers(store, date(2025, 8, 1), date(2025, 8, 31), "churned")
    assert frame.empty and list(frame.columns) == ["customer_id", "name", "mrr_before", "mrr_after", "change"]
    with pytest.raises(ValueError, match="unknown movement"):
        movement_customers(store, FEB, FEB_END, "upsell")


def test_csv_neutralises_formulas_and_keeps_numbers(store: Store) -> None:
    listed = pd.concat([movement_customers(store, FEB, FEB_END, m) for m in MOVEMENTS], ignore_index=True)
    text = frame_csv(listed).decode("utf-8")
    records = list(csv.reader(io.StringIO(text, newline="")))
    assert records[0] == ["customer_id", "name", "mrr_before", "mrr_after", "change"]
    assert records[1:] == [
        ["c_new", "New Co", "0.0", "100.0", "100.0"],
        ["c_back", "'@Back Again", "0.0", "80.0", "80.0"],
        ["c_up", "'=HYPERLINK(\"http://evil.example\",\"x\")", "200.0", "350.0", "150.0"],
        ["c_up2", "'+Up Two", "100.0", "130.0", "30.0"],
        ["c_down", "'-Down Ltd", "500.0", "300.0", "-200.0"],  # a negative number stays a number
        ["c_gone", "Gone Inc", "400.0", "0.0", "-400.0"],
        ["c_gone2", "Gone Two", "90.0", "0.0", "-90.0"],
    ]
    # the importer trims names; other text (and the header) goes through the same rule
    other = frame_csv(pd.DataFrame({"name": ["\rx", "a\rb", "\tTab", None, "-"], "n": [1, -2, 3, 4, 5]}))
    assert list(csv.reader(io.StringIO(other.decode("utf-8"), newline="")))[1:] == [
        ["'\rx", "1"], ["a\rb", "-2"], ["'\tTab", "3"], ["", "4"], ["'-", "5"]]


# -- the page --------------------------------------------------------------------------------------------------------

@needs_demo
def test_who_moved_section_on_the_demo_company(app: Callable[..., AppTest]) -> None:
    at = app()
    at.switch_page("app_pages/customers.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Who moved" in [s.value for s in at.subheader]
    picker = at.selectbox(key="_url_moved")
    assert picker.value is not None and "(partial)" not in picker.format_func(picker.value), "last complete week"
    movement = at.segmented_control(key="drill_movement")
    assert movement.value == "churned"
    churned = movement.options[4]
    table = at.dataframe[-1].value  # the list under "Who moved" (the reasons' table comes before it)
    assert list(table.columns) == ["name", "customer_id", "mrr_before", "mrr_after", "change", "reason", "feedback",
                                   "comment"]
    assert (table["change"] < 0).all() and (table["mrr_after"] == 0).all(), "churned: nothing after"
    assert list(table["change"].abs()) == sorted(table["change"].abs(), reverse=True), "largest first"
    caption = next(unescape(c.value) for c in at.caption if "no longer paying" in c.value)
    assert caption.startswith(f"{len(table)} customer")
    assert [b.label for b in at.get("download_button")] == ["Download this list (CSV)"]
    assert churned.startswith("Churned (") and churned.endswith(f" ({len(table)})")

    at.segmented_control(key="drill_movement").set_value("expansion").run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[-1].value
    assert list(table.columns) == ["name", "customer_id", "mrr_before", "mrr_after", "change"]
    assert (table["change"] > 0).all() and (table["mrr_before"] > 0).all()
    older = at.selectbox(key="_url_moved").options[3]
    at.selectbox(key="_url_moved").select(older).run()
    assert at.segmented_control(key="drill_movement").value == "expansion", "the movement stays when the period changes"

    at.radio(key="grain").set_value("month").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="_url_moved").value is not None


def test_customers_page_draws_the_target_and_flags_no_steady_week(app: Callable[..., AppTest]) -> None:
    at = app()
    at.switch_page("app_pages/customers.py").run()
    assert not at.exception
    # the week of 16 Nov 2026 adds 9 customers to 359 (2.5%), on the demo company's steady growth: nothing unusual
    # (tests/app/test_words_and_numbers.py has pages that do flag a period)
    assert not [w.value for w in at.warning if "Unusual" in w.value]
    figure = at.get("plotly_chart")[0].proto.spec.replace(" ", "")
    # the demo's exports end on Sunday 22 Nov: every week is complete, so the target is drawn and nothing projected
    assert '"name":"target"' in figure and '(projected)' not in figure
    # at month grain November is running (as of 22 Nov): its end is projected, next to the Q4 target's path
    at.radio(key="grain").set_value("month").run()
    assert not at.exception, [e.value for e in at.exception]
    figure = at.get("plotly_chart")[0].proto.spec.replace(" ", "")
    assert '"name":"target"' in figure and '"name":"Activecustomers(projected)"' in figure
