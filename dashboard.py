"""The CPO KPI dashboard: ``streamlit run dashboard.py`` (or ``make run``).

The entry file is the frame around every page: page config, who is signed in (nothing else runs for someone
who may not see the dashboard; see :mod:`app_pages.ui.auth`), the one database per process, the demo company
on first start and its banner, the navigation (and, after sign-in, the way back to the link the visitor
opened: :mod:`app_pages.ui.return_link`), and the shared filters in the sidebar (grain, date range,
compare-to, segment; bound to the URL, see :mod:`app_pages.ui.filters`). Pages live in ``app_pages/`` (not
``pages/``, which Streamlit treats as its legacy auto-discovered navigation; see docs/architecture.md).
"""

from __future__ import annotations

import streamlit as st

from app_pages.ui import auth, cache, demo, filters, keys, return_link, upload_guard
from app_pages.ui import format as fmt
from app_pages.ui.text import message
from kpis.core.errors import DataError, InputError
from kpis.metrics.revenue import reporting_currency

st.set_page_config(page_title="CPO KPI dashboard", page_icon=":material/monitoring:", layout="wide")
SECTIONS = {
    "Business": [
        st.Page(keys.OVERVIEW_PAGE, title="Overview", icon=":material/dashboard:", url_path="", default=True),
        st.Page(keys.REVENUE_PAGE, title="Revenue", icon=":material/payments:", url_path="revenue"),
        st.Page(keys.CUSTOMERS_PAGE, title="Customers", icon=":material/groups:", url_path="customers"),
        st.Page(keys.ACCOUNTS_PAGE, title="Accounts", icon=":material/apartment:", url_path="accounts"),
    ],
    "Product": [
        st.Page(keys.ENGAGEMENT_PAGE, title="Engagement", icon=":material/touch_app:", url_path="engagement"),
        st.Page(keys.RETENTION_PAGE, title="Retention", icon=":material/event_repeat:", url_path="retention"),
    ],
    "Plan": [
        st.Page(keys.TARGETS_PAGE, title="Targets", icon=":material/flag:", url_path="targets"),
        st.Page(keys.REVIEW_PAGE, title="Review", icon=":material/rate_review:", url_path="review"),
    ],
    "Data": [
        st.Page(keys.DATA_PAGE, title="Data", icon=":material/database:", url_path="data"),
    ],
}
PAGES = {p.url_path: p for section in SECTIONS.values() for p in section}
upload_guard.admit(auth.visitor().can_edit)  # Streamlit keeps files uploaded by anyone else for nobody
visitor = auth.gate(return_paths=PAGES)  # before anything opens the database

try:
    cache.open_local()
except OSError as exc:  # e.g. another program holds the database file
    message("error", f"{exc}. Close the other program that uses it, then reload this page.")
    st.stop()
try:
    store = cache.open_store()  # the local store, or Spark over the lake (KPI_ENGINE)
except (OSError, InputError, DataError) as exc:  # a wrong KPI_* setting, Spark unreachable, no lake there
    message("error", f"The KPIs cannot be computed: {exc}. Fix the setting or start Spark, then reload this page.")
    st.stop()
if not cache.on_spark(store):  # with Spark, the KPIs come from the lake: no demo is offered or announced there
    problem = demo.offer_demo(store, can_edit=visitor.can_edit)  # loading the demo is a write: editors only
    if problem:
        message(*problem)
    elif demo.has_demo(store):
        demo.banner(store)  # the demo alone, or your data and the demo's added together

fmt.use_currency(cache.cached(store, reporting_currency))  # every page writes amounts in it
page = st.navigation(SECTIONS)
if visitor.signed_in:
    return_link.bring_back(PAGES, page.url_path)  # sign-in ends on the home page: back to the link they opened
filters.sidebar(store, page.url_path)
auth.sidebar(visitor)
page.run()
