"""Targets: actuals against the plan (attainment, status; projected while a period runs), the targets in force as
an editable table, and targets CSV import and export.

Viewers get the table read-only and the export; saving and importing check the role again where they write
(:func:`app_pages.ui.actions.import_targets`).
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from app_pages.ui import actions, auth, cache, filters, plan, scaffold
from app_pages.ui.text import message, messages, plain
from kpis.core.target_rules import TARGET_GRAINS
from kpis.metrics import engagement, revenue
from kpis.plan import target_editor, targets

FLASH = "targets_page_messages"
EDITOR_GENERATION = "targets_editor_generation"
UPLOADED = "targets_uploaded"
#: The changed rows (as a targets CSV) waiting for "Save anyway": a target far from its KPI's recent values.
PENDING = "targets_pending"
#: How the editor's saved changes are named in the import history (they are imported like a targets file).
EDITS_NAME = "Changes on the Targets page"

store = cache.open_store()
visitor = auth.visitor()
chosen = filters.current()
st.title("Targets")
messages(st.session_state.pop(FLASH, []))

in_force = cache.cached(store, targets.load_targets)

# -- evaluation ----------------------------------------------------------------------------------------------------
if in_force.empty:
    st.info("No targets yet. Add rows to the table below, or import a targets CSV "
            "(kpi,grain,period_start,target,owner,note).", icon=":material/flag:")
elif chosen is None:
    scaffold.nothing_loaded()
else:
    period = scaffold.last_complete(store, chosen, "day")  # judged on the day the headlines end by
    as_of = period.as_of if period is not None and period.chosen else None
    table = cache.computed(store, targets.evaluate, as_of=as_of)
    st.caption(plain(
        "Attainment is actual / target (target / actual where lower is better): on track from 100%, at risk from "
        "90%, off track below. A period still running is judged on its projected end (pace), marked projected. "
        + (period.as_of_statement("targets judged") + " " if period is not None else "")
        + ("Targets are the company's: they are compared with all customers, whatever the segment filter."
           if chosen.segment else "")))
    sources = {"revenue": cache.cached(store, revenue.revenue_as_of),
               "engagement": cache.cached(store, engagement.engagement_as_of)}
    shown = plan.evaluation_frame(table, sources, range_end=as_of)
    st.dataframe(plan.styled(shown), hide_index=True, width="stretch", height="content",
                 column_config={"KPI": st.column_config.TextColumn(width=142),
                                "Period": st.column_config.TextColumn(width=68),
                                "Target": st.column_config.TextColumn(width=62),
                                "Actual": st.column_config.TextColumn(width=210),
                                "Projected": st.column_config.TextColumn(width=118),
                                "Attainment": st.column_config.TextColumn(width=78),
                                "Status": st.column_config.TextColumn(width=128),
                                "Owner": st.column_config.TextColumn(width=138),
                                "Note": st.column_config.TextColumn()})

# -- the editor ----------------------------------------------------------------------------------------------------
def save(rows: pd.DataFrame, generation: int) -> None:
    """Import the checked rows as a targets file; on success a fresh editor shows the targets in force."""
    st.session_state.pop(PENDING, None)
    level, text = actions.import_targets(store, EDITS_NAME, target_editor.edits_csv(rows).encode("utf-8"))
    if level == "error":
        message("error", text + " Nothing was saved.")
        return
    st.session_state[EDITOR_GENERATION] = generation + 1
    saved = (f"Saved {len(rows)} target{'s' if len(rows) > 1 else ''}. The Data page lists the change "
             f"as “{EDITS_NAME}”, where it can be undone.")
    st.session_state[FLASH] = [(level, saved if level == "success" else text)]
    st.rerun()


def editor(original: pd.DataFrame, choices: dict[str, tuple[str, date]]) -> None:
    """The editable table and its Save button (editors); a target far from its KPI's recent values is saved
    only once confirmed."""
    st.caption("Change a target, its owner or its note, or add a row: choose the KPI, the grain and the period, and "
               "write the target (a percentage as a percentage, 2%; money and counts as numbers, 170,000). Save "
               "imports the changed rows as a targets file, so that the change is listed (and can be undone) on the "
               "Data page.")
    generation = st.session_state.setdefault(EDITOR_GENERATION, 0)
    edited = st.data_editor(
        original, key=f"targets_editor_{generation}", num_rows="add", hide_index=True, width="stretch",
        placeholder="", column_config=columns(choices))
    rows, problem = target_editor.check_rows(original, edited, choices)
    waiting = st.session_state.get(PENDING)
    if waiting is not None and (problem or rows.empty or target_editor.edits_csv(rows) != waiting):
        st.session_state.pop(PENDING, None)  # the table changed since: Save checks it again
    if st.button("Save changes", icon=":material/save:", key="save_targets"):
        if problem:
            message("error", problem)
        elif rows.empty:
            message("info", "Nothing changed: there is nothing to save.")
        elif plan.far_targets(store, rows):
            st.session_state[PENDING] = target_editor.edits_csv(rows)
        else:
            save(rows, generation)
    if st.session_state.get(PENDING) is not None:
        lines = [*plan.far_targets(store, rows), "Save anyway, or correct the target in the table."]
        st.warning("\n\n".join(plain(line) for line in lines), icon=":material/help:")
        if st.button("Save anyway", icon=":material/save:", key="save_targets_anyway"):
            save(rows, generation)


def importer() -> None:
    """The targets CSV uploader (editors)."""
    upload = st.file_uploader("A targets CSV: kpi,grain,period_start,target,owner,note", type=["csv"],
                              key="targets_upload",
                              help="A newer file replaces the targets it restates (same KPI, grain and period); "
                                   "undo it on the Data page to restore the earlier ones.")
    if upload is not None and st.session_state.get(UPLOADED) != upload.file_id:
        st.session_state[UPLOADED] = upload.file_id
        level, text = actions.import_targets(store, upload.name, upload)
        if level == "error":
            message("error", text)
        else:
            st.session_state[EDITOR_GENERATION] = st.session_state.get(EDITOR_GENERATION, 0) + 1
            st.session_state[FLASH] = [(level, text)]
            st.rerun()


def columns(choices: dict[str, tuple[str, date]]) -> dict[str, object]:
    """The editor's columns: a KPI by its label, a period from the list, the target as text (2%, 170,000).
    None is required, so that an incomplete row reaches the check and is named."""
    return {
        "kpi": st.column_config.SelectboxColumn("KPI", options=list(target_editor.BY_LABEL), width=170),
        "grain": st.column_config.SelectboxColumn("Grain", options=list(TARGET_GRAINS), width=90),
        "period": st.column_config.SelectboxColumn("Period", options=list(choices), width=150,
                                                   help="A quarter, a month, a year or a week, of the grain chosen."),
        "target": st.column_config.TextColumn("Target", width=110,
                                              help="A percentage as a percentage (2%); money and counts as numbers "
                                                   "(170,000)."),
        "owner": st.column_config.TextColumn("Owner", width=170),
        "note": st.column_config.TextColumn("Note", width="large"),
    }


st.subheader("Edit targets" if visitor.can_edit else "Targets in force")
original = target_editor.editable(in_force)
around = chosen.last_day if chosen else max(in_force["period_end"], default=None) or date.today()
choices = target_editor.period_choices(around, zip(in_force["grain"], in_force["period_start"], strict=True))
if auth.read_only_note("Changing targets", visitor):
    st.dataframe(original, hide_index=True, width="stretch", column_config=columns(choices))
else:
    editor(original, choices)

# -- import and export ---------------------------------------------------------------------------------------------
left, right = st.columns(2)
with left:
    st.subheader("Import a targets CSV")
    if not auth.read_only_note("Importing targets", visitor):
        importer()
with right:
    st.subheader("Export")
    st.download_button("Download the targets in force (CSV)", targets.export_csv(in_force), file_name="targets.csv",
                       mime="text/csv", icon=":material/download:", disabled=in_force.empty, key="export_targets")
    st.caption("The same columns as the import. A text cell that a spreadsheet would run as a formula (it starts "
               "with = + - @) gets a leading ' so that it stays text.")
