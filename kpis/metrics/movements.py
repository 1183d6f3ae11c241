"""Customers behind the MRR movements: whose MRR differs between two days, and which movement that is.

The classification is :func:`kpis.metrics.revenue.movement_sql`, the rule the revenue KPIs add up with, so the
customers of a movement add up to its KPI. The drill-down pages and the review read it from here.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from kpis.metrics.revenue import ROUND_DIGITS, movement_sql, paid_intervals_sql
from kpis.store.db import Store
from kpis.store.settings import timezone

COLUMNS = ("customer_id", "name", "mrr_before", "mrr_after", "movement")


def customer_changes(store: Store, before: date, after: date,
                     segment: tuple[str, str] | None = None) -> pd.DataFrame:
    """``customer_id, name, mrr_before, mrr_after, movement``: each customer whose MRR on day ``before`` differs
    from their MRR on day ``after`` (compared rounded, as the revenue KPIs do), with the name from ``customers``
    and the movement over the period from the day after ``before`` to ``after``.

    The paid-interval rule is the revenue KPIs' own (:func:`kpis.metrics.revenue.paid_intervals_sql`): a
    subscription pays its monthly amount from max(start, trial end) up to, not including, its end; incomplete
    ones never pay.
    """
    paid, params = paid_intervals_sql(segment, timezone(store))
    movement = movement_sql(f"round(a.mrr_before, {ROUND_DIGITS})", f"round(a.mrr_after, {ROUND_DIGITS})",
                            "a.first_paid", "$period_start")
    return store.df(f"""
        WITH paid AS (
            SELECT * FROM ({paid}) p
        ),
        amounts AS (
            SELECT customer_id, min(paid_start) AS first_paid,
                   sum(CASE WHEN paid_start <= $before AND (paid_end IS NULL OR paid_end > $before)
                            THEN monthly ELSE 0 END) AS mrr_before,
                   sum(CASE WHEN paid_start <= $after AND (paid_end IS NULL OR paid_end > $after)
                            THEN monthly ELSE 0 END) AS mrr_after
            FROM paid GROUP BY customer_id
        )
        SELECT a.customer_id, c.name, a.mrr_before, a.mrr_after, {movement} AS movement
        FROM amounts a LEFT JOIN customers c ON c.customer_id = a.customer_id
        WHERE round(a.mrr_before, {ROUND_DIGITS}) <> round(a.mrr_after, {ROUND_DIGITS})
        ORDER BY a.customer_id""", {**params, "before": before, "after": after,
                                    "period_start": before + timedelta(days=1)})
