"""The segments a filter offers: an attribute with more distinct values than a segment can sensibly have (a phone
number) is left out, and named with its number of values."""

from __future__ import annotations

from pathlib import Path

import pytest

from kpis.core.errors import InputError
from kpis.ingest.importer import import_file
from kpis.metrics.segments import DEFAULT_MAX_SEGMENT_VALUES, OfferedSegments, max_segment_values, offered_segments
from kpis.store.db import Store

#: 51 customers, each with its own phone number; two segments and two plans.
CUSTOMERS = "customer_id,name,segment,phone\n" + "".join(
    f"c{i:02d},Customer {i},{'SMB' if i % 2 == 0 else 'Enterprise'},+1 555 01{i:02d}\n" for i in range(51))
SUBSCRIPTIONS = ("subscription_id,customer_id,plan,amount,currency,interval,status,started_at,canceled_at,ended_at\n"
                 "s1,c00,Pro,100,usd,month,active,2026-01-05,,\n"
                 "s2,c01,Team,50,usd,month,canceled,2026-02-02,2026-06-01,2026-06-01\n")
SMALL_ONES = [("plan", "Pro"), ("plan", "Team"), ("segment", "Enterprise"), ("segment", "SMB")]


def load(store: Store, folder: Path) -> Store:
    for name, text in (("customers.csv", CUSTOMERS), ("subscriptions.csv", SUBSCRIPTIONS)):
        path = folder / name
        path.write_text(text, encoding="utf-8")
        assert import_file(store, path, who="test").status == "ok"
    return store


def test_an_attribute_with_more_values_than_the_limit_is_left_out(store: Store, tmp_path: Path) -> None:
    load(store, tmp_path)
    assert offered_segments(store) == OfferedSegments(50, SMALL_ONES, {"phone": 51})
    assert offered_segments(store, 2) == OfferedSegments(2, SMALL_ONES, {"phone": 51})
    assert offered_segments(store, 1) == OfferedSegments(1, [], {"phone": 51, "plan": 2, "segment": 2})


def test_an_attribute_with_exactly_the_limit_is_offered(store: Store, tmp_path: Path) -> None:
    offered = offered_segments(load(store, tmp_path), 51)
    assert offered.left_out == {}
    assert len(offered.segments) == 55 and ("phone", "+1 555 0150") in offered.segments


def test_the_limit_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KPI_MAX_SEGMENT_VALUES", raising=False)
    assert max_segment_values() == DEFAULT_MAX_SEGMENT_VALUES == 50
    monkeypatch.setenv("KPI_MAX_SEGMENT_VALUES", " 200 ")
    assert max_segment_values() == 200
    for bad in ("0", "-5", "many", "1.5"):
        monkeypatch.setenv("KPI_MAX_SEGMENT_VALUES", bad)
        with pytest.raises(InputError) as raised:
            max_segment_values()
        assert str(raised.value) == f"KPI_MAX_SEGMENT_VALUES: expected a number of values such as 50, got {bad!r}"
