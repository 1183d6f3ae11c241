"""The customers behind a revenue movement: who was new, came back, expanded, contracted or churned in a period.

The classification is :func:`kpis.metrics.revenue.revenue_table`'s own, customer by customer, so the list of a
movement adds up to the KPI: with ``before`` the customer's MRR at the end of the previous period and ``after``
their MRR at the period's end (amounts compared rounded),

- new: nothing before, something after, and the customer's first paid day lies in the period;
- reactivated: nothing before, something after, the customer paid at some earlier time;
- expansion: something before, more after; contraction: something after, less than before;
- churned: something before, nothing after.

Never imports streamlit.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from kpis.core.csv_safety import frame_csv
from kpis.metrics.activity import timezone
from kpis.metrics.revenue import ROUND_DIGITS, paid_intervals_sql
from kpis.review.build import customer_changes
from kpis.store.db import Store

#: The movements, in the order the pages list them, with their labels.
MOVEMENTS = {"new": "New", "reactivated": "Reactivated", "expansion": "Expansion", "contraction": "Contraction",
             "churned": "Churned"}
#: The revenue_table columns each movement adds up to (customers, MRR).
KPI_COLUMNS = {"new": ("new_customers", "new_mrr"), "reactivated": ("reactivated_customers", "reactivation_mrr"),
               "expansion": (None, "expansion_mrr"), "contraction": (None, "contraction_mrr"),
               "churned": ("churned_customers", "churned_mrr")}
COLUMNS = ("customer_id", "name", "movement", "mrr_before", "mrr_after", "change")


def first_paid_days(store: Store, segment: tuple[str, str] | None = None) -> pd.DataFrame:
    """``customer_id, first_paid``: each paying customer's first paid day (as the revenue KPIs see it)."""
    paid, params = paid_intervals_sql(segment, timezone(store))
    return store.df(f"""
        SELECT customer_id, min(paid_start) AS first_paid
        FROM ({paid}) p WHERE monthly > 0 AND (paid_end IS NULL OR paid_end > paid_start)
        GROUP BY customer_id""", params)


def period_movements(store: Store, period_start: date, period_end: date,
                     segment: tuple[str, str] | None = None) -> pd.DataFrame:
    """Every customer whose MRR moved in the period from ``period_start`` to ``period_end`` (its last day, or
    the as-of date for a running period): :data:`COLUMNS`, largest change first.

    ``mrr_before`` is the MRR at the end of the day before ``period_start``, ``mrr_after`` at ``period_end``,
    ``change`` their difference; ``movement`` is one of :data:`MOVEMENTS` (see the module's docstring).
    """
    changes = customer_changes(store, period_start - timedelta(days=1), period_end, segment)
    if changes.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64" if c.startswith(("mrr", "change")) else "str")
                             for c in COLUMNS})
    first = first_paid_days(store, segment)
    frame = changes.merge(first, on="customer_id", how="left")
    before = frame["mrr_before"].astype("float64").round(ROUND_DIGITS)
    after = frame["mrr_after"].astype("float64").round(ROUND_DIGITS)
    first_day = pd.to_datetime(frame["first_paid"]).dt.date
    started_here = first_day.map(lambda d: d is not None and not pd.isna(d) and d >= period_start)
    movement = pd.Series("", index=frame.index, dtype="str")
    movement[(before == 0) & (after > 0) & started_here] = "new"
    movement[(before == 0) & (after > 0) & ~started_here] = "reactivated"
    movement[(before > 0) & (after > before)] = "expansion"
    movement[(after > 0) & (after < before)] = "contraction"
    movement[(before > 0) & (after == 0)] = "churned"
    out = pd.DataFrame({
        "customer_id": frame["customer_id"].astype("str"),
        "name": frame["name"].astype("str"),
        "movement": movement,
        "mrr_before": frame["mrr_before"].astype("float64"),
        "mrr_after": frame["mrr_after"].astype("float64"),
    })
    out["change"] = out["mrr_after"] - out["mrr_before"]
    out = out[out["movement"] != ""]
    order = out.assign(size=out["change"].abs()).sort_values(["size", "customer_id"], ascending=[False, True])
    return order.drop(columns="size").reset_index(drop=True)


def movement_customers(store: Store, period_start: date, period_end: date, movement: str,
                       segment: tuple[str, str] | None = None) -> pd.DataFrame:
    """The customers of one movement in the period (see :func:`period_movements`), largest change first."""
    if movement not in MOVEMENTS:
        raise ValueError(f"unknown movement {movement!r}; one of {', '.join(MOVEMENTS)}")
    moves = period_movements(store, period_start, period_end, segment)
    return moves[moves["movement"] == movement].drop(columns="movement").reset_index(drop=True)


def safe_csv(frame: pd.DataFrame, *, digits: int = 2) -> bytes:
    """``frame`` as UTF-8 CSV that a spreadsheet opens without running anything
    (:func:`kpis.core.csv_safety.frame_csv`):
    text cells starting with ``= + - @``, a tab or a carriage return get a leading single quote; numbers stay
    numbers (rounded to ``digits``). Lines end with CRLF, so that a field holding a carriage return is quoted.

    >>> frame = pd.DataFrame({"name": ["=1+1", "-x", "Ann", None], "change": [-12.5, 3.0, 0.5, 1.0]})
    >>> safe_csv(frame).decode().split("\\r\\n")
    ['name,change', "'=1+1,-12.5", "'-x,3.0", 'Ann,0.5', ',1.0', '']
    """
    return frame_csv(frame, digits=digits)
