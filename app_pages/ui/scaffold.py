"""What every KPI page starts with: its title, the checked filters, the data it shows fetched through the cache,
the as-of line, and the messages when there is nothing to show (the page then stops)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd
import streamlit as st

from app_pages.ui import cache, filters
from app_pages.ui.filters import Filters
from app_pages.ui.keys import DATA_PAGE
from app_pages.ui.series import shown_from
from app_pages.ui.text import message, plain
from kpis.core.errors import DataError, InputError
from kpis.metrics import engine
from kpis.metrics.engagement import engagement_as_of
from kpis.metrics.reporting import LastComplete, last_complete_period
from kpis.metrics.revenue import revenue_as_of
from kpis.store.db import Store


def nothing_loaded() -> None:
    """What an empty database says, with the way to the Data page."""
    st.info("Nothing is loaded yet. Import your exports (Stripe, PostHog, Amplitude, ...) to see your numbers.",
            icon=":material/inbox:")
    st.page_link(DATA_PAGE, label="Import files on the Data page", icon=":material/upload_file:")


def kpi_error(exc: Exception) -> None:
    """A KPI that cannot be computed from the stored data (e.g. mixed currencies): the reason, not a traceback."""
    message("warning", str(exc))


def last_complete(store: Store, chosen: Filters, grain: str | None = None) -> LastComplete | None:
    """The last complete period at the filters' grain (or ``grain``) by the one rule of :mod:`kpis.metrics.reporting`:
    it ends on or before the date range's end when that was moved, else the earlier source's as-of date. None
    without data."""
    return cache.computed(store, last_complete_period, grain or chosen.grain, end=chosen.as_of_chosen)


def as_of_line(period: LastComplete | None) -> None:
    """Where each source ends and which period the page's headlines show, in one caption; with Spark, also which
    engine computed the numbers and from which lake version."""
    store = cache.open_store()
    if cache.on_spark(store):
        st.caption(plain(f"Computed by {store.describe()}."))
    if period is None:
        return
    st.caption(plain(period.statement()),
               help="Each source's last day with data. Headlines, targets, anomalies and the review speak of the "
                    "last period complete in every source (or by the date range's end, when moved); a chart runs "
                    "to its own source's last day, and the period holding it is partial.")


def revenue_for(store: Store, chosen: Filters) -> tuple[pd.DataFrame | None, date | None]:
    """Every revenue KPI per period for the chosen filters over the whole history (None with a message when
    there is nothing to show), and the revenue data's as-of date."""
    as_of = cache.cached(store, revenue_as_of)
    if as_of is None:
        st.info("No subscriptions are loaded yet: import a Stripe subscriptions export on the Data page.",
                icon=":material/inbox:")
        return None, None
    try:
        table = cache.computed(store, engine.revenue_table, chosen.grain, end=chosen.end_for(as_of),
                               segment=chosen.segment)
    except (DataError, InputError) as exc:
        kpi_error(exc)
        return None, as_of
    if table.empty:
        st.info("No paying customers in this segment and date range.", icon=":material/inbox:")
        return None, as_of
    return table, as_of


@dataclass(frozen=True)
class RevenuePage:
    """What every revenue page starts from: the store, the filters, the KPI table over the whole history, the
    periods shown (from the filters' start), the revenue data's as-of date and cut-off day, and the last
    complete period (:func:`last_complete`)."""

    store: Store
    chosen: Filters
    table: pd.DataFrame
    shown: pd.DataFrame
    as_of: date
    cut: date
    period: LastComplete | None = None

    @property
    def headline(self) -> date | None:
        """The first day of the period the headlines show."""
        return self.period.start if self.period else None

    @property
    def judged_on(self) -> date | None:
        """The reporting as-of date, on which anomalies and targets are judged."""
        return self.period.as_of if self.period else None


def _page_start(title: str) -> tuple[Store, Filters]:
    """Title a KPI page; the store and the checked filters, or the page stops with a message when nothing is
    loaded."""
    store = cache.open_store()
    chosen = filters.current()
    st.title(title)
    if chosen is None:
        nothing_loaded()
        st.stop()
    return store, chosen


def revenue_page(title: str) -> RevenuePage:
    """Title a revenue page and load its data; stops the page with a message when there is nothing to show."""
    store, chosen = _page_start(title)
    table, as_of = revenue_for(store, chosen)
    if table is None or as_of is None:
        st.stop()
    period = last_complete(store, chosen)
    as_of_line(period)
    return RevenuePage(store, chosen, table, shown_from(table, chosen.start, chosen.grain), as_of,
                       chosen.end_for(as_of), period)


def events_page(title: str) -> tuple[Store, Filters, date]:
    """Title a product-events page: the store, the filters and the events' as-of date; stops the page with a
    message when nothing is loaded."""
    store, chosen = _page_start(title)
    as_of = events_as_of(store)
    if as_of is None:
        st.stop()
    as_of_line(last_complete(store, chosen))
    return store, chosen, as_of


def events_as_of(store: Store) -> date | None:
    """The last event day (None when no events are loaded), with a message when there are none."""
    as_of = cache.cached(store, engagement_as_of)
    if as_of is None:
        st.info("No product events are loaded yet: import a PostHog, Amplitude, Mixpanel or GA4 export on the Data "
                "page.", icon=":material/inbox:")
    return as_of


def data_starts(store: Store) -> dict[str, date | None]:
    """The first day with data per source (``revenue``: the first paid day, ``engagement``: the first event
    day), so that a period cut short at the start is not compared with and a KPI warming up
    (:mod:`kpis.metrics.warmup`) is marked."""
    return cache.cached(store, engine.first_days)
