"""Funnels against the naive oracle (tests/kpis/oracle.py: each user's events walked in time order) on random
events, with the invariant that the counts never increase along the steps."""

from __future__ import annotations

import itertools
import math
import statistics
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpis.metrics.funnel import funnel
from kpis.store.db import Store
from tests.kpis.helpers import load
from tests.kpis.oracle import Event
from tests.kpis.oracle import funnel as oracle_funnel

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
BASE = datetime(2026, 1, 1, tzinfo=UTC)
SEGMENTS = {"c1": "A", "c2": "B", "c3": "A"}
_counter = itertools.count()


@dataclass
class FunnelCase:
    events: list[Event]
    steps: list[str]
    window_days: int
    tz: str
    start: date | None
    end: date | None
    segment: str | None

    def store(self, tmp_path: Path) -> Store:
        folder = tmp_path / f"example{next(_counter)}"
        folder.mkdir()
        store = Store(folder / "kpis.duckdb")
        # every event has an id of its own: two events of one user, name and moment are two occurrences
        lines = [f"e{i},{e.user_id},{e.event},{e.timestamp},{e.account_id}" for i, e in enumerate(self.events)]
        load(store, folder, "events.csv", "event_id,user_id,event,timestamp,account_id\n" + "\n".join(lines))
        if self.segment is not None:
            load(store, folder, "customers.csv",
                 "customer_id,name,segment\n" + "\n".join(f"{c},{c.upper()},{s}" for c, s in SEGMENTS.items()))
        if self.tz != "UTC":
            store.set_setting("timezone", self.tz)
        return store


def _stamp(moment: datetime, style: str) -> str:
    if style == "z":
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    if style == "naive":
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    return moment.astimezone(timezone(timedelta(hours=-5))).isoformat()


@st.composite
def funnel_cases(draw: st.DrawFn) -> FunnelCase:
    """1-5 users (each in one account or none), 1-30 events of three names on whole hours over three weeks (so
    that moments coincide and a step falls exactly at the window's end), 2-4 steps of the names done (repeats
    allowed), a window of 1-5 days, an optional date range of entry and segment, in three time zones."""
    users = [f"u{i}" for i in range(1, draw(st.integers(1, 5)) + 1)]
    account = {u: draw(st.sampled_from(["", "c1", "c2", "c3"])) for u in users}
    events = []
    for _ in range(draw(st.integers(1, 30))):
        moment = BASE + timedelta(hours=draw(st.integers(0, 21 * 24)))
        user = draw(st.sampled_from(users))
        events.append(Event(user, draw(st.sampled_from(["a", "b", "c"])),
                            _stamp(moment, draw(st.sampled_from(["z", "naive", "minus5"]))), account[user]))
    done = sorted({e.event for e in events})
    steps = draw(st.lists(st.sampled_from(done), min_size=2, max_size=4))
    start = draw(st.none() | st.integers(-1, 21).map(lambda n: date(2026, 1, 1) + timedelta(days=n)))
    end = draw(st.none() | st.integers(0, 10).map(lambda n: (start or date(2026, 1, 1)) + timedelta(days=n)))
    return FunnelCase(events, steps, draw(st.integers(1, 5)), draw(st.sampled_from(["UTC", "Europe/Berlin",
                                                                                      "America/New_York"])),
                      start, end, draw(st.none() | st.sampled_from(["A", "B"])))


@SETTINGS
@given(case=funnel_cases())
def test_the_funnel_matches_the_oracle_and_never_grows(tmp_path, case):
    accounts = None if case.segment is None else {c for c, s in SEGMENTS.items() if s == case.segment}
    want = oracle_funnel(case.events, case.steps, case.window_days, tz=case.tz, start=case.start, end=case.end,
                         accounts=accounts)
    with case.store(tmp_path) as store:
        got = funnel(store, case.steps, case.window_days, start=case.start, end=case.end,
                     segment=None if case.segment is None else ("segment", case.segment))
    users = list(got["users"])
    assert users == [len(r) for r in want]
    assert users == sorted(users, reverse=True)  # never more users at a later step
    for k in range(1, len(case.steps)):
        median = got["median_seconds"][k]
        assert math.isnan(median) if not want[k] else median == statistics.median(want[k]), k
        assert math.isnan(got["from_previous"][k]) if users[k - 1] == 0 else (
            got["from_previous"][k] == users[k] / users[k - 1])
    assert math.isnan(got["from_previous"][0])
    assert all(math.isnan(f) for f in got["from_first"]) if users[0] == 0 else (
        list(got["from_first"]) == [u / users[0] for u in users])
