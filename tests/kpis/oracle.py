"""A deliberately naive reference implementation of every KPI, written straight from the definitions.

Nothing here imports ``kpis.metrics.revenue``, ``kpis.metrics.engagement``, ``kpis.metrics.retention`` or
``kpis.core.calendar``: the oracle
parses the CSV text itself, works in plain Python (sets, loops, ``datetime``) and does the money arithmetic in
exact fractions, so that a bug shared with the SQL is unlikely. Speed does not matter; every number is recomputed
from scratch, day by day, customer by customer.
"""

from __future__ import annotations

import calendar
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

NAN = float("nan")
NEVER_PAYS = {"incomplete", "incomplete_expired"}
FACTOR = {"month": Fraction(1), "year": Fraction(1, 12), "week": Fraction(52, 12), "day": Fraction(365, 12)}


# -- calendar --------------------------------------------------------------------------------------------------

def to_day(text: str, tz: str = "UTC") -> date:
    """The calendar day of a timestamp text in the reporting time zone (naive text is UTC)."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(ZoneInfo(tz)).date()


def period_start(day: date, grain: str) -> date:
    if grain == "day":
        return day
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return date(day.year, day.month, 1)
    if grain == "quarter":
        return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    raise ValueError(grain)


def period_last_day(start: date, grain: str) -> date:
    if grain == "day":
        return start
    if grain == "week":
        return start + timedelta(days=6)
    month = start.month + (2 if grain == "quarter" else 0)
    return date(start.year, month, calendar.monthrange(start.year, month)[1])


def next_period(start: date, grain: str) -> date:
    return period_last_day(start, grain) + timedelta(days=1)


def minus_months(day: date, months: int) -> date:
    """``day`` moved back by whole months; a day the target month lacks becomes its last day."""
    year, month = day.year, day.month
    for _ in range(months):
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # end(P): the last day, or the as-of date when the period holds it
    last_day: date
    partial: bool


def periods(first: date, as_of: date, grain: str) -> list[Period]:
    out = []
    start = period_start(first, grain)
    while start <= as_of:
        last = period_last_day(start, grain)
        out.append(Period(start, min(last, as_of), last, as_of < last))
        start = next_period(start, grain)
    return out


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def ratio(numerator: float, denominator: float) -> float:
    """An undefined ratio (denominator 0) is NaN, never 0 or infinity."""
    return NAN if denominator == 0 else numerator / denominator


# -- revenue ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Sub:
    """One row of the canonical subscriptions CSV, as text."""

    subscription_id: str
    customer_id: str
    amount: str
    started_at: str
    quantity: str = ""
    currency: str = "USD"
    interval: str = "month"
    interval_count: str = ""
    status: str = "active"
    trial_end: str = ""
    canceled_at: str = ""
    ended_at: str = ""
    plan: str = "pro"
    created_at: str = ""

    HEADER = ("subscription_id,customer_id,plan,amount,quantity,currency,interval,interval_count,status,started_at,"
              "trial_end,canceled_at,ended_at,created_at")

    def csv_line(self) -> str:
        return ",".join([self.subscription_id, self.customer_id, self.plan, self.amount, self.quantity,
                         self.currency, self.interval, self.interval_count, self.status, self.started_at,
                         self.trial_end, self.canceled_at, self.ended_at, self.created_at])


class RevenueOracle:
    """Every revenue KPI from a list of subscriptions, by looping over customers, subscriptions and days."""

    def __init__(self, subs: list[Sub], *, fx: dict[str, str] | None = None, tz: str = "UTC",
                 customers: set[str] | None = None) -> None:
        self.subs = [s for s in subs if customers is None or s.customer_id in customers]
        self.all_subs = subs
        self.fx = {k: Fraction(v) for k, v in (fx or {}).items()}
        self.tz = tz
        self.customers = sorted({s.customer_id for s in self.subs})

    def monthly(self, s: Sub) -> Fraction:
        quantity = Fraction(s.quantity) if s.quantity else Fraction(1)
        count = int(s.interval_count) if s.interval_count else 1
        rate = self.fx.get(s.currency, Fraction(1))
        return Fraction(s.amount) * quantity * FACTOR[s.interval] / count * rate

    def pays_on(self, s: Sub, day: date) -> bool:
        if s.status in NEVER_PAYS:
            return False
        paid_start = to_day(s.started_at, self.tz)
        if s.trial_end:
            paid_start = max(paid_start, to_day(s.trial_end, self.tz))
        if day < paid_start:
            return False
        return not s.ended_at or day < to_day(s.ended_at, self.tz)

    def mrr_c(self, customer: str, day: date) -> Fraction:
        total = Fraction(0)
        for s in self.subs:
            if s.customer_id == customer and self.pays_on(s, day):
                total += self.monthly(s)
        return total

    def _all_days(self) -> list[date]:
        found = []
        for s in self.all_subs:
            for text in (s.started_at, s.trial_end, s.canceled_at, s.ended_at):
                if text:
                    found.append(to_day(text, self.tz))
        return days_between(min(found), max(found))

    def first_paid(self, customer: str) -> date | None:
        for day in self._all_days():
            if self.mrr_c(customer, day) > 0:
                return day
        return None

    def as_of(self) -> date:
        """The latest day recorded: created, start, canceled-at or ended-at of any subscription, or a trial end
        when it is not later than the latest of those (read literally, day by day; no clock involved)."""
        recorded = [to_day(text, self.tz) for s in self.all_subs
                    for text in (s.created_at, s.started_at, s.canceled_at, s.ended_at) if text]
        latest = max(recorded)
        trial_ends = [to_day(s.trial_end, self.tz) for s in self.all_subs if s.trial_end]
        return max(recorded + [d for d in trial_ends if d <= latest])

    def table(self, grain: str, end: date | None = None) -> list[dict[str, object]]:
        """One dict per period, every revenue KPI as a float (NaN when undefined)."""
        as_of = end or self.as_of()
        firsts = {c: self.first_paid(c) for c in self.customers}
        known = [d for d in firsts.values() if d is not None]
        if not known:
            return []
        rows: list[dict[str, object]] = []
        for p in periods(min(known), as_of, grain):
            prev_end = p.start - timedelta(days=1)
            new_mrr = exp = con = churn = react = Fraction(0)
            mrr = prev_mrr = Fraction(0)
            active = prev_active = new = reactivated = churned = 0
            for c in self.customers:
                m0, m1 = self.mrr_c(c, prev_end), self.mrr_c(c, p.end)
                mrr += m1
                prev_mrr += m0
                active += m1 > 0
                prev_active += m0 > 0
                if m0 == 0 and m1 > 0:
                    if firsts[c] > prev_end:
                        new_mrr, new = new_mrr + m1, new + 1
                    else:
                        react, reactivated = react + m1, reactivated + 1
                elif 0 < m0 < m1:
                    exp += m1 - m0
                elif 0 < m1 < m0:
                    con += m1 - m0
                elif m0 > 0 and m1 == 0:
                    churn, churned = churn - m0, churned + 1
            ref = minus_months(p.end, 12)
            ref_total = kept = kept_gross = Fraction(0)
            for c in self.customers:
                then = self.mrr_c(c, ref)
                if then > 0:
                    now = self.mrr_c(c, p.end)
                    ref_total += then
                    kept += now
                    kept_gross += min(now, then)
            lost = -(churn + con)
            rows.append({
                "period_start": p.start, "period_end": p.end, "partial": p.partial,
                "mrr": float(mrr), "arr": float(12 * mrr),
                "new_mrr": float(new_mrr), "expansion_mrr": float(exp), "contraction_mrr": float(con),
                "churned_mrr": float(churn), "reactivation_mrr": float(react),
                "net_new_mrr": float(new_mrr + exp + con + churn + react),
                "mrr_growth_rate": ratio(float(mrr - prev_mrr), float(prev_mrr)),
                "active_customers": float(active), "new_customers": float(new),
                "reactivated_customers": float(reactivated), "churned_customers": float(churned),
                "net_new_customers": float(new + reactivated - churned),
                "logo_churn_rate": ratio(churned, prev_active),
                "revenue_churn_rate": ratio(float(lost), float(prev_mrr)),
                "quick_ratio": ratio(float(new_mrr + react + exp), float(lost)),
                "arpa": ratio(float(mrr), active),
                "nrr": ratio(float(kept), float(ref_total)),
                "grr": ratio(float(kept_gross), float(ref_total)),
            })
        for i, row in enumerate(rows):
            row["ltv"] = NAN
            if grain == "month" and i >= 5:
                churn_rates = [r["logo_churn_rate"] for r in rows[i - 5:i + 1]]
                if not any(math.isnan(x) for x in churn_rates):  # type: ignore[arg-type]
                    row["ltv"] = ratio(row["arpa"], sum(churn_rates) / 6)  # type: ignore[arg-type]
        return rows


    def has_trial(self, s: Sub) -> bool:
        """A trial: a trial end on a later day than the start; incomplete subscriptions are never trials."""
        return (s.status not in NEVER_PAYS and bool(s.trial_end)
                and to_day(s.trial_end, self.tz) > to_day(s.started_at, self.tz))

    def trials(self, grain: str, end: date | None = None) -> list[dict[str, object]]:
        """trials started, ended, converted and the conversion rate per period, subscription by subscription,
        over the periods from the first paid or trial day to the as-of date."""
        as_of = end or self.as_of()
        trials = [s for s in self.subs if self.has_trial(s)]
        firsts = [d for d in (self.first_paid(c) for c in self.customers) if d is not None]
        firsts += [to_day(s.started_at, self.tz) for s in trials]
        if not firsts:
            return []
        rows: list[dict[str, object]] = []
        for p in periods(min(firsts), as_of, grain):
            started = sum(1 for s in trials if p.start <= to_day(s.started_at, self.tz) <= p.end)
            ended = [s for s in trials if p.start <= to_day(s.trial_end, self.tz) <= p.end]
            converted = sum(1 for s in ended
                            if not s.ended_at or to_day(s.ended_at, self.tz) > to_day(s.trial_end, self.tz))
            rows.append({"period_start": p.start, "period_end": p.end, "partial": p.partial,
                         "trials_started": float(started), "trials_ended": float(len(ended)),
                         "trials_converted": float(converted), "trial_conversion_rate": ratio(converted, len(ended))})
        return rows


# -- engagement -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Event:
    user_id: str
    event: str
    timestamp: str
    account_id: str = ""

    HEADER = "user_id,event,timestamp,account_id"

    def csv_line(self) -> str:
        return ",".join([self.user_id, self.event, self.timestamp, self.account_id])


class EngagementOracle:
    """dau/wau/mau, active and new users, stickiness, events per user, adoption, curve and cohorts, by loops."""

    def __init__(self, events: list[Event], *, tz: str = "UTC", inactive: tuple[str, ...] = (),
                 accounts: set[str] | None = None) -> None:
        self.all_days = [to_day(e.timestamp, tz) for e in events]
        in_scope = {e.user_id for e in events if accounts is None or e.account_id in accounts}
        self.events = [(e, d) for e, d in zip(events, self.all_days, strict=True) if e.user_id in in_scope]
        self.active: dict[str, set[date]] = {}
        self.seen: dict[str, set[date]] = {}
        for e, d in self.events:
            self.seen.setdefault(e.user_id, set()).add(d)
            if e.event not in inactive:
                self.active.setdefault(e.user_id, set()).add(d)

    def first_day(self) -> date:
        return min(self.all_days)

    def as_of(self) -> date:
        return max(self.all_days)

    def active_between(self, first: date, last: date) -> set[str]:
        return {u for u, days in self.active.items() if any(first <= d <= last for d in days)}

    def dau(self, day: date) -> int:
        return len(self.active_between(day, day))

    def wau(self, day: date) -> int:
        return len(self.active_between(day - timedelta(days=6), day))

    def mau(self, day: date) -> int:
        return len(self.active_between(day - timedelta(days=29), day))

    def table(self, grain: str, end: date | None = None) -> list[dict[str, object]]:
        as_of = end or self.as_of()
        first = self.first_day()
        rows: list[dict[str, object]] = []
        for p in periods(first, as_of, grain):
            days = [d for d in days_between(p.start, p.end) if d >= first]
            daus = [self.dau(d) for d in days]
            maus = [self.mau(d) for d in days]
            mean_dau = sum(daus) / len(daus) if days else NAN
            mean_mau = sum(maus) / len(maus) if days else NAN
            active = len(self.active_between(p.start, p.end))
            events = sum(1 for _, d in self.events if p.start <= d <= p.end)
            new = sum(1 for days_seen in self.seen.values() if p.start <= min(days_seen) <= p.end)
            rows.append({
                "period_start": p.start, "period_end": p.end, "partial": p.partial,
                "dau": mean_dau, "wau": float(self.wau(p.end)), "mau": float(self.mau(p.end)),
                "active_users": float(active), "new_users": float(new),
                "stickiness": ratio(mean_dau, mean_mau) if days else NAN,
                "events_per_active_user": ratio(events, active),
            })
        return rows

    def lifecycle(self, grain: str, end: date | None = None) -> list[dict[str, object]]:
        """new, returning, resurrected, dormant and the user quick ratio per period, from each period's set of
        active users."""
        as_of = end or self.as_of()
        spans = periods(self.first_day(), as_of, grain)
        first = {u: min(d for d in days if d <= as_of) for u, days in self.active.items()
                 if any(d <= as_of for d in days)}
        rows: list[dict[str, object]] = []
        before: set[str] = set()
        for p in spans:
            now = self.active_between(p.start, p.end)
            new = sum(1 for u in now if first[u] >= p.start)
            returning = len(now & before)
            resurrected = sum(1 for u in now - before if first[u] < p.start)
            dormant = -len(before - now)
            rows.append({"period_start": p.start, "new": new, "returning": returning, "resurrected": resurrected,
                         "dormant": dormant, "user_quick_ratio": ratio(new + resurrected, -dormant)})
            before = now
        return rows

    def activation(self, event: str, window: int, grain: str, end: date | None = None) -> list[dict[str, object]]:
        """started, activated and the activation rate per period: each user by their first active day, counted
        once their window (that day and the ``window - 1`` after it) has ended by the as-of date, activated when
        they did ``event`` (active or not) on a day of the window."""
        as_of = end or self.as_of()
        first = {u: min(d for d in days if d <= as_of) for u, days in self.active.items()
                 if any(d <= as_of for d in days)}
        did: dict[str, set[date]] = {}
        for e, d in self.events:
            if e.event == event:
                did.setdefault(e.user_id, set()).add(d)
        rows: list[dict[str, object]] = []
        for p in periods(self.first_day(), as_of, grain):
            started = [u for u, f in first.items()
                       if p.start <= f <= p.end and f + timedelta(days=window - 1) <= as_of]
            activated = [u for u in started
                         if any(first[u] <= d <= first[u] + timedelta(days=window - 1) for d in did.get(u, ()))]
            rows.append({"period_start": p.start, "started": len(started), "activated": len(activated),
                         "activation_rate": ratio(len(activated), len(started))})
        return rows

    def adoption(self, event: str, grain: str, end: date | None = None) -> list[dict[str, object]]:
        rows = []
        for row in self.table(grain, end):
            start, stop = row["period_start"], row["period_end"]
            did = {e.user_id for e, d in self.events if e.event == event and start <= d <= stop}  # type: ignore
            rows.append({"period_start": start, "users": float(len(did)),
                         "adoption": ratio(len(did), row["active_users"])})  # type: ignore[arg-type]
        return rows

    def power_curve(self, grain: str, day: date) -> list[tuple[int, int]]:
        start = period_start(day, grain)
        last = period_last_day(start, grain)
        counts = [len([d for d in days if start <= d <= last]) for days in self.active.values()]
        size = (last - start).days + 1
        return [(n, counts.count(n)) for n in range(1, size + 1)]

    def cohorts(self, grain: str, mode: str, end: date | None = None) -> list[dict[str, object]]:
        as_of = end or self.as_of()
        last_period = period_start(as_of, grain)
        members: dict[date, list[str]] = {}
        for user, days in self.seen.items():
            first = min(days)
            if first <= as_of:
                members.setdefault(period_start(first, grain), []).append(user)
        rows: list[dict[str, object]] = []
        for cohort in sorted(members):
            users = members[cohort]
            k, start = 0, cohort
            while start <= last_period:
                last = min(period_last_day(start, grain), as_of)
                if k == 0:
                    retained = len(users)
                elif mode == "n-day":
                    retained = sum(1 for u in users if any(start <= d <= last for d in self.active.get(u, ())))
                else:
                    retained = sum(1 for u in users if any(start <= d <= as_of for d in self.active.get(u, ())))
                rows.append({"cohort_start": cohort, "period": k, "cohort_size": len(users), "retained": retained,
                             "retention": retained / len(users),
                             "partial": start == last_period and as_of < period_last_day(start, grain)})
                k, start = k + 1, next_period(start, grain)
        return rows


# -- funnels ----------------------------------------------------------------------------------------------------

def instant(text: str) -> datetime:
    """A timestamp text as an aware instant (naive text is UTC)."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def funnel(events: list[Event], steps: list[str], window_days: int, *, tz: str = "UTC", start: date | None = None,
           end: date | None = None, accounts: set[str] | None = None) -> list[list[float]]:
    """For each step, one entry per user who reached it: the seconds from the step before (0 for step 1).

    Walks each user's events in time order: the first ``steps[0]`` whose day (in ``tz``) lies in the range, then
    for each next step the first occurrence of its event not taken by an earlier step, at or after the step
    before and no later than the first step's time plus ``window_days`` days."""
    in_scope = {e.user_id for e in events if accounts is None or e.account_id in accounts}
    timeline: dict[str, list[tuple[datetime, str]]] = {}
    for e in events:
        if e.user_id in in_scope:
            timeline.setdefault(e.user_id, []).append((instant(e.timestamp), e.event))
    reached: list[list[float]] = [[] for _ in steps]
    for moments in timeline.values():
        moments.sort(key=lambda m: m[0])
        entries = [i for i, (t, name) in enumerate(moments) if name == steps[0]
                   and (start is None or t.astimezone(ZoneInfo(tz)).date() >= start)
                   and (end is None or t.astimezone(ZoneInfo(tz)).date() <= end)]
        if not entries:
            continue
        used = {entries[0]}
        first = last = moments[entries[0]][0]
        reached[0].append(0.0)
        for k, name in enumerate(steps[1:], start=1):
            found = next((i for i, (t, n) in enumerate(moments) if n == name and i not in used
                          and last <= t <= first + timedelta(days=window_days)), None)
            if found is None:
                break
            used.add(found)
            reached[k].append((moments[found][0] - last).total_seconds())
            last = moments[found][0]
    return reached
# -- accounts ---------------------------------------------------------------------------------------------------

class AccountOracle:
    """accounts_at_risk, mrr_at_risk and engaged_mrr_share, customer by customer and day by day (UTC).

    ``links`` are ``(key_kind, key, customer_id)`` rows as imported (emails in any case). A user belongs to the
    customer of their user row, else of the email row for their user id, else of the account row for their account,
    else to the customer whose id is their account id; their account is that of their latest event naming one.
    """

    def __init__(self, subs: list[Sub], events: list[Event], links: list[tuple[str, str, str]],
                 drop: Fraction = Fraction(3, 10)) -> None:
        self.revenue = RevenueOracle(subs)
        self.drop = drop
        self.days = [to_day(e.timestamp) for e in events]
        by_kind = {(kind, key.lower() if kind == "email" else key): c for kind, key, c in links}
        self.mapped_anyway = {c for _, _, c in links}
        latest: dict[str, tuple[datetime, str]] = {}
        self.first: dict[str, date] = {}
        self.active: dict[str, set[date]] = {}
        for e, d in zip(events, self.days, strict=True):
            self.first[e.user_id] = min(self.first.get(e.user_id, d), d)
            self.active.setdefault(e.user_id, set()).add(d)
            moment = datetime.fromisoformat(e.timestamp.replace("Z", "+00:00"))
            if e.account_id and (e.user_id not in latest or moment >= latest[e.user_id][0]):
                latest[e.user_id] = (moment, e.account_id)
        self.customer: dict[str, str] = {}
        for user in self.first:
            account = latest.get(user, (None, ""))[1]
            for found in (by_kind.get(("user", user)), by_kind.get(("email", user.lower())),
                          by_kind.get(("account", account)) if account else None, account or None):
                if found:
                    self.customer[user] = found
                    break

    def active_users(self, customer: str, first: date, last: date) -> int:
        return sum(1 for u, c in self.customer.items()
                   if c == customer and any(first <= d <= last for d in self.active[u]))

    def mapped(self, customer: str, day: date) -> bool:
        return customer in self.mapped_anyway or any(
            c == customer and self.first[u] <= day for u, c in self.customer.items())

    def at_risk(self, customer: str, day: date) -> bool:
        if self.revenue.mrr_c(customer, day) <= 0:
            return False
        now = self.active_users(customer, day - timedelta(days=27), day)
        before = self.active_users(customer, day - timedelta(days=55), day - timedelta(days=28))
        return (now == 0 and before > 0) or (before >= 3 and now <= (1 - self.drop) * before)

    def paying(self, day: date) -> list[str]:
        return [c for c in self.revenue.customers if self.revenue.mrr_c(c, day) > 0]

    def row(self, day: date) -> dict[str, float]:
        risky = [c for c in self.paying(day) if self.at_risk(c, day)]
        mapped = [c for c in self.paying(day) if self.mapped(c, day)]
        engaged = [c for c in mapped if self.active_users(c, day - timedelta(days=27), day) > 0]
        total = sum((self.revenue.mrr_c(c, day) for c in mapped), Fraction(0))
        return {"accounts_at_risk": float(len(risky)),
                "mrr_at_risk": float(sum((self.revenue.mrr_c(c, day) for c in risky), Fraction(0))),
                "engaged_mrr_share": NAN if total == 0 else float(
                    sum((self.revenue.mrr_c(c, day) for c in engaged), Fraction(0)) / total)}

    def table(self, grain: str, end: date | None = None) -> list[dict[str, object]]:
        as_of = end or max(self.days)
        return [{"period_start": p.start, "period_end": p.end, "partial": p.partial, **self.row(p.end)}
                for p in periods(min(self.days), as_of, grain)]
