"""Engagement: how many people use the product (DAU, WAU, MAU), how often (stickiness, power-user curve) and
which features they use (adoption per event)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages import charts, components, plan
from app_pages import format as fmt
from kpis import engagement, scorecard, warmup
from kpis.registry import KPIS

store, chosen, as_of = components.events_page("Engagement")
grain, end = chosen.grain, chosen.end_for(as_of)
table = components.computed(store, engagement.engagement_table, grain, end=end, segment=chosen.segment,
                            kpis=("dau", "wau", "mau", "stickiness", "active_users"))
if table.empty:
    st.info("No product events in this date range.", icon=":material/inbox:")
    st.stop()
shown = components.shown_from(table, chosen.start, grain)

flags = plan.anomaly_flags(store, grain, end, chosen.segment, ("dau", "mau", "stickiness"))
components.kpi_grid([(KPIS[k], components.series_of(table, k), grain) for k in ("dau", "wau", "mau", "stickiness")],
                    chosen.compare, shown_from_day=chosen.start, data_start=components.data_starts(store))
plan.anomaly_notes(flags, ("dau", "mau", "stickiness"), grain)

users = {"DAU (mean)": ("dau", components.series_of(shown, "dau")), "WAU": ("wau", components.series_of(shown, "wau")),
         "MAU": ("mau", components.series_of(shown, "mau"))}
first_event = components.data_starts(store)["engagement"]
charts.show(charts.with_warm_up(charts.lines(
    {name: series for name, (_, series) in users.items()}, KPIS["mau"],
    f"Active users per {grain}: DAU is the mean over the days, WAU and MAU the 7- and 30-day counts at the "
    "period's end", grain,
    targets={name: plan.chart_target(store, k, series, grain, chosen.segment) for name, (k, series) in users.items()
             if k != "wau"},
    projected={name: plan.chart_projection(store, k, series, grain, end, chosen.segment)
               for name, (k, series) in users.items() if k != "wau"}),
    warmup.warming_periods([KPIS["wau"], KPIS["mau"]], shown["period_start"], grain, first_event, end), grain))

left, right = st.columns(2)
with left:
    sticky = components.series_of(shown, "stickiness")
    charts.show(charts.with_warm_up(
        charts.lines({"Stickiness": sticky}, KPIS["stickiness"], "Stickiness (mean DAU / mean MAU)", grain,
                     targets={"Stickiness": plan.chart_target(store, "stickiness", sticky, grain, chosen.segment)}),
        warmup.warming_periods([KPIS["stickiness"]], sticky["period_start"], grain, first_event, end), grain))
with right:
    curve_grain = "week" if grain == "week" else "month"
    periods = table if curve_grain == grain else components.computed(
        store, engagement.engagement_table, curve_grain, end=end, segment=chosen.segment, kpis=("active_users",))
    at = scorecard.last_complete(periods)
    if at is None:
        st.caption("The power-user curve needs one complete period.")
    else:
        period = periods["period_start"].iloc[at]
        curve = components.computed(store, engagement.power_curve, curve_grain, period, segment=chosen.segment)
        label = "L7" if curve_grain == "week" else "L30 (calendar month)"
        charts.show(charts.power_curve(curve, f"Power-user curve ({label}), {fmt.period(period, curve_grain)}"))

st.subheader("Feature adoption")
at = scorecard.last_complete(table)
if at is None:
    st.caption("Feature adoption needs one complete period.")
else:
    period = table["period_start"].iloc[at]
    rows = []
    by_event = components.computed(store, engagement.adoption_by_event, grain, end=end, segment=chosen.segment)
    for event in components.cached(store, scorecard.event_names):
        adoption = by_event.get(event)
        if adoption is None:  # an event of users outside the segment
            continue
        series = adoption.rename(columns={"adoption": "value"})
        headline = scorecard.compare(series, grain, chosen.compare,
                                     data_start=components.data_starts(store)["engagement"])
        users = adoption.loc[adoption["period_start"] == period, "users"]
        rows.append({"Event": event, "Users": fmt.count(users.iloc[0] if len(users) else None),
                     "Adoption": fmt.percent(headline.value),
                     "Change": fmt.delta(headline.change, "ratio") or fmt.DASH,
                     "_sort": headline.value if fmt.finite(headline.value) else -1.0})
    frame = pd.DataFrame(rows).sort_values("_sort", ascending=False).drop(columns="_sort")
    st.caption(components.plain(
        f"Users who did each event in {'the ' if grain == 'week' else ''}{fmt.period(period, grain)} / users active "
        f"in it; change against the "
        f"{chosen.compare_label} in percentage points."))
    st.dataframe(frame, hide_index=True, width="content",
                 column_config={"Event": st.column_config.TextColumn(width=220),
                                "Users": st.column_config.TextColumn(width=90),
                                "Adoption": st.column_config.TextColumn(width=90),
                                "Change": st.column_config.TextColumn(width=90)})
