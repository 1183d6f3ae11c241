"""Customers: how many pay, who came, came back and left each period, net adds, logo churn and quick ratio; trials
and their conversion to paid; why customers left; and the customers behind each movement of a period."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages import drilldown
from app_pages.ui import cache, cards, charts, plan, scaffold
from app_pages.ui import format as fmt
from app_pages.ui.series import shown_from
from app_pages.ui.text import plain
from kpis.core.registry import KPIS
from kpis.metrics import engine
from kpis.metrics.reasons import churn_by_reason
from kpis.metrics.revenue import CUSTOMER_MOVEMENTS
from kpis.metrics.series import series_of
from kpis.plan.scorecard import headline_row

#: The trial KPIs, in the order of their tiles.
TRIAL_KPIS = ("trials_started", "trials_ended", "trial_conversion_rate")

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

st.subheader("Trials")
trials = cache.computed(store, engine.table, "trials", grain, end=cut, segment=chosen.segment)
cards.kpi_grid([(KPIS[k], series_of(trials, k), grain) for k in TRIAL_KPIS], chosen.compare, per_row=3,
               shown_from_day=chosen.start, period=page.headline)
trials_shown = shown_from(trials, chosen.start, grain)
left, right = st.columns(2)
with left:
    started, ended = series_of(trials_shown, "trials_started"), series_of(trials_shown, "trials_ended")
    charts.show(charts.lines({"Started": started, "Ended": ended}, KPIS["trials_started"],
                             f"Trials started and ended per {grain}", grain,
                             **plan.on_chart(store, {"Started": ("trials_started", started),
                                                     "Ended": ("trials_ended", ended)}, grain, cut, chosen.segment,
                                             ahead=ahead)), notes)
with right:
    conversion = series_of(trials_shown, "trial_conversion_rate")
    charts.show(charts.lines({"Trial conversion": conversion}, KPIS["trial_conversion_rate"],
                             "Trial-to-paid conversion of the trials ended", grain,
                             **plan.on_chart(store, {"Trial conversion": ("trial_conversion_rate", conversion)},
                                             grain, cut, chosen.segment, ahead=ahead)), notes)
st.caption("A trial ends on its trial end day and converts when its subscription had not ended by then; one "
           "canceled during the trial, or ending the day its trial ends, did not. No trial ended: no rate (a gap).")


def reasons_section() -> None:
    """Churned customers by the reason they gave, per period, and the churned MRR by reason of the headline
    period."""
    st.subheader("Why customers left")
    reasons = cache.computed(store, churn_by_reason, grain, end=cut, segment=chosen.segment)
    reasons = reasons[reasons["period_start"] >= shown["period_start"].iloc[0]] if not reasons.empty else reasons
    if reasons.empty:
        st.caption("No customer churned in this date range.")
        return
    # one column per reason, named apart from the table's own columns whatever the export calls its reasons
    wide = reasons.assign(column="reason: " + reasons["group"]).pivot(index="period_start", columns="column",
                                                                      values="churned_customers")
    columns = {c: charts.data_label(c.removeprefix("reason: ")) for c in wide.columns}
    wide = shown[["period_start", "partial"]].merge(wide.reset_index(), on="period_start", how="left").fillna(0)
    charts.show(charts.stacked_bars(wide, columns, KPIS["churned_customers"],
                                    f"Churned customers by the reason given, per {grain}", grain), notes)
    at = headline_row(shown, page.headline)
    if at is None:
        return
    period = shown["period_start"].iloc[at]
    in_period = reasons[(reasons["period_start"] == period) & (reasons["churned_customers"] > 0)]
    when = fmt.period(period, grain, in_sentence=True)
    if in_period.empty:
        st.caption(plain(f"No customer churned in {when}."))
        return
    st.caption(plain(f"Churned MRR by reason in {when}: the reason of each churned customer's subscription that "
                     "ended last (Stripe's cancellation reason)."))
    ordered = in_period.sort_values("churned_mrr")  # the largest loss first
    table = pd.DataFrame({"reason": ordered["group"], "customers": ordered["churned_customers"],
                          "churned_mrr": [fmt.money(v) for v in ordered["churned_mrr"]]})  # -$583, as on every page
    st.dataframe(table, hide_index=True, width="stretch", column_config={
        "reason": st.column_config.TextColumn("Reason"),
        "customers": st.column_config.NumberColumn("Churned customers"),
        "churned_mrr": st.column_config.TextColumn("Churned MRR")})


reasons_section()

drilldown.movement_drilldown(store, shown, grain, chosen.segment, default=page.headline)
