"""The parts the pages are built from, one job per module; a part never imports a page or a page's section.

From the bottom up: :mod:`~app_pages.ui.text` (escaping, messages), :mod:`~app_pages.ui.keys` (page files and URL
keys), :mod:`~app_pages.ui.format` (numbers in the reporting currency), :mod:`~app_pages.ui.series` (KPI tables as
series), :mod:`~app_pages.ui.cache` (the store and the caches), :mod:`~app_pages.ui.return_link` and
:mod:`~app_pages.ui.auth` (who is looking), :mod:`~app_pages.ui.actions` (every write, role-checked),
:mod:`~app_pages.ui.url_state` and :mod:`~app_pages.ui.filters` (the state in the URL), then the drawing parts:
:mod:`~app_pages.ui.tables`, :mod:`~app_pages.ui.charts`, :mod:`~app_pages.ui.cards`, :mod:`~app_pages.ui.plan`,
:mod:`~app_pages.ui.demo` and :mod:`~app_pages.ui.scaffold`. :mod:`~app_pages.ui.upload_guard` guards Streamlit's
upload endpoint for the whole server.
"""
