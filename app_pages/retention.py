"""Retention: do the people who start using the product keep using it? Cohorts by the week or month of their
first event, as a heatmap and as curves, of everyone or of one segment; and which first-week events go with
retention (feature impact, a correlation)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages.ui import cache, charts, filters, keys, scaffold, tables, url_state
from app_pages.ui import format as fmt
from app_pages.ui.series import shown_from
from app_pages.ui.text import plain
from kpis.core.calendar import cohort_grain
from kpis.ingest import event_names
from kpis.metrics import impact, retention, warmup

store, chosen, as_of = scaffold.events_page("Retention")
grain = cohort_grain(chosen.grain)
if chosen.grain == "quarter":
    st.caption("Cohorts exist at week and month grain: monthly cohorts are shown at quarter grain.")

# the options are the short names, so that the link reads ?retention_mode=unbounded
mode = st.radio("Count a user as retained in period k if they were active", list(retention.MODES),
                captions=list(retention.MODES.values()), horizontal=True, key=keys.RETENTION_MODE,
                bind="query-params")
url_state.in_link(keys.RETENTION_MODE, [mode] if mode and mode != retention.DEFAULT_MODE else [])
filters.segment_on_page(chosen, "Cohorts of", keys.RETENTION_SEGMENT,
                        help="The users of one segment's customers (the sidebar's segment: it is the same choice).")
if chosen.segment is not None:
    st.caption(plain(f"Only the users whose account is a customer in {chosen.query[keys.SEGMENT]}: cohort sizes, "
                     "retention, the average and the feature impact below count them alone (users without an "
                     "account are left out)."))
cells = cache.computed(store, retention.cohorts, grain, mode or retention.DEFAULT_MODE, end=chosen.end_for(as_of),
                       segment=chosen.segment)
cells = shown_from(cells.rename(columns={"cohort_start": "period_start"}), chosen.start, grain).rename(
    columns={"period_start": "cohort_start"})
if cells.empty:
    st.info("No cohort starts in this date range.", icon=":material/inbox:")
    st.stop()

horizon = 12
st.caption(plain(
    f"Each row is a cohort (its first {grain} · its size); each cell the share of it active {grain} k later "
    f"(k = 0 is 100% by definition), up to {grain} {horizon}. * marks a {grain} still running (partial)."))
first_event, cohorts_end = scaffold.data_starts(store)["engagement"], chosen.end_for(as_of) or as_of
young = {c: warmup.cohort_reason(grain, first_event, cohorts_end)
         for c in sorted({pd.Timestamp(c).date() for c in cells["cohort_start"]})
         if first_event is not None and warmup.cohort_warming_up(c, grain, first_event, cohorts_end)}
# the average of the cohorts shown; a cohort warming up holds everyone already using the product, not a cohort
average = retention.average_row(cells[~cells["cohort_start"].map(lambda c: pd.Timestamp(c).date() in young)])
charts.show(charts.heatmap(cells, grain, f"Retention by {grain}ly cohort", max_period=horizon, warming=young,
                           average=average))
st.caption(plain(f"The last row is the cohorts' average: for each {grain} k, the users retained over the users of "
                 f"every cohort whose cell k is complete (weighted by cohort size; running {grain}s"
                 f"{' and cohorts warming up' if young else ''} left out)."))
if young:
    st.caption(plain(f"Shaded rows (warming up) are cohorts younger than their {grain}: the data starts "
                                f"or ends inside it, so it holds only part of its first {grain}."))

st.subheader("Retention curves")
cohorts = sorted({pd.Timestamp(c).date() for c in cells["cohort_start"]})
depth = cells.groupby(cells["cohort_start"].map(lambda c: pd.Timestamp(c).date()))["period"].max()
deep = [c for c in cohorts if depth[c] >= 3 and c not in young] or cohorts
default = deep[-4:] if len(deep) <= 12 else [deep[0], deep[len(deep) // 3], deep[2 * len(deep) // 3], deep[-1]]
picked = url_state.pick_periods("Cohorts", keys.COHORTS, cohorts, default, grain,
                                lambda c: fmt.period(c, grain) + (" (warming up)" if c in young else ""))
if picked:
    charts.show(charts.curves(cells, picked, grain, "Retention curves (hollow points: period still running)",
                              average=average))
else:
    st.caption("Pick one or more cohorts to draw their curves.")

st.subheader("Feature impact (correlation)")
window = {"start": chosen.start, "end": chosen.end_for(as_of), "segment": chosen.segment}
found = cache.computed(store, impact.impact, **window)
found = found[found["event"].map(event_names.kind) != "housekeeping"]
eligible = cache.computed(store, impact.eligible_users, **window)
st.caption(plain(
    f"New users whose first day is in the date range and whose week 4 has ended: {fmt.count(eligible)}. For each "
    "event, the share of those who did it in their first week (days 0-6 from their first day) who were active in "
    "week 4 (days 28-34), minus that share among those who did not; events done by fewer than "
    f"{impact.MIN_USERS} of them are left out."))
st.caption("**A correlation, not a cause**: users who do X in their first week retain better; that does not mean X "
           "makes them stay. Users who were going to stay anyway may simply be the ones who try X.")
drawn = found[found["difference"].map(fmt.finite)]
if drawn.empty:
    st.info(f"No event was done in their first week by {impact.MIN_USERS} or more of these new users, next to "
            "some who did not.", icon=":material/inbox:")
else:
    names = event_names.shown_names(list(found["event"]))
    charts.show(charts.impact(drawn, names, "Week-4 retention: did it in the first week minus did not"))
everyone = found[~found["difference"].map(fmt.finite)]
if not everyone.empty:
    st.caption(plain("Done by every one of these new users, so nothing to compare with: "
                     + ", ".join(event_names.shown_names(list(everyone["event"])).values()) + "."))
if not found.empty:
    tables.csv_download("Download feature impact (CSV)", found, "feature_impact.csv", key="impact_download",
                        help="Retention as fractions, the difference in fraction points; a correlation, not a "
                             "cause.")
