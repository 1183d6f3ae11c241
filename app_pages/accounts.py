"""Accounts: each paying customer's usage next to its revenue. Which accounts use the product less and less (at
risk), which more and more (growing), how far the at-risk flag can be trusted, and one account's MRR and weekly
active users over time."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages.ui import cache, charts, keys, scaffold, tables, url_state
from app_pages.ui import format as fmt
from app_pages.ui.text import plain
from kpis.core.errors import DataError, InputError
from kpis.ingest import event_names
from kpis.metrics.account_view import LEAD_DAYS, account_list, lead_time, mrr_steps, weekly_active_users
from kpis.metrics.accounts import MIN_BEFORE, WINDOW, signal_check
from kpis.store.settings import at_risk_drop

ALL_PLANS = ""
NO_ACCOUNT = ""

store, chosen, events_as_of = scaffold.events_page("Accounts")
if cache.on_spark(store):
    st.info("The accounts list is computed by DuckDB from the local database; with Spark it is not shown yet. The "
            "account KPIs (accounts at risk, MRR at risk, engaged MRR share) are on the Overview and in the review.",
            icon=":material/info:")
    st.stop()
as_of = chosen.end_for(events_as_of) or events_as_of
drop = cache.cached(store, at_risk_drop)
try:
    accounts = cache.computed(store, account_list, as_of, segment=chosen.segment)
except (DataError, InputError) as exc:
    scaffold.kpi_error(exc)
    st.stop()
st.caption(plain(f"Accounts as of {fmt.day(as_of)} (the last event day, or the date range's end): active users are "
                 f"the distinct users active in the {WINDOW} days up to it, compared with the {WINDOW} days "
                 "before."))

if accounts.empty:
    st.info("No paying customer is linked to the product's users yet. Events link to a customer when their account "
            "id is the customer id, or through a mapping file (user_id,customer_id, email,customer_id or "
            "account_id,customer_id; docs/formats.md) imported on the Data page.", icon=":material/link_off:")
    st.page_link(keys.DATA_PAGE, label="Import a mapping file on the Data page", icon=":material/upload_file:")
    st.stop()


def features_text(events: list[str]) -> str:
    """The features an account uses, as the Engagement page names them."""
    names = event_names.shown_names(events)
    return ", ".join(names[e] for e in events) or fmt.DASH


def shown_table(rows: pd.DataFrame) -> None:
    """The accounts as a sortable table; customer ids, plans and event names are shown as plain text."""
    shown = rows.assign(plans=rows["plans"].map(", ".join), name=rows["name"],
                        last_active_day=rows["last_active_day"].map(fmt.day),
                        features=rows["features"].map(features_text),
                        change=rows["change"].astype("float64") * 100)
    symbol = fmt.currency_symbol()
    order = ["name", "mrr", "active_users", "previous_active_users", "change", "at_risk", "growing", "plans",
             "last_active_day", "features", "customer_id"]  # what a CPO reads first, the ids last
    st.dataframe(shown, hide_index=True, width="stretch", column_order=order, column_config={
        "customer_id": st.column_config.TextColumn("Customer id"),
        "name": st.column_config.TextColumn("Customer"),
        "plans": st.column_config.TextColumn("Plan"),
        "mrr": st.column_config.NumberColumn(f"MRR ({symbol})", format="%,.0f"),
        "active_users": st.column_config.NumberColumn(f"Active users ({WINDOW} days)", format="%d"),
        "previous_active_users": st.column_config.NumberColumn(f"{WINDOW} days before", format="%d"),
        "change": st.column_config.NumberColumn("Change", format="%+.0f%%",
                                                help="Relative change of active users; empty when there were "
                                                     "none before"),
        "last_active_day": st.column_config.TextColumn("Last active", help="The last day one of its users was "
                                                                           "active"),
        "features": st.column_config.TextColumn("Features used", help=f"The features done by most of its users in "
                                                                      f"the last {WINDOW} days"),
        "at_risk": st.column_config.CheckboxColumn("At risk"),
        "growing": st.column_config.CheckboxColumn("Growing"),
    })


plans = sorted({p for found in accounts["plans"] for p in found})
plan = url_state.pick_choice("Plan", keys.ACCOUNT_PLAN, [ALL_PLANS, *plans], ALL_PLANS,
                             lambda p: p or "All plans", "a plan of these accounts")
listed = accounts[accounts["plans"].map(lambda found: plan in found)] if plan else accounts
at_risk, growing = listed[listed["at_risk"]], listed[listed["growing"]]
share = f"{drop:.0%}"

left, right = st.columns([3, 1], gap="large")
with left:
    everyone, falling, rising = st.tabs([f"All paying accounts ({len(listed)})", f"At risk ({len(at_risk)})",
                                         f"Growing ({len(growing)})"])
    with everyone:
        shown_table(listed)
        tables.csv_download("Download accounts (CSV)", listed.assign(plans=listed["plans"].map("; ".join),
                                                                    features=listed["features"].map("; ".join)),
                            f"accounts_{as_of.isoformat()}.csv", key="accounts_download",
                            help="MRR in the reporting currency, change as a fraction, plans and features (by event "
                                 "name) separated by semicolons.")
    with falling:
        st.caption(plain(f"Active users fell by {share} or more from at least {MIN_BEFORE}, or to none: "
                         "the at-risk flag (setting at_risk_drop)."))
        shown_table(at_risk)
    with rising:
        st.caption(plain(f"Active users grew by {share} or more from at least {MIN_BEFORE}: the same threshold "
                         "the other way, expansion candidates."))
        shown_table(growing)


def signal_section() -> None:
    """Recall, precision and lead time of the at-risk flag over the page's date range, with their counts."""
    st.markdown("**Can the flag be trusted?**")
    window = {"start": chosen.start, "end": as_of, "segment": chosen.segment}
    check = cache.computed(store, signal_check, chosen.grain, **window)
    lead = cache.computed(store, lead_time, chosen.grain, **window)
    st.metric("Recall", fmt.percent(check.recall),
              help="Of the linked customers that churned in a period of the date range, the share that were at "
                   "risk at the end of the period before.")
    st.caption(plain(f"{check.churned_flagged} of {check.churned_linked} churned linked customers were flagged "
                     f"({check.churned} churned in all)."))
    st.metric("Precision", fmt.percent(check.precision),
              help="Of the flags at the end of each period, the share whose customer churned in one of the next "
                   "two periods.")
    st.caption(plain(f"{check.flagged_churned} of {check.flagged} flags came true."))
    weeks = lead.mean_days / 7
    st.metric("Warning ahead", fmt.DASH if not fmt.finite(weeks) else f"{weeks:.1f} weeks",
              help=f"For each flagged churn, the days from the first day it was at risk in the {LEAD_DAYS} days "
                   "up to the end of the period before, to the start of the period it churned in; averaged.")
    few = check.churned_linked < 10 or check.flagged < 10
    st.caption(plain(f"Over the {chosen.grain}s of the date range. "
                     + ("Too few churns or flags to judge the flag: read these as a rough indication."
                        if few else "A recall or precision far below 50% means the flag misses or cries wolf "
                                    "often: check the accounts before acting on it.")))


with right:
    signal_section()


def account_section() -> None:
    """One account's MRR and weekly active users on one chart, with the notes on dates."""
    st.subheader("One account")
    customers = list(accounts["customer_id"])
    picked = url_state.pick_choice("Account", keys.ACCOUNT, [NO_ACCOUNT, *customers], NO_ACCOUNT,
                                   lambda c: c or "Pick an account", "a paying account of this list")
    if not picked:
        st.caption("Pick an account to see its MRR and its active users per week.")
        return
    mrr = cache.computed(store, mrr_steps, picked, as_of)
    first = mrr["day"].iloc[0] if not mrr.empty else as_of
    users = cache.computed(store, weekly_active_users, picked, first, as_of)
    charts.show(charts.account_history(mrr, users, f"MRR and active users per week of {charts.data_label(picked)}"),
                cache.annotations(store))
    st.caption("MRR on the left axis (a step at each change); active users per week on the right (the last week "
               "may be partial).")


account_section()
