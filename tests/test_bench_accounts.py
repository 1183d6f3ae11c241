"""The bench's hand-written account queries must compute the numbers the CLI prints, or the ratios compare
different work: both run here on one small company (the bench's own subscriptions, events written below)."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from bench.__main__ import _cli, account_databases
from bench.harness import run_python
from bench.queries import REFERENCE_SQL, SUBSCRIPTIONS_SQL

#: The bench's subscriptions at a small size: customers c0 .. c9, two subscriptions each.
SUBSCRIPTIONS, CUSTOMERS = 20, 10
FIRST, LAST = date(2026, 5, 4), date(2026, 10, 14)


def _chance(customer: int, day: date) -> float:
    """How likely a user of ``customer`` is active on ``day``: steady, fading, or gone silent from September."""
    if customer % 3 == 0:
        return 0.5
    if day < date(2026, 9, 10):
        return 0.6
    return 0.15 if customer % 3 == 1 else 0.0


def _write_events(path: Path) -> None:
    """Six users per customer (and one customer id unknown to billing), active on random days; one user moves
    from c1 to c2 halfway, so only their latest account counts."""
    rng = random.Random(16)
    rows = ["user_id,event,timestamp,account_id"]
    day = FIRST
    while day <= LAST:
        for customer in range(CUSTOMERS + 1):
            account = f"c{customer}" if customer < CUSTOMERS else "x1"
            for user in range(6):
                if rng.random() < _chance(customer, day):
                    moment = datetime.combine(day, datetime.min.time()) + timedelta(minutes=rng.randrange(1440))
                    rows.append(f"u{customer}_{user},report_created,{moment.isoformat()},{account}")
        if day.day % 5 == 0:
            rows.append(f"mover,report_created,{day.isoformat()}T12:00:00,{'c1' if day.month < 8 else 'c2'}")
        day += timedelta(days=1)
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def databases(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("bench_accounts")
    events, subscriptions = folder / "events.csv", folder / "subscriptions.csv"
    _write_events(events)
    sql = SUBSCRIPTIONS_SQL.format(customers=CUSTOMERS, n=SUBSCRIPTIONS, path=subscriptions)
    duckdb.connect().execute(sql)
    return account_databases(events, subscriptions, "accounts")


def _reference(plain: Path, name: str) -> list[tuple]:
    with duckdb.connect(str(plain), read_only=True) as c:
        return c.execute(REFERENCE_SQL[name]).fetchall()


def _ours(db: Path, *args: str) -> list[list[str]]:
    printed = run_python(_cli(db, *args), capture=True).stdout
    return [line.split(",") for line in printed.splitlines()[1:]]


def test_the_mrr_at_risk_reference_gives_the_series_numbers(databases):
    ours, plain = databases
    expected = _reference(plain, "mrr_at_risk")
    found = _ours(ours, "series", "mrr_at_risk", "--grain", "week")
    assert [date.fromisoformat(p) for p, _ in found] == [w for w, _ in expected]
    assert [float(v) for _, v in found] == pytest.approx([v for _, v in expected], abs=1e-6)
    assert any(v > 0 for _, v in expected) and any(v == 0 for _, v in expected)


def test_the_accounts_reference_gives_the_accounts_rows(databases):
    ours, plain = databases
    expected = _reference(plain, "accounts")
    found = _ours(ours, "accounts")
    assert [(c, int(now), int(before), risk == "true") for c, _, now, before, _, risk in found] == [
        (c, now, before, risk) for c, _, now, before, risk in expected]
    assert [float(m) for _, m, *_ in found] == pytest.approx([m for _, m, *_ in expected], abs=1e-6)
    assert {risk for *_, risk in expected} == {True, False}
