"""The SQL implementation against the naive oracle on random small data, plus invariants every KPI must keep.

Each example is imported through real CSV files into its own DuckDB file, then every KPI is compared at every
grain with :mod:`tests.kpis.oracle`: floats within 1e-6, NaN (undefined) equal only to NaN.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from fractions import Fraction
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpis.core.registry import KPIS
from kpis.metrics.accounts import ACCOUNT_COLUMNS, account_table, signal_check
from kpis.metrics.activation import activation_table
from kpis.metrics.engagement import (
    adoption,
    adoption_by_event,
    adoption_in,
    daily,
    engagement_table,
    power_curve,
)
from kpis.metrics.lifecycle import lifecycle_table
from kpis.metrics.retention import cohorts
from kpis.metrics.revenue import REVENUE_COLUMNS, revenue_table
from kpis.metrics.trials import TRIAL_COLUMNS, trials_table
from kpis.store.db import Store
from tests.kpis.helpers import load, same
from tests.kpis.oracle import AccountOracle, EngagementOracle, Event, RevenueOracle, Sub, to_day

GRAINS = ("day", "week", "month", "quarter")
ENGAGEMENT_KPIS = ("dau", "wau", "mau", "active_users", "new_users", "stickiness", "events_per_active_user")
SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
BASE = datetime(2026, 1, 1, tzinfo=UTC)
_counter = itertools.count()


def _fresh(tmp_path: Path) -> Path:
    """A folder of its own for one hypothesis example (tmp_path is shared by all examples of a test)."""
    folder = tmp_path / f"example{next(_counter)}"
    folder.mkdir()
    return folder


def _stamp(moment: datetime, style: str) -> str:
    """One instant written the ways exports write it."""
    if style == "z":
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    if style == "naive":
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    if style == "date":
        return moment.strftime("%Y-%m-%d")
    hours = {"plus2": 2, "minus5": -5}[style]
    return moment.astimezone(timezone(timedelta(hours=hours))).isoformat()


def _close(actual: object, expected: object) -> bool:
    return same(float(actual), float(expected))  # type: ignore[arg-type]


def _compare(table: pd.DataFrame, rows: list[dict[str, object]], columns: tuple[str, ...], what: str) -> None:
    assert [r["period_start"] for r in rows] == list(table["period_start"]), what
    if not rows:
        return
    assert [r["period_end"] for r in rows] == list(table["period_end"]), what
    assert [r["partial"] for r in rows] == [bool(x) for x in table["partial"]], what
    for name in columns:
        got = [float(x) for x in table[name]]
        want = [float(r[name]) for r in rows]  # type: ignore[arg-type]
        wrong = [(r["period_start"], g, w) for r, g, w in zip(rows, got, want, strict=True) if not _close(g, w)]
        assert not wrong, f"{what} {name}: (period, sql, oracle) {wrong}"


# -- revenue ----------------------------------------------------------------------------------------------------

@dataclass
class RevenueCase:
    subs: list[Sub]
    segments: dict[str, str]
    fx: dict[str, str] = field(default_factory=dict)
    end: date | None = None
    segment: str | None = None

    def store(self, tmp_path: Path) -> Store:
        folder = _fresh(tmp_path)
        store = Store(folder / "kpis.duckdb")
        load(store, folder, "subs.csv", Sub.HEADER + "\n" + "\n".join(s.csv_line() for s in self.subs))
        if self.segment is not None:
            load(store, folder, "customers.csv",
                 "customer_id,name,segment\n" + "\n".join(f"{c},{c.upper()},{s}" for c, s in self.segments.items()))
        if self.fx:
            load(store, folder, "fx.csv", "currency,rate\n" + "\n".join(f"{c},{r}" for c, r in self.fx.items()))
        return store

    def oracle(self) -> RevenueOracle:
        members = None if self.segment is None else {c for c, s in self.segments.items() if s == self.segment}
        return RevenueOracle(self.subs, fx=self.fx, customers=members)

    @property
    def seg(self) -> tuple[str, str] | None:
        return None if self.segment is None else ("segment", self.segment)


@st.composite
def revenue_cases(draw: st.DrawFn) -> RevenueCase:
    """1-4 customers, 1-6 subscriptions over about four months: trials, ends, plans, intervals, EUR with a rate."""
    customers = [f"c{i}" for i in range(1, draw(st.integers(1, 4)) + 1)]
    with_eur = draw(st.booleans())
    subs = []
    for i in range(draw(st.integers(1, 6))):
        start = BASE + timedelta(days=draw(st.integers(0, 110)), hours=draw(st.integers(0, 23)))
        trial = draw(st.none() | st.integers(0, 30))
        length = draw(st.none() | st.integers(0, 100))
        style = draw(st.sampled_from(["z", "naive", "date", "plus2"]))
        ended = "" if length is None else _stamp(start + timedelta(days=length, hours=draw(st.integers(0, 5))), "z")
        subs.append(Sub(
            subscription_id=f"s{i}", customer_id=draw(st.sampled_from(customers)),
            amount=draw(st.sampled_from(["0", "10", "25", "99", "120", "1200"])),
            quantity=draw(st.sampled_from(["", "1", "2", "3"])),
            currency=draw(st.sampled_from(["USD", "EUR"])) if with_eur else "USD",
            interval=draw(st.sampled_from(["month", "month", "year", "week", "day"])),
            interval_count=draw(st.sampled_from(["", "1", "3"])),
            status=draw(st.sampled_from(["active", "active", "canceled", "trialing", "past_due", "unpaid",
                                         "incomplete", "incomplete_expired"])),
            started_at=_stamp(start, style),
            trial_end="" if trial is None else _stamp(start + timedelta(days=trial), "z"),
            canceled_at=ended, ended_at=ended,
            created_at=draw(st.sampled_from(["", _stamp(start - timedelta(days=3), "z"),
                                             _stamp(start + timedelta(days=40), "naive")])),
        ))
    segments = {c: draw(st.sampled_from(["A", "B"])) for c in customers}
    end = draw(st.none() | st.integers(14, 200).map(lambda n: date(2026, 1, 1) + timedelta(days=n)))
    fx = {"EUR": "1.5"} if with_eur else {}
    return RevenueCase(subs, segments, fx, end, draw(st.none() | st.sampled_from(["A", "B"])))


def _revenue_invariants(t: pd.DataFrame) -> None:
    """The MRR bridge, net new customers = change in active customers, ARR, signs, ratio bounds, never inf."""
    if t.empty:
        return
    # the first period's P-1 lies before the first paid day: nobody paid then
    prev_mrr = t["mrr"].shift(1, fill_value=0.0)
    prev_active = t["active_customers"].shift(1, fill_value=0)
    assert all(_close(a, b) for a, b in zip(t["net_new_mrr"], t["mrr"] - prev_mrr, strict=True)), "MRR bridge"
    five = t[["new_mrr", "expansion_mrr", "contraction_mrr", "churned_mrr", "reactivation_mrr"]].sum(axis=1)
    assert all(_close(a, b) for a, b in zip(t["net_new_mrr"], five, strict=True))
    assert list(t["net_new_customers"]) == list(t["active_customers"] - prev_active)
    assert list(t["net_new_customers"]) == list(t["new_customers"] + t["reactivated_customers"]
                                                - t["churned_customers"])
    assert all(_close(a, 12 * m) for a, m in zip(t["arr"], t["mrr"], strict=True))
    assert (t["new_mrr"] >= 0).all() and (t["expansion_mrr"] >= 0).all() and (t["reactivation_mrr"] >= 0).all()
    assert (t["contraction_mrr"] <= 0).all() and (t["churned_mrr"] <= 0).all()
    for name in ("logo_churn_rate", "revenue_churn_rate", "grr"):
        values = t[name].astype("float64").dropna()
        assert ((values >= 0) & (values <= 1 + 1e-9)).all(), name
    growth = t["mrr_growth_rate"].astype("float64")
    # MRR a period ago is a running sum: zero up to float noise counts as zero (no rate), as in the revenue table
    assert all(math.isnan(g) if round(p, 6) == 0 else _close(g, n / p)
               for g, n, p in zip(growth, t["net_new_mrr"], prev_mrr, strict=True)), "growth = net new / MRR before"
    for name in ("logo_churn_rate", "revenue_churn_rate", "quick_ratio", "arpa", "nrr", "grr", "ltv",
                 "mrr_growth_rate"):
        assert not t[name].astype("float64").isin([math.inf, -math.inf]).any(), name


@SETTINGS
@given(case=revenue_cases())
def test_revenue_matches_the_oracle_and_keeps_its_invariants(tmp_path, case):
    """Every revenue KPI at every grain equals the oracle's; the bridge and the other invariants hold."""
    oracle = case.oracle()
    with case.store(tmp_path) as store:
        for grain in GRAINS:
            table = revenue_table(store, grain, end=case.end, segment=case.seg)
            _compare(table, oracle.table(grain, case.end), REVENUE_COLUMNS, f"revenue at {grain} grain")
            _revenue_invariants(table)
        _trials_checks(store, case, oracle)


def _trials_checks(store: Store, case: RevenueCase, oracle: RevenueOracle) -> None:
    """The trials equal the oracle's at every grain; converted <= ended; the rate is a share; the months of a
    quarter add up to the quarter's counts."""
    tables = {}
    for grain in GRAINS:
        table = tables[grain] = trials_table(store, grain, end=case.end, segment=case.seg)
        _compare(table, oracle.trials(grain, case.end), TRIAL_COLUMNS, f"trials at {grain} grain")
        assert ((0 <= table["trials_converted"]) & (table["trials_converted"] <= table["trials_ended"])).all()
        rates = table["trial_conversion_rate"].astype("float64")
        assert all(math.isnan(r) if n == 0 else 0 <= r <= 1
                   for r, n in zip(rates, table["trials_ended"], strict=True))
    months, quarters = tables["month"], tables["quarter"]
    quarter_of = [date(p.year, (p.month - 1) // 3 * 3 + 1, 1) for p in months["period_start"]]
    summed = months.groupby(quarter_of)[["trials_started", "trials_ended", "trials_converted"]].sum()
    summed = summed.reindex(list(quarters["period_start"]), fill_value=0)  # no month: the data starts after as-of
    for row in quarters.itertuples(index=False):
        for column in ("trials_started", "trials_ended", "trials_converted"):
            assert getattr(row, column) == summed.loc[row.period_start, column], (row.period_start, column)


# -- engagement -------------------------------------------------------------------------------------------------

@dataclass
class EngagementCase:
    events: list[Event]
    tz: str
    inactive: tuple[str, ...]
    segments: dict[str, str]
    end: date | None = None
    segment: str | None = None

    def store(self, tmp_path: Path) -> Store:
        folder = _fresh(tmp_path)
        store = Store(folder / "kpis.duckdb")
        load(store, folder, "events.csv", Event.HEADER + "\n" + "\n".join(e.csv_line() for e in self.events))
        if self.segment is not None:
            load(store, folder, "customers.csv",
                 "customer_id,name,segment\n" + "\n".join(f"{c},{c.upper()},{s}" for c, s in self.segments.items()))
        if self.tz != "UTC":
            store.set_setting("timezone", self.tz)
        if self.inactive:
            store.set_setting("inactive_events", '["' + '","'.join(self.inactive) + '"]')
        return store

    def oracle(self) -> EngagementOracle:
        accounts = None if self.segment is None else {c for c, s in self.segments.items() if s == self.segment}
        return EngagementOracle(self.events, tz=self.tz, inactive=self.inactive, accounts=accounts)

    @property
    def seg(self) -> tuple[str, str] | None:
        return None if self.segment is None else ("segment", self.segment)


@st.composite
def engagement_cases(draw: st.DrawFn) -> EngagementCase:
    """1-6 users (each in one account or none), 1-30 events over about six weeks, in three time zones."""
    users = [f"u{i}" for i in range(1, draw(st.integers(1, 6)) + 1)]
    account = {u: draw(st.sampled_from(["", "c1", "c2", "c3"])) for u in users}
    raw = []
    for _ in range(draw(st.integers(1, 30))):
        moment = BASE + timedelta(minutes=draw(st.integers(0, 42 * 24 * 60)))
        user = draw(st.sampled_from(users))
        raw.append((moment, user, draw(st.sampled_from(["view", "click", "export", "$pageleave"])),
                    draw(st.sampled_from(["z", "naive", "plus2", "minus5"]))))
    raw.sort(key=lambda r: r[0])
    moment, user, _, style = raw[0]
    raw[0] = (moment, user, "view", style)  # the first event day is an active day (see test_engagement_exact)
    events = [Event(u, name, _stamp(m, s), account[u]) for m, u, name, s in raw]
    tz = draw(st.sampled_from(["UTC", "Europe/Berlin", "America/New_York"]))
    first = to_day(events[0].timestamp, tz)
    end = draw(st.none() | st.integers(0, 45).map(lambda n: first + timedelta(days=n)))
    return EngagementCase(events, tz, draw(st.sampled_from([(), ("$pageleave",)])),
                          {"c1": "A", "c2": "B", "c3": "A"}, end, draw(st.none() | st.sampled_from(["A", "B"])))


def _cohort_checks(store: Store, case: EngagementCase, oracle: EngagementOracle) -> None:
    """Both modes at week and month grain; k = 0 is 1.0, unbounded >= n-day, sizes add up to the users."""
    as_of = case.end or oracle.as_of()
    users = sum(1 for seen in oracle.seen.values() if min(seen) <= as_of)
    for grain in ("week", "month"):
        tables = {}
        for mode in ("n-day", "unbounded"):
            got = cohorts(store, grain, mode, end=case.end, segment=case.seg)
            want = oracle.cohorts(grain, mode, case.end)
            assert len(got) == len(want), (grain, mode)
            for g, w in zip(got.to_dict("records"), want, strict=True):
                assert {k: g[k] for k in w if k != "retention"} == {k: w[k] for k in w if k != "retention"}, \
                    (grain, mode)
                assert _close(g["retention"], w["retention"]), (grain, mode)
            tables[mode] = got
        n_day, unbounded = tables["n-day"], tables["unbounded"]
        for t in (n_day, unbounded):
            assert (t.loc[t["period"] == 0, "retention"] == 1.0).all()
            assert t.drop_duplicates("cohort_start")["cohort_size"].sum() == users
        assert list(n_day["cohort_start"]) == list(unbounded["cohort_start"])
        assert (unbounded["retained"].to_numpy() >= n_day["retained"].to_numpy()).all()
        for _, cells in unbounded.groupby("cohort_start"):  # "on or after" never rises with k
            assert list(cells["retained"]) == sorted(cells["retained"], reverse=True)


@SETTINGS
@given(case=engagement_cases(), grain=st.sampled_from(GRAINS), curve_day=st.integers(0, 45),
       window=st.integers(1, 10), activation=st.sampled_from(["export", "$pageleave"]))
def test_engagement_and_cohorts_match_the_oracle_and_keep_their_invariants(tmp_path, case, grain, curve_day,
                                                                           window, activation):
    """Every engagement KPI at every grain, adoption, the power-user curve, the cohorts in both modes and the
    activation rate; dau <= wau <= mau every day, k = 0 is 1.0, unbounded >= n-day, cohort sizes add up to the
    users, 0 <= activated <= started, and a longer window activates everyone a shorter one does."""
    oracle = case.oracle()
    with case.store(tmp_path) as store:
        for g in GRAINS:
            table = engagement_table(store, g, end=case.end, segment=case.seg)
            _compare(table, oracle.table(g, case.end), ENGAGEMENT_KPIS, f"engagement at {g} grain")
        days = daily(store, end=case.end, segment=case.seg)
        assert ((days["dau"] <= days["wau"]) & (days["wau"] <= days["mau"])).all()
        got = adoption(store, "export", grain, end=case.end, segment=case.seg)
        want = oracle.adoption("export", grain, case.end)
        assert list(got["period_start"]) == [r["period_start"] for r in want]
        assert [float(u) for u in got["users"]] == [r["users"] for r in want]
        assert all(_close(a, r["adoption"]) for a, r in zip(got["adoption"], want, strict=True))
        every = adoption_by_event(store, grain, end=case.end, segment=case.seg)
        for name, got in every.items():  # one pass over all events: each equals the oracle's own count
            want = oracle.adoption(name, grain, case.end)
            assert [float(u) for u in got["users"]] == [r["users"] for r in want], name
            assert all(_close(a, r["adoption"]) for a, r in zip(got["adoption"], want, strict=True))
        last = case.end or oracle.as_of()
        assert set(every) == {e.event for e, d in oracle.events if d <= last}
        starts = list(engagement_table(store, grain, end=case.end, segment=case.seg)["period_start"])
        picked = (*starts[-1:], *starts[:1], date(2025, 1, 1))  # the last, the first, one before the series
        some = adoption_in(store, grain, picked, end=case.end, segment=case.seg)
        assert set(some) == set(every)
        for name, got in some.items():  # the same rows as the whole history's, in those periods only
            want = [r for r in oracle.adoption(name, grain, case.end) if r["period_start"] in picked]
            assert list(got["period_start"]) == [r["period_start"] for r in want], name
            assert [float(u) for u in got["users"]] == [r["users"] for r in want], name
            assert all(_close(a, r["adoption"]) for a, r in zip(got["adoption"], want, strict=True))
        day = date(2026, 1, 1) + timedelta(days=curve_day)
        for g in ("week", "month"):
            curve = power_curve(store, g, day, segment=case.seg)
            assert list(zip(curve["days_active"], curve["users"], strict=True)) == oracle.power_curve(g, day)
        _cohort_checks(store, case, oracle)
        for g in ("week", "month"):
            _lifecycle_checks(store, case, oracle, g)
        _activation_checks(store, case, oracle, grain, window, activation)


def _lifecycle_checks(store: Store, case: EngagementCase, oracle: EngagementOracle, grain: str) -> None:
    """The lifecycle equals the oracle's; new + returning + resurrected = active users; dormant <= 0."""
    got = lifecycle_table(store, grain, end=case.end, segment=case.seg)
    want = oracle.lifecycle(grain, case.end)
    assert list(got["period_start"]) == [r["period_start"] for r in want]
    for part in ("new", "returning", "resurrected", "dormant"):
        assert list(got[part]) == [r[part] for r in want], (grain, part)
    assert all(_close(a, r["user_quick_ratio"]) for a, r in zip(got["user_quick_ratio"], want, strict=True))
    active = engagement_table(store, grain, end=case.end, segment=case.seg)["active_users"]
    assert list(got["new"] + got["returning"] + got["resurrected"]) == list(active.astype(int))
    assert (got["dormant"] <= 0).all()


def _activation_checks(store: Store, case: EngagementCase, oracle: EngagementOracle, grain: str,
                       window: int, event: str) -> None:
    """The activation table for ``event`` (an inactive one too) equals the oracle's with the windows ``window`` and
    ``window + 1``; 0 <= activated
    <= started; the longer window counts a subset of the users (those whose longer window has ended too) and
    activates each of them the shorter one activated."""
    tables = []
    for days in (window, window + 1):
        store.set_setting("activation_event", event)
        store.set_setting("activation_window_days", str(days))
        got = activation_table(store, grain, end=case.end, segment=case.seg)
        want = oracle.activation(event, days, grain, case.end)
        assert list(got["period_start"]) == [r["period_start"] for r in want]
        for part in ("started", "activated"):
            assert list(got[part]) == [r[part] for r in want], (grain, days, part)
        assert all(_close(a, r["activation_rate"]) for a, r in zip(got["activation_rate"], want, strict=True))
        assert ((0 <= got["activated"]) & (got["activated"] <= got["started"])).all()
        tables.append(got)
    short, long = tables
    assert (long["started"] <= short["started"]).all()
    assert (long["activated"] >= short["activated"] - (short["started"] - long["started"])).all()


def test_every_registered_kpi_is_covered_by_the_oracle():
    """A KPI added to the registry must be added to the oracle (and to these tests) too."""
    covered = (set(REVENUE_COLUMNS) | set(ENGAGEMENT_KPIS) | {"adoption", "user_quick_ratio", "activation_rate"}
               | set(TRIAL_COLUMNS) - {"trials_converted"} | set(ACCOUNT_COLUMNS))
    assert set(KPIS) == covered


# -- accounts ---------------------------------------------------------------------------------------------------

@dataclass
class AccountCase:
    subs: list[Sub]
    events: list[Event]
    links: list[tuple[str, str, str]]
    drop: str
    end: date | None = None

    def store(self, tmp_path: Path) -> Store:
        folder = _fresh(tmp_path)
        store = Store(folder / "kpis.duckdb")
        load(store, folder, "subs.csv", Sub.HEADER + "\n" + "\n".join(s.csv_line() for s in self.subs))
        load(store, folder, "events.csv", Event.HEADER + "\n" + "\n".join(e.csv_line() for e in self.events))
        for kind, column in (("account", "account_id"), ("user", "user_id"), ("email", "email")):
            rows = [f"{key},{customer}" for k, key, customer in self.links if k == kind]
            if rows:
                load(store, folder, f"{kind}_links.csv", f"{column},customer_id\n" + "\n".join(rows))
        store.set_setting("at_risk_drop", self.drop)
        return store

    def oracle(self) -> AccountOracle:
        return AccountOracle(self.subs, self.events, self.links, Fraction(self.drop))


@st.composite
def account_cases(draw: st.DrawFn) -> AccountCase:
    """3 customers (one free) and 1-8 users over about four months; accounts named by id, by an account, user or
    email mapping, or not at all; activity that fades, stops or holds."""
    subs = [Sub(f"s{i}", c, draw(st.sampled_from(["0", "10", "25.5", "99"])),
                f"2026-0{draw(st.integers(1, 3))}-{draw(st.integers(1, 28)):02d}",
                ended_at=draw(st.sampled_from(["", "2026-03-15", "2026-04-20"])))
            for i, c in enumerate(draw(st.lists(st.sampled_from(["c1", "c2", "c3"]), min_size=1, max_size=5)))]
    users = ["u1", "u2", "u3", "u4", "u5", "u6", "Ann@X.test", "u8"][:draw(st.integers(1, 8))]
    account = {u: draw(st.sampled_from(["", "c1", "c2", "acct_x", "acct_y"])) for u in users}
    events = []
    for _ in range(draw(st.integers(1, 60))):
        user = draw(st.sampled_from(users))
        moment = BASE + timedelta(minutes=draw(st.integers(0, 120 * 24 * 60)))
        events.append(Event(user, "view", _stamp(moment, "z"), account[user]))
    events.sort(key=lambda e: e.timestamp)
    links = draw(st.lists(st.sampled_from([("account", "acct_x", "c3"), ("account", "acct_y", "c1"),
                                           ("account", "c2", "c3"), ("user", "u1", "c2"), ("user", "u2", "c3"),
                                           ("email", "ann@x.test", "c1"), ("account", "acct_z", "c1")]),
                          unique=True, max_size=6))
    first = to_day(events[0].timestamp)
    end = draw(st.none() | st.integers(0, 125).map(lambda n: first + timedelta(days=n)))
    return AccountCase(subs, events, links, draw(st.sampled_from(["0.3", "0.5", "0.25"])), end)


@SETTINGS
@given(case=account_cases())
def test_accounts_match_the_oracle_and_keep_their_invariants(tmp_path, case):
    """accounts_at_risk, mrr_at_risk and engaged_mrr_share at every grain equal the oracle's; MRR at risk is at most
    the MRR and the accounts at risk at most the active customers, at the same period ends."""
    oracle = case.oracle()
    with case.store(tmp_path) as store:
        for g in GRAINS:
            table = account_table(store, g, end=case.end)
            _compare(table, oracle.table(g, case.end), ACCOUNT_COLUMNS, f"accounts at {g} grain")
            last = table["period_end"].iloc[-1] if len(table) else None
            revenue = revenue_table(store, g, end=last).set_index("period_start") if last else pd.DataFrame()
            for row in table.itertuples(index=False):
                mrr = revenue.at[row.period_start, "mrr"] if row.period_start in revenue.index else 0.0
                customers = revenue.at[row.period_start, "active_customers"] if row.period_start in revenue.index \
                    else 0
                assert row.mrr_at_risk <= mrr + 1e-9 and row.accounts_at_risk <= customers, (g, row)
                assert math.isnan(row.engaged_mrr_share) or 0 <= row.engaged_mrr_share <= 1
        _signal_checks(store, case)


def _signal_checks(store: Store, case: AccountCase) -> None:
    """The signal check's counts add up: flagged ones are linked churned ones, every flag is a customer at risk
    at the end of a period (the last two excepted), every churn one of the revenue table's."""
    table = account_table(store, "week", end=case.end)
    found = signal_check(store, "week", end=case.end)
    assert found.churned_flagged <= found.churned_linked <= found.churned and found.flagged_churned <= found.flagged
    assert found.flagged == sum(table["accounts_at_risk"].iloc[:-2])
    if len(table):
        revenue = revenue_table(store, "week", end=table["period_end"].iloc[-1]).set_index("period_start")
        later = [p for p in table["period_start"].iloc[1:] if p in revenue.index]
        assert found.churned == sum(int(revenue.at[p, "churned_customers"]) for p in later)
