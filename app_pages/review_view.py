"""The review (:mod:`kpis.review.build`) drawn with native Streamlit components, and its downloads.

Nothing of the review goes through Markdown unescaped: the sentences are escaped with
:func:`app_pages.ui.text.plain` (they quote customer names and notes), tables are ``st.dataframe`` (plain text
cells). The downloads are :func:`kpis.review.html.render_html` (one self-contained file, data escaped there) and
:func:`kpis.review.markdown.render_markdown`.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages.ui import auth, plan
from app_pages.ui.text import message, plain
from kpis.core import formatting as kfmt
from kpis.review.html import render_html
from kpis.review.markdown import (
    anomaly_cells,
    cap,
    change_cell,
    delta_text,
    mover_change,
    render_markdown,
    subtitle,
    target_summary,
    title,
    value_text,
)
from kpis.review.model import CustomerMove, Review


def file_stem(review: Review) -> str:
    """``review-week-2026-11-16``: the download's file name without its extension."""
    return f"review-{review.grain}-{review.period_start.isoformat()}"


def columns(review: Review) -> tuple[str, str]:
    """Short headings of the reviewed period and the one before (``This week``, ``Week before``): the title names
    the period."""
    return f"This {review.grain}", f"{cap(review.grain)} before"


def headlines(review: Review) -> pd.DataFrame:
    """The headline KPIs: this period, the one before, the change, the targets and their status."""
    this, before = columns(review)
    rows = []
    for h in review.headlines:
        statuses = [t.status + (" (projected)" if t.projected and t.running and h.unit != "ratio" else "")
                    for t in h.targets if t.status]
        rows.append({"KPI": h.label, this: value_text(review, h.kpi, h.value),
                     before: value_text(review, h.kpi, h.previous), "Change": change_cell(review, h),
                     "Target": "; ".join(target_summary(review, t, h.kpi, status=False) for t in h.targets),
                     "Status": "; ".join(statuses),
                     "Unusual": f"{h.anomaly.direction} usual range" if h.anomaly else ""})
    return pd.DataFrame(rows)


def bridge(review: Review) -> pd.DataFrame | None:
    if review.bridge is None:
        return None
    b = review.bridge
    before = kfmt.period_label(review.previous_start, review.grain)
    this = kfmt.period_label(review.period_start, review.grain)
    rows = [(f"Start (end of {before})", value_text(review, "mrr", b.start))]
    rows += [(label, delta_text(review, "mrr", amount)) for label, amount in b.movements]
    rows += [(f"End (end of {this})", value_text(review, "mrr", b.end))]
    return pd.DataFrame(rows, columns=["", "MRR"])


def movers(review: Review) -> pd.DataFrame:
    this, before = columns(review)
    return pd.DataFrame([{"KPI": c.label, before: value_text(review, c.kpi, c.previous),
                          this: value_text(review, c.kpi, c.value), "Change": mover_change(review, c),
                          "": "better" if c.improved else "worse"} for c in (*review.improvers, *review.decliners)])


def customers(review: Review, moves: tuple[CustomerMove, ...]) -> pd.DataFrame:
    """A customer's MRR at the end of the period before and of the reviewed one."""
    this, before = columns(review)
    return pd.DataFrame([{"Customer": m.display_name, before: value_text(review, "mrr", m.mrr_before),
                          this: value_text(review, "mrr", m.mrr_after),
                          "Change": delta_text(review, "mrr", m.change)} for m in moves])


def _table(frame: pd.DataFrame, styled: bool = False, widths: dict[str, int] | None = None) -> None:
    config = {c: st.column_config.TextColumn(width=w) for c, w in (widths or {}).items() if c in frame.columns}
    st.dataframe(plan.styled(frame) if styled else frame, hide_index=True, width="stretch", column_config=config)


def show(review: Review) -> None:
    """The whole review, section by section, with its downloads on top."""
    st.subheader(title(review))
    st.caption(plain(subtitle(review)))
    if review.period_note:
        st.caption(plain(review.period_note))
    left, right, _ = st.columns([1, 1, 2])
    with left:
        st.download_button("Download as HTML", render_html(review), file_name=f"{file_stem(review)}.html",
                           mime="text/html", icon=":material/download:", key="review_html",
                           help="One self-contained file (no scripts, no network) to open in a browser or attach "
                                "to an email.")
    with right:
        st.download_button("Download as Markdown", render_markdown(review),
                           file_name=f"{file_stem(review)}.md", mime="text/markdown", icon=":material/download:",
                           key="review_markdown", help="For a chat or a wiki.")
    for caveat in review.caveats:
        message("warning", caveat)

    st.markdown("#### Summary")
    st.markdown("\n".join(f"- {plain(s)}" for s in review.sentences) or "Nothing to report.")

    st.markdown("#### Headline KPIs")
    table = headlines(review)
    _table(table, styled=True, widths={"KPI": 140, table.columns[1]: 85, table.columns[2]: 95, "Change": 120,
                                       "Target": 245, "Status": 135, "Unusual": 120})

    table = bridge(review)
    moved = movers(review)
    if table is not None or not moved.empty:
        left, right = st.columns([2, 3])
        if table is not None:
            with left:
                st.markdown("#### MRR bridge")
                _table(table)
        if not moved.empty:
            with right:
                st.markdown("#### Biggest movers")
                _table(moved)

    if review.anomalies:
        st.markdown("#### Anomalies")
        _table(pd.DataFrame([(a.label, *anomaly_cells(review, a)) for a in review.anomalies],
                            columns=["KPI", columns(review)[0], "Usual range", ""]))

    if review.top_churned or review.top_expansion:
        left, right = st.columns(2)
        for column, heading, moves, total in ((left, "Largest churn", review.top_churned, review.churned_count),
                                              (right, "Largest expansion", review.top_expansion,
                                               review.expansion_count)):
            with column:
                st.markdown(f"#### {heading}")
                if moves:
                    moved = customers(review, moves)
                    _table(moved, widths={"Customer": 180, moved.columns[1]: 100, moved.columns[2]: 100,
                                          "Change": 80})
                    st.caption(f"MRR at the end of each {review.grain}"
                               + (f"; the {len(moves)} largest of {total}." if total > len(moves) else "."))
                else:
                    st.caption("None in this period.")

    st.markdown("#### Notes in this period")
    if review.annotations:
        st.markdown("\n".join(f"- {kfmt.day_label(n.day)}: {plain(n.text)}" for n in review.annotations))
    else:
        st.caption("No note is dated in this period" + (": add one below." if auth.visitor().can_edit else "."))
