"""What the store holds right now: rows per canonical table, how current each source is, the import log.

The small read queries behind the overview and data pages, so the pages hold no SQL. Never imports streamlit.

>>> from kpis.store.db import COLUMNS
>>> set(TABLE_LABELS) == set(COLUMNS)  # every canonical table has a label
True
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from kpis.ingest.event_names import HOUSEKEEPING
from kpis.ingest.sources.detect import label_of
from kpis.metrics.engagement import engagement_as_of
from kpis.metrics.revenue import revenue_as_of
from kpis.store.db import Store
from kpis.store.derived import counted_events_sql
from kpis.store.settings import event_sources, inactive_events, timezone

#: The canonical tables in the order people read them, with the words the pages use for them.
TABLE_LABELS: dict[str, str] = {
    "subscriptions": "Subscriptions",
    "customers": "Customers",
    "customer_attributes": "Customer attributes",
    "events": "Product events",
    "metric_points": "Metric points (chart exports)",
    "targets": "Targets",
    "fx_rates": "Exchange rates",
    "account_links": "Account mapping",
}

#: Columns of :func:`import_history`, in order.
HISTORY_COLUMNS = (
    "import_id", "filename", "source", "kinds", "status", "rows_read", "rows_added", "rows_updated",
    "duplicates", "rows_rejected", "data_as_of", "imported_by", "imported_at", "undone_at", "notes",
)


def data_as_of(store: Store) -> dict[str, pd.Timestamp | None]:
    """The last day each source has data for, decided by the data alone (never by the machine's clock).

    ``events``: the day of the latest event, in the reporting time zone. ``subscriptions`` (revenue): the
    latest day the export recorded something that happened (a subscription created, started, canceled or
    ended); scheduled dates such as a trial that ends next week never count. The same
    functions the KPIs use decide both (:func:`kpis.metrics.engagement.engagement_as_of`,
    :func:`kpis.metrics.revenue.revenue_as_of`). ``metric_points``: the latest day of
    any aggregated series. ``None`` when the table is empty.

    >>> from kpis.store.db import Store
    >>> with Store(":memory:") as store:
    ...     data_as_of(store)
    {'events': None, 'subscriptions': None, 'metric_points': None}
    """
    has_events = bool(store.query("SELECT 1 FROM events LIMIT 1"))
    events = engagement_as_of(store) if has_events else None
    revenue = revenue_as_of(store)
    points = store.query("SELECT max(day) FROM metric_points")[0][0]
    return {kind: (pd.Timestamp(value) if value is not None else None)
            for kind, value in (("events", events), ("subscriptions", revenue), ("metric_points", points))}


def loaded_summary(store: Store) -> pd.DataFrame:
    """One row per canonical table: its label, how many current rows it holds, and its data as of.

    ``data_as_of`` is set for the tables that carry dated facts (see :func:`data_as_of`), else missing.

    >>> from kpis.store.db import Store
    >>> with Store(":memory:") as store:
    ...     summary = loaded_summary(store)
    >>> summary[["table", "rows"]].head(2).to_dict("records")
    [{'table': 'subscriptions', 'rows': 0}, {'table': 'customers', 'rows': 0}]
    """
    # Table names come from our own registry (COLUMNS), never from input; one query per table, so that each runs
    # where its table lives (the targets stay local when Spark reads the lake's tables).
    counts = {table: store.query(f"SELECT count(*) FROM {table}")[0][0] for table in TABLE_LABELS}
    as_of = data_as_of(store)
    frame = pd.DataFrame(
        {
            "table": list(TABLE_LABELS),
            "label": list(TABLE_LABELS.values()),
            "rows": [int(counts[table]) for table in TABLE_LABELS],
            "data_as_of": pd.to_datetime([as_of.get(table) for table in TABLE_LABELS]),
        }
    )
    return frame


def import_history(store: Store) -> pd.DataFrame:
    """The import log, newest first: one row per file ever imported, undone ones included.

    >>> from kpis.store.db import Store
    >>> with Store(":memory:") as store:
    ...     list(import_history(store).columns) == list(HISTORY_COLUMNS)
    True
    """
    return store.df(_history_sql(oldest_first=False))


def import_log(store: Store, *, oldest_first: bool = False) -> list[dict[str, Any]]:
    """:func:`import_history` as plain rows (column name -> value, ``None`` where nothing is known), for the
    command line.

    >>> from kpis.store.db import Store
    >>> with Store(":memory:") as store:
    ...     import_log(store)
    []
    """
    return [dict(zip(HISTORY_COLUMNS, row, strict=True)) for row in store.query(_history_sql(oldest_first))]


def _history_sql(oldest_first: bool) -> str:
    """The one query behind the import log, newest or oldest first."""
    return f"SELECT {', '.join(HISTORY_COLUMNS)} FROM imports ORDER BY import_id {'ASC' if oldest_first else 'DESC'}"


def live_imports(store: Store) -> list[tuple[int, str]]:
    """Imports that can be undone (status ``ok``), newest first, as ``(import_id, label)``.

    >>> from kpis.store.db import Store
    >>> with Store(":memory:") as store:
    ...     live_imports(store)
    []
    """
    rows = store.query(
        "SELECT import_id, filename, source, imported_at FROM imports WHERE status = 'ok' ORDER BY import_id DESC"
    )
    return [
        (int(import_id), f"{import_id}: {filename} ({label_of(source)}, {imported_at:%Y-%m-%d %H:%M})")
        for import_id, filename, source, imported_at in rows
    ]


def events_by_source(store: Store) -> pd.DataFrame:
    """Product events per source as stored (each event once, under the import that holds it): the source's id
    and plain name, its live imports, events, users, first and last day (UTC), and ``counted``: the events that
    count for the product KPIs (fewer than ``events`` where the ``event_sources`` setting prefers another source
    on some days).

    >>> from kpis.store.db import Store
    >>> with Store(":memory:") as store:
    ...     list(events_by_source(store).columns)
    ['source', 'label', 'imports', 'events', 'users', 'first_day', 'last_day', 'counted']
    """
    sources, tz = event_sources(store), timezone(store)
    params: dict[str, object] = {"event_sources": sources} if sources else {}
    if sources and tz != "UTC":
        params["tz"] = tz
    frame = store.df(f"""
        WITH counted AS (SELECT import_id, count(*) AS n FROM {counted_events_sql(sources, tz)} c GROUP BY ALL)
        SELECT i.source, count(DISTINCT e.import_id) AS imports, count(*) AS events,
               count(DISTINCT e.user_id) AS users, min(e.ts)::DATE AS first_day, max(e.ts)::DATE AS last_day,
               (SELECT CAST(coalesce(sum(c.n), 0) AS BIGINT) FROM counted c
                JOIN imports j ON j.import_id = c.import_id WHERE j.source = i.source) AS counted
        FROM events e JOIN imports i ON i.import_id = e.import_id
        GROUP BY i.source ORDER BY events DESC, i.source""", params)
    frame.insert(1, "label", [label_of(s) for s in frame["source"]])
    return frame


def housekeeping_events(store: Store) -> pd.DataFrame:
    """The events found in the data that a tool sends about itself or about who a user is (a feature flag
    checked, a user identified) and that still make a user active (not in ``inactive_events``): ``event``,
    ``name`` (in plain words) and ``events``, the most frequent first.

    >>> from kpis.store.db import Store
    >>> with Store(":memory:") as store:
    ...     housekeeping_events(store).empty
    True
    """
    frame = store.df("""SELECT event, count(*) AS events FROM events
                        WHERE list_contains($housekeeping, event) AND NOT list_contains($inactive, event)
                        GROUP BY event ORDER BY events DESC, event""",
                     {"housekeeping": list(HOUSEKEEPING), "inactive": inactive_events(store) or [""]})
    frame.insert(1, "name", [HOUSEKEEPING[e] for e in frame["event"]])
    return frame
