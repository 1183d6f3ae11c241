"""The Targets page: evaluation table, the editor (validation, saving as an import), CSV import and export."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from app_pages import plan
from kpis.importer import import_file, undo_import
from kpis.store import Store
from kpis.targets import load_targets
from tests.app.test_pages import needs_demo, texts

TARGETS_PAGE = "app_pages/targets.py"


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def open_targets(at: AppTest) -> AppTest:
    return ok(at.switch_page(TARGETS_PAGE).run())


def evaluation(at: AppTest) -> pd.DataFrame:
    (table,) = (d.value for d in at.dataframe if d.editing_mode == "read_only")
    return table


def editor(at: AppTest):  # noqa: ANN201 - AppTest's Dataframe element
    (found,) = at.data_editor
    return found


def in_db(db_path: Path) -> pd.DataFrame:
    with Store(db_path) as store:
        return load_targets(store)


def frame(*rows: tuple[object, ...]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(plan.CSV_COLUMNS))


# -- pure helpers ------------------------------------------------------------------------------------------------------

ORIGINAL = frame(("mrr", "quarter", date(2026, 10, 1), 170000.0, "CPO", "Board plan"),
                 ("logo_churn_rate", "month", date(2026, 11, 1), 0.02, None, None))


def test_unchanged_rows_are_not_saved() -> None:
    rows, problem = plan.check_rows(ORIGINAL, ORIGINAL.copy())
    assert problem is None and rows.empty


def test_changed_and_added_rows_are_saved() -> None:
    edited = ORIGINAL.copy()
    edited.loc[0, "target"] = 180000.0
    edited.loc[2] = ["new_customers", "quarter", date(2026, 10, 1), 90, " VP Sales ", ""]
    rows, problem = plan.check_rows(ORIGINAL, edited)
    assert problem is None
    assert rows.to_dict("records") == [
        {"kpi": "mrr", "grain": "quarter", "period_start": date(2026, 10, 1), "target": 180000.0, "owner": "CPO",
         "note": "Board plan"},
        {"kpi": "new_customers", "grain": "quarter", "period_start": date(2026, 10, 1), "target": 90.0,
         "owner": "VP Sales", "note": None},
    ]
    assert plan.targets_csv(rows).splitlines() == [
        "kpi,grain,period_start,target,owner,note",
        "mrr,quarter,2026-10-01,180000,CPO,Board plan",
        "new_customers,quarter,2026-10-01,90,VP Sales,",
    ]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (("mrr", "quarter", date(2026, 11, 1), 1.0, None, None),
         "Row 3 (mrr, quarter, 2026-11-01): 2026-11-01 does not start a quarter; the quarter holding it starts on "
         "2026-10-01. Nothing was saved."),
        (("revenue", "month", date(2026, 11, 1), 1.0, None, None),
         "Row 3 (revenue, month, 2026-11-01): unknown KPI 'revenue'"),
        (("stickiness", "year", date(2026, 1, 1), 0.3, None, None),
         "Row 3 (stickiness, year, 2026-01-01): stickiness takes targets by week, month, quarter, not by year."),
        (("mrr", "month", date(2026, 11, 1), float("nan"), None, None),
         "Row 3 (mrr, month, 2026-11-01): the target must be a number."),
        (("mrr", "month", date(2026, 11, 1), "lots", None, None),
         "Row 3 (mrr, month, 2026-11-01): the target must be a number."),
        (("mrr", None, date(2026, 11, 1), 5.0, None, None),
         "Row 3 (mrr, 2026-11-01): fill in the KPI, the grain and the period start."),
        (("mrr", "quarter", date(2026, 10, 1), 5.0, None, None), "Row 3 (mrr, quarter, 2026-10-01) restates row 1"),
    ],
)
def test_a_bad_row_is_named_and_nothing_is_saved(row: tuple[object, ...], message: str) -> None:
    edited = pd.concat([ORIGINAL, frame(row)], ignore_index=True)
    rows, problem = plan.check_rows(ORIGINAL, edited)
    assert rows.empty
    assert problem is not None and problem.startswith(message), problem


def test_a_target_in_force_keeps_its_key_and_cannot_be_deleted() -> None:
    edited = ORIGINAL.copy()
    edited.loc[1, "period_start"] = date(2026, 10, 1)
    rows, problem = plan.check_rows(ORIGINAL, edited)
    assert rows.empty and problem is not None and problem.startswith("Row 2 (logo_churn_rate, month, 2026-10-01): "
                                                                     "the KPI, grain and period of a target in force")
    _, problem = plan.check_rows(ORIGINAL, ORIGINAL.iloc[:1])
    assert problem is not None and "cannot be deleted here" in problem


def test_export_neutralises_formulas_and_keeps_numbers(tmp_path: Path) -> None:
    targets = pd.DataFrame({
        "kpi": ["mrr", "churned_mrr"], "grain": ["quarter", "month"],
        "period_start": [date(2026, 10, 1), date(2026, 11, 1)], "period_end": [date(2026, 12, 31),
                                                                                date(2026, 11, 30)],
        "target": [1_200_000.0, -500.0], "owner": ["=HYPERLINK(\"http://x\")", "@ops"],
        "note": ["+1 for growth", "-5% \tplan\r"]})
    text = plan.export_csv(targets)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [
        ["kpi", "grain", "period_start", "target", "owner", "note"],
        ["mrr", "quarter", "2026-10-01", "1200000", "'=HYPERLINK(\"http://x\")", "'+1 for growth"],
        ["churned_mrr", "month", "2026-11-01", "-500", "'@ops", "'-5% \tplan\n"],
    ]
    assert [plan.neutralise(t) for t in ("\tx", "\rx", "x=1", "")] == ["'\tx", "'\rx", "x=1", ""]
    path = tmp_path / "export.csv"
    path.write_text(text, encoding="utf-8")
    with Store(tmp_path / "round.duckdb") as store:  # the export imports again
        import_file(store, path, expect=("targets_csv",))
        assert sorted(load_targets(store)["target"]) == [-500.0, 1_200_000.0]


def test_evaluation_frame_formats_and_marks_the_projection() -> None:
    table = pd.DataFrame([
        {"kpi": "mrr", "grain": "quarter", "period_start": date(2026, 10, 1), "period_end": date(2026, 12, 31),
         "target": 170000.0, "actual": 147008.2, "projected_value": 162466.2, "attainment": 0.9557,
         "status": "at risk", "projected": True, "partial": True, "owner": "CPO", "note": "<b>plan</b>"},
        {"kpi": "stickiness", "grain": "month", "period_start": date(2026, 11, 1), "period_end": date(2026, 11, 30),
         "target": 0.25, "actual": 0.2589, "projected_value": 0.2589, "attainment": 1.0356,
         "status": "on track", "projected": True, "partial": True, "owner": None, "note": None},
        {"kpi": "new_customers", "grain": "year", "period_start": date(2027, 1, 1), "period_end": date(2027, 12, 31),
         "target": 400.0, "actual": float("nan"), "projected_value": float("nan"), "attainment": float("nan"),
         "status": None, "projected": False, "partial": False, "owner": None, "note": None},
    ])
    shown = plan.evaluation_frame(table)
    assert shown.to_dict("records") == [
        {"KPI": "New customers", "Period": "2027", "Target": "400", "Actual": "—", "Projected": "",
         "Attainment": "—", "Status": "—", "Owner": "", "Note": ""},
        {"KPI": "MRR", "Period": "Q4 2026", "Target": "$170.0k", "Actual": "$147.0k so far",
         "Projected": "$162.5k projected", "Attainment": "96%", "Status": "at risk (projected)", "Owner": "CPO",
         "Note": "<b>plan</b>"},
        {"KPI": "Stickiness (DAU/MAU)", "Period": "Nov 2026", "Target": "25.0%", "Actual": "25.9% so far",
         "Projected": "", "Attainment": "104%", "Status": "on track (so far)", "Owner": "", "Note": ""},
    ]
    styles = plan.styled(shown).to_html()
    assert "#b45309" in styles and "#15803d" in styles


# -- the page ----------------------------------------------------------------------------------------------------------

@needs_demo
def test_the_page_shows_every_target_with_its_status(app: Callable[..., AppTest]) -> None:
    at = open_targets(app())
    table = evaluation(at)
    assert list(table.columns) == ["KPI", "Period", "Target", "Actual", "Projected", "Attainment", "Status", "Owner",
                                   "Note"]
    assert len(table) == 16
    mrr = table[(table["KPI"] == "MRR") & (table["Period"] == "Q4 2026")].iloc[0]
    assert mrr["Actual"].endswith(" so far") and mrr["Projected"].endswith(" projected")
    assert mrr["Status"].endswith("(projected)") and mrr["Attainment"].endswith("%")
    assert set(table["Status"].str.replace(r" \(.*\)$", "", regex=True)) <= {"on track", "at risk", "off track"}
    assert editor(at).editing_mode == "add"
    assert [b.label for b in at.get("download_button")] == ["Download the targets in force (CSV)"]


@needs_demo
def test_saving_an_edit_imports_it_and_undo_restores(app: Callable[..., AppTest], db_path: Path) -> None:
    at = open_targets(app())
    key = editor(at).key
    row = next(i for i, r in enumerate(editor(at).value.itertuples()) if r.kpi == "mrr"
               and str(r.period_start).startswith("2026-10-01"))
    at.session_state[key] = {"edited_rows": {row: {"target": 180000, "note": "Raised"}}, "added_rows": [],
                             "deleted_rows": []}
    ok(at.button(key="save_targets").click().run())
    assert texts(at.success) == ["Saved 1 target. The Data page lists the change as “Changes on the Targets "
                                 "page”, where it can be undone."], texts(at.success) + texts(at.error)
    targets = in_db(db_path)
    mrr = targets[(targets["kpi"] == "mrr") & (targets["period_start"] == date(2026, 10, 1))].iloc[0]
    assert (mrr["target"], mrr["note"], mrr["owner"]) == (180000.0, "Raised", "CPO")
    assert len(targets) == 16, "the other targets stay"
    assert "$180.0k" in set(evaluation(at)["Target"])

    with Store(db_path) as store:
        (last,) = store.query("SELECT max(import_id) FROM imports")[0]
        undo_import(store, int(last))
    targets = in_db(db_path)
    assert targets.loc[(targets["kpi"] == "mrr") & (targets["period_start"] == date(2026, 10, 1)),
                       "target"].iloc[0] == 170000.0


@needs_demo
def test_a_bad_edit_names_the_row_and_saves_nothing(app: Callable[..., AppTest], db_path: Path) -> None:
    at = open_targets(app())
    before = in_db(db_path)
    at.session_state[editor(at).key] = {
        "edited_rows": {}, "deleted_rows": [],
        "added_rows": [{"kpi": "mrr", "grain": "quarter", "period_start": "2026-11-01", "target": 1}]}
    ok(at.button(key="save_targets").click().run())
    errors = texts(at.error)
    assert any(e.startswith("Row 17 (mrr, quarter, 2026-11-01): 2026-11-01 does not start a quarter") and
               e.endswith("Nothing was saved.") for e in errors), errors
    pd.testing.assert_frame_equal(in_db(db_path), before)


@needs_demo
def test_import_a_targets_csv(app: Callable[..., AppTest], db_path: Path) -> None:
    at = open_targets(app())
    good = b"kpi,grain,period_start,target,owner,note\ndau,month,2026-11-01,260,Head of Product,\n"
    ok(at.file_uploader(key="targets_upload").set_value(("plan.csv", good, "text/csv")).run())
    assert any(t.startswith("plan.csv: Targets CSV, import") for t in texts(at.success)), texts(at.success)
    assert "dau" in set(in_db(db_path)["kpi"])
    assert "DAU" in set(evaluation(at)["KPI"])

    events = b"user_id,event,timestamp\nu1,signup,2026-01-05T10:00:00Z\n"
    ok(at.file_uploader(key="targets_upload").set_value(("events.csv", events, "text/csv")).run())
    assert any("not a Targets CSV file" in e for e in texts(at.error)), texts(at.error)


def _traces(at: AppTest, title_start: str) -> dict[str, dict]:
    import json

    figures = [json.loads(e.proto.spec) for e in at.get("plotly_chart")]
    (figure,) = [f for f in figures if f["layout"]["title"]["text"].startswith(title_start)
                 and (title_start != "MRR" or f["layout"]["title"]["text"] == "MRR")]
    return {t.get("name"): t for t in figure["data"]}


@needs_demo
def test_targets_and_pace_on_the_charts(app: Callable[..., AppTest]) -> None:
    at = ok(app().switch_page("app_pages/revenue.py").run())
    mrr = _traces(at, "MRR")
    assert mrr["target"]["line"]["dash"] == "dash"
    assert mrr["target"]["y"][-1] is not None and mrr["target"]["y"][0] is None, "Q3 and Q4 2026 targets only"
    assert mrr["MRR (projected)"]["text"] == ["projected"]

    at = open_targets(at)
    good = b"kpi,grain,period_start,target,owner,note\ndau,month,2026-11-01,260,Head of Product,\n"
    ok(at.file_uploader(key="targets_upload").set_value(("plan.csv", good, "text/csv")).run())
    ok(at.radio(key="grain").set_value("month").run())
    ok(at.switch_page("app_pages/engagement.py").run())
    users = _traces(at, "Active users per month")
    assert users["DAU (mean) target"]["y"][-1] == 260.0
    assert "MAU target" not in users, "no MAU target"
    assert "DAU (mean) (projected)" in users and "MAU (projected)" in users
    sticky = _traces(at, "Stickiness")
    assert set(sticky["target"]["y"][-5:]) == {0.25}
