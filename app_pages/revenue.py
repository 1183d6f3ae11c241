"""Revenue: MRR and ARR over time, what moved MRR (new, expansion, reactivation, contraction, churn), the MRR
bridge of one period, net and gross revenue retention, ARPA and LTV."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages.ui import breakdown, cache, cards, charts, keys, plan, scaffold, url_state
from app_pages.ui import format as fmt
from app_pages.ui.series import shown_from
from app_pages.ui.text import plain
from kpis.core.registry import KPIS
from kpis.metrics import engine, revenue, warmup
from kpis.metrics.revenue import BRIDGE_MOVEMENTS as MOVEMENTS
from kpis.metrics.series import series_of

page = scaffold.revenue_page("Revenue")
store, chosen, table, shown, as_of, cut = page.store, page.chosen, page.table, page.shown, page.as_of, page.cut
notes = cache.annotations(store)  # drawn on every time chart
grain = chosen.grain
ahead = cut == as_of  # the charts run to the data's as-of date: targets after it are drawn, with the projection
flags = plan.anomaly_flags(store, grain, page.judged_on, chosen.segment, ("mrr", "nrr"))
starts = scaffold.data_starts(store)
cards.kpi_grid([(KPIS[k], series_of(table, k), grain) for k in ("mrr", "arr", "nrr", "grr")],
               chosen.compare, shown_from_day=chosen.start, period=page.headline, data_start=starts)
plan.anomaly_notes(flags, ("mrr", "nrr"), grain)
by = breakdown.choose(store)
# by plan within the segment chosen; by an attribute, every customer (an attribute's groups are segments themselves)
by_segment = chosen.segment if by == "plan" else None

left, right = st.columns(2)
with left:
    mrr = series_of(shown, "mrr")
    charts.show(charts.lines({"MRR": mrr}, KPIS["mrr"], "MRR", grain,
                             **plan.on_chart(store, {"MRR": ("mrr", mrr)}, grain, cut, chosen.segment, ahead=ahead,
                                             project=True)), notes)
with right:
    arr = series_of(shown, "arr")
    charts.show(charts.lines({"ARR": arr}, KPIS["arr"], "ARR (12 × MRR)", grain,
                             **plan.on_chart(store, {"ARR": ("arr", arr)}, grain, cut, chosen.segment,
                                             ahead=ahead)), notes)

if by:
    st.subheader(plain(f"MRR by {breakdown.label(by).lower()}"))
    if chosen.segment and by_segment is None:
        st.caption("A breakdown by a customer attribute covers every customer: the segment filter does not apply "
                   "to it.")
    breakdown.mrr_chart(store, by, grain, chosen.start, cut, by_segment)

st.subheader("Growth")
growth = series_of(shown, "mrr_growth_rate")
charts.show(charts.lines({"MRR growth rate": growth}, KPIS["mrr_growth_rate"], f"MRR growth rate, {grain} over {grain}",
                         grain, **plan.on_chart(store, {"MRR growth rate": ("mrr_growth_rate", growth)}, grain, cut,
                                                chosen.segment, ahead=ahead)), notes)
months = cache.computed(store, engine.revenue_table, "month", end=cut, segment=chosen.segment)
compound = revenue.compound_monthly_growth(shown_from(months, chosen.start, "month"))
st.caption(compound.sentence() if compound else "Compound monthly growth needs two complete months in the range "
                                                "shown.")

st.subheader("MRR movements")
charts.show(charts.stacked_bars(shown, MOVEMENTS, KPIS["new_mrr"], f"MRR movements per {grain}", grain,
                                net=("net_new_mrr", "Net new MRR"),
                                targets=plan.bar_targets(store, shown, (*MOVEMENTS, "net_new_mrr"), grain,
                                                         chosen.segment, ahead=ahead)), notes)

st.subheader("MRR bridge")
periods = [pd.Timestamp(p).date() for p in shown["period_start"]]
partial_starts = {p for p, partial in zip(periods, shown["partial"], strict=True) if partial}
picked = url_state.pick_shown_period(f"The {grain} to explain", keys.BRIDGE, periods, partial_starts, page.headline,
                                     grain)
bridge = revenue.bridge(shown, picked)
cut_short = " (partial, up to the as-of date)" if picked in partial_starts else ""
title = f"MRR bridge, {fmt.period(picked, grain)}{cut_short}"
if bridge is not None:
    charts.show(charts.bridge(bridge.start, list(bridge.movements), bridge.end, title,
                              start_label=f"MRR at the end of<br>the previous {grain}",
                              end_label=f"MRR at the end<br>of this {grain}"))
st.caption("The bridge's axis is zoomed on the movements: it does not start at zero.")
if by:
    breakdown.bridge_table(store, by, grain, picked, cut, by_segment)

st.subheader("Retention and value per account")
left, right = st.columns(2)
with left:
    retained = {"NRR": ("nrr", series_of(shown, "nrr")), "GRR": ("grr", series_of(shown, "grr"))}
    charts.show(charts.with_warm_up(
        charts.lines({name: t for name, (_, t) in retained.items()}, KPIS["nrr"],
                     "Net and gross revenue retention (trailing 12 months)", grain,
                     **plan.on_chart(store, retained, grain, cut, chosen.segment, ahead=ahead)),
        warmup.warming_periods([KPIS["nrr"]], shown["period_start"], grain, starts["revenue"], cut), grain), notes)
with right:
    arpa = series_of(shown, "arpa")
    charts.show(charts.lines({"ARPA": arpa}, KPIS["arpa"], "ARPA (MRR per active customer)", grain,
                             **plan.on_chart(store, {"ARPA": ("arpa", arpa)}, grain, cut, chosen.segment,
                                             ahead=ahead)), notes)
if grain == "month":
    ltv = series_of(shown, "ltv")
    if ltv["value"].notna().any():
        charts.show(charts.lines({"LTV": ltv}, KPIS["ltv"], "LTV (ARPA / mean monthly logo churn of six months)",
                                 grain, **plan.on_chart(store, {"LTV": ("ltv", ltv)}, grain, cut, chosen.segment,
                                                        ahead=ahead)), notes)
    else:
        st.caption("LTV needs six complete months of logo churn; there are not enough yet.")
else:
    st.caption(f"LTV is defined at month grain only (ARPA / mean monthly logo churn of six months): switch the grain "
               f"to month to see it; at {grain} grain it would mix periods of different lengths.")
