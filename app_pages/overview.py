"""Overview: the scorecard a CPO opens first: the headline KPIs of the last complete period, how they moved,
their trend, and the period still running; with both subscriptions and events, the MRR at risk beside them."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from app_pages.ui import cache, cards, filters, keys, plan, scaffold, tables
from app_pages.ui import format as fmt
from app_pages.ui.text import plain
from kpis.core.calendar import cohort_grain, previous_start
from kpis.core.errors import DataError, InputError
from kpis.core.registry import ACCOUNT_HEADLINE, HEADLINE, KPIS, RETENTION_1, Kpi
from kpis.metrics import engagement, engine, retention, revenue
from kpis.metrics.series import series_of
from kpis.ops import status
from kpis.plan import scorecard, targets

#: The headline KPIs (:data:`kpis.core.registry.HEADLINE`) of each source, in its order: a tile each.
REVENUE_CARDS = tuple(k for k in HEADLINE if KPIS[k].source == "revenue")
ENGAGEMENT_CARDS = tuple(k for k in HEADLINE if KPIS[k].source == "engagement")
#: Usage x revenue (:data:`kpis.core.registry.ACCOUNT_HEADLINE`): a tile each after the product's.
ACCOUNT_CARDS = ACCOUNT_HEADLINE

store = cache.open_store()
summary = cache.cached(store, status.loaded_summary)
chosen = filters.current()

st.title("Overview")

if int(summary["rows"].sum()) == 0 or chosen is None:
    scaffold.nothing_loaded()
    st.stop()

grain, against = chosen.grain, chosen.compare
revenue_as_of = cache.cached(store, revenue.revenue_as_of)
events_as_of = cache.cached(store, engagement.engagement_as_of)
period = scaffold.last_complete(store, chosen)
headline = period.start if period else None
judged_on = period.as_of if period else None  # anomalies and targets are judged on the headlines' as-of date
scaffold.as_of_line(period)
st.caption(plain(
    f"Each tile shows the last complete {grain} and its change against the {chosen.compare_label}; a period "
    f"still running is listed below it as partial. Sparklines from {fmt.day(chosen.start)}."))

tiles: list[tuple[Kpi, pd.DataFrame, str]] = []
flags: dict[str, dict[str, object]] = {}
periods: dict[str, date] = {k: headline for k in (*REVENUE_CARDS, *ENGAGEMENT_CARDS) if headline is not None}
if revenue_as_of is not None:
    try:
        table = cache.computed(store, engine.revenue_table, grain, end=chosen.end_for(revenue_as_of),
                               segment=chosen.segment)
    except (DataError, InputError) as exc:
        scaffold.kpi_error(exc)
    else:
        tiles += [(KPIS[k], series_of(table, k), grain) for k in REVENUE_CARDS]
        flags |= plan.anomaly_flags(store, grain, judged_on, chosen.segment, REVENUE_CARDS)
if events_as_of is not None:
    events_end = chosen.end_for(events_as_of)
    table = cache.computed(store, engine.engagement_table, grain, end=events_end, segment=chosen.segment,
                           kpis=ENGAGEMENT_CARDS)
    tiles += [(KPIS[k], series_of(table, k), grain) for k in ENGAGEMENT_CARDS]
    flags |= plan.anomaly_flags(store, grain, judged_on, chosen.segment, ENGAGEMENT_CARDS)
    cohorts_by = cohort_grain(grain)
    cells = cache.computed(store, retention.cohorts, cohorts_by, retention.DEFAULT_MODE, end=events_end,
                           segment=chosen.segment)
    tiles.append((RETENTION_1, scorecard.first_period_retention(cells), cohorts_by))
    cohort_period = scaffold.last_complete(store, chosen, cohorts_by)
    if cohort_period is not None:  # the cohort whose period 1 is the last complete one
        periods[RETENTION_1.id] = previous_start(cohort_period.start, cohorts_by)
    if revenue_as_of is not None and ACCOUNT_CARDS:
        try:
            table = cache.computed(store, engine.table, "accounts", grain, end=events_end, segment=chosen.segment)
        except (DataError, InputError):
            pass  # the revenue tiles above already say what is wrong with the subscriptions
        else:
            tiles += [(KPIS[k], series_of(table, k), grain) for k in ACCOUNT_CARDS]
            flags |= plan.anomaly_flags(store, grain, judged_on, chosen.segment, ACCOUNT_CARDS)
            periods |= {k: headline for k in ACCOUNT_CARDS if headline is not None}

starts = scaffold.data_starts(store)
# targets are the company's: shown on the tiles only without a segment filter
on_tiles: dict[str, dict[str, object]] = {}
if chosen.segment is None:
    evaluation = cache.computed(store, targets.evaluate, as_of=judged_on if period and period.chosen else None)
    on_tiles = plan.tile_targets(evaluation, {"revenue": judged_on if revenue_as_of else None,
                                              "engagement": judged_on if events_as_of else None,
                                              "accounts": judged_on if revenue_as_of and events_as_of else None})
if not tiles:
    scaffold.nothing_loaded()
else:
    st.subheader("Business" if revenue_as_of is not None else "Product")
    business = [c for c in tiles if c[0].source == "revenue"]
    product = [c for c in tiles if c[0].source in ("engagement", "accounts")]
    if business:
        cards.kpi_grid(business, against, flags=flags, per_row=5, shown_from_day=chosen.start, data_start=starts,
                       targets=on_tiles, periods=periods)
    if product:
        if business:
            st.subheader("Product")
        cards.kpi_grid(product, against, flags=flags, per_row=5, shown_from_day=chosen.start, data_start=starts,
                       targets=on_tiles, periods=periods)
        if grain == "quarter":
            st.caption("Period-1 retention uses monthly cohorts at quarter grain.")

with st.expander("What is loaded"):
    tables.loaded_table(summary)
    st.page_link(keys.DATA_PAGE, label="Import more files or undo an import on the Data page",
                 icon=":material/upload_file:")
