"""Customers: how many pay, who came, came back and left each period, net adds, logo churn and quick ratio; and
the customers behind each movement of a period."""

from __future__ import annotations

import streamlit as st

from app_pages import drilldown
from app_pages.ui import cache, cards, charts, plan, scaffold
from kpis.core.registry import KPIS
from kpis.metrics.revenue import CUSTOMER_MOVEMENTS
from kpis.metrics.series import series_of

page = scaffold.revenue_page("Customers")
store, chosen, table, shown, as_of, cut = page.store, page.chosen, page.table, page.shown, page.as_of, page.cut
notes = cache.annotations(store)  # drawn on every time chart
grain = chosen.grain
ahead = cut == as_of  # the charts run to the data's as-of date: targets after it are drawn, with the projection
flags = plan.anomaly_flags(store, grain, page.judged_on, chosen.segment, ("active_customers", "logo_churn_rate"))
cards.kpi_grid(
    [(KPIS[k], series_of(table, k), grain)
     for k in ("active_customers", "net_new_customers", "logo_churn_rate", "quick_ratio")],
    chosen.compare, shown_from_day=chosen.start, period=page.headline)
plan.anomaly_notes(flags, ("active_customers", "logo_churn_rate"), grain)

active = series_of(shown, "active_customers")
charts.show(charts.lines(
    {"Active customers": active}, KPIS["active_customers"], "Active (paying) customers at the end of each period",
    grain, **plan.on_chart(store, {"Active customers": ("active_customers", active)}, grain, cut, chosen.segment,
                           ahead=ahead, project=True)), notes)

moves = shown.assign(churned_customers=-shown["churned_customers"].astype("float64"))
charts.show(charts.stacked_bars(
    moves, CUSTOMER_MOVEMENTS,
    KPIS["new_customers"], f"Customers won and lost per {grain}", grain,
    net=("net_new_customers", "Net adds"),
    targets=plan.bar_targets(store, moves, ("new_customers", "reactivated_customers", "churned_customers",
                                            "net_new_customers"), grain, chosen.segment, ahead=ahead,
                             negated=("churned_customers",))), notes)

left, right = st.columns(2)
with left:
    churn = series_of(shown, "logo_churn_rate")
    charts.show(charts.lines({"Logo churn": churn}, KPIS["logo_churn_rate"], "Logo churn rate (lower is better)", grain,
                             **plan.on_chart(store, {"Logo churn": ("logo_churn_rate", churn)}, grain, cut,
                                             chosen.segment, ahead=ahead)), notes)
with right:
    quick = series_of(shown, "quick_ratio")
    charts.show(charts.lines({"Quick ratio": quick}, KPIS["quick_ratio"], "Quick ratio (MRR gained / MRR lost)", grain,
                             **plan.on_chart(store, {"Quick ratio": ("quick_ratio", quick)}, grain, cut,
                                             chosen.segment, ahead=ahead)), notes)
st.caption("A ratio whose denominator is zero (no churn, no customers a period ago) is undefined and left as a gap.")

drilldown.movement_drilldown(store, shown, grain, chosen.segment, default=page.headline)
