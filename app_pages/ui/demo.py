"""The demo company in the frame of every page: loaded on the first start with an empty database (never again once
removed), and the banner while it is loaded. Its removal is a write (:func:`app_pages.ui.actions.remove_demo`)."""

from __future__ import annotations

import re

import streamlit as st

from app_pages.ui import actions, cache
from app_pages.ui.text import Said, plain
from kpis.ops import demo
from kpis.store.db import Store

#: What someone who may not edit sees on an empty database (loading the demo company is a write).
NO_DATA_YET = "No data is loaded yet: an editor has to import the company's exports on the Data page."


@st.cache_resource(show_spinner="Loading the demo company…")
def _offer_demo(path: str, _store: Store) -> str | None:
    """Offer the demo company once per database and process (:func:`app_pages.ui.actions.offer_demo`); returns a
    problem to show, or None."""
    problems = actions.offer_demo(_store)
    return problems[0][1] if problems else None


def offer_demo(store: Store, can_edit: bool = True) -> Said | None:
    """On the first start with an empty database, load the demo company (never again once removed); returns a
    message to show, or None.

    Loading is a write, so only a visitor who can edit (local mode or an editor) triggers it; anyone else gets
    :data:`NO_DATA_YET` while the database is empty, and nothing is written.
    """
    if not can_edit:
        return ("info", NO_DATA_YET) if store.is_empty() else None
    problem = _offer_demo(str(store.path), store)
    return ("warning", problem) if problem else None


def has_demo(store: Store) -> bool:
    """Whether the demo company is loaded."""
    return cache.cached(store, demo.has_demo)


def has_real_data(store: Store) -> bool:
    """Whether anything other than the demo company is loaded."""
    return cache.cached(store, demo.has_real_data)


def banner(store: Store) -> None:
    """What every page shows while the demo company is loaded, until it is removed: the demo alone (a note), or
    your data and the demo's added together, source by source (a warning: the numbers are neither's)."""
    shown = cache.cached(store, demo.whose)
    text = demo.shown_text(shown)
    if text is None:
        return
    lead = re.match(r"[^,:]+", text)
    body = f"**{plain(lead.group(0))}**{plain(text[lead.end():])}" if lead else plain(text)
    if all(state == demo.DEMO_ONLY for state in shown.values()):
        st.info(body, icon=":material/science:")
    else:
        st.warning(body, icon=":material/science:")
