"""Notes on dates (a launch, a price change, an outage): a small form to add one and the list with remove buttons.

The notes are drawn on every time chart (:func:`app_pages.ui.charts.with_notes`) and listed in the review. A note's
text is only ever shown escaped (:func:`app_pages.ui.text.plain`), never as Markdown or HTML. Adding and
removing are for editors, checked in :func:`add_note` and :func:`remove_note` themselves; viewers see the list.
"""

from __future__ import annotations

from datetime import date

import streamlit as st

from app_pages.ui import actions, auth
from app_pages.ui import format as fmt
from app_pages.ui.text import Level, message, messages, plain
from kpis.plan import annotations
from kpis.store.db import Store

FLASH = "notes_messages"


def _after(outcome: tuple[Level, str]) -> None:
    """Show a refusal or an error here; after a change, rerun with the message."""
    if outcome[0] == "error":
        message(*outcome)
    else:
        st.session_state[FLASH] = [outcome]
        st.rerun()


def section(store: Store, default_day: date | None = None) -> None:
    """The form and the list (for editors; the list alone for viewers); after a change, the page reruns with a
    message."""
    messages(st.session_state.pop(FLASH, []))
    visitor = auth.visitor()
    if not auth.read_only_note("Adding and removing notes", visitor):
        with st.form("add_note", clear_on_submit=True, border=True):
            left, right = st.columns([1, 4], vertical_alignment="bottom")
            day = left.date_input("Date", value=default_day or date.today(), format="YYYY-MM-DD", key="note_day")
            text = right.text_input("Note", max_chars=annotations.MAX_TEXT, key="note_text",
                                    placeholder="Launched AI Insights")
            if st.form_submit_button("Add the note", icon=":material/add:"):
                _after(actions.add_note(store, day, text or ""))

    notes = annotations.all_annotations(store)
    if notes.empty:
        st.caption("No notes yet. They show on every time chart as dotted vertical lines (hover the ▼ for the text).")
        return
    st.caption("Shown on every time chart as dotted vertical lines (hover the ▼ for the text), newest first.")
    for note in notes.iloc[::-1].itertuples(index=False):
        day_column, text_column, button_column = st.columns([1, 6, 1], vertical_alignment="center")
        day_column.markdown(f"**{fmt.day(note.day)}**")
        text_column.markdown(plain(note.text))
        if visitor.can_edit and button_column.button("Remove", key=f"remove_note_{note.annotation_id}",
                                                     icon=":material/delete:", type="tertiary"):
            _after(actions.remove_note(store, int(note.annotation_id)))
