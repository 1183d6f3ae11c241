"""Engagement: how many people use the product (DAU, WAU, MAU), how often (stickiness, power-user curve), where
the active users come from (lifecycle), how many new users activate, which features they use (adoption per event)
and how far they go through a funnel of events."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages.ui import cache, cards, charts, keys, plan, scaffold, tables, url_state
from app_pages.ui import format as fmt
from app_pages.ui.series import shown_from
from app_pages.ui.text import plain
from kpis.core.calendar import cohort_grain
from kpis.core.registry import KPIS
from kpis.ingest import event_names
from kpis.metrics import engagement, engine, funnel, lifecycle, warmup
from kpis.metrics.series import series_of
from kpis.plan import scorecard
from kpis.store import settings

store, chosen, as_of = scaffold.events_page("Engagement")
grain, end = chosen.grain, chosen.end_for(as_of)
period = scaffold.last_complete(store, chosen)
headline = period.start if period else None
table = cache.computed(store, engine.engagement_table, grain, end=end, segment=chosen.segment,
                       kpis=("dau", "wau", "mau", "stickiness", "active_users"))
if table.empty:
    st.info("No product events in this date range.", icon=":material/inbox:")
    st.stop()
shown = shown_from(table, chosen.start, grain)
ahead = end == as_of  # the charts run to the data's as-of date: targets after it are drawn, with the projection

judged_on = period.as_of if period else None
flags = plan.anomaly_flags(store, grain, judged_on, chosen.segment, ("dau", "mau", "stickiness"))
cards.kpi_grid([(KPIS[k], series_of(table, k), grain) for k in ("dau", "wau", "mau", "stickiness")],
               chosen.compare, shown_from_day=chosen.start, data_start=scaffold.data_starts(store),
               period=headline)
plan.anomaly_notes(flags, ("dau", "mau", "stickiness"), grain)

users = {"DAU (mean)": ("dau", series_of(shown, "dau")), "WAU": ("wau", series_of(shown, "wau")),
         "MAU": ("mau", series_of(shown, "mau"))}
first_event = scaffold.data_starts(store)["engagement"]
notes = cache.annotations(store)  # drawn on every time chart
charts.show(charts.with_warm_up(charts.lines(
    {name: series for name, (_, series) in users.items()}, KPIS["mau"],
    f"Active users per {grain}: DAU is the mean over the days, WAU and MAU the 7- and 30-day counts at the "
    "period's end", grain, **plan.on_chart(store, users, grain, end, chosen.segment, ahead=ahead, project=True)),
    warmup.warming_periods([KPIS["wau"], KPIS["mau"]], shown["period_start"], grain, first_event, end), grain),
    notes)

left, right = st.columns(2)
with left:
    sticky = series_of(shown, "stickiness")
    charts.show(charts.with_warm_up(
        charts.lines({"Stickiness": sticky}, KPIS["stickiness"], "Stickiness (mean DAU / mean MAU)", grain,
                     **plan.on_chart(store, {"Stickiness": ("stickiness", sticky)}, grain, end, chosen.segment,
                                     ahead=ahead)),
        warmup.warming_periods([KPIS["stickiness"]], sticky["period_start"], grain, first_event, end), grain),
        notes)
with right:
    curve_grain = cohort_grain(grain)
    periods = table if curve_grain == grain else cache.computed(
        store, engine.engagement_table, curve_grain, end=end, segment=chosen.segment, kpis=("active_users",))
    curve_period = scaffold.last_complete(store, chosen, curve_grain)
    at = scorecard.headline_row(periods, curve_period.start if curve_period else None)
    if at is None:
        st.caption("The power-user curve needs one complete period.")
    else:
        period = periods["period_start"].iloc[at]
        curve = cache.computed(store, engagement.power_curve, curve_grain, period, segment=chosen.segment)
        when = fmt.period(period, curve_grain, in_sentence=True)
        charts.show(charts.power_curve(curve, f"Power-user curve: users by days active in {when}"))

st.subheader("Lifecycle")
life_grain = cohort_grain(grain)
life = shown_from(cache.computed(store, engine.table, "lifecycle", life_grain, end=end, segment=chosen.segment),
                  chosen.start, life_grain)
charts.show(charts.stacked_bars(life, lifecycle.PARTS, KPIS["active_users"],
                                f"Active users by where they come from, per {life_grain}; below zero: gone dormant",
                                life_grain), notes)
life_period = scaffold.last_complete(store, chosen, life_grain)
at = scorecard.headline_row(life, life_period.start if life_period else None)
if at is not None:
    row = life.iloc[at]
    st.caption(plain(
        f"User quick ratio in {fmt.period(row['period_start'], life_grain, in_sentence=True)}: "
        f"{fmt.value(KPIS['user_quick_ratio'], row['user_quick_ratio'])} (new {fmt.count(row['new'])} + resurrected "
        f"{fmt.count(row['resurrected'])}, against {fmt.count(-row['dormant'])} gone dormant). New: first active in "
        f"the {life_grain}; returning: active the {life_grain} before too; resurrected: back after at least a "
        f"{life_grain} away."))

st.subheader("Activation")
activation_event = settings.activation_event(store)
if activation_event is None:
    st.info("Choose the **activation event** to see how many new users activate: the event most new users do in "
            "their first days and whose doers keep coming back more than the others (creating a first report, "
            "inviting a teammate, connecting a data source; rarely a page view). Feature adoption below and the "
            "Retention page help compare. Set it on the Data page (setting activation_event), with the window in "
            "days (default 7).", icon=":material/flag:")
else:
    window = settings.activation_window_days(store)
    activated = shown_from(cache.computed(store, engine.table, "activation", grain, end=end, segment=chosen.segment),
                           chosen.start, grain)
    rate = series_of(activated, "activation_rate")
    charts.show(charts.lines(
        {"Activation rate": rate}, KPIS["activation_rate"],
        f"Activation rate of the users who started each {grain}", grain,
        **plan.on_chart(store, {"Activation rate": ("activation_rate", rate)}, grain, end, chosen.segment,
                        ahead=ahead)), notes)
    at = scorecard.headline_row(activated, headline)
    latest = ""
    if at is not None:
        row = activated.iloc[at]
        latest = (f"In {fmt.period(row['period_start'], grain, in_sentence=True)}: "
                  f"{fmt.value(KPIS['activation_rate'], row['activation_rate'])} ({fmt.count(row['activated'])} of "
                  f"{fmt.count(row['started'])} users who started). ")
    st.caption(latest + plain(
        f"Activated = did {activation_event} within {window} day{'s' if window != 1 else ''} of their first active "
        f"day (that day included). Each user counts in the {grain} of their first active day, once their window "
        "has ended: the latest starters join when it does."))

st.subheader("Feature adoption")
at = scorecard.headline_row(table, headline)
if at is None:
    st.caption("Feature adoption needs one complete period.")
else:
    period = table["period_start"].iloc[at]
    compared = scorecard.reference_start(period, grain, chosen.compare)
    by_event = cache.computed(store, engagement.adoption_in, grain, (period, compared), end=end,
                              segment=chosen.segment)
    events = [e for e in cache.cached(store, scorecard.event_names)
              if e in by_event and event_names.kind(e) != "housekeeping"]  # absent: users outside the segment
    names = event_names.shown_names(events)
    rows: dict[str, list[dict[str, object]]] = {"feature": [], "tool": []}
    for event in events:
        adoption = by_event[event]
        series = adoption.rename(columns={"adoption": "value"})
        shown_value = scorecard.compare(series, grain, chosen.compare, period=period,
                                        data_start=scaffold.data_starts(store)["engagement"])
        users = adoption.loc[adoption["period_start"] == period, "users"]
        rows[event_names.kind(event)].append({
            "event": event, "Event": names[event], "period_start": period,
            "users": users.iloc[0] if len(users) else None, "adoption": shown_value.value,
            "change": shown_value.change, "_sort": shown_value.value if fmt.finite(shown_value.value) else -1.0})
    st.caption(plain(
        f"Users who did each event in {fmt.period(period, grain, in_sentence=True)} / users active "
        f"in it; change against the {chosen.compare_label} in percentage points. Events an analytics tool sends "
        "about itself or about who a user is (a feature flag checked, a user identified) are left out."))
    columns = {"Event": st.column_config.TextColumn(width=260), "Users": st.column_config.TextColumn(width=90),
               "Adoption": st.column_config.TextColumn(width=90), "Change": st.column_config.TextColumn(width=90)}
    found = []
    for key, heading in (("feature", "The product's features"), ("tool", "Recorded by the analytics tool")):
        if rows[key]:
            st.markdown(f"**{heading}**")
            part = pd.DataFrame(rows[key]).sort_values("_sort", ascending=False).drop(columns="_sort")
            found.append(part)
            frame = pd.DataFrame({"Event": part["Event"], "Users": part["users"].map(fmt.count),
                                  "Adoption": part["adoption"].map(fmt.percent),
                                  "Change": part["change"].map(lambda c: fmt.delta(c, "ratio") or fmt.DASH)})
            st.dataframe(frame, hide_index=True, width="content", column_config=columns, key=f"adoption_{key}")
    if found:
        download = pd.concat(found)[["event", "period_start", "users", "adoption", "change"]]
        tables.csv_download("Download feature adoption (CSV)", download,
                            f"feature_adoption_{grain}_{period}.csv", key="adoption_download",
                            help="Adoption as a fraction of the users active in the period, its change in "
                                 "fraction points.")


def funnel_section() -> None:
    """The funnel of the events picked (in the link), of the users who did the first one in the date range."""
    st.subheader("Funnel")
    if cache.on_spark(store):
        st.caption("Funnels are computed by DuckDB from the local database; with Spark they are not shown yet.")
        return
    known = cache.cached(store, scorecard.event_names)  # read once for the adoption table and the funnel
    shown_as = event_names.shown_names(known)
    left, right = st.columns([3, 1])
    with left:
        steps = url_state.pick_names(f"Steps: {funnel.MIN_STEPS} to {funnel.MAX_STEPS} events, in the order users "
                                     "take them", keys.FUNNEL, known, funnel.MAX_STEPS, lambda e: shown_as.get(e, e))
    with right:
        window = url_state.pick_whole("Conversion window (days)", keys.FUNNEL_WINDOW, funnel.MIN_WINDOW_DAYS,
                                      funnel.MAX_WINDOW_DAYS, funnel.DEFAULT_WINDOW_DAYS,
                                      help="How long after the first step the others count.")
    if len(steps) < funnel.MIN_STEPS:
        st.caption(f"Pick {funnel.MIN_STEPS} to {funnel.MAX_STEPS} events, in the order users take them, to draw "
                   "a funnel.")
        return
    steps_table = cache.computed(store, funnel.funnel, tuple(steps), window, start=chosen.start, end=end,
                                 segment=chosen.segment)
    entered = f"{fmt.day(chosen.start)} to {fmt.day(end)}"
    charts.show(charts.funnel(steps_table, shown_as, f"Funnel: users who did the first step from {entered}"))
    st.caption(plain(
        f"A user enters at their first {shown_as.get(steps[0], steps[0])} from {entered}; each next step counts at "
        f"the first time they did it at or after the step before, within {window} × 24 hours of entering. From "
        "previous: the share of the step before that went on; from first: the share of those who entered; the "
        "median time between steps is over the users who reached the step."))


funnel_section()
