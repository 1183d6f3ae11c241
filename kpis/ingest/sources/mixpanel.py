"""Mixpanel raw export: JSON lines ``{"event": ..., "properties": {"time": ..., "distinct_id": ..., ...}}``.

``time`` is Unix seconds, or milliseconds when exported with ``time_in_ms`` (values above 10^11). Raw exports are
not de-duplicated: Mixpanel's own key is (event, distinct_id, time, $insert_id), so that is our ``uuid``, and the
importer's de-duplication by uuid then matches Mixpanel's.
"""

from __future__ import annotations

from typing import Any

import duckdb

from kpis.ingest.sources.base import Sniff, Source, Staged
from kpis.ingest.sources.events_jsonl import first_value_sql, stage_events_jsonl, timestamp_sql
from kpis.ingest.sources.sqltext import identifier as sql_identifier

#: Properties holding the account (group analytics key), in order of preference.
ACCOUNT_PROPERTIES = ("account_id", "$group_id", "company_id", "company")

#: Only these properties are read (a struct, so DuckDB skips the rest of each property bag cheaply).
_PROPERTIES = ", ".join(
    ['"time" VARCHAR, distinct_id VARCHAR, "$insert_id" VARCHAR']
    + [f"{sql_identifier(name)} JSON" for name in ACCOUNT_PROPERTIES]
)
_COLUMNS = {"event": "VARCHAR", "properties": f"STRUCT({_PROPERTIES})"}


def _detect(sniff: Sniff) -> bool:
    record = sniff.first_record
    if sniff.kind != "jsonl" or record is None:
        return False
    properties = record.get("properties")
    return isinstance(record.get("event"), str) and isinstance(properties, dict) and "time" in properties


def _raw_time(record: dict[str, Any]) -> Any:
    properties = record.get("properties")
    return properties.get("time") if isinstance(properties, dict) else None


def _record_problem(record: dict[str, Any]) -> str | None:
    """Mirror of the struct read: ``properties`` must be an object when present."""
    properties = record.get("properties")
    if properties is not None and not isinstance(properties, dict):
        return 'an event whose "properties" is not a JSON object'
    return None


def _stage(cur: duckdb.DuckDBPyConnection, sniff: Sniff) -> Staged:
    accounts = ", ".join(first_value_sql(f"p.{sql_identifier(name)}") for name in ACCOUNT_PROPERTIES)
    ts = timestamp_sql("""nullif(trim(p."time"), '')""")
    query = f"""
        SELECT CASE WHEN insert_id IS NULL THEN NULL
                    ELSE json_array(event, user_id, CAST(ts AS VARCHAR), insert_id)::VARCHAR END AS uuid,
               user_id, event, ts, account_id
        FROM (SELECT nullif(event, '') AS event, nullif(p.distinct_id, '') AS user_id,
                     nullif(p."$insert_id", '') AS insert_id, {ts} AS ts, coalesce({accounts}) AS account_id
              FROM (SELECT event, properties AS p FROM src))"""
    return stage_events_jsonl(cur, sniff, columns=_COLUMNS, query=query, time_field="properties.time",
                              raw_time=_raw_time, record_problem=_record_problem)


MIXPANEL = Source(
    "mixpanel_events", "Mixpanel raw export (JSON lines)", _detect, _stage,
    '{"event": ..., "properties": {"time": 1602611311, "distinct_id": ..., "$insert_id": ..., ...}} per line',
)

SOURCES = [MIXPANEL]
