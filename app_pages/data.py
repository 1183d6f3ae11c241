"""Data: import exports, see what was imported, undo an import, remove the demo company.

Viewers see the history only; the functions that write check the role again (:func:`app_pages.ui.auth.refusal`).
"""

from __future__ import annotations

import streamlit as st

from app_pages import activation_setting, demo_company, event_sources, link_coverage, upload
from app_pages.ui import actions, auth, cache, tables, upload_guard
from app_pages.ui.text import Level, messages
from kpis.ops import status

FLASH = "data_page_messages"
UPLOADER_GENERATION = "data_page_uploader"


def _flash_and_rerun(items: list[tuple[Level, str]]) -> None:
    """Keep ``items`` for the next run, then rerun so the banner, tables and uploader show the new state."""
    st.session_state[FLASH] = items
    st.rerun()


store = cache.open_local()  # imports, the history and undo are the local database's, whatever computes the KPIs
visitor = auth.visitor()

st.title("Data")
st.caption("Import the exports your tools produce (Stripe, PostHog, Amplitude, Mixpanel, GA4, or this dashboard's "
           "own CSV formats). The format is recognised from the content; importing the same file twice changes "
           "nothing, and every import can be undone.")

messages(st.session_state.pop(FLASH, []))
if cache.on_spark(cache.open_store()):
    st.info("The KPIs are computed by Spark from the lake. Files imported here are stored in the local database and "
            "count once exported to the lake (`python -m kpis export DIR --replace`).", icon=":material/info:")

# -- the demo company ------------------------------------------------------------------------------------------------
removed = demo_company.section(store, visitor)  # asks before it removes
if removed:
    _flash_and_rerun(removed)

# -- import ------------------------------------------------------------------------------------------------------------
st.subheader("Import files")
generation = st.session_state.setdefault(UPLOADER_GENERATION, 0)
uploads = None if auth.read_only_note("Importing files", visitor) else st.file_uploader(
    "Export files: CSV, TSV, JSON or JSON lines, optionally gzipped",
    accept_multiple_files=True,
    key=f"uploads-{generation}",
    help="Pick one file or many: each is read and shown below first (what it was recognised as, its rows, its "
         "first lines); nothing is stored until you press Import.",
)
if uploads:
    found = upload.previews(store, uploads)
    for picked, preview in zip(uploads, found, strict=True):
        upload.show_preview(preview, picked.file_id)
    ready = sum(p.ok for p in found)
    skipped = len(found) - ready
    if ready == 0:
        st.caption("Nothing to import: no file was recognised as an export we read.")
    else:
        if skipped:
            st.caption(f"{skipped} file{' is' if skipped == 1 else 's are'} not recognised and will be skipped.")
        if upload.import_button(ready):
            outcomes = upload.import_all(store, uploads, found)
            st.session_state[UPLOADER_GENERATION] = generation + 1  # a fresh, empty uploader
            upload_guard.release(u.file_id for u in uploads)  # the server no longer holds the imported files
            _flash_and_rerun(outcomes)

# -- events per source ------------------------------------------------------------------------------------------------
changed = event_sources.section(store, visitor)
if changed:
    _flash_and_rerun(changed)

# -- users linked to customers ---------------------------------------------------------------------------------------
link_coverage.section(store)

# -- history and undo -------------------------------------------------------------------------------------------------
st.subheader("Import history")
tables.history_table(cache.cached(store, status.import_history))

live = cache.cached(store, status.live_imports)
if live and not auth.read_only_note("Undoing an import", visitor):
    labels = dict(live)
    with st.form("undo"):
        st.write("**Undo an import**: removes exactly what it stored; versions it had replaced become current again.")
        chosen = st.selectbox("Import to undo", options=list(labels), format_func=labels.__getitem__)
        if st.form_submit_button("Undo import", icon=":material/undo:") and chosen is not None:
            _flash_and_rerun([actions.undo(store, int(chosen))])

# -- the activation event ---------------------------------------------------------------------------------------------
changed = activation_setting.section(store, visitor)
if changed:
    _flash_and_rerun(changed)

# -- backups ----------------------------------------------------------------------------------------------------------
st.subheader("Backups")
st.caption("Every undo and every removal of the demo company first backs the database up by itself. A backup made "
           "here is kept until you delete it; restore one with `python -m kpis restore FILE` while the dashboard "
           "is stopped (docs/operations.md).")
if not auth.read_only_note("Backing up the database", visitor) and st.button("Back up now", icon=":material/save:"):
    _flash_and_rerun([actions.back_up(store)])
