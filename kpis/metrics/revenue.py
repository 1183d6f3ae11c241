"""Revenue KPIs from subscriptions: MRR, its movements between period ends, customers, churn, NRR/GRR, LTV.

All the heavy lifting is one SQL query over a date spine: each customer's MRR at every date that matters
(period ends, the previous period's end, twelve months back), then one row per period. Standard SQL only
(joins, GROUP BY, CASE, explicit window frames, every denominator guarded: NULLIF for counts, a CASE for
money sums that may be zero up to float noise), so it translates to a warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from kpis.core.calendar import add_months, spine
from kpis.core.errors import DataError
from kpis.core.formatting import percent, period_label
from kpis.core.registry import GRAINS
from kpis.metrics.segments import customers_sql
from kpis.store.db import Store
from kpis.store.derived import day_sql
from kpis.store.settings import timezone

#: Statuses that never pay (Stripe: the first payment never succeeded).
NEVER_PAID = ("incomplete", "incomplete_expired")
#: Monthly factor per billing interval: annual plans / 12, weekly x 52/12, daily x 365/12.
MONTHLY_FACTOR = {"month": 1.0, "year": 1 / 12, "week": 52 / 12, "day": 365 / 12}
#: Amounts are compared after rounding, so that float noise never turns "unchanged" into a movement.
ROUND_DIGITS = 6

#: The movements of a customer's MRR between two period ends, in the order the pages list them.
MOVEMENTS = ("new", "reactivated", "expansion", "contraction", "churned")
#: Each movement as the pages and the review name it.
MOVEMENT_LABELS = {m: m.capitalize() for m in MOVEMENTS}
#: The MRR bridge's movements, gains first: each one's column in the revenue table and its name.
BRIDGE_MOVEMENTS = {"new_mrr": "New", "expansion_mrr": "Expansion", "reactivation_mrr": "Reactivation",
                    "contraction_mrr": "Contraction", "churned_mrr": "Churned"}
#: The customers won and lost: each count's column in the revenue table and its movement's name.
CUSTOMER_MOVEMENTS = {f"{m}_customers": MOVEMENT_LABELS[m] for m in ("new", "reactivated", "churned")}


@dataclass(frozen=True)
class Bridge:
    """The MRR bridge of a period: start + the five movements = end (the MRR at the two period ends)."""

    start: float
    new: float
    expansion: float
    reactivation: float
    contraction: float
    churned: float
    end: float

    @property
    def movements(self) -> tuple[tuple[str, float], ...]:
        """The five movements, gains first, as ``(label, amount)`` (:data:`BRIDGE_MOVEMENTS`)."""
        amounts = (self.new, self.expansion, self.reactivation, self.contraction, self.churned)
        return tuple(zip(BRIDGE_MOVEMENTS.values(), amounts, strict=True))

    @property
    def net(self) -> float:
        """The sum of the movements (net new MRR)."""
        return self.new + self.expansion + self.reactivation + self.contraction + self.churned


def bridge(table: pd.DataFrame, period: date) -> Bridge | None:
    """The MRR bridge of the period starting ``period`` in a revenue table (:func:`revenue_table`); None when the
    table does not hold that period. The start is the period's MRR less its net new MRR: the MRR at the end of
    the period before (the table's MRR is the running sum of net new MRR), known for the table's first period
    too."""
    starts = [pd.Timestamp(p).date() for p in table["period_start"]]
    if period not in starts:
        return None
    row = table.iloc[starts.index(period)]
    end = float(row["mrr"])
    new, expansion, reactivation, contraction, churned = (float(row[c]) for c in BRIDGE_MOVEMENTS)
    return Bridge(end - float(row["net_new_mrr"]), new, expansion, reactivation, contraction, churned, end)


@dataclass(frozen=True)
class CompoundGrowth:
    """The steady monthly rate that turns the MRR at the end of month ``first`` into the MRR at the end of month
    ``last``, ``months`` later (None: undefined)."""

    first: date
    last: date
    months: int
    rate: float | None

    def sentence(self) -> str:
        """The rate as the Revenue page says it.

        >>> CompoundGrowth(date(2026, 1, 1), date(2026, 11, 1), 10, 0.0612).sentence()
        'Compound monthly growth from the end of Jan 2026 to the end of Nov 2026 (10 months): 6.1% a month.'
        """
        span = (f"from the end of {period_label(self.first, 'month')} to the end of "
                f"{period_label(self.last, 'month')} ({self.months} month{'s' if self.months != 1 else ''})")
        if self.rate is None:
            return f"Compound monthly growth {span}: undefined, nobody paid at the start."
        return f"Compound monthly growth {span}: {percent(self.rate)} a month."


def compound_monthly_growth(months: pd.DataFrame) -> CompoundGrowth | None:
    """The compound monthly growth rate over the complete months of a month-grain revenue table (the range a page
    shows): ``(m1 / m0)^(1/n) - 1``; None with fewer than two complete months.

    >>> table = pd.DataFrame({"period_start": [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)],
    ...                       "mrr": [100.0, 110.0, 121.0], "partial": [False, False, False]})
    >>> found = compound_monthly_growth(table)
    >>> found.months, round(found.rate, 12)
    (2, 0.1)
    """
    complete = months[~months["partial"].astype(bool)]
    if len(complete) < 2:
        return None
    first, last = complete.iloc[0], complete.iloc[-1]
    m0, m1 = float(first["mrr"]), float(last["mrr"])
    n = len(complete) - 1
    rate = (m1 / m0) ** (1 / n) - 1 if round(m0, ROUND_DIGITS) > 0 and m1 >= 0 else None
    return CompoundGrowth(pd.Timestamp(first["period_start"]).date(), pd.Timestamp(last["period_start"]).date(), n,
                          rate)


def movement_sql(before: str, after: str, first_paid: str, period_start: str) -> str:
    """The one rule classifying a customer's MRR movement, as SQL: ``before`` and ``after`` are the customer's
    MRR (rounded to :data:`ROUND_DIGITS`) at the end of the previous period and of this one, ``first_paid`` the
    customer's first paid day; NULL when nothing moved.

    - new: nothing before, something after, and the first paid day lies in the period;
    - reactivated: nothing before, something after, the customer paid at some earlier time;
    - expansion: something before, more after; contraction: something after, less than before;
    - churned: something before, nothing after.
    """
    return (f"(CASE WHEN {before} = 0 AND {after} > 0 AND {first_paid} >= {period_start} THEN 'new' "
            f"WHEN {before} = 0 AND {after} > 0 AND {first_paid} < {period_start} THEN 'reactivated' "
            f"WHEN {before} > 0 AND {after} > {before} THEN 'expansion' "
            f"WHEN {after} > 0 AND {after} < {before} THEN 'contraction' "
            f"WHEN {before} > 0 AND {after} = 0 THEN 'churned' END)")


REVENUE_COLUMNS = (
    "mrr", "arr", "new_mrr", "expansion_mrr", "contraction_mrr", "churned_mrr", "reactivation_mrr",
    "net_new_mrr", "mrr_growth_rate", "active_customers", "new_customers", "reactivated_customers", "churned_customers",
    "net_new_customers", "logo_churn_rate", "revenue_churn_rate", "quick_ratio", "arpa", "nrr", "grr", "ltv",
)


def subscription_filter(segment: tuple[str, str] | None,
                        tz: str) -> tuple[str, dict[str, object], tuple[str, str, str]]:
    """What every query over the subscriptions ``s`` starts from: the ``AND ...`` keeping ``segment``'s customers,
    its parameters (``$tz`` bound when the reporting time zone is not UTC) and the SQL of the start, trial-end and
    end days in that time zone."""
    where, params = "", {}
    if segment is not None:
        subquery, params = customers_sql(segment)
        where = f"AND s.customer_id IN ({subquery})"
    if tz != "UTC":
        params = {**params, "tz": tz}
    return where, params, (day_sql(tz, "s.started_at"), day_sql(tz, "s.trial_end"), day_sql(tz, "s.ended_at"))


def paid_intervals_sql(segment: tuple[str, str] | None, tz: str, *,
                       with_plan: bool = False) -> tuple[str, dict[str, object]]:
    """Each subscription that pays on some day: customer, paid_start, paid_end (exclusive, NULL = open),
    monthly amount (above 0), and its plan when ``with_plan`` (MRR by plan).

    Days are calendar dates in the reporting time zone ``tz`` (bound as ``$tz`` when it is not UTC).
    """
    where, params, (started, trial, ended) = subscription_filter(segment, tz)
    factor = " ".join(f"WHEN '{k}' THEN {v!r}" for k, v in MONTHLY_FACTOR.items())
    never = ", ".join(f"'{s}'" for s in NEVER_PAID)
    sql = f"""
        SELECT * FROM (
            SELECT s.customer_id,{" s.plan," if with_plan else ""}
                   greatest({started}, coalesce({trial}, {started})) AS paid_start,
                   {ended} AS paid_end,
                   s.amount * s.quantity * (CASE s."interval" {factor} END) / s.interval_count
                       * coalesce(fx.rate, 1.0) AS monthly
            FROM subscriptions s
            LEFT JOIN fx_rates fx ON fx.currency = s.currency
            WHERE s.status NOT IN ({never}) AND s.interval_count > 0 {where}
        ) paying WHERE monthly > 0 AND (paid_end IS NULL OR paid_end > paid_start)
    """
    return sql, params


def _denominator(expression: str) -> str:
    """A money denominator that is NULL when it is zero up to float noise (so the ratio is undefined), and
    exact otherwise: the rounding only decides, it never changes the divisor."""
    return f"(CASE WHEN round({expression}, {ROUND_DIGITS}) = 0 THEN NULL ELSE {expression} END)"


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


def reporting_currency(store: Store) -> str | None:
    """The currency revenue is reported in, for its symbol on every page: the one :func:`check_currencies`
    settles on, else the ``currency`` setting (also while exchange rates are still missing)."""
    try:
        return check_currencies(store) or store.get_setting("currency")
    except DataError:
        return store.get_setting("currency")


def revenue_as_of(store: Store) -> date | None:
    """The last day with revenue data: the latest day on which the export recorded something that happened.

    That is a subscription's created, start, cancellation or end date. A trial end counts only when it is not
    later than those, so it can never move the date; dates scheduled after it (a trial ending next week) never
    do either. The machine's clock plays no part: the same files give the same date on any day.
    """
    tz = timezone(store)
    params: dict[str, object] = {"tz": tz} if tz != "UTC" else {}
    row = store.query(f"""
        SELECT max(d) FROM (
            SELECT {day_sql(tz, "created_at")} AS d FROM subscriptions UNION ALL
            SELECT {day_sql(tz, "started_at")} FROM subscriptions UNION ALL
            SELECT {day_sql(tz, "canceled_at")} FROM subscriptions UNION ALL
            SELECT {day_sql(tz, "ended_at")} FROM subscriptions
        ) t""", params)
    return row[0][0] if row else None


def first_paid_day(store: Store, segment: tuple[str, str] | None = None) -> date | None:
    """The first day anyone (of ``segment``) paid: where every revenue series starts, and from which NRR and
    GRR warm up (:mod:`kpis.metrics.warmup`)."""
    paid, params = paid_intervals_sql(segment, timezone(store))
    row = store.query(f"SELECT min(paid_start) FROM ({paid}) p", params)
    return row[0][0] if row else None


#: Twelve-month retention (NRR, GRR) as SQL CTEs over ``steps`` and the spine: MRR at ref of the customers paying
#: then, plus what changed for them since. Most of the work at fine grains: each period looks back a year.
_RETENTION = """
    -- twelve-month retention: MRR at ref of the customers paying then, plus what changed for them since
    day_totals AS (SELECT x, sum(v_after - v_before) AS delta FROM steps GROUP BY x),
    ref_mrr AS (
        SELECT s.period_start, sum(d.delta) AS ref_mrr
        FROM spine_frame s JOIN day_totals d ON d.x <= s.ref_day GROUP BY s.period_start
    ),
    -- customers whose MRR changed between ref and end(P): the first change after ref gives their MRR at ref,
    -- the last change up to end(P) their MRR at end(P); everyone else kept exactly their MRR at ref
    in_window AS MATERIALIZED (
        SELECT s.period_start, s.ref_day, s.period_end, st.customer_id, st.x_prev, st.x_next, st.v_before, st.v_after,
               st.r_before
        FROM steps st JOIN spine_frame s ON st.x > s.ref_day AND st.x <= s.period_end
    ),
    at_ref AS (
        SELECT period_start, customer_id, v_before AS m_ref FROM in_window
        WHERE (x_prev IS NULL OR x_prev <= ref_day) AND r_before > 0
    ),
    at_end AS (
        SELECT period_start, customer_id, v_after AS m_end FROM in_window
        WHERE x_next IS NULL OR x_next > period_end
    ),
    changed_since_ref AS (
        SELECT a.period_start, sum(e.m_end - a.m_ref) AS net_change,
               sum(least(e.m_end, a.m_ref) - a.m_ref) AS gross_change
        FROM at_ref a JOIN at_end e ON e.period_start = a.period_start AND e.customer_id = a.customer_id
        GROUP BY a.period_start
    ),
    retention AS (
        SELECT r.period_start, r.ref_mrr, r.ref_mrr + coalesce(c.net_change, 0) AS kept_mrr,
               r.ref_mrr + coalesce(c.gross_change, 0) AS kept_gross
        FROM ref_mrr r LEFT JOIN changed_since_ref c ON c.period_start = r.period_start
    )
"""
#: The same CTE without the look-back: NRR and GRR undefined.
_NO_RETENTION = """
    retention AS (SELECT period_start, CAST(NULL AS DOUBLE) AS ref_mrr, CAST(NULL AS DOUBLE) AS kept_mrr,
                         CAST(NULL AS DOUBLE) AS kept_gross FROM spine_frame)
"""


def revenue_table(store: Store, grain: str, *, start: date | None = None, end: date | None = None,
                  segment: tuple[str, str] | None = None, retention: bool = True) -> pd.DataFrame:
    """One row per period with every revenue KPI; ``partial`` marks a period cut short by the as-of date.

    Undefined ratios are NaN (empty in CSV, ``null`` in JSON, "—" in the UI), never 0 or infinity. ``retention``
    False leaves NRR and GRR undefined and skips their twelve-month look-back (a trend of MRR needs none).
    """
    if grain not in GRAINS:
        raise ValueError(f"unknown grain {grain!r}")
    check_currencies(store)
    as_of = end or revenue_as_of(store)
    first = first_paid_day(store, segment)
    if as_of is None or first is None:
        return _empty()
    periods = spine(min(first, start) if start else first, as_of, grain)
    if not periods:
        return _empty()
    frame = pd.DataFrame({
        "period_start": [p.start for p in periods],
        "period_end": [p.end for p in periods],
        "ref_day": [add_months(p.end, -12) for p in periods],
        "partial": [p.partial for p in periods],
    })
    paid, params = paid_intervals_sql(segment, timezone(store))
    sql = f"""
    WITH paid AS MATERIALIZED (
        SELECT * FROM ({paid}) p
    ),
    -- customers numbered densely, so that the large aggregations below hash small integers
    ids AS (SELECT customer_id, row_number() OVER (ORDER BY customer_id) AS cid
            FROM (SELECT DISTINCT customer_id FROM paid) t),
    deltas AS (
        SELECT i.cid AS customer_id, p.paid_start AS x, p.monthly AS delta FROM paid p JOIN ids i USING (customer_id)
        UNION ALL SELECT i.cid, p.paid_end, 0 - p.monthly FROM paid p JOIN ids i USING (customer_id)
        WHERE p.paid_end IS NOT NULL
    ),
    -- a customer's MRR is a step function: one row per customer and day on which it changes
    -- v_* are exact (summed), r_* rounded (compared), so float noise never turns "unchanged" into a movement
    steps AS MATERIALIZED (
        SELECT customer_id, x, v_after, round(v_after, {ROUND_DIGITS}) AS r_after,
               coalesce(lag(v_after) OVER (PARTITION BY customer_id ORDER BY x
                                           ROWS BETWEEN 1 PRECEDING AND 1 PRECEDING), 0) AS v_before,
               round(coalesce(lag(v_after) OVER (PARTITION BY customer_id ORDER BY x
                                                 ROWS BETWEEN 1 PRECEDING AND 1 PRECEDING), 0),
                     {ROUND_DIGITS}) AS r_before,
               lag(x) OVER (PARTITION BY customer_id ORDER BY x ROWS BETWEEN 1 PRECEDING AND 1 PRECEDING) AS x_prev,
               lead(x) OVER (PARTITION BY customer_id ORDER BY x ROWS BETWEEN 1 FOLLOWING AND 1 FOLLOWING) AS x_next
        FROM (
            SELECT customer_id, x,
                   sum(sum(delta)) OVER (PARTITION BY customer_id ORDER BY x
                                         ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS v_after
            FROM deltas GROUP BY customer_id, x
        ) t
    ),
    first_paid AS (SELECT customer_id, min(x) AS first_paid FROM steps WHERE r_after > 0 GROUP BY customer_id),
    -- customers whose MRR changed in P: m0 = MRR at end(P-1), m1 = MRR at end(P)
    changed AS (
        SELECT s.period_start, st.customer_id, min_by(st.v_before, st.x) AS m0, max_by(st.v_after, st.x) AS m1,
               min_by(st.r_before, st.x) AS r0, max_by(st.r_after, st.x) AS r1
        FROM steps st JOIN spine_frame s ON st.x BETWEEN s.period_start AND s.period_end
        GROUP BY s.period_start, st.customer_id
    ),
    classified AS (
        SELECT c.*, {movement_sql('c.r0', 'c.r1', 'f.first_paid', 'c.period_start')} AS movement
        FROM changed c JOIN first_paid f ON f.customer_id = c.customer_id
    ),
    moves AS (
        SELECT period_start,
            sum(m1 - m0) AS net_new_mrr,
            sum(CASE WHEN movement = 'new' THEN m1 ELSE 0 END) AS new_mrr,
            sum(CASE WHEN movement = 'reactivated' THEN m1 ELSE 0 END) AS reactivation_mrr,
            sum(CASE WHEN movement = 'expansion' THEN m1 - m0 ELSE 0 END) AS expansion_mrr,
            sum(CASE WHEN movement = 'contraction' THEN m1 - m0 ELSE 0 END) AS contraction_mrr,
            sum(CASE WHEN movement = 'churned' THEN 0 - m0 ELSE 0 END) AS churned_mrr,
            sum(CASE WHEN r1 > 0 THEN 1 ELSE 0 END) - sum(CASE WHEN r0 > 0 THEN 1 ELSE 0 END) AS active_delta,
            count(CASE WHEN movement = 'new' THEN 1 END) AS new_customers,
            count(CASE WHEN movement = 'reactivated' THEN 1 END) AS reactivated_customers,
            count(CASE WHEN movement = 'churned' THEN 1 END) AS churned_customers
        FROM classified
        GROUP BY period_start
    ),
    running AS (
        SELECT s.period_start, s.period_end, s.partial, s.ref_day,
            coalesce(m.new_mrr, 0) AS new_mrr, coalesce(m.reactivation_mrr, 0) AS reactivation_mrr,
            coalesce(m.expansion_mrr, 0) AS expansion_mrr, coalesce(m.contraction_mrr, 0) AS contraction_mrr,
            coalesce(m.churned_mrr, 0) AS churned_mrr, coalesce(m.net_new_mrr, 0) AS net_new_mrr,
            coalesce(m.new_customers, 0) AS new_customers,
            coalesce(m.reactivated_customers, 0) AS reactivated_customers,
            coalesce(m.churned_customers, 0) AS churned_customers,
            sum(coalesce(m.net_new_mrr, 0)) OVER w AS mrr,
            CAST(sum(coalesce(m.active_delta, 0)) OVER w AS BIGINT) AS active_customers
        FROM spine_frame s LEFT JOIN moves m ON m.period_start = s.period_start
        WINDOW w AS (ORDER BY s.period_start ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
    ),
    with_prev AS (
        SELECT *,
            lag(mrr) OVER (ORDER BY period_start ROWS BETWEEN 1 PRECEDING AND 1 PRECEDING) AS prev_mrr,
            lag(active_customers) OVER (ORDER BY period_start ROWS BETWEEN 1 PRECEDING AND 1 PRECEDING)
                AS prev_active
        FROM running
    ),
{_RETENTION if retention else _NO_RETENTION}
    SELECT p.period_start, p.period_end, p.partial,
        p.mrr, 12 * p.mrr AS arr, p.new_mrr, p.expansion_mrr, p.contraction_mrr, p.churned_mrr, p.reactivation_mrr,
        -- growth: net new MRR is MRR less MRR a period ago (the bridge), without the running sum's float noise
        p.net_new_mrr, p.net_new_mrr / {_denominator('p.prev_mrr')} AS mrr_growth_rate,
        p.active_customers, p.new_customers, p.reactivated_customers, p.churned_customers,
        p.new_customers + p.reactivated_customers - p.churned_customers AS net_new_customers,
        p.churned_customers / NULLIF(p.prev_active, 0) AS logo_churn_rate,
        (0 - (p.churned_mrr + p.contraction_mrr)) / {_denominator('p.prev_mrr')} AS revenue_churn_rate,
        (p.new_mrr + p.reactivation_mrr + p.expansion_mrr)
            / {_denominator('0 - (p.churned_mrr + p.contraction_mrr)')}
            AS quick_ratio,
        p.mrr / NULLIF(p.active_customers, 0) AS arpa,
        r.kept_mrr / {_denominator('r.ref_mrr')} AS nrr,
        r.kept_gross / {_denominator('r.ref_mrr')} AS grr
    FROM with_prev p LEFT JOIN retention r ON r.period_start = p.period_start
    ORDER BY p.period_start
    """
    result = store.df(sql, params, frames={"spine_frame": frame})
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
