"""The customers behind a revenue movement: who was new, came back, expanded, contracted or churned in a period.

The classification is :func:`kpis.metrics.revenue.movement_sql`, the rule :func:`kpis.metrics.revenue.revenue_table`
adds up with, applied customer by customer (:func:`kpis.metrics.movements.customer_changes`), so the list of a
movement adds up to the KPI.

Never imports streamlit.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from kpis.metrics import revenue
from kpis.metrics.movements import customer_changes
from kpis.metrics.reasons import last_cancellations
from kpis.store.db import Store

COLUMNS = ("customer_id", "name", "movement", "mrr_before", "mrr_after", "change")


def period_movements(store: Store, period_start: date, period_end: date,
                     segment: tuple[str, str] | None = None) -> pd.DataFrame:
    """Every customer whose MRR moved in the period from ``period_start`` to ``period_end`` (its last day, or
    the as-of date for a running period): :data:`COLUMNS`, largest change first.

    ``mrr_before`` is the MRR at the end of the day before ``period_start``, ``mrr_after`` at ``period_end``,
    ``change`` their difference; ``movement`` is one of :data:`kpis.metrics.revenue.MOVEMENTS` (see the module's
    docstring).
    """
    changes = customer_changes(store, period_start - timedelta(days=1), period_end, segment)
    changes = changes[changes["movement"].notna()]
    if changes.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64" if c.startswith(("mrr", "change")) else "str")
                             for c in COLUMNS})
    out = pd.DataFrame({
        "customer_id": changes["customer_id"].astype("str"),
        "name": changes["name"].astype("str"),
        "movement": changes["movement"].astype("str"),
        "mrr_before": changes["mrr_before"].astype("float64"),
        "mrr_after": changes["mrr_after"].astype("float64"),
    })
    out["change"] = out["mrr_after"] - out["mrr_before"]
    order = out.assign(size=out["change"].abs()).sort_values(["size", "customer_id"], ascending=[False, True])
    return order.drop(columns="size").reset_index(drop=True)


def movement_customers(store: Store, period_start: date, period_end: date, movement: str,
                       segment: tuple[str, str] | None = None) -> pd.DataFrame:
    """The customers of one movement in the period (see :func:`period_movements`), largest change first."""
    if movement not in revenue.MOVEMENTS:
        raise ValueError(f"unknown movement {movement!r}; one of {', '.join(revenue.MOVEMENTS)}")
    moves = period_movements(store, period_start, period_end, segment)
    return moves[moves["movement"] == movement].drop(columns="movement").reset_index(drop=True)


def churned_customers(store: Store, period_start: date, period_end: date,
                      segment: tuple[str, str] | None = None) -> pd.DataFrame:
    """The churned customers of the period (:func:`movement_customers`) with why they left: the ``reason``,
    ``feedback`` and ``comment`` of their subscription that ended last by ``period_end``, as the export gave them
    (plain text; missing where it gave nothing)."""
    listed = movement_customers(store, period_start, period_end, "churned", segment)
    found = last_cancellations(store, period_end, list(listed["customer_id"]))
    return listed.merge(found, on="customer_id", how="left")
