"""The Revenue page's "Break down by": MRR by plan or by a customer attribute, stacked over time, and the MRR bridge
of one period per group (:mod:`kpis.metrics.breakdown`). The charts show the largest groups and the rest as
"Other"; the table and the command line (``series mrr --by ...``) give every group."""

from __future__ import annotations

import html
from datetime import date

import pandas as pd
import streamlit as st

from app_pages.ui import cache, charts, keys, url_state
from app_pages.ui import format as fmt
from app_pages.ui.series import shown_from
from app_pages.ui.text import message, plain
from kpis.core.errors import InputError
from kpis.core.registry import KPIS
from kpis.metrics import breakdown, segments
from kpis.metrics.revenue import BRIDGE_MOVEMENTS
from kpis.plan.scorecard import segment_label
from kpis.store.db import Store

#: The choice that shows no breakdown (the page as without one).
NOTHING = "none"
#: How many groups a chart shows before it gathers the rest as "Other".
SHOWN_GROUPS = 8


def options(store: Store) -> list[str]:
    """``none``, ``plan`` and each customer attribute with no more values than a segment may have (the filter's
    own limit: each group is a revenue computation), sorted."""
    try:
        most = segments.max_segment_values()
    except InputError:  # named in the sidebar already
        most = segments.DEFAULT_MAX_SEGMENT_VALUES
    offered = cache.computed(store, segments.offered_segments, most)
    attributes = sorted({key for key, _ in offered.segments if key != "plan"})
    return [NOTHING, "plan", *attributes]


def label(name: str) -> str:
    """A choice as the selectbox shows it: "nothing", "Plan", "Country", "Billing country".

    >>> [label(n) for n in ("none", "plan", "billing_country")]
    ['nothing', 'Plan', 'Billing country']
    """
    return "nothing" if name == NOTHING else segment_label((name, "")).removesuffix(": ")


def choose(store: Store) -> str | None:
    """The breakdown chosen (kept in the link as ``?by=plan``), None for none."""
    names = options(store)
    picked = url_state.pick_choice("Break down by", keys.BREAKDOWN, names, NOTHING, label,
                                   f"one of: {', '.join(names)}")
    return None if picked == NOTHING else picked


def top_groups(table: pd.DataFrame, most: int = SHOWN_GROUPS) -> pd.DataFrame:
    """The ``most`` groups largest in the last period, largest first, and the others summed as "Other".

    >>> t = pd.DataFrame({"period_start": [1, 1, 1], "group": ["a", "b", "c"], "value": [1.0, 5.0, 2.0],
    ...                   "partial": [False] * 3})
    >>> top_groups(t, 1)[["group", "value"]].to_dict("list")
    {'group': ['b', 'Other'], 'value': [5.0, 3.0]}
    """
    if table.empty:
        return table
    last = table[table["period_start"] == table["period_start"].max()]
    ranked = list(last.sort_values(["value", "group"], ascending=[False, True], kind="stable")["group"])
    if len(ranked) <= most:
        order = {g: i for i, g in enumerate(ranked)}
        return table.sort_values("group", key=lambda g: g.map(order), kind="stable").reset_index(drop=True)
    kept = ranked[:most]
    named = table[table["group"].isin(kept)]
    rest = (table[~table["group"].isin(kept)].groupby("period_start", as_index=False)
            .agg(value=("value", "sum"), partial=("partial", "max")).assign(group=charts.OTHER))
    order = {g: i for i, g in enumerate([*kept, charts.OTHER])}
    out = pd.concat([named, rest[list(table.columns)]], ignore_index=True)
    return out.sort_values(["group", "period_start"], key=lambda c: c.map(order) if c.name == "group" else c,
                           kind="stable").reset_index(drop=True)


def mrr_chart(store: Store, by: str, grain: str, start: date, end: date | None,
              segment: tuple[str, str] | None) -> bool:
    """MRR by group stacked over the date range; False (with the reason) when it cannot be computed."""
    try:
        table = cache.computed(store, breakdown.breakdown, "mrr", grain, by, end=end, segment=segment)
    except InputError as exc:
        message("warning", str(exc))
        return False
    shown = shown_from(table, start, grain)
    if shown.empty:
        st.info("No MRR in this date range.", icon=":material/inbox:")
        return False
    groups = shown["group"].nunique()
    title = html.escape(f"MRR by {label(by).lower()}")  # an attribute's name comes from the data
    charts.show(charts.stacked_area(top_groups(shown), KPIS["mrr"], title, grain))
    if groups > SHOWN_GROUPS:
        st.caption(plain(f"The {SHOWN_GROUPS} largest of {groups} groups in the last {grain} shown; the others "
                         f"as Other. The table below gives every group, and so does the command line "
                         f"(python -m kpis series mrr --by {by})."))
    return True


#: The bridge table's columns: the breakdown's column -> heading.
_HEADINGS = {"mrr_start": "MRR at start", **BRIDGE_MOVEMENTS, "net_new_mrr": "Net new", "mrr_end": "MRR at end"}


def bridge_table(store: Store, by: str, grain: str, period: date, end: date | None,
                 segment: tuple[str, str] | None) -> None:
    """The MRR bridge of ``period`` per group (largest MRR at the end first, then the total), in the currency."""
    try:
        rows = cache.computed(store, breakdown.bridge_by_group, grain, by, period, end=end, segment=segment)
    except InputError as exc:
        message("warning", str(exc))
        return
    if rows.empty:
        return
    rows = rows.sort_values(["mrr_end", "group"], ascending=[False, True], kind="stable")
    total = pd.DataFrame([{"group": "Total", **rows.drop(columns="group").sum(min_count=1).to_dict()}])
    rows = pd.concat([rows, total], ignore_index=True)
    columns = [c for c in _HEADINGS if rows[c].notna().any()]
    shown = pd.DataFrame({label(by): rows["group"]})
    for column in columns:
        money = column in ("mrr_start", "mrr_end")
        shown[_HEADINGS[column]] = [fmt.money(v) if money else fmt.delta(v, "currency") or fmt.DASH
                                    for v in rows[column]]
    st.markdown(f"**MRR bridge by {plain(label(by).lower())}, {fmt.period(period, grain)}**")
    st.dataframe(shown, hide_index=True, width="stretch")
    if by in breakdown.BREAKDOWNS:
        st.caption("Movements belong to customers, not plans: by plan, the bridge shows each plan's MRR at the two "
                   "ends and the change (a customer moving from one plan to another moves MRR between them).")
