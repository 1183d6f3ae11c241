"""The demo company on the Data page: what it is loaded next to, and its removal, which asks first.

Removing the demo undoes every import of its files (:func:`app_pages.ui.actions.remove_demo`, editors only,
checked there); the button only asks, and a second, explicit "Yes" removes. Afterwards the date filters that held
the demo's dates fall back to the remaining data's (:func:`app_pages.ui.filters.fall_back_dates`).
"""

from __future__ import annotations

import streamlit as st

from app_pages.ui import actions, auth, demo, filters
from app_pages.ui.text import Level
from kpis.store.db import Store

#: Session key: the visitor pressed "Remove the demo company" and is being asked to confirm.
ASKED = "demo_removal_asked"
QUESTION = ("Remove the demo company? Every import of its files is undone (the database is backed up first); "
            "your own imports stay, and the pages then show your data only.")


def _confirm(store: Store) -> list[tuple[Level, str]] | None:
    """The question and its two answers; the removal's messages once "Yes" is pressed."""
    st.warning(QUESTION, icon=":material/help:")
    yes, no, _ = st.columns([1, 1, 2])
    if yes.button("Yes, remove the demo company", type="primary", icon=":material/delete:", key="demo_remove_yes"):
        st.session_state.pop(ASKED, None)
        said = actions.remove_demo(store)
        if said and said[0][0] == "success":
            filters.fall_back_dates()
        return said
    if no.button("Cancel", key="demo_remove_no"):
        st.session_state.pop(ASKED, None)
        st.rerun()
    return None


def section(store: Store, visitor: auth.Visitor) -> list[tuple[Level, str]] | None:
    """The demo company's box: what is loaded next to it and the removal, asked and confirmed; returns the
    removal's messages once it is done (None otherwise)."""
    if not demo.has_demo(store):
        st.session_state.pop(ASKED, None)
        return None
    with st.container(border=True):
        if demo.has_real_data(store):
            st.warning("Your own data is loaded next to the demo company: remove the demo so that the numbers are "
                       "yours alone.", icon=":material/warning:")
        else:
            st.write("The demo company is loaded so that every page has something to show. Remove it when you "
                     "import your own data.")
        if auth.read_only_note("Removing the demo company", visitor):
            return None
        if st.session_state.get(ASKED):
            return _confirm(store)
        if st.button("Remove the demo company", icon=":material/delete:", key="demo_remove"):
            st.session_state[ASKED] = True
            st.rerun()
    return None
