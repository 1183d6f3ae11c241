"""Customers: how many pay, who came, came back and left each period, net adds, logo churn and quick ratio; and
the customers behind each movement of a period."""

from __future__ import annotations

import streamlit as st

from app_pages import charts, components, drilldown, plan
from kpis.registry import KPIS

page = components.revenue_page("Customers")
store, chosen, table, shown, as_of, cut = page.store, page.chosen, page.table, page.shown, page.as_of, page.cut
grain = chosen.grain
flags = plan.anomaly_flags(store, grain, page.judged_on, chosen.segment, ("active_customers", "logo_churn_rate"))
components.kpi_grid(
    [(KPIS[k], components.series_of(table, k), grain)
     for k in ("active_customers", "net_new_customers", "logo_churn_rate", "quick_ratio")],
    chosen.compare, shown_from_day=chosen.start, period=page.headline)
plan.anomaly_notes(flags, ("active_customers", "logo_churn_rate"), grain)

active = components.series_of(shown, "active_customers")
charts.show(charts.lines(
    {"Active customers": active}, KPIS["active_customers"], "Active (paying) customers at the end of each period",
    grain, targets={"Active customers": plan.chart_target(store, "active_customers", active, grain, chosen.segment)},
    projected={"Active customers": plan.chart_projection(store, "active_customers", active, grain, cut,
                                                         chosen.segment)}))

moves = shown.assign(churned_customers=-shown["churned_customers"].astype("float64"))
charts.show(charts.stacked_bars(
    moves, {"new_customers": "New", "reactivated_customers": "Reactivated", "churned_customers": "Churned"},
    KPIS["new_customers"], f"Customers won and lost per {grain}", grain,
    net=("net_new_customers", "Net adds")))

left, right = st.columns(2)
with left:
    charts.show(charts.lines({"Logo churn": components.series_of(shown, "logo_churn_rate")},
                             KPIS["logo_churn_rate"], "Logo churn rate (lower is better)", grain))
with right:
    charts.show(charts.lines({"Quick ratio": components.series_of(shown, "quick_ratio")}, KPIS["quick_ratio"],
                             "Quick ratio (MRR gained / MRR lost)", grain))
st.caption("A ratio whose denominator is zero (no churn, no customers a period ago) is undefined and left as a gap.")

drilldown.movement_drilldown(store, shown, grain, chosen.segment, default=page.headline)
