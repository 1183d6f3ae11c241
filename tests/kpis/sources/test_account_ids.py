"""Every event source keeps the account an event belongs to (group analytics), in ``events.account_id``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kpis.ingest.importer import import_file
from kpis.store.db import Store

Write = Callable[..., Path]


def _accounts(store: Store) -> list[tuple[Any, ...]]:
    return store.query("SELECT user_id, account_id FROM events ORDER BY user_id")


def test_posthog_groups_object_picks_the_account_group_then_group_0_then_any_group(store: Store,
                                                                                     write: Write) -> None:
    header = "uuid,event,distinct_id,properties.$groups,properties.$group_0,timestamp\n"
    rows = (
        # u1: the company group wins over the project group, whatever their order in $groups
        '1,$pageview,u1,"{""project"": ""p1"", ""company"": ""acme""}",p1,2026-01-05T10:00:00Z\n'
        # u2: a company group given as a list: its first value
        '2,$pageview,u2,"{""company"": [""globex""]}",,2026-01-05T10:00:00Z\n'
        # u3: no account-like group type: $group_0 comes before the other groups
        '3,$pageview,u3,"{""project"": ""p3""}",g3,2026-01-05T10:00:00Z\n'
        # u4: neither an account-like type nor $group_0: the one group there is
        '4,$pageview,u4,"{""project"": ""p4""}",,2026-01-05T10:00:00Z\n'
        # u5: $groups is not JSON: ignored, $group_0 used
        "5,$pageview,u5,not json,g5,2026-01-05T10:00:00Z\n"
        # u6: empty groups
        '6,$pageview,u6,{},,2026-01-05T10:00:00Z\n'
    )
    assert import_file(store, write("events.csv", header + rows)).source == "posthog_events"
    assert _accounts(store) == [("u1", "acme"), ("u2", "globex"), ("u3", "g3"), ("u4", "p4"), ("u5", "g5"),
                                ("u6", None)]


def test_posthog_flattened_group_columns_and_account_id_property(store: Store, write: Write) -> None:
    header = "*.uuid,*.event,*.distinct_id,*.properties.account_id,*.properties.$groups.company,*.timestamp\n"
    rows = ("1,$pageview,u1,acct-1,acme,2026-01-05T10:00:00Z\n"  # an explicit account_id property wins
            "2,$pageview,u2,,globex,2026-01-05T10:00:00Z\n"
            "3,$pageview,u3,,,2026-01-05T10:00:00Z\n")
    assert import_file(store, write("events.csv", header + rows)).source == "posthog_events"
    assert _accounts(store) == [("u1", "acct-1"), ("u2", "globex"), ("u3", None)]


def test_amplitude_groups_company_id_list(store: Store, write: Write) -> None:
    lines = [{"event_type": "view", "event_time": "2026-01-05 10:00:00", "user_id": "u1", "$insert_id": "i1",
              "groups": {"company_id": ["acme"]}},
             {"event_type": "view", "event_time": "2026-01-05 10:00:00", "user_id": "u2", "$insert_id": "i2",
              "groups": {"company_id": []}}]
    text = "".join(json.dumps(line) + "\n" for line in lines)
    assert import_file(store, write("amp.json", text)).source == "amplitude_events"
    assert _accounts(store) == [("u1", "acme"), ("u2", None)]


def test_mixpanel_group_key_company_id(store: Store, write: Write) -> None:
    lines = [{"event": "Viewed", "properties": {"time": 1767607200, "distinct_id": "u1", "$insert_id": "a",
                                                "company_id": "acme"}},
             {"event": "Viewed", "properties": {"time": 1767607200, "distinct_id": "u2", "$insert_id": "b"}}]
    text = "".join(json.dumps(line) + "\n" for line in lines)
    assert import_file(store, write("mp.jsonl", text)).source == "mixpanel_events"
    assert _accounts(store) == [("u1", "acme"), ("u2", None)]


def test_events_csv_account_id_column(store: Store, write: Write) -> None:
    text = "user_id,event,timestamp,account_id\nu1,login,2026-01-05 10:00,acme\nu2,login,2026-01-05 10:00,\n"
    assert import_file(store, write("ev.csv", text)).source == "events_csv"
    assert _accounts(store) == [("u1", "acme"), ("u2", None)]
