"""Targets: actuals against the plan (attainment, status; projected while a period runs), the targets in force as
an editable table, and targets CSV import and export.

Viewers get the table read-only and the export; saving and importing check the role again where they write
(:func:`app_pages.components.import_targets`).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages import auth, components, filters, plan
from app_pages import format as fmt
from kpis import targets
from kpis.registry import KPIS

FLASH = "targets_page_messages"
EDITOR_GENERATION = "targets_editor_generation"
UPLOADED = "targets_uploaded"
#: How the editor's saved changes are named in the import history (they are imported like a targets file).
EDITS_NAME = "Changes on the Targets page"

store = components.open_store()
visitor = auth.visitor()
chosen = filters.current()
st.title("Targets")
components.messages(st.session_state.pop(FLASH, []))

in_force = components.cached(store, targets.load_targets)

# -- evaluation ----------------------------------------------------------------------------------------------------
if in_force.empty:
    st.info("No targets yet. Add rows to the table below, or import a targets CSV "
            "(kpi,grain,period_start,target,owner,note).", icon=":material/flag:")
elif chosen is None:
    components.nothing_loaded()
else:
    as_of = None if chosen.end >= chosen.last_day else chosen.end
    table = components.computed(store, targets.evaluate, as_of=as_of)
    st.caption(components.plain(
        "Attainment is actual / target (target / actual where lower is better): on track from 100%, at risk from "
        "90%, off track below. A period still running is judged on its projected end (pace), marked projected. "
        + (f"As of {fmt.day(chosen.end)} (the date range's end). " if as_of else "")
        + ("Targets are the company's: they are compared with all customers, whatever the segment filter."
           if chosen.segment else "")))
    shown = plan.evaluation_frame(table)
    st.dataframe(plan.styled(shown), hide_index=True, width="stretch", height="content",
                 column_config={"KPI": st.column_config.TextColumn(width=142),
                                "Period": st.column_config.TextColumn(width=68),
                                "Target": st.column_config.TextColumn(width=62),
                                "Actual": st.column_config.TextColumn(width=95),
                                "Projected": st.column_config.TextColumn(width=118),
                                "Attainment": st.column_config.TextColumn(width=78),
                                "Status": st.column_config.TextColumn(width=128),
                                "Owner": st.column_config.TextColumn(width=138),
                                "Note": st.column_config.TextColumn()})

# -- the editor ----------------------------------------------------------------------------------------------------
def editor(original: pd.DataFrame) -> None:
    """The editable table and its Save button (editors)."""
    st.caption("Change a target, its owner or its note, or add a row; Save imports the changed rows as a targets "
               "file, so that the change is listed (and can be undone) on the Data page. Ratios are fractions (2% is "
               "0.02).")
    generation = st.session_state.setdefault(EDITOR_GENERATION, 0)
    edited = st.data_editor(
        original, key=f"targets_editor_{generation}", num_rows="add", hide_index=True, width="stretch",
        placeholder="", column_config=COLUMNS)
    if st.button("Save changes", icon=":material/save:", key="save_targets"):
        rows, problem = plan.check_rows(original, edited)
        if problem:
            components.message("error", problem)
        elif rows.empty:
            components.message("info", "Nothing changed: there is nothing to save.")
        else:
            level, text = components.import_targets(store, EDITS_NAME, plan.targets_csv(rows).encode("utf-8"))
            if level == "error":
                components.message("error", text + " Nothing was saved.")
            else:
                st.session_state[EDITOR_GENERATION] = generation + 1
                saved = (f"Saved {len(rows)} target{'s' if len(rows) > 1 else ''}. The Data page lists the change "
                         f"as “{EDITS_NAME}”, where it can be undone.")
                st.session_state[FLASH] = [(level, saved if level == "success" else text)]
                st.rerun()


def importer() -> None:
    """The targets CSV uploader (editors)."""
    upload = st.file_uploader("A targets CSV: kpi,grain,period_start,target,owner,note", type=["csv"],
                              key="targets_upload",
                              help="A newer file replaces the targets it restates (same KPI, grain and period); "
                                   "undo it on the Data page to restore the earlier ones.")
    if upload is not None and st.session_state.get(UPLOADED) != upload.file_id:
        st.session_state[UPLOADED] = upload.file_id
        level, text = components.import_targets(store, upload.name, upload)
        if level == "error":
            components.message("error", text)
        else:
            st.session_state[EDITOR_GENERATION] = st.session_state.get(EDITOR_GENERATION, 0) + 1
            st.session_state[FLASH] = [(level, text)]
            st.rerun()


COLUMNS = {
    "kpi": st.column_config.SelectboxColumn("KPI", options=list(KPIS), required=True, width=150),
    "grain": st.column_config.SelectboxColumn("Grain", options=list(targets.TARGET_GRAINS), required=True,
                                              width=90),
    "period_start": st.column_config.DateColumn("Period start", format="YYYY-MM-DD", required=True, width=110),
    "target": st.column_config.NumberColumn("Target", required=True, width=110, format="%.6g"),
    "owner": st.column_config.TextColumn("Owner", width=170),
    "note": st.column_config.TextColumn("Note", width="large"),
}

st.subheader("Edit targets" if visitor.can_edit else "Targets in force")
original = plan.editable(in_force)
if auth.read_only_note("Changing targets", visitor):
    st.dataframe(original, hide_index=True, width="stretch", column_config=COLUMNS)
else:
    editor(original)

# -- import and export ---------------------------------------------------------------------------------------------
left, right = st.columns(2)
with left:
    st.subheader("Import a targets CSV")
    if not auth.read_only_note("Importing targets", visitor):
        importer()
with right:
    st.subheader("Export")
    st.download_button("Download the targets in force (CSV)", plan.export_csv(in_force), file_name="targets.csv",
                       mime="text/csv", icon=":material/download:", disabled=in_force.empty, key="export_targets")
    st.caption("The same columns as the import. A text cell that a spreadsheet would run as a formula (it starts "
               "with = + - @) gets a leading ' so that it stays text.")
