"""Review: the business review of the last complete week or month at the filters' grain (what moved, why, and
against which target), to read here or download as one HTML file; and the notes on dates that charts and reviews
show."""

from __future__ import annotations

import streamlit as st

from app_pages import notes, review_view
from app_pages.ui import cache, filters, scaffold
from app_pages.ui.text import plain
from kpis.core.errors import DataError, InputError
from kpis.core.registry import REVIEW_GRAINS
from kpis.review.build import build_review

store = cache.open_store()
chosen = filters.current()
st.title("Review")
if chosen is None:
    scaffold.nothing_loaded()
    st.stop()

if chosen.grain not in REVIEW_GRAINS:
    st.info("The review covers a week or a month only: switch the grain to week or month in the sidebar.",
            icon=":material/rate_review:")
else:
    try:
        review = cache.computed(store, build_review, chosen.as_of_chosen, chosen.grain, chosen.segment)
    except (DataError, InputError) as exc:
        scaffold.kpi_error(exc)
    else:
        st.caption(plain(
            f"The last complete {chosen.grain}, compared with the one before; the downloads below hold the same "
            "numbers."))
        review_view.show(review)

st.subheader("Notes on dates", divider="gray")
notes.section(store, default_day=chosen.end)
