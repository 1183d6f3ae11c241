"""Revenue KPIs from subscriptions: MRR, its movements between period ends, customers, churn, NRR/GRR, LTV.

All the heavy lifting is one SQL query over a date spine: each customer's MRR at every date that matters
(period ends, the previous period's end, twelve months back), then one row per period. Standard SQL only
(joins, GROUP BY, CASE, explicit window frames, NULLIF on every denominator), so it translates to a warehouse.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from kpis.calendar import add_months, spine
from kpis.errors import DataError
from kpis.store import Store

#: Statuses that never pay (Stripe: the first payment never succeeded).
NEVER_PAID = ("incomplete", "incomplete_expired")
#: Monthly factor per billing interval: annual plans / 12, weekly x 52/12, daily x 365/12.
MONTHLY_FACTOR = {"month": 1.0, "year": 1 / 12, "week": 52 / 12, "day": 365 / 12}
#: Amounts are compared after rounding, so that float noise never turns "unchanged" into a movement.
_ROUND = 6

REVENUE_COLUMNS = (
    "mrr", "arr", "new_mrr", "expansion_mrr", "contraction_mrr", "churned_mrr", "reactivation_mrr",
    "net_new_mrr", "active_customers", "new_customers", "reactivated_customers", "churned_customers",
    "net_new_customers", "logo_churn_rate", "revenue_churn_rate", "quick_ratio", "arpa", "nrr", "grr", "ltv",
)


def _customer_filter(segment: tuple[str, str] | None) -> tuple[str, list[object]]:
    if segment is None:
        return "", []
    return ("AND customer_id IN (SELECT customer_id FROM customer_attributes WHERE \"key\" = ? AND \"value\" = ?)",
            [segment[0], segment[1]])


def _paid_intervals_sql(segment: tuple[str, str] | None) -> tuple[str, list[object]]:
    """Each paying subscription: customer, paid_start, paid_end (exclusive, NULL = open), monthly amount."""
    where, params = _customer_filter(segment)
    factor = " ".join(f"WHEN '{k}' THEN {v!r}" for k, v in MONTHLY_FACTOR.items())
    never = ", ".join(f"'{s}'" for s in NEVER_PAID)
    sql = f"""
        SELECT s.customer_id,
               greatest(CAST(s.started_at AS DATE), coalesce(CAST(s.trial_end AS DATE), CAST(s.started_at AS DATE)))
                   AS paid_start,
               CAST(s.ended_at AS DATE) AS paid_end,
               s.amount * s.quantity * (CASE s."interval" {factor} END) / s.interval_count
                   * coalesce(fx.rate, 1.0) AS monthly
        FROM subscriptions s
        LEFT JOIN fx_rates fx ON fx.currency = s.currency
        WHERE s.status NOT IN ({never}) {where.replace('customer_id', 's.customer_id', 1)}
    """
    return sql, params


def check_currencies(store: Store) -> str | None:
    """The reporting currency, or a :class:`DataError` naming the currencies that have no exchange rate."""
    found = [r[0] for r in store.query("SELECT DISTINCT currency FROM subscriptions ORDER BY 1")]
    if len(found) <= 1:
        return found[0] if found else None
    rated = {r[0] for r in store.query("SELECT currency FROM fx_rates")}
    setting = store.get_setting("currency")
    missing = [c for c in found if c not in rated and c != setting]
    if setting is None and len(missing) == 1:
        return missing[0]
    if missing:
        raise DataError(
            f"subscriptions are in several currencies ({', '.join(found)}) and no exchange rate is imported for "
            f"{', '.join(missing)}: import an exchange rates CSV (currency,rate) to one reporting currency")
    return setting


def revenue_as_of(store: Store, today: date | None = None) -> date | None:
    """The last day with revenue data: the latest start, trial end, cancel or end date not in the future."""
    today = today or date.today()
    row = store.query("""
        SELECT max(d) FROM (
            SELECT CAST(started_at AS DATE) AS d FROM subscriptions UNION ALL
            SELECT CAST(trial_end AS DATE) FROM subscriptions UNION ALL
            SELECT CAST(canceled_at AS DATE) FROM subscriptions UNION ALL
            SELECT CAST(ended_at AS DATE) FROM subscriptions
        ) WHERE d <= ?""", [today])
    return row[0][0] if row else None


def _first_paid_day(store: Store, segment: tuple[str, str] | None) -> date | None:
    paid, params = _paid_intervals_sql(segment)
    row = store.query(f"""SELECT min(paid_start) FROM ({paid}) p
        WHERE monthly > 0 AND (paid_end IS NULL OR paid_end > paid_start)""", params)
    return row[0][0] if row else None


def revenue_table(store: Store, grain: str, *, start: date | None = None, end: date | None = None,
                  segment: tuple[str, str] | None = None) -> pd.DataFrame:
    """One row per period with every revenue KPI; ``partial`` marks a period cut short by the as-of date.

    Undefined ratios are NaN (empty in CSV, ``null`` in JSON, "—" in the UI), never 0 or infinity.
    """
    if grain not in ("day", "week", "month", "quarter"):
        raise ValueError(f"unknown grain {grain!r}")
    check_currencies(store)
    as_of = end or revenue_as_of(store)
    first = _first_paid_day(store, segment)
    if as_of is None or first is None:
        return _empty()
    periods = spine(min(first, start) if start else first, as_of, grain)
    if not periods:
        return _empty()
    frame = pd.DataFrame({
        "period_start": [p.start for p in periods],
        "period_end": [p.end for p in periods],
        "prev_end": [p.start - timedelta(days=1) for p in periods],
        "ref_day": [add_months(p.end, -12) for p in periods],
        "partial": [p.partial for p in periods],
    })
    paid, params = _paid_intervals_sql(segment)
    sql = f"""
    WITH paid AS MATERIALIZED ({paid}),
    first_paid AS (
        SELECT customer_id, min(paid_start) AS first_paid FROM paid
        WHERE monthly > 0 AND (paid_end IS NULL OR paid_end > paid_start) GROUP BY customer_id
    ),
    days AS (
        SELECT period_end AS d FROM spine_frame UNION SELECT prev_end FROM spine_frame
        UNION SELECT ref_day FROM spine_frame
    ),
    mrr_at AS MATERIALIZED (
        SELECT days.d, paid.customer_id, round(sum(paid.monthly), {_ROUND}) AS m
        FROM days JOIN paid ON paid.paid_start <= days.d AND days.d < coalesce(paid.paid_end, DATE '9999-12-31')
        GROUP BY days.d, paid.customer_id
        HAVING round(sum(paid.monthly), {_ROUND}) > 0
    ),
    pairs AS (
        SELECT period_start, customer_id, sum(m1) AS m1, sum(m0) AS m0 FROM (
            SELECT s.period_start, a.customer_id, a.m AS m1, 0.0 AS m0
            FROM spine_frame s JOIN mrr_at a ON a.d = s.period_end
            UNION ALL
            SELECT s.period_start, a.customer_id, 0.0, a.m
            FROM spine_frame s JOIN mrr_at a ON a.d = s.prev_end
        ) GROUP BY period_start, customer_id
    ),
    moves AS (
        SELECT p.period_start,
            sum(p.m1) AS mrr,
            sum(p.m0) AS prev_mrr,
            sum(CASE WHEN p.m0 = 0 AND p.m1 > 0 AND f.first_paid > s.prev_end THEN p.m1 ELSE 0 END) AS new_mrr,
            sum(CASE WHEN p.m0 = 0 AND p.m1 > 0 AND f.first_paid <= s.prev_end THEN p.m1 ELSE 0 END)
                AS reactivation_mrr,
            sum(CASE WHEN p.m0 > 0 AND p.m1 > p.m0 THEN p.m1 - p.m0 ELSE 0 END) AS expansion_mrr,
            sum(CASE WHEN p.m1 > 0 AND p.m1 < p.m0 THEN p.m1 - p.m0 ELSE 0 END) AS contraction_mrr,
            sum(CASE WHEN p.m0 > 0 AND p.m1 = 0 THEN -p.m0 ELSE 0 END) AS churned_mrr,
            count(CASE WHEN p.m1 > 0 THEN 1 END) AS active_customers,
            count(CASE WHEN p.m0 > 0 THEN 1 END) AS prev_active,
            count(CASE WHEN p.m0 = 0 AND p.m1 > 0 AND f.first_paid > s.prev_end THEN 1 END) AS new_customers,
            count(CASE WHEN p.m0 = 0 AND p.m1 > 0 AND f.first_paid <= s.prev_end THEN 1 END)
                AS reactivated_customers,
            count(CASE WHEN p.m0 > 0 AND p.m1 = 0 THEN 1 END) AS churned_customers
        FROM pairs p
        JOIN spine_frame s ON s.period_start = p.period_start
        JOIN first_paid f ON f.customer_id = p.customer_id
        GROUP BY p.period_start
    ),
    retention AS (
        SELECT s.period_start, sum(r.m) AS ref_mrr, sum(coalesce(n.m, 0)) AS kept_mrr,
               sum(least(coalesce(n.m, 0), r.m)) AS kept_gross
        FROM spine_frame s
        JOIN mrr_at r ON r.d = s.ref_day
        LEFT JOIN mrr_at n ON n.d = s.period_end AND n.customer_id = r.customer_id
        GROUP BY s.period_start
    )
    SELECT s.period_start, s.period_end, s.partial,
        coalesce(m.mrr, 0) AS mrr, 12 * coalesce(m.mrr, 0) AS arr,
        coalesce(m.new_mrr, 0) AS new_mrr, coalesce(m.expansion_mrr, 0) AS expansion_mrr,
        coalesce(m.contraction_mrr, 0) AS contraction_mrr, coalesce(m.churned_mrr, 0) AS churned_mrr,
        coalesce(m.reactivation_mrr, 0) AS reactivation_mrr,
        coalesce(m.new_mrr + m.reactivation_mrr + m.expansion_mrr + m.contraction_mrr + m.churned_mrr, 0)
            AS net_new_mrr,
        coalesce(m.active_customers, 0) AS active_customers, coalesce(m.new_customers, 0) AS new_customers,
        coalesce(m.reactivated_customers, 0) AS reactivated_customers,
        coalesce(m.churned_customers, 0) AS churned_customers,
        coalesce(m.new_customers + m.reactivated_customers - m.churned_customers, 0) AS net_new_customers,
        m.churned_customers / NULLIF(m.prev_active, 0) AS logo_churn_rate,
        (0 - (m.churned_mrr + m.contraction_mrr)) / NULLIF(m.prev_mrr, 0) AS revenue_churn_rate,
        (m.new_mrr + m.reactivation_mrr + m.expansion_mrr) / NULLIF(0 - (m.churned_mrr + m.contraction_mrr), 0)
            AS quick_ratio,
        m.mrr / NULLIF(m.active_customers, 0) AS arpa,
        r.kept_mrr / NULLIF(r.ref_mrr, 0) AS nrr,
        r.kept_gross / NULLIF(r.ref_mrr, 0) AS grr
    FROM spine_frame s
    LEFT JOIN moves m ON m.period_start = s.period_start
    LEFT JOIN retention r ON r.period_start = s.period_start
    ORDER BY s.period_start
    """
    with store.cursor() as cur:
        cur.register("spine_frame", frame)
        try:
            result = cur.execute(sql, params).df()
        finally:
            cur.unregister("spine_frame")
    result["ltv"] = _ltv(result, grain)
    result["period_start"] = pd.to_datetime(result["period_start"]).dt.date
    result["period_end"] = pd.to_datetime(result["period_end"]).dt.date
    if start is not None:
        result = result[result["period_start"] >= start]
    return result.reset_index(drop=True)


def _ltv(table: pd.DataFrame, grain: str) -> pd.Series:
    """ARPA / mean logo churn of the six months ending with P (month grain only; needs all six months)."""
    if grain != "month":
        return pd.Series([float("nan")] * len(table), index=table.index, dtype="float64")
    churn = table["logo_churn_rate"].astype("float64")
    mean = churn.rolling(window=6, min_periods=6).mean()
    mean = mean.where(mean > 0)
    return table["arpa"].astype("float64") / mean


def _empty() -> pd.DataFrame:
    return pd.DataFrame(columns=["period_start", "period_end", "partial", *REVENUE_COLUMNS])
