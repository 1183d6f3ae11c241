"""Churn reasons: why the customers who churned in a period left, as the billing export states it.

A customer churned in P when they paid at the end of P-1 and pay nothing at the end of P (the ``churned``
movement of :func:`kpis.metrics.revenue.movement_sql`, compared rounded as the revenue KPIs do). Their reason is
that of their subscription that ended last on or before end(P), among the subscriptions that count for revenue
(``incomplete`` ones never paid, so they explain no churn); "(none given)" when it has none. The feedback and the
comment of that subscription (Stripe's ``cancellation_details``) are kept as plain text for the customer lists.

Per period and reason, the churned customers and their churned MRR (a number <= 0, as ``churned_mrr``) add up to
the revenue table's ``churned_customers`` and ``churned_mrr`` of the period.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from kpis.core.calendar import spine
from kpis.core.registry import GRAINS
from kpis.metrics.revenue import NEVER_PAID, ROUND_DIGITS, first_paid_day, paid_intervals_sql, revenue_as_of
from kpis.store.db import Store
from kpis.store.derived import day_sql
from kpis.store.settings import timezone

#: The group of a churned customer whose last subscription gives no reason.
NONE_GIVEN = "(none given)"
#: The columns of :func:`churn_by_reason`.
COLUMNS = ("period_start", "group", "churned_customers", "churned_mrr")
#: The columns of :func:`last_cancellations`.
CANCELLATION_COLUMNS = ("customer_id", "reason", "feedback", "comment")


def _last_ended_sql(tz: str, customers: str, day: str) -> str:
    """SQL ranking the subscriptions of each row of ``customers`` (a table expression with ``customer_id`` and the
    column or parameter ``day``) that ended on or before ``day``: ``rank`` 1 is the one that ended last."""
    never = ", ".join(f"'{s}'" for s in NEVER_PAID)
    return f"""
        SELECT x.*, s.cancellation_reason AS reason, s.cancellation_feedback AS feedback,
               s.cancellation_comment AS comment,
               row_number() OVER (PARTITION BY x.customer_id, {day}
                                  ORDER BY s.ended_at DESC, s.subscription_id DESC) AS rank
        FROM {customers} x JOIN subscriptions s ON s.customer_id = x.customer_id
        WHERE s.status NOT IN ({never}) AND s.ended_at IS NOT NULL AND {day_sql(tz, 's.ended_at')} <= {day}
    """


def _group(reason: object) -> str:
    """A reason as its group: trimmed, "(none given)" when empty.

    >>> _group("  too_expensive "), _group(None), _group("")
    ('too_expensive', '(none given)', '(none given)')
    """
    text = "" if reason is None or pd.isna(reason) else str(reason).strip()
    return text or NONE_GIVEN


def churn_by_reason(store: Store, grain: str, start: date | None = None, end: date | None = None,
                    segment: tuple[str, str] | None = None) -> pd.DataFrame:
    """``period_start, group, churned_customers, churned_mrr``: for every period of the revenue KPIs (from the
    first paid day, or ``start``, to the revenue as-of date or ``end``) and every reason given in them, how many
    customers churned for it and the MRR they took (<= 0); rows sorted by period, then reason. Empty when nobody
    churned. For ``python -m kpis series churned_customers --by reason`` and the Customers page."""
    if grain not in GRAINS:
        raise ValueError(f"unknown grain {grain!r}")
    as_of = end or revenue_as_of(store)
    first = first_paid_day(store, segment)
    if as_of is None or first is None:
        return _empty()
    periods = spine(min(first, start) if start else first, as_of, grain)
    if start is not None:
        periods = [p for p in periods if p.start >= start]
    if not periods:
        return _empty()
    frame = pd.DataFrame({"period_start": [p.start for p in periods], "period_end": [p.end for p in periods],
                          "prev_end": [p.start - timedelta(days=1) for p in periods]})
    tz = timezone(store)
    paid, params = paid_intervals_sql(segment, tz)
    found = store.df(f"""
        WITH paid AS ({paid}),
        amounts AS (
            SELECT s.period_start, s.period_end, p.customer_id,
                   sum(CASE WHEN p.paid_start <= s.prev_end AND (p.paid_end IS NULL OR p.paid_end > s.prev_end)
                            THEN p.monthly ELSE 0 END) AS m0,
                   sum(CASE WHEN p.paid_start <= s.period_end AND (p.paid_end IS NULL OR p.paid_end > s.period_end)
                            THEN p.monthly ELSE 0 END) AS m1
            FROM paid p JOIN reasons_spine s
                ON p.paid_start <= s.period_end AND (p.paid_end IS NULL OR p.paid_end > s.prev_end)
            GROUP BY s.period_start, s.period_end, p.customer_id
        ),
        churned AS (
            SELECT period_start, period_end, customer_id, m0 FROM amounts
            WHERE round(m0, {ROUND_DIGITS}) > 0 AND round(m1, {ROUND_DIGITS}) = 0
        ),
        ranked AS ({_last_ended_sql(tz, "churned", "x.period_end")})
        SELECT c.period_start, r.reason, c.m0
        FROM churned c LEFT JOIN ranked r
            ON r.period_start = c.period_start AND r.customer_id = c.customer_id AND r.rank = 1
        ORDER BY c.period_start""", params, frames={"reasons_spine": frame})
    if found.empty:
        return _empty()
    found["group"] = [_group(r) for r in found["reason"]]
    found["period_start"] = pd.to_datetime(found["period_start"]).dt.date
    summed = found.groupby(["period_start", "group"]).agg(churned_customers=("m0", "size"),
                                                          churned_mrr=("m0", "sum"))
    grid = pd.MultiIndex.from_product([[p.start for p in periods], sorted(set(found["group"]))],
                                      names=["period_start", "group"])
    out = summed.reindex(grid, fill_value=0).reset_index()
    out["churned_customers"] = out["churned_customers"].astype("int64")
    out["churned_mrr"] = 0.0 - out["churned_mrr"].astype("float64")
    return out[list(COLUMNS)]


def last_cancellations(store: Store, day: date, customer_ids: list[str]) -> pd.DataFrame:
    """``customer_id, reason, feedback, comment`` of each of ``customer_ids``: those of their subscription that
    ended last on or before ``day`` (as text, missing where the export gave nothing); for the churned customers'
    list."""
    if not customer_ids:
        return pd.DataFrame({c: pd.Series(dtype="str") for c in CANCELLATION_COLUMNS})
    frame = pd.DataFrame({"customer_id": [str(c) for c in customer_ids]})
    tz = timezone(store)
    params: dict[str, object] = {"day": day, **({"tz": tz} if tz != "UTC" else {})}
    found = store.df(f"""
        WITH ranked AS ({_last_ended_sql(tz, "reasons_customers", "$day")})
        SELECT c.customer_id, r.reason, r.feedback, r.comment
        FROM reasons_customers c LEFT JOIN ranked r ON r.customer_id = c.customer_id AND r.rank = 1
        ORDER BY c.customer_id""", params, frames={"reasons_customers": frame})
    for column in CANCELLATION_COLUMNS[1:]:  # text, missing where the export gave nothing (or blanks)
        found[column] = pd.Series([None if pd.isna(v) or not str(v).strip() else str(v) for v in found[column]],
                                  dtype="str", index=found.index)
    return found[list(CANCELLATION_COLUMNS)]


def _empty() -> pd.DataFrame:
    return pd.DataFrame({"period_start": pd.Series(dtype="object"), "group": pd.Series(dtype="str"),
                         "churned_customers": pd.Series(dtype="int64"), "churned_mrr": pd.Series(dtype="float64")})
