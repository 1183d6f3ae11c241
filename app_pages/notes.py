"""Notes on dates (a launch, a price change, an outage): a small form to add one and the list with remove buttons.

The notes are drawn on every time chart (:func:`app_pages.charts.with_notes`) and listed in the review. A note's
text is only ever shown escaped (:func:`app_pages.components.plain`), never as Markdown or HTML.
"""

from __future__ import annotations

from datetime import date

import streamlit as st

from app_pages import components
from app_pages import format as fmt
from kpis import annotations
from kpis.errors import InputError
from kpis.store import Store

FLASH = "notes_messages"


def ids(store: Store) -> tuple[int, ...]:
    """The ids of every note: a cache key for what shows notes (adding or removing one changes it)."""
    return tuple(int(i) for i in annotations.all_annotations(store)["annotation_id"])


def section(store: Store, default_day: date | None = None, who: str = "local") -> None:
    """The form and the list; after a change, the page reruns with a message."""
    components.messages(st.session_state.pop(FLASH, []))
    with st.form("add_note", clear_on_submit=True, border=True):
        left, right = st.columns([1, 4], vertical_alignment="bottom")
        day = left.date_input("Date", value=default_day or date.today(), format="YYYY-MM-DD", key="note_day")
        text = right.text_input("Note", max_chars=annotations.MAX_TEXT, key="note_text",
                                placeholder="Launched AI Insights")
        if st.form_submit_button("Add the note", icon=":material/add:"):
            try:
                annotations.add(store, day, text or "", who=who)
            except InputError as exc:
                components.message("error", str(exc))
            else:
                st.session_state[FLASH] = [("success", f"Added the note on {fmt.day(day)}.")]
                st.rerun()

    notes = annotations.all_annotations(store)
    if notes.empty:
        st.caption("No notes yet. They show on every time chart as dotted vertical lines (hover the ▼ for the text).")
        return
    st.caption("Shown on every time chart as dotted vertical lines (hover the ▼ for the text), newest first.")
    for note in notes.iloc[::-1].itertuples(index=False):
        day_column, text_column, button_column = st.columns([1, 6, 1], vertical_alignment="center")
        day_column.markdown(f"**{fmt.day(note.day)}**")
        text_column.markdown(components.plain(note.text))
        if button_column.button("Remove", key=f"remove_note_{note.annotation_id}", icon=":material/delete:",
                                type="tertiary"):
            try:
                done = annotations.remove(store, int(note.annotation_id))
            except InputError as exc:
                components.message("error", str(exc))
            else:
                st.session_state[FLASH] = [("success", done[:1].upper() + done[1:] + ".")]
                st.rerun()
