"""The Data page's view of the product events: how many each source brought, which source counts where several
recorded the same activity, and the housekeeping events that should not make anyone active.

Plain functions built from :mod:`app_pages.ui` parts; each returns the messages of a change the user made (None
when nothing changed), for the page to show after its rerun. The writes check the role themselves.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages.ui import actions, auth, cache
from app_pages.ui import format as fmt
from app_pages.ui.text import Level
from kpis.ingest.sources.detect import label_of
from kpis.ops import status
from kpis.store.db import Store
from kpis.store.settings import event_sources

Messages = list[tuple[Level, str]]


def section(store: Store, visitor: auth.Visitor) -> Messages | None:
    """Events per source, the choice of source where they overlap, the housekeeping events; nothing without
    events."""
    table = cache.cached(store, status.events_by_source)
    if table.empty:
        return None
    st.subheader("Product events by source")
    st.caption("Every tool gives its events its own ids, so activity that two tools both recorded is stored twice "
               "and counts twice, unless one of them is chosen to count where they overlap.")
    st.dataframe(_shown(table), hide_index=True, width="content",
                 column_config={"Counted": st.column_config.TextColumn(
                     "Counted", help="Events that count for the product KPIs (DAU, MAU, retention, adoption)")})
    changed = _preference(store, table, visitor) if len(table) > 1 or event_sources(store) else None
    return changed or _housekeeping(store, visitor)


def _shown(table: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "Source": table["label"], "Imports": [fmt.count(n) for n in table["imports"]],
        "Events": [fmt.count(n) for n in table["events"]], "Counted": [fmt.count(n) for n in table["counted"]],
        "Users": [fmt.count(n) for n in table["users"]], "From": [fmt.day(d) for d in table["first_day"]],
        "To": [fmt.day(d) for d in table["last_day"]]})


def _preference(store: Store, table: pd.DataFrame, visitor: auth.Visitor) -> Messages | None:
    """The ``event_sources`` setting: the sources that count where they overlap, first choice first."""
    current = event_sources(store)
    explained = ("**Where sources overlap**: on a day with events from a source picked here, only the first picked "
                 "source with events that day counts for the product KPIs; the other sources' events of that day "
                 "are left out. Nothing picked: every event counts.")
    if auth.read_only_note("Choosing which source counts", visitor):
        st.markdown(explained)
        st.caption("Counts where they overlap: " + (", then ".join(label_of(s) for s in current) or "every source"))
        return None
    options = list(dict.fromkeys([*current, *table["source"]]))
    with st.form("event_sources"):
        st.markdown(explained)
        picked = st.multiselect("Sources that count where they overlap, first choice first", options,
                                default=current, format_func=label_of)
        if st.form_submit_button("Save", icon=":material/save:") and picked != current:
            return [actions.save_event_sources(store, picked)]
    return None


def _housekeeping(store: Store, visitor: auth.Visitor) -> Messages | None:
    """The housekeeping events that make users active, with the offer to stop counting them as activity."""
    found = cache.cached(store, status.housekeeping_events)
    if found.empty:
        return None
    st.markdown("**Events that are no one's activity**")
    st.caption("Your analytics tool sends these about itself or about who a user is. They make users active, so "
               "DAU, MAU and retention count people for them; the feature adoption table leaves them out. The "
               "setting inactive_events, empty unless you change it, lists events that do not make a user active.")
    st.dataframe(pd.DataFrame({"Event": found["name"], "Events": [fmt.count(n) for n in found["events"]]}),
                 hide_index=True, width="content")
    if auth.read_only_note("Changing what counts as activity", visitor):
        return None
    if st.button("Don't count them as activity", icon=":material/person_off:", key="mark_inactive"):
        return [actions.add_inactive_events(store, list(found["event"]))]
    return None
