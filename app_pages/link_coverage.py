"""The Data page's view of the link between product users and paying customers: how many paying customers have a
linked user, how many of the last 28 days' events belong to a customer, and the largest accounts that link to none,
so that nobody reads the Accounts page's flag when the link is too thin to carry it."""

from __future__ import annotations

import streamlit as st

from app_pages.ui import cache
from app_pages.ui import format as fmt
from app_pages.ui.text import plain
from kpis.metrics.account_view import link_coverage, unlinked_accounts
from kpis.metrics.accounts import WINDOW
from kpis.metrics.engagement import engagement_as_of
from kpis.store.db import Store

#: Below this share of paying customers linked, the Data page says the Accounts page speaks of a few only.
THIN = 0.5


def section(store: Store) -> None:
    """The link's coverage on the events' as-of date; nothing without events."""
    as_of = cache.cached(store, engagement_as_of)
    if as_of is None:
        return
    found = cache.computed(store, link_coverage, as_of)
    st.subheader("Users linked to customers")
    st.caption(plain(f"On {fmt.day(as_of)} (the last event day). A user belongs to a customer by a mapping file "
                     "(user, email or account to customer; docs/formats.md) or when their account id is the "
                     "customer id."))
    paying, events, to_paying = st.columns(3)
    paying.metric("Paying customers linked", fmt.percent(found.paying_share),
                  help="Paying customers with at least one user linked to them")
    paying.caption(f"{fmt.count(found.paying_linked)} of {fmt.count(found.paying)}")
    events.metric(f"Events linked to a customer ({WINDOW} days)", fmt.percent(found.customer_event_share),
                  help="Events whose user belongs to a customer of the subscriptions, paying or not")
    events.caption(f"{fmt.count(found.events_to_customer)} of {fmt.count(found.events)}")
    to_paying.metric(f"Events linked to a paying customer ({WINDOW} days)", fmt.percent(found.paying_event_share),
                     help="Events whose user belongs to a customer paying on that day")
    to_paying.caption(f"{fmt.count(found.events_to_paying)} of {fmt.count(found.events)}")
    if found.paying and found.paying_linked < THIN * found.paying:
        st.warning(f"Fewer than half the paying customers are linked: the Accounts page's at-risk flag and its "
                   f"signal check speak of {fmt.count(found.paying_linked)} of them only. Import a mapping file to "
                   "link more.", icon=":material/link_off:")
    unlinked = cache.computed(store, unlinked_accounts, as_of)
    if unlinked.empty:
        return
    st.caption(plain(f"The accounts with the most events in the last {WINDOW} days whose users link to no "
                     "customer: map them to link their usage."))
    st.dataframe(unlinked, hide_index=True, width="content", column_config={
        "account_id": st.column_config.TextColumn("Account"),
        "users": st.column_config.NumberColumn(f"Active users ({WINDOW} days)", format="localized"),
        "events": st.column_config.NumberColumn(f"Events ({WINDOW} days)", format="localized")})
