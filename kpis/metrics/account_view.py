"""What the Accounts page shows beside the at-risk rows of :mod:`kpis.metrics.accounts`: each account's plan, last
active day and the features its users use, the accounts that grow (expansion candidates), how long before a churn
the flag came on, one account's history, and how much of the product's usage is linked to customers at all.

Users belong to customers exactly as for the at-risk flag (:data:`kpis.metrics.accounts.USER_CUSTOMERS`). Days are
bound from Python, so the SQL holds no date arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

from kpis.core.calendar import period_start
from kpis.ingest import event_names
from kpis.metrics.accounts import (
    MIN_BEFORE,
    USER_CUSTOMERS,
    WINDOW,
    _days_frame,
    _per_customer_sql,
    account_rows,
    drop_fraction,
)
from kpis.metrics.engagement import _events_sql, event_periods
from kpis.metrics.revenue import check_currencies, paid_intervals_sql
from kpis.store.db import Store
from kpis.store.settings import at_risk_drop, timezone

#: Features named per account: the events done by most of its users in the last 28 days.
FEATURES_SHOWN = 3
#: How far back from the end of the period before a churn the lead time looks for the first day at risk (12 weeks).
LEAD_DAYS = 84
#: The columns of :func:`account_list`.
LIST_COLUMNS = ("customer_id", "name", "plans", "mrr", "active_users", "previous_active_users", "change",
                "last_active_day", "features", "at_risk", "growing")
#: Unlinked accounts listed on the Data page.
UNLINKED_SHOWN = 10


def is_growing(now: int, before: int, drop: float) -> bool:
    """An expansion candidate: at least :data:`~kpis.metrics.accounts.MIN_BEFORE` active users in the 28 days
    before and now at least (1 + ``drop``) times as many, the mirror of the at-risk fall (compared in whole
    numbers: q x now >= (q + p) x before for ``drop`` = p/q).

    >>> is_growing(13, 10, 0.3), is_growing(12, 10, 0.3), is_growing(4, 2, 0.3), is_growing(4, 3, 0.3)
    (True, False, False, True)
    """
    p, q = drop_fraction(drop)
    return before >= MIN_BEFORE and q * now >= (q + p) * before


def _linked_sql() -> str:
    return f"WITH linked AS ({USER_CUSTOMERS})"


def last_active_days(store: Store, as_of: date) -> dict[str, date]:
    """``{customer_id: the last day up to as_of on which one of its users was active}`` (customers whose users
    were never active are left out)."""
    rows = store.query(f"""{_linked_sql()}
        SELECT l.customer_id, max(ud.day) FROM user_days ud JOIN linked l ON l.user_id = ud.user_id
        WHERE ud.active_events > 0 AND ud.day <= $as_of GROUP BY l.customer_id""", {"as_of": as_of})
    return {str(c): pd.Timestamp(d).date() for c, d in rows}


def features_used(store: Store, as_of: date, most: int = FEATURES_SHOWN) -> dict[str, list[str]]:
    """``{customer_id: events}``: the product's features (no tool or housekeeping events) done by most of the
    customer's users in the 28 days up to ``as_of``, at most ``most``, by users (most first) then name."""
    events, params = _events_sql(store, None, (as_of - timedelta(days=WINDOW - 1), as_of))
    rows = store.df(f"""{_linked_sql()}
        SELECT l.customer_id, e.event, count(DISTINCT e.user_id) AS users
        FROM ({events}) e JOIN linked l ON l.user_id = e.user_id GROUP BY l.customer_id, e.event""",
                    {"as_of": as_of, **params})
    rows = rows[rows["event"].map(lambda e: event_names.kind(str(e)) == "feature").astype(bool)]
    rows = rows.sort_values(["customer_id", "users", "event"], ascending=[True, False, True], kind="stable")
    return {str(c): [str(e) for e in group["event"].head(most)] for c, group in rows.groupby("customer_id")}


def customer_plans(store: Store, as_of: date) -> dict[str, list[str]]:
    """``{customer_id: plans}``: the plans of its subscriptions paying on ``as_of``, by name."""
    paid, params = paid_intervals_sql(None, timezone(store), with_plan=True)
    rows = store.query(f"""SELECT DISTINCT customer_id, plan FROM ({paid}) p
                           WHERE paid_start <= $as_of AND (paid_end IS NULL OR paid_end > $as_of)""",
                       {**params, "as_of": as_of})
    plans: dict[str, set[str]] = {}
    for customer, plan in rows:
        plans.setdefault(str(customer), set()).add("" if plan is None else str(plan))
    return {c: sorted(p for p in found if p) for c, found in plans.items()}


def account_list(store: Store, as_of: date, *, segment: tuple[str, str] | None = None) -> pd.DataFrame:
    """The rows of :func:`kpis.metrics.accounts.account_rows` on ``as_of`` with :data:`LIST_COLUMNS`: the
    customer's name (empty: not in the customers file), the plans, the last active day (None: never), the features
    used (event names, most used first) and whether the account grows (:func:`is_growing`)."""
    rows = account_rows(store, as_of, segment=segment)
    plans, last, features = customer_plans(store, as_of), last_active_days(store, as_of), features_used(store, as_of)
    drop = at_risk_drop(store)
    names = dict(store.query("SELECT customer_id, name FROM customers WHERE name IS NOT NULL AND name <> ''"))
    rows["name"] = [names.get(c, "") for c in rows["customer_id"]]
    rows["plans"] = [plans.get(c, []) for c in rows["customer_id"]]
    rows["last_active_day"] = [last.get(c) for c in rows["customer_id"]]
    rows["features"] = [features.get(c, []) for c in rows["customer_id"]]
    rows["growing"] = [is_growing(int(n), int(b), drop)
                       for n, b in zip(rows["active_users"], rows["previous_active_users"], strict=True)]
    return rows[list(LIST_COLUMNS)]


@dataclass(frozen=True)
class LeadTime:
    """How long before a churn the at-risk flag came on, for the customers the signal check counts as caught
    (churned in a period of the range, at risk at the end of the period before): for each, the days from the
    first day it was at risk in the :data:`LEAD_DAYS` days up to the end of the period before, to the first day
    of the period in which it churned (so at least 1, at most 84: a lower bound on the warning it gave)."""

    days: tuple[int, ...]

    @property
    def mean_days(self) -> float:
        """The average lead time in days; NaN when no churn was flagged."""
        return sum(self.days) / len(self.days) if self.days else float("nan")


def _flagged_churns(store: Store, grain: str, start: date | None, end: date | None,
                    segment: tuple[str, str] | None) -> list[tuple[date, str]]:
    """``(end of the period before, customer)`` of each churn the signal check counts as flagged."""
    found = event_periods(store, grain, start, end)
    if found is None:
        return []
    periods = found[1]
    per_customer, params = _per_customer_sql(store, segment)
    rows = store.df(f"SELECT i, customer_id, mapped, at_risk FROM ({per_customer}) c", params,
                    frames={"account_days": _days_frame([p.end for p in periods])})
    paying: list[dict[str, bool]] = [{} for _ in periods]
    for row in rows.itertuples(index=False):
        paying[int(row.i)][str(row.customer_id)] = bool(row.mapped) and bool(row.at_risk)
    counted = [k for k, p in enumerate(periods) if k >= 1 and (start is None or p.last_day >= start)]
    return [(periods[k - 1].end, c) for k in counted for c, flagged in paying[k - 1].items()
            if flagged and c not in paying[k]]


def lead_time(store: Store, grain: str, *, start: date | None = None, end: date | None = None,
              segment: tuple[str, str] | None = None) -> LeadTime:
    """The :class:`LeadTime` of the flagged churns over the periods of :func:`kpis.metrics.accounts.signal_check`
    (same arguments)."""
    check_currencies(store)
    churns = _flagged_churns(store, grain, start, end, segment)
    if not churns:
        return LeadTime(())
    days = sorted({before - timedelta(days=k) for before, _ in churns for k in range(LEAD_DAYS)})
    per_customer, params = _per_customer_sql(store, segment)
    rows = store.df(f"SELECT i, customer_id FROM ({per_customer}) c WHERE at_risk", params,
                    frames={"account_days": _days_frame(days)})
    at_risk: dict[str, list[date]] = {}
    for row in rows.itertuples(index=False):
        at_risk.setdefault(str(row.customer_id), []).append(days[int(row.i)])
    out = []
    for before, customer in sorted(churns):  # by period, then customer: the same order on every engine
        first = min(d for d in at_risk[customer] if before - timedelta(days=LEAD_DAYS - 1) <= d <= before)
        out.append((before - first).days + 1)
    return LeadTime(tuple(out))


def mrr_steps(store: Store, customer: str, end: date) -> pd.DataFrame:
    """``day, mrr``: the customer's MRR from each day it changed up to ``end`` (and on ``end``), for a step line;
    empty when it never paid."""
    paid, params = paid_intervals_sql(None, timezone(store))
    rows = store.query(f"SELECT paid_start, paid_end, monthly FROM ({paid}) p WHERE customer_id = $customer",
                       {**params, "customer": customer})
    intervals = [(pd.Timestamp(s).date(), None if e is None else pd.Timestamp(e).date(), float(m)) for s, e, m in rows]
    days = sorted({d for s, e, _ in intervals for d in (s, e) if d is not None and d <= end})
    if not days:
        return pd.DataFrame({"day": [], "mrr": []})
    days = days if days[-1] == end else [*days, end]
    mrr = [sum(m for s, e, m in intervals if s <= d and (e is None or e > d)) for d in days]
    return pd.DataFrame({"day": days, "mrr": mrr})


def weekly_active_users(store: Store, customer: str, first: date, end: date) -> pd.DataFrame:
    """``period_start, active_users``: the customer's distinct users active each week from the week of ``first``
    to the week of ``end`` (0 in a week without any; the last week may be partial)."""
    rows = store.query(f"""{_linked_sql()}
        SELECT CAST(date_trunc('week', ud.day) AS DATE), count(DISTINCT ud.user_id)
        FROM user_days ud JOIN linked l ON l.user_id = ud.user_id
        WHERE l.customer_id = $customer AND ud.active_events > 0 AND ud.day >= $first AND ud.day <= $end
        GROUP BY 1""", {"customer": customer, "first": period_start(first, "week"), "end": end})
    found = {pd.Timestamp(w).date(): int(n) for w, n in rows}
    weeks = pd.date_range(period_start(first, "week"), period_start(end, "week"), freq="7D").date
    return pd.DataFrame({"period_start": list(weeks), "active_users": [found.get(w, 0) for w in weeks]})


@dataclass(frozen=True)
class LinkCoverage:
    """How much of the product's usage is linked to customers on a day: the paying customers (MRR above 0) with
    at least one user linked and seen by then, and the events of the 28 days up to it whose user is linked to a
    customer of the subscriptions (``events_to_customer``) and to one paying that day (``events_to_paying``)."""

    paying: int
    paying_linked: int
    events: int
    events_to_customer: int
    events_to_paying: int

    @property
    def paying_share(self) -> float:
        """paying_linked / paying; NaN without paying customers."""
        return self.paying_linked / self.paying if self.paying else float("nan")

    @property
    def customer_event_share(self) -> float:
        """events_to_customer / events; NaN without events."""
        return self.events_to_customer / self.events if self.events else float("nan")

    @property
    def paying_event_share(self) -> float:
        """events_to_paying / events; NaN without events."""
        return self.events_to_paying / self.events if self.events else float("nan")


def _linked_to_known_sql() -> str:
    """Each user of ``users`` with the customer of the subscriptions it is linked to (NULL: none) and whether
    that customer pays on ``$as_of``; needs ``paying`` (customer ids) in the WITH clause."""
    return f"""linked AS ({USER_CUSTOMERS}),
        linked_known AS (
            SELECT u.user_id, u.account_id, k.customer_id, k.customer_id IN (SELECT customer_id FROM paying) AS pays
            FROM users u
            LEFT JOIN (SELECT l.user_id, l.customer_id FROM linked l
                       WHERE l.customer_id IN (SELECT DISTINCT customer_id FROM subscriptions)) k
              ON k.user_id = u.user_id)"""


def _paying_sql(store: Store) -> tuple[str, dict[str, object]]:
    paid, params = paid_intervals_sql(None, timezone(store))
    return (f"""paying AS (SELECT customer_id FROM ({paid}) p
                           WHERE paid_start <= $as_of AND (paid_end IS NULL OR paid_end > $as_of)
                           GROUP BY customer_id HAVING sum(monthly) > 0)""", params)


def link_coverage(store: Store, as_of: date) -> LinkCoverage:
    """The :class:`LinkCoverage` on ``as_of``: when it is thin, the at-risk flag speaks of a few accounts only."""
    paying, params = _paying_sql(store)
    bound = {**params, "as_of": as_of, "lo": as_of - timedelta(days=WINDOW - 1)}
    row = store.query(f"""WITH {paying}, {_linked_to_known_sql()},
        seen AS (SELECT DISTINCT customer_id FROM linked_known lk JOIN users u ON u.user_id = lk.user_id
                 WHERE lk.customer_id IS NOT NULL AND u.first_day <= $as_of)
        SELECT (SELECT count(*) FROM paying),
               (SELECT count(*) FROM paying WHERE customer_id IN (SELECT customer_id FROM seen)),
               coalesce(sum(ud.events), 0),
               coalesce(sum(CASE WHEN lk.customer_id IS NOT NULL THEN ud.events ELSE 0 END), 0),
               coalesce(sum(CASE WHEN lk.pays THEN ud.events ELSE 0 END), 0)
        FROM user_days ud JOIN linked_known lk ON lk.user_id = ud.user_id
        WHERE ud.day >= $lo AND ud.day <= $as_of""", bound)[0]
    return LinkCoverage(*(int(v) for v in row))


def unlinked_accounts(store: Store, as_of: date, most: int = UNLINKED_SHOWN) -> pd.DataFrame:
    """``account_id, users, events``: the accounts named by events whose users link to no customer of the
    subscriptions, by their events in the 28 days up to ``as_of`` (most first, then users, then id), the first
    ``most``; their users are those active in those days."""
    paying, params = _paying_sql(store)
    bound = {**params, "as_of": as_of, "lo": as_of - timedelta(days=WINDOW - 1), "most": most}
    return store.df(f"""WITH {paying}, {_linked_to_known_sql()}
        SELECT lk.account_id, count(DISTINCT CASE WHEN ud.active_events > 0 THEN ud.user_id END) AS users,
               sum(ud.events) AS events
        FROM user_days ud JOIN linked_known lk ON lk.user_id = ud.user_id
        WHERE ud.day >= $lo AND ud.day <= $as_of AND lk.customer_id IS NULL AND lk.account_id IS NOT NULL
        GROUP BY lk.account_id ORDER BY events DESC, users DESC, lk.account_id LIMIT $most""", bound)
