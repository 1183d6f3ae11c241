"""Overview: the scorecard a CPO opens first: the headline KPIs of the last complete period, how they moved,
their trend, and the period still running."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from app_pages import components, filters, plan
from app_pages import format as fmt
from kpis.core.calendar import previous_start
from kpis.core.errors import DataError, InputError
from kpis.core.registry import KPIS, Kpi
from kpis.metrics import engagement, retention, revenue
from kpis.ops import status
from kpis.plan import scorecard, targets
from kpis.plan.anomalies import HEADLINE

REVENUE_CARDS = ("mrr", "net_new_mrr", "active_customers", "logo_churn_rate", "nrr")
ENGAGEMENT_CARDS = ("dau", "mau", "stickiness")
RETENTION_1 = Kpi("retention_1", "Period-1 retention", "ratio", "engagement",
                  "Share of a cohort (users by the week or month of their first event) active again in the next "
                  "period; shown for the last cohort whose next period is complete.")

store = components.open_store()
summary = components.cached(store, status.loaded_summary)
chosen = filters.current()

st.title("Overview")

if int(summary["rows"].sum()) == 0 or chosen is None:
    components.nothing_loaded()
    st.stop()

grain, against = chosen.grain, chosen.compare
revenue_as_of = components.cached(store, revenue.revenue_as_of)
events_as_of = components.cached(store, engagement.engagement_as_of)
period = components.last_complete(store, chosen)
headline = period.start if period else None
judged_on = period.as_of if period else None  # anomalies and targets are judged on the headlines' as-of date
components.as_of_line(period)
st.caption(components.plain(
    f"Each tile shows the last complete {grain} and its change against the {chosen.compare_label}; a period "
    f"still running is listed below it as partial. Sparklines from {fmt.day(chosen.start)}."))

cards: list[tuple[Kpi, pd.DataFrame, str]] = []
flags: dict[str, dict[str, object]] = {}
periods: dict[str, date] = {k: headline for k in (*REVENUE_CARDS, *ENGAGEMENT_CARDS) if headline is not None}
if revenue_as_of is not None:
    try:
        table = components.computed(store, revenue.revenue_table, grain, end=chosen.end_for(revenue_as_of),
                                    segment=chosen.segment)
    except (DataError, InputError) as exc:
        components.kpi_error(exc)
    else:
        cards += [(KPIS[k], components.series_of(table, k), grain) for k in REVENUE_CARDS]
        flags |= plan.anomaly_flags(store, grain, judged_on, chosen.segment,
                                    tuple(k for k in REVENUE_CARDS if k in HEADLINE))
if events_as_of is not None:
    events_end = chosen.end_for(events_as_of)
    table = components.computed(store, engagement.engagement_table, grain, end=events_end, segment=chosen.segment,
                                kpis=ENGAGEMENT_CARDS)
    cards += [(KPIS[k], components.series_of(table, k), grain) for k in ENGAGEMENT_CARDS]
    flags |= plan.anomaly_flags(store, grain, judged_on, chosen.segment, ENGAGEMENT_CARDS)
    cohort_grain = "week" if grain == "week" else "month"
    cells = components.computed(store, retention.cohorts, cohort_grain, "n-day", end=events_end,
                                segment=chosen.segment)
    cards.append((RETENTION_1, scorecard.first_period_retention(cells), cohort_grain))
    cohort_period = components.last_complete(store, chosen, cohort_grain)
    if cohort_period is not None:  # the cohort whose period 1 is the last complete one
        periods[RETENTION_1.id] = previous_start(cohort_period.start, cohort_grain)

starts = components.data_starts(store)
# targets are the company's: shown on the tiles only without a segment filter
on_tiles: dict[str, dict[str, object]] = {}
if chosen.segment is None:
    evaluation = components.computed(store, targets.evaluate, as_of=judged_on if period and period.chosen else None)
    on_tiles = plan.tile_targets(evaluation, {"revenue": judged_on if revenue_as_of else None,
                                              "engagement": judged_on if events_as_of else None})
if not cards:
    components.nothing_loaded()
else:
    st.subheader("Business" if revenue_as_of is not None else "Product")
    business = [c for c in cards if c[0].source == "revenue"]
    product = [c for c in cards if c[0].source == "engagement"]
    if business:
        plan.kpi_grid(business, against, flags, per_row=5, shown_from_day=chosen.start, data_start=starts,
                      targets=on_tiles, periods=periods)
    if product:
        if business:
            st.subheader("Product")
        plan.kpi_grid(product, against, flags, per_row=5, shown_from_day=chosen.start, data_start=starts,
                      targets=on_tiles, periods=periods)
        if grain == "quarter":
            st.caption("Period-1 retention uses monthly cohorts at quarter grain.")

with st.expander("What is loaded"):
    components.loaded_table(summary)
    st.page_link(components.DATA_PAGE, label="Import more files or undo an import on the Data page",
                 icon=":material/upload_file:")
