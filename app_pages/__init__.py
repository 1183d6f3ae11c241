"""The dashboard's pages (run by ``st.navigation`` in dashboard.py, one script per page: overview, revenue,
customers, engagement, retention, targets, review, data), the sections a page draws (demo_company, drilldown,
event_sources, notes, review_view, upload) and, in :mod:`app_pages.ui`, the parts both are built from.

Imports go one way: a page imports sections and parts, a section imports parts, a part imports other parts only
(``tests/app/test_layers.py``)."""
