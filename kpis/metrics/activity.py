"""The events that count and the settings behind every engagement KPI; the derived tables themselves
(``user_days``, ``users``) are built by the writes that change them, in :mod:`kpis.store.derived`.
"""

from __future__ import annotations

import json
from zoneinfo import available_timezones

from kpis.core.errors import InputError
from kpis.store import derived
from kpis.store.db import Store
from kpis.store.derived import DERIVED_TABLES, counted_events_sql, day_sql

__all__ = ["DERIVED_TABLES", "EVENT_SOURCES", "add_inactive_events", "counted_events_sql", "day_sql", "drop_derived",
           "event_sources", "inactive_events", "set_event_sources", "set_timezone", "timezone"]

EVENT_SOURCES = "event_sources"


def timezone(store: Store) -> str:
    """The reporting time zone (setting ``timezone``, default UTC)."""
    return store.get_setting("timezone") or "UTC"


def set_timezone(store: Store, name: str) -> None:
    """Set the reporting time zone; only IANA names (``Europe/Berlin``) are accepted."""
    if name != "UTC" and name not in available_timezones():
        raise InputError(f"unknown time zone {name!r}: use an IANA name such as Europe/Berlin")
    store.set_setting("timezone", name)


def inactive_events(store: Store) -> list[str]:
    """Event names that do not make a user active (setting ``inactive_events``, a JSON list; default none)."""
    raw = store.get_setting("inactive_events")
    return list(json.loads(raw)) if raw else []


def add_inactive_events(store: Store, names: list[str]) -> list[str]:
    """Add ``names`` to :func:`inactive_events` (each once, the earlier ones kept first); returns the new list."""
    merged = list(dict.fromkeys([*inactive_events(store), *names]))
    store.set_setting("inactive_events", json.dumps(merged))
    return merged


def event_sources(store: Store) -> list[str]:
    """The sources that count where they overlap, in order of preference (setting ``event_sources``, a JSON list
    of source names such as ``posthog_events``; default none)."""
    raw = store.get_setting(EVENT_SOURCES)
    return list(json.loads(raw)) if raw else []


def set_event_sources(store: Store, names: list[str]) -> None:
    """Set :func:`event_sources`; only sources that read product events are accepted, each once."""
    from kpis.ingest.sources.detect import event_source_names

    known = event_source_names()
    unknown = [n for n in names if n not in known]
    if unknown:
        raise InputError(f"{', '.join(unknown)}: not a source of product events; use some of {', '.join(known)}")
    if len(set(names)) != len(names):
        raise InputError("each source may be listed once")
    store.set_setting(EVENT_SOURCES, json.dumps(names))


def drop_derived(store: Store) -> None:
    """Drop the derived tables and the record of what they were built from (see :func:`kpis.store.derived.drop`)."""
    with store.transaction() as cur:
        derived.drop(cur)
