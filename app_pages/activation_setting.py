"""The Data page's choice of the activation event and window (settings ``activation_event`` and
``activation_window_days``), behind the Engagement page's activation rate.

A plain function built from :mod:`app_pages.ui` parts; it returns the message of a change the user made (None when
nothing changed), for the page to show after its rerun. The write checks the role itself and goes through the same
checks as ``python -m kpis settings`` (:func:`kpis.store.settings.set_activation`).
"""

from __future__ import annotations

import streamlit as st

from app_pages.ui import actions, auth, cache
from app_pages.ui.text import Level, plain
from kpis.metrics.activation import event_names
from kpis.store import settings
from kpis.store.db import Store

Messages = list[tuple[Level, str]]
#: The choice that leaves the activation event unset.
UNSET = ""


def section(store: Store, visitor: auth.Visitor) -> Messages | None:
    """The activation event (one of the events imported, the most frequent first) and the window in days."""
    names = cache.cached(store, event_names)
    if not names:
        return None
    current, window = settings.activation_event(store), settings.activation_window_days(store)
    st.subheader("Activation")
    st.caption("The activation rate on the Engagement page counts the new users who did the activation event within "
               "their first days. Pick the event most new users do early and whose doers keep coming back more than "
               "the others (creating a first report, inviting a teammate), rarely a page view.")
    if auth.read_only_note("Setting the activation event", visitor):
        shown = f"{current} within {window} days" if current else "not set"
        st.caption(plain(f"Activation event: {shown}."))
        return None
    options = [UNSET, *dict.fromkeys([*([current] if current else []), *names])]
    with st.form("activation"):
        event = st.selectbox("Activation event", options, index=options.index(current or UNSET),
                             format_func=lambda name: name or "(not set)")
        days = st.number_input("Window in days (the first active day included)", min_value=1,
                               max_value=settings.MAX_ACTIVATION_WINDOW, value=window, step=1)
        if st.form_submit_button("Save", icon=":material/save:") and ((event or None), int(days)) != (current, window):
            return actions.save_activation(store, event or UNSET, int(days), names)
    return None
