"""The customers behind a movement: pick a period and a movement, see who, with a safe CSV download.

A plain function built from :mod:`app_pages.ui` parts; the numbers come from :mod:`kpis.metrics.drilldown`, whose lists
add up to the customers and MRR KPIs of the same period.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from app_pages.ui import cache, keys, url_state
from app_pages.ui import format as fmt
from app_pages.ui.text import plain
from kpis.core.csv_safety import frame_csv
from kpis.metrics.drilldown import churned_customers, movement_customers, period_movements
from kpis.metrics.revenue import MOVEMENT_LABELS as MOVEMENTS
from kpis.store.db import Store

#: What each movement means, for the caption under the table.
MEANING = {
    "new": "paying for the first time",
    "reactivated": "paying again after a time without a subscription",
    "expansion": "paying more than at the end of the previous {grain}",
    "contraction": "paying less, but still paying",
    "churned": "no longer paying",
}


#: Why a churned customer left, as the billing export says it: column -> heading.
WHY = {"reason": "Reason", "feedback": "Feedback", "comment": "Comment"}

#: The movement the section opens on when it has customers (churn first: it is what a CPO asks about first).
FIRST_CHOICE = "churned"


def opening_movement(counts: dict[str, int]) -> str:
    """The movement to open on: churned when anyone churned, else the first movement (in the pages' order) that
    has customers, so that the section never opens on an empty list while another has names.

    >>> opening_movement({"new": 0, "reactivated": 1, "expansion": 0, "contraction": 0, "churned": 0})
    'reactivated'
    >>> opening_movement({"new": 3, "churned": 2}), opening_movement({"new": 0, "churned": 0})
    ('churned', 'churned')
    """
    if counts.get(FIRST_CHOICE, 0) > 0:
        return FIRST_CHOICE
    return next((m for m in MOVEMENTS if counts.get(m, 0) > 0), FIRST_CHOICE)


def _pick_period(shown: pd.DataFrame, grain: str, default: date | None = None) -> pd.Series:
    """The period to explain, in the URL (``?moved=``; ``default``, the last complete one, when on screen);
    returns its row of the KPI table."""
    periods = [pd.Timestamp(p).date() for p in shown["period_start"]]
    partial = {p for p, is_partial in zip(periods, shown["partial"], strict=True) if is_partial}
    picked = url_state.pick_shown_period(f"The {grain}", keys.MOVED, periods, partial, default, grain)
    return shown.iloc[periods.index(picked)]


def movement_drilldown(store: Store, shown: pd.DataFrame, grain: str, segment: tuple[str, str] | None,
                       default: date | None = None) -> None:
    """The "who moved" section: a period of ``shown`` (the KPI table's rows on screen; ``default`` first, the last
    complete one) and a movement, the customers with their MRR before and after, largest change first, and the
    list as CSV."""
    st.subheader("Who moved")
    if shown.empty:
        st.caption("No period to explain in this date range.")
        return
    left, right = st.columns([1, 2], vertical_alignment="bottom")
    with left:
        row = _pick_period(shown, grain, default)
    start, end = row["period_start"], row["period_end"]
    moves = cache.computed(store, period_movements, start, end, segment=segment)
    counts = moves["movement"].value_counts()
    if "drill_movement" not in st.session_state:  # opened: on a movement with customers; then the reader's choice
        st.session_state["drill_movement"] = opening_movement({m: int(counts.get(m, 0)) for m in MOVEMENTS})
    with right:
        movement = st.segmented_control(
            "Movement", list(MOVEMENTS), required=True, key="drill_movement",
            format_func=lambda m: f"{MOVEMENTS[m]} ({int(counts.get(m, 0))})",
            help="Counted like the KPIs: MRR at the end of the previous period against MRR at this period's end "
                 "(the as-of date for a partial period).")
    movement = movement or "churned"
    if movement == "churned":  # with why they left, as the export says it
        listed = cache.computed(store, churned_customers, start, end, segment=segment)
    else:
        listed = cache.computed(store, movement_customers, start, end, movement, segment=segment)
    period_name = fmt.period(start, grain) + (" (partial, up to the as-of date)" if row["partial"] else "")
    if listed.empty:
        st.caption(plain(f"No customer in {MOVEMENTS[movement].lower()} in {period_name}."))
        return
    total = float(listed["change"].sum())
    word = "customer" if len(listed) == 1 else "customers"
    st.caption(plain(
        f"{len(listed):,} {word} {MEANING[movement].format(grain=grain)} in {period_name}: "
        f"{fmt.delta(total, 'currency')} MRR in all, largest change first."))
    table = pd.DataFrame({
        "name": listed["name"].where(listed["name"].notna(), listed["customer_id"]),
        "customer_id": listed["customer_id"],
        "mrr_before": listed["mrr_before"],
        "mrr_after": listed["mrr_after"],
        "change": listed["change"],
    })
    why = [c for c in WHY if c in listed.columns]
    for column in why:  # plain text cells: a comment is shown as typed, never as markup
        table[column] = listed[column]
    st.dataframe(
        table, hide_index=True, width="stretch", height=min(38 + 35 * len(table), 400),
        column_config={
            "name": st.column_config.TextColumn("Customer", width="medium"),
            "customer_id": st.column_config.TextColumn("ID", width="medium"),
            "mrr_before": st.column_config.NumberColumn("MRR before", format="dollar",
                                                        help=f"At the end of the previous {grain}"),
            "mrr_after": st.column_config.NumberColumn("MRR after", format="dollar",
                                                       help=f"At the end of this {grain} (or the as-of date)"),
            "change": st.column_config.NumberColumn("Change", format="dollar"),
            **{c: st.column_config.TextColumn(label, width="medium") for c, label in WHY.items() if c in why},
        },
    )
    st.download_button(
        "Download this list (CSV)", frame_csv(listed.assign(period_start=start, period_end=end)[
            ["customer_id", "name", "period_start", "period_end", "mrr_before", "mrr_after", "change", *why]]),
        file_name=f"customers_{movement}_{grain}_{start}.csv", mime="text/csv", icon=":material/download:",
        on_click="ignore", key="drill_download")
