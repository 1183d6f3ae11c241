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

from app_pages.ui import plan
from kpis.core.csv_safety import neutralise
from kpis.core.registry import KPIS
from kpis.ingest.importer import import_file, undo
from kpis.plan import target_editor
from kpis.plan.targets import export_csv, load_targets
from kpis.store.db import Store
from tests.app.test_pages import needs_demo, texts, unescape

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
    """Rows in the editor's shape: KPI label, grain, period name, target as written, owner, note."""
    return pd.DataFrame(rows, columns=list(target_editor.EDITOR_COLUMNS), dtype="object")


# -- pure helpers ------------------------------------------------------------------------------------------------------

ORIGINAL = frame(("MRR", "quarter", "Q4 2026", "170,000", "CPO", "Board plan"),
                 ("Logo churn rate", "month", "Nov 2026", "2%", None, None))
CHOICES = target_editor.period_choices(date(2026, 11, 22))


def test_the_editor_shows_labels_periods_and_percentages() -> None:
    in_force = pd.DataFrame({
        "kpi": ["logo_churn_rate", "mrr", "quick_ratio"], "grain": ["month", "quarter", "week"],
        "period_start": [date(2026, 11, 1), date(2026, 10, 1), date(2026, 11, 16)],
        "period_end": [date(2026, 11, 30), date(2026, 12, 31), date(2026, 11, 22)],
        "target": [0.02, 170000.0, 2.5], "owner": [None, "CPO", None], "note": [None, "Board plan", None]})
    assert target_editor.editable(in_force).to_dict("records") == [
        {"kpi": "MRR", "grain": "quarter", "period": "Q4 2026", "target": "170,000", "owner": "CPO",
         "note": "Board plan"},
        {"kpi": "Logo churn rate", "grain": "month", "period": "Nov 2026", "target": "2%", "owner": None,
         "note": None},
        {"kpi": "Quick ratio", "grain": "week", "period": "week of 16 Nov 2026", "target": "2.5", "owner": None,
         "note": None},
    ]


def test_unchanged_rows_are_not_saved() -> None:
    rows, problem = target_editor.check_rows(ORIGINAL, ORIGINAL.copy(), CHOICES)
    assert problem is None and rows.empty


def test_changed_and_added_rows_are_saved_as_the_csv_has_them() -> None:
    edited = ORIGINAL.copy()
    edited.loc[0, "target"] = "$180,000"
    edited.loc[2] = ["New customers", "quarter", "Q1 2027", "90", " VP Sales ", ""]
    edited.loc[3] = ["Logo churn rate", "month", "Jan 2027", "1.5%", None, None]
    edited.loc[4] = ["Stickiness (DAU/MAU)", "month", "Jan 2027", "25", None, None]  # a percentage without its %
    edited.loc[5] = [None, None, None, None, None, None]  # a row added and left empty
    rows, problem = target_editor.check_rows(ORIGINAL, edited, CHOICES)
    assert problem is None
    assert rows.to_dict("records") == [
        {"row": 1, "kpi": "mrr", "grain": "quarter", "period_start": date(2026, 10, 1), "target": 180000.0,
         "owner": "CPO", "note": "Board plan"},
        {"row": 3, "kpi": "new_customers", "grain": "quarter", "period_start": date(2027, 1, 1), "target": 90.0,
         "owner": "VP Sales", "note": None},
        {"row": 4, "kpi": "logo_churn_rate", "grain": "month", "period_start": date(2027, 1, 1), "target": 0.015,
         "owner": None, "note": None},
        {"row": 5, "kpi": "stickiness", "grain": "month", "period_start": date(2027, 1, 1), "target": 0.25,
         "owner": None, "note": None},
    ]
    assert target_editor.edits_csv(rows).splitlines() == [  # the targets CSV is unchanged: ids, fractions, first days
        "kpi,grain,period_start,target,owner,note",
        "mrr,quarter,2026-10-01,180000,CPO,Board plan",
        "new_customers,quarter,2027-01-01,90,VP Sales,",
        "logo_churn_rate,month,2027-01-01,0.015,,",
        "stickiness,month,2027-01-01,0.25,,",
    ]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (("MRR", None, None, "200000", None, None), "Row 3: choose a grain and a period. Nothing was saved."),
        (("MRR", "quarter", None, None, None, None),
         "Row 3: choose a period, and enter the target. Nothing was saved."),
        ((None, None, None, "5", None, None), "Row 3: choose a KPI, a grain and a period. Nothing was saved."),
        ((None, None, None, None, "CPO", None),
         "Row 3: choose a KPI, a grain and a period, and enter the target. Nothing was saved."),
        (("MRR", "month", "Q1 2027", "1", None, None),
         "Row 3 (MRR, month, Q1 2027): Q1 2027 is not a month; choose a month, or the grain quarter. "
         "Nothing was saved."),
        (("Revenue", "month", "Jan 2027", "1", None, None),
         "Row 3 (Revenue, month, Jan 2027): there is no KPI 'Revenue'; choose one from the list."),
        (("Stickiness (DAU/MAU)", "year", "2027", "30%", None, None),
         "Row 3 (Stickiness (DAU/MAU), year, 2027): stickiness takes targets by week, month, quarter, not by year."),
        (("MRR", "month", "Jan 2027", "lots", None, None),
         "Row 3 (MRR, month, Jan 2027): the target must be a number such as 170,000, not 'lots'."),
        (("MRR", "month", "Jan 2027", "12%", None, None),
         "Row 3 (MRR, month, Jan 2027): MRR is not a percentage: write a number such as 170,000."),
        (("MRR", "month", "2027-01-01", "1", None, None),
         "Row 3 (MRR, month, 2027-01-01): choose the period from the list"),
        (("MRR", "quarter", "Q4 2026", "5", None, None), "Row 3 (MRR, quarter, Q4 2026) restates row 1"),
    ],
)
def test_a_bad_row_is_named_and_nothing_is_saved(row: tuple[object, ...], message: str) -> None:
    edited = pd.concat([ORIGINAL, frame(row)], ignore_index=True)
    rows, problem = target_editor.check_rows(ORIGINAL, edited, CHOICES)
    assert rows.empty
    assert problem is not None and problem.startswith(message), problem


def test_a_target_in_force_keeps_its_key_and_cannot_be_deleted() -> None:
    edited = ORIGINAL.copy()
    edited.loc[1, "period"] = "Oct 2026"
    rows, problem = target_editor.check_rows(ORIGINAL, edited, CHOICES)
    assert rows.empty and problem is not None and problem.startswith(
        "Row 2 (Logo churn rate, month, Oct 2026): the KPI, grain and period of a target in force")
    _, problem = target_editor.check_rows(ORIGINAL, ORIGINAL.iloc[:1], CHOICES)
    assert problem is not None and "cannot be deleted here" in problem


def test_targets_are_read_as_written() -> None:
    churn, mrr, quick = KPIS["logo_churn_rate"], KPIS["mrr"], KPIS["quick_ratio"]
    assert [target_editor.parse_target(churn, t) for t in ("2%", "2", " 0.5 % ", "12.5%")] == [0.02, 0.02, 0.005, 0.125]
    assert [target_editor.parse_target(mrr, t) for t in ("170000", "170,000", "$170,000", "-$1,500")] == [
        170000.0, 170000.0, 170000.0, -1500.0]
    assert target_editor.parse_target(quick, "2.5") == 2.5
    for bad in ("", "nan", "inf", "2%%", "1.2.3"):
        with pytest.raises(ValueError, match="the target must be a number such as 2%"):
            target_editor.parse_target(churn, bad)
    assert [target_editor.target_text(churn, v) for v in (0.02, 0.125, 0.07)] == ["2%", "12.5%", "7%"]


def test_export_neutralises_formulas_and_keeps_numbers(tmp_path: Path) -> None:
    targets = pd.DataFrame({
        "kpi": ["mrr", "churned_mrr"], "grain": ["quarter", "month"],
        "period_start": [date(2026, 10, 1), date(2026, 11, 1)], "period_end": [date(2026, 12, 31),
                                                                                date(2026, 11, 30)],
        "target": [1_200_000.0, -500.0], "owner": ["=HYPERLINK(\"http://x\")", "@ops"],
        "note": ["+1 for growth", "-5% \tplan\r"]})
    text = export_csv(targets)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows == [
        ["kpi", "grain", "period_start", "target", "owner", "note"],
        ["mrr", "quarter", "2026-10-01", "1200000", "'=HYPERLINK(\"http://x\")", "'+1 for growth"],
        ["churned_mrr", "month", "2026-11-01", "-500", "'@ops", "'-5% \tplan\r"],
    ]
    assert text.count("\r\n") == 3, "a file's line ends are CRLF"
    assert [neutralise(t) for t in ("\tx", "\rx", "x=1", "")] == ["'\tx", "'\rx", "x=1", ""]
    path = tmp_path / "export.csv"
    path.write_text(text, encoding="utf-8")
    with Store(tmp_path / "round.duckdb") as store:  # the export imports again
        import_file(store, path, expect=("targets_csv",))
        assert sorted(load_targets(store)["target"]) == [-500.0, 1_200_000.0]


def test_the_export_keeps_every_digit_of_a_target(tmp_path: Path) -> None:
    targets = pd.DataFrame({"kpi": ["mrr"], "grain": ["month"], "period_start": [date(2026, 11, 1)],
                            "period_end": [date(2026, 11, 30)], "target": [1234567.891234567], "owner": [None],
                            "note": [None]})
    text = export_csv(targets)
    assert text == "kpi,grain,period_start,target,owner,note\r\nmrr,month,2026-11-01,1234567.891234567,,\r\n"
    path = tmp_path / "export.csv"
    path.write_bytes(text.encode("utf-8"))
    with Store(tmp_path / "round.duckdb") as store:
        import_file(store, path, expect=("targets_csv",))
        assert list(load_targets(store)["target"]) == [1234567.891234567]


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
    shown = plan.evaluation_frame(table, {"revenue": date(2026, 11, 22), "engagement": date(2026, 11, 22)})
    assert shown.to_dict("records") == [
        {"KPI": "New customers", "Period": "2027", "Target": "400", "Actual": "— no revenue data after 22 Nov 2026",
         "Projected": "",
         "Attainment": "—", "Status": "—", "Owner": "", "Note": ""},
        {"KPI": "MRR", "Period": "Q4 2026", "Target": "$170.0k", "Actual": "$147.0k so far",
         "Projected": "$162.5k projected", "Attainment": "96%", "Status": "at risk (projected)", "Owner": "CPO",
         "Note": "<b>plan</b>"},
        {"KPI": "Stickiness (DAU/MAU)", "Period": "Nov 2026", "Target": "25.0%", "Actual": "25.9% so far",
         "Projected": "", "Attainment": "104%", "Status": "on track (so far)", "Owner": "", "Note": ""},
    ]
    styles = plan.styled(shown).to_html()
    assert "#b45309" in styles and "#15803d" in styles
    # as of a date range ending on Sep 30, the three targets have no actual because of the range, not the data
    as_of_range = plan.evaluation_frame(table.assign(actual=float("nan"), partial=False),
                                        {"revenue": date(2026, 11, 22), "engagement": date(2026, 11, 22)},
                                        range_end=date(2026, 9, 30))
    assert list(as_of_range["Actual"]) == ["— after the date range's end (30 Sep 2026)"] * 3
    assert list(plan.evaluation_frame(table)["Actual"])[0] == "—", "without the as-of dates, a plain dash"


@needs_demo
def test_a_target_with_no_data_yet_says_why(app: Callable[..., AppTest]) -> None:
    at = open_targets(app())
    ahead = (b"kpi,grain,period_start,target,owner,note\nmrr,quarter,2027-01-01,190000,CPO,\n"
             b"dau,month,2027-01-01,300,,\n")
    ok(at.file_uploader(key="targets_upload").set_value(("ahead.csv", ahead, "text/csv")).run())
    table = evaluation(at)
    actual = dict(zip(table["KPI"] + " " + table["Period"], table["Actual"], strict=True))
    assert actual["MRR Q1 2027"] == "— no revenue data after 22 Nov 2026"
    assert actual["DAU Jan 2027"] == "— no events after 22 Nov 2026"


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
    shown = editor(at).value
    assert set(shown.loc[shown["kpi"] == "Logo churn rate", "target"]) == {"2%"}, "a percentage as a percentage"
    row = next(i for i, r in enumerate(shown.itertuples()) if r.kpi == "MRR" and r.period == "Q4 2026")
    assert shown.loc[row, "target"] == "168,000"
    at.session_state[key] = {"edited_rows": {row: {"target": "180,000", "note": "Raised"}}, "added_rows": [],
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
        undo(store, int(last))
    targets = in_db(db_path)
    assert targets.loc[(targets["kpi"] == "mrr") & (targets["period_start"] == date(2026, 10, 1)),
                       "target"].iloc[0] == 168000.0


def add_rows(at: AppTest, *rows: dict[str, str]) -> AppTest:
    at.session_state[editor(at).key] = {"edited_rows": {}, "deleted_rows": [], "added_rows": list(rows)}
    return at


@needs_demo
@pytest.mark.parametrize(("row", "message"), [
    ({"kpi": "MRR", "grain": "month", "period": "Q1 2027", "target": "1"},
     "Row 17 (MRR, month, Q1 2027): Q1 2027 is not a month; choose a month, or the grain quarter. Nothing was "
     "saved."),
    ({"kpi": "MRR", "target": "200000"}, "Row 17: choose a grain and a period. Nothing was saved."),
])
def test_a_bad_edit_names_the_row_and_saves_nothing(app: Callable[..., AppTest], db_path: Path,
                                                    row: dict[str, str], message: str) -> None:
    at = open_targets(app())
    before = in_db(db_path)
    ok(add_rows(at, row).button(key="save_targets").click().run())
    assert message in [unescape(e) for e in texts(at.error)], texts(at.error) + texts(at.info)
    pd.testing.assert_frame_equal(in_db(db_path), before)


@needs_demo
def test_a_target_far_from_recent_values_is_saved_once_confirmed(app: Callable[..., AppTest],
                                                                  db_path: Path) -> None:
    at = open_targets(app())
    before = in_db(db_path)
    ok(add_rows(at, {"kpi": "MRR", "grain": "quarter", "period": "Q1 2027", "target": "200"})
       .button(key="save_targets").click().run())
    (warning,) = [unescape(w) for w in texts(at.warning) if "is far from" in w]
    # the demo company's MRR is tens of thousands of dollars a quarter: $200 is a slip, not a plan
    assert warning.startswith("Row 17 (MRR, Q1 2027): $200 is far from its last complete quarters ($"), warning
    assert warning.endswith("Save anyway, or correct the target in the table.")
    pd.testing.assert_frame_equal(in_db(db_path), before)

    ok(at.button(key="save_targets_anyway").click().run())
    assert any(t.startswith("Saved 1 target.") for t in texts(at.success)), texts(at.success) + texts(at.error)
    targets = in_db(db_path)
    assert targets.loc[(targets["kpi"] == "mrr") & (targets["period_start"] == date(2027, 1, 1)),
                       "target"].tolist() == [200.0]

    at = open_targets(app())  # a value near the recent ones is saved at once
    ok(add_rows(at, {"kpi": "Logo churn rate", "grain": "month", "period": "Dec 2026", "target": "1.8%"})
       .button(key="save_targets").click().run())
    assert not [w for w in texts(at.warning) if "is far from" in w]
    targets = in_db(db_path)
    assert targets.loc[(targets["kpi"] == "logo_churn_rate") & (targets["period_start"] == date(2026, 12, 1)),
                       "target"].tolist() == [0.018]


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
    at = ok(app({"grain": "month"}).switch_page("app_pages/revenue.py").run())
    mrr = _traces(at, "MRR")
    assert mrr["target"]["line"]["dash"] == "dash"
    # Q3 and Q4 2026 targets only; the chart runs on to December, the end of Q4, where the target is $168k
    assert mrr["target"]["y"][0] is None and mrr["target"]["x"][-1].startswith("2026-12-01")
    assert mrr["target"]["y"][-1] == 168000.0
    assert "MRR (projected)" in mrr and mrr["MRR (projected ahead)"]["x"][-1].startswith("2026-12-01")

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
