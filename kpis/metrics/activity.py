"""The events that count and the settings behind every engagement KPI; the derived tables themselves
(``user_days``, ``users``) are built by the writes that change them, in :mod:`kpis.store.derived`.
"""

from __future__ import annotations

from kpis.store import derived, settings
from kpis.store.db import Store
from kpis.store.derived import DERIVED_TABLES, counted_events_sql, day_sql
from kpis.store.settings import (
    EVENT_SOURCES,
    add_inactive_events,
    event_sources,
    inactive_events,
    set_timezone,
    timezone,
)

__all__ = ["DERIVED_TABLES", "EVENT_SOURCES", "add_inactive_events", "counted_events_sql", "day_sql", "drop_derived",
           "event_sources", "inactive_events", "set_event_sources", "set_timezone", "timezone"]


def set_event_sources(store: Store, names: list[str]) -> None:
    """Set :func:`event_sources`; only sources that read product events are accepted, each once."""
    from kpis.ingest.sources.detect import event_source_names

    settings.set_event_sources(store, names, event_source_names())


def drop_derived(store: Store) -> None:
    """Drop the derived tables and the record of what they were built from (see :func:`kpis.store.derived.drop`)."""
    with store.transaction() as cur:
        derived.drop(cur)
