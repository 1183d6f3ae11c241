"""Usage x revenue per account: which paying customers use the product less and less, before they churn.

A user belongs to a customer by the first of these that applies (a mapping names it outright, so it wins over an
account id that happens to equal a customer id):

1. an imported ``user_id,customer_id`` row for the user;
2. an imported ``email,customer_id`` row for the user id, when the product identifies users by email (compared in
   lower case; events carry no other email);
3. an imported ``account_id,customer_id`` row for the user's account (the account named by their latest event that
   names one, as for the segment filter);
4. the user's account id itself, when it is a customer id.

``account_active_users(c, d)`` = distinct users of c active in days d-27 .. d. c is *at risk* on d when it pays on
d and either its active users fell to 0 from more than 0 in the 28 days before (d-55 .. d-28), or fell to at most
(1 - ``at_risk_drop``) of them from at least 3. A customer *maps to an account* on d when a mapping row names it or
a user seen by d belongs to it.

The drop is compared in whole numbers (``at_risk_drop`` as a fraction p/q: q x now <= (q - p) x before), so DuckDB
and Spark flag exactly the same customers. Days are bound from Python, so the SQL holds no date arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction

import pandas as pd

from kpis.core.calendar import Period
from kpis.metrics.engagement import event_periods
from kpis.metrics.revenue import check_currencies, paid_intervals_sql
from kpis.store.db import Store
from kpis.store.settings import at_risk_drop, timezone

#: The account table's columns after the period's.
ACCOUNT_COLUMNS = ("accounts_at_risk", "mrr_at_risk", "engaged_mrr_share")
#: The columns of :func:`account_rows` (the ``accounts`` command's CSV).
ROW_COLUMNS = ("customer_id", "mrr", "active_users", "previous_active_users", "change", "at_risk")
#: Days in each window of active users.
WINDOW = 28
#: Active users an account must have had in the window before for a fall short of zero to put it at risk.
MIN_BEFORE = 3

#: Each user linked to a customer (see the module's docstring for the order of the links).
USER_CUSTOMERS = """
    SELECT u.user_id, u.first_day,
           coalesce(lu.customer_id, le.customer_id, la.customer_id, u.account_id) AS customer_id
    FROM users u
    LEFT JOIN account_links lu ON lu.key_kind = 'user' AND lu."key" = u.user_id
    LEFT JOIN account_links le ON le.key_kind = 'email' AND le."key" = lower(u.user_id)
    LEFT JOIN account_links la ON la.key_kind = 'account' AND la."key" = u.account_id
    WHERE coalesce(lu.customer_id, le.customer_id, la.customer_id, u.account_id) IS NOT NULL"""


def drop_fraction(drop: float) -> tuple[int, int]:
    """``drop`` as a fraction p/q of small whole numbers, for an exact comparison in SQL.

    >>> drop_fraction(0.3), drop_fraction(0.25)
    ((3, 10), (1, 4))
    """
    found = Fraction(drop).limit_denominator(10_000)
    return found.numerator, found.denominator


def _days_frame(days: list[date]) -> pd.DataFrame:
    """Each day ``d`` with the first day of its window (``lo``: d-27) and of the window before (``lo_before``)."""
    return pd.DataFrame({
        "i": range(len(days)), "d": days,
        "lo": [d - timedelta(days=WINDOW - 1) for d in days],
        "hi_before": [d - timedelta(days=WINDOW) for d in days],
        "lo_before": [d - timedelta(days=2 * WINDOW - 1) for d in days],
    })


def _last_active_days_sql(lo: str, hi: str) -> str:
    """Per day ``i`` of ``account_days`` and customer, its distinct users active in the window ``lo`` .. ``hi`` (two
    columns of the frame), counted without a ``count(DISTINCT)``: each user once, on their last active day in the
    window, the one whose next active day is after ``hi`` (or that has none)."""
    return f"""
            SELECT w.i, ld.customer_id, count(*) AS users
            FROM (SELECT a.i, a.{hi} AS hi, x.day FROM account_days a
                  JOIN (SELECT DISTINCT day FROM linked_days) x ON x.day >= a.{lo} AND x.day <= a.{hi}) w
            JOIN linked_days ld ON ld.day = w.day
            WHERE ld.next_active_day IS NULL OR ld.next_active_day > w.hi
            GROUP BY w.i, ld.customer_id"""


def _per_customer_sql(store: Store, segment: tuple[str, str] | None) -> tuple[str, dict[str, object]]:
    """SQL of one row per day of the frame ``account_days`` and paying customer on it: ``i, customer_id, mrr,
    active_users, previous_active_users, mapped, at_risk``."""
    paid, params = paid_intervals_sql(segment, timezone(store))
    p, q = drop_fraction(at_risk_drop(store))
    sql = f"""
        WITH linked AS ({USER_CUSTOMERS}),
        paying AS (
            SELECT a.i, a.d, p.customer_id, sum(p.monthly) AS mrr
            FROM account_days a JOIN ({paid}) p
              ON p.paid_start <= a.d AND (p.paid_end IS NULL OR p.paid_end > a.d)
            GROUP BY a.i, a.d, p.customer_id
        ),
        linked_days AS (
            SELECT l.customer_id, ud.day, ud.next_active_day
            FROM user_days ud JOIN linked l ON l.user_id = ud.user_id WHERE ud.active_events > 0
        ),
        now_active AS ({_last_active_days_sql("lo", "d")}),
        before_active AS ({_last_active_days_sql("lo_before", "hi_before")}),
        first_seen AS (SELECT customer_id, min(first_day) AS first_day FROM linked GROUP BY customer_id),
        named AS (SELECT DISTINCT customer_id FROM account_links)
        SELECT i, customer_id, mrr, active_users, previous_active_users, mapped,
               mrr > 0 AND ((active_users = 0 AND previous_active_users > 0)
                            OR (previous_active_users >= {MIN_BEFORE}
                                AND {q} * active_users <= {q - p} * previous_active_users)) AS at_risk
        FROM (
            SELECT py.i, py.customer_id, py.mrr, coalesce(na.users, 0) AS active_users,
                   coalesce(ba.users, 0) AS previous_active_users,
                   coalesce(fs.first_day <= py.d, FALSE) OR nm.customer_id IS NOT NULL AS mapped
            FROM paying py
            LEFT JOIN now_active na ON na.i = py.i AND na.customer_id = py.customer_id
            LEFT JOIN before_active ba ON ba.i = py.i AND ba.customer_id = py.customer_id
            LEFT JOIN first_seen fs ON fs.customer_id = py.customer_id
            LEFT JOIN named nm ON nm.customer_id = py.customer_id
            WHERE py.mrr > 0
        ) t"""
    return sql, params


def account_table(store: Store, grain: str, *, start: date | None = None, end: date | None = None,
                  segment: tuple[str, str] | None = None) -> pd.DataFrame:
    """``period_start, period_end, partial`` and :data:`ACCOUNT_COLUMNS` for every period from the first event day
    (or ``start``) to the as-of date of the events (``end``): the flag is a usage signal, so it stops where the
    events stop rather than reading a silence after them as a fall."""
    columns = ["period_start", "period_end", "partial", *ACCOUNT_COLUMNS]
    check_currencies(store)
    found = event_periods(store, grain, start, end)
    if found is None:
        return pd.DataFrame(columns=columns)
    periods = found[1]
    per_customer, params = _per_customer_sql(store, segment)
    totals = store.df(f"""
        SELECT i, sum(CASE WHEN at_risk THEN 1 ELSE 0 END) AS accounts_at_risk,
               sum(CASE WHEN at_risk THEN mrr ELSE 0 END) AS mrr_at_risk,
               sum(CASE WHEN mapped AND active_users > 0 THEN mrr ELSE 0 END) AS engaged_mrr,
               sum(CASE WHEN mapped THEN mrr ELSE 0 END) AS mapped_mrr
        FROM ({per_customer}) c GROUP BY i""", params,
                      frames={"account_days": _days_frame([p.end for p in periods])})
    return _table(periods, totals)[columns]


def _table(periods: list[Period], totals: pd.DataFrame) -> pd.DataFrame:
    """The account table from the per-period totals (periods with no paying customer have none at risk)."""
    by_i = totals.set_index("i") if not totals.empty else totals
    out = pd.DataFrame({"period_start": [p.start for p in periods], "period_end": [p.end for p in periods],
                        "partial": [p.partial for p in periods]})

    def column(name: str) -> list[float]:
        return [float(by_i.at[i, name]) if i in by_i.index else 0.0 for i in range(len(periods))]

    engaged, mapped = column("engaged_mrr"), column("mapped_mrr")
    out["accounts_at_risk"] = [int(v) for v in column("accounts_at_risk")]
    out["mrr_at_risk"] = column("mrr_at_risk")
    out["engaged_mrr_share"] = [e / m if m > 0 else float("nan") for e, m in zip(engaged, mapped, strict=True)]
    return out


def account_rows(store: Store, as_of: date, *, segment: tuple[str, str] | None = None,
                 at_risk_only: bool = False) -> pd.DataFrame:
    """The customers paying on ``as_of`` that map to at least one account, with :data:`ROW_COLUMNS`, by MRR (largest
    first) then customer id. ``change`` is the relative change of active users, (now - before) / before, undefined
    when there were none before."""
    check_currencies(store)
    per_customer, params = _per_customer_sql(store, segment)
    rows = store.df(f"""SELECT customer_id, mrr, active_users, previous_active_users, at_risk
                        FROM ({per_customer}) c WHERE mapped""", params,
                    frames={"account_days": _days_frame([as_of])})
    if at_risk_only:
        rows = rows[rows["at_risk"].astype(bool)]
    rows = rows.sort_values(["mrr", "customer_id"], ascending=[False, True], kind="stable").reset_index(drop=True)
    now, before = rows["active_users"].astype("int64"), rows["previous_active_users"].astype("int64")
    out = pd.DataFrame({
        "customer_id": rows["customer_id"].astype(str), "mrr": rows["mrr"].astype(float),
        "active_users": now, "previous_active_users": before,
        "change": [(n - b) / b if b > 0 else float("nan") for n, b in zip(now, before, strict=True)],
        "at_risk": rows["at_risk"].astype(bool),
    })
    return out[list(ROW_COLUMNS)]


@dataclass(frozen=True)
class SignalCheck:
    """How far the at-risk flag can be trusted over a range of periods.

    *Recall*: of the customers that churned in a period of the range and mapped to an account at the end of the
    period before (``churned_linked``; ``churned`` counts every churned customer), the share that were at risk
    then (``churned_flagged``). *Precision*: of the customers at risk at the end of a period of the range
    (``flagged``, one per customer and period), the share that churned in one of the next two periods
    (``flagged_churned``); only periods whose second next period is known (up to the as-of period) count.
    """

    churned: int
    churned_linked: int
    churned_flagged: int
    flagged: int
    flagged_churned: int

    @property
    def recall(self) -> float:
        """churned_flagged / churned_linked; NaN when no linked customer churned."""
        return self.churned_flagged / self.churned_linked if self.churned_linked else float("nan")

    @property
    def precision(self) -> float:
        """flagged_churned / flagged; NaN when nobody was at risk."""
        return self.flagged_churned / self.flagged if self.flagged else float("nan")


def signal_check(store: Store, grain: str, *, start: date | None = None, end: date | None = None,
                 segment: tuple[str, str] | None = None) -> SignalCheck:
    """The recall and precision of the at-risk flag over the periods from ``start`` (default: the first event day)
    to the as-of date of the events (``end``), at ``grain``."""
    check_currencies(store)
    found = event_periods(store, grain, start, end)
    if found is None:
        return SignalCheck(0, 0, 0, 0, 0)
    periods = found[1]
    per_customer, params = _per_customer_sql(store, segment)
    rows = store.df(f"SELECT i, customer_id, mapped, at_risk FROM ({per_customer}) c", params,
                    frames={"account_days": _days_frame([p.end for p in periods])})
    paying: list[dict[str, tuple[bool, bool]]] = [{} for _ in periods]
    for row in rows.itertuples(index=False):
        paying[int(row.i)][str(row.customer_id)] = (bool(row.mapped), bool(row.at_risk))
    counted = [k for k, p in enumerate(periods) if start is None or p.last_day >= start]
    churned = [(k, c) for k in counted if k >= 1 for c in paying[k - 1] if c not in paying[k]]
    linked = [(k, c) for k, c in churned if paying[k - 1][c][0]]
    flagged = [(k, c) for k in counted if k + 2 < len(periods) for c, (_, risk) in paying[k].items() if risk]
    return SignalCheck(
        churned=len(churned), churned_linked=len(linked),
        churned_flagged=sum(1 for k, c in linked if paying[k - 1][c][1]),
        flagged=len(flagged),
        flagged_churned=sum(1 for k, c in flagged if c not in paying[k + 1] or c not in paying[k + 2]))
