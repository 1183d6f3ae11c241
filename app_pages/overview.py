"""Overview: what the dashboard has to work with (rows per table, how current each source is)."""

from __future__ import annotations

import streamlit as st

from app_pages import components
from kpis import status

store = components.open_store()
summary = components.cached(store, status.loaded_summary)

st.title("Overview")

if int(summary["rows"].sum()) == 0:
    components.nothing_loaded()
else:
    components.loaded_metrics(summary)
    st.subheader("What is loaded")
    components.loaded_table(summary)
    st.page_link(components.DATA_PAGE, label="Import more files or undo an import on the Data page",
                 icon=":material/upload_file:")

st.caption("The KPI pages (revenue, customers, engagement, retention, targets) come next; they will build on "
           "the data shown here.")
