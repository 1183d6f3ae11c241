"""The CPO KPI dashboard: ``streamlit run dashboard.py`` (or ``make run``).

The entry file is the frame around every page: page config, the one database per process, the demo company
on first start and its banner, and the navigation. Pages live in ``app_pages/`` (not ``pages/``, which
Streamlit treats as its legacy auto-discovered navigation; see docs/ARCHITECTURE).
"""

from __future__ import annotations

import streamlit as st

from app_pages import components

st.set_page_config(page_title="CPO KPI dashboard", page_icon=":material/monitoring:", layout="wide")

try:
    store = components.open_store()
except OSError as exc:  # e.g. another program holds the database file
    components.message("error", f"{exc}. Close the other program that uses it, then reload this page.")
    st.stop()
problem = components.offer_demo(store)
if problem:
    components.message("warning", problem)
elif components.has_demo(store):
    components.demo_banner()

page = st.navigation(
    {
        "Overview": [
            st.Page(components.OVERVIEW_PAGE, title="Overview", icon=":material/dashboard:", url_path="",
                    default=True),
        ],
        "Data": [
            st.Page(components.DATA_PAGE, title="Data", icon=":material/database:", url_path="data"),
        ],
    }
)
page.run()
