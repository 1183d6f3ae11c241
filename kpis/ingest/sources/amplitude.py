"""Amplitude raw export (Export API / S3): JSON lines, one event per line, usually gzipped (already unpacked).

DuckDB reads the file in one pass with explicit columns, so unknown keys and big property bags cost little.
The events are materialised as the temp table ``stage_events`` inside ``stage()``: a broken line (a truncated
last line, a time we cannot read) then becomes an :class:`InputError` naming the line, before anything is stored.
"""

from __future__ import annotations

import duckdb

from kpis.ingest.sources.base import ACCOUNT_GROUP_TYPES, Sniff, Source, Staged
from kpis.ingest.sources.events_jsonl import first_value_sql, json_path, stage_events_jsonl, timestamp_sql

#: Group types whose (first) value is the account, in order of preference; then event_properties.account_id.
ACCOUNT_GROUPS = ACCOUNT_GROUP_TYPES

_COLUMNS = {
    "event_type": "VARCHAR", "event_time": "VARCHAR", "user_id": "VARCHAR", "device_id": "VARCHAR",
    "$insert_id": "VARCHAR", "uuid": "VARCHAR", "groups": "JSON", "event_properties": "JSON",
}


def _detect(sniff: Sniff) -> bool:
    record = sniff.first_record
    return sniff.kind == "jsonl" and record is not None and "event_type" in record and "event_time" in record


def _account_sql() -> str:
    groups = [first_value_sql(f"groups->{json_path(g)}") for g in ACCOUNT_GROUPS]
    return f"coalesce({', '.join(groups)}, {first_value_sql('event_properties->' + json_path('account_id'))})"


def _stage(cur: duckdb.DuckDBPyConnection, sniff: Sniff) -> Staged:
    query = f"""SELECT
        coalesce(nullif("$insert_id", ''), nullif("uuid", '')) AS uuid,
        coalesce(nullif(user_id, ''), nullif(device_id, '')) AS user_id,
        nullif(event_type, '') AS event,
        {timestamp_sql("nullif(trim(event_time), '')")} AS ts,
        {_account_sql()} AS account_id
        FROM src"""
    return stage_events_jsonl(cur, sniff, columns=_COLUMNS, query=query, time_field="event_time",
                              raw_time=lambda record: record.get("event_time"))


AMPLITUDE = Source(
    "amplitude_events", "Amplitude raw export (JSON lines, gzipped or not)", _detect, _stage,
    '{"event_type": ..., "event_time": "2026-01-05 10:00:00.123456", "user_id": ..., "device_id": ..., '
    '"$insert_id": ..., "groups": {...}, "event_properties": {...}, ...} per line',
)

SOURCES = [AMPLITUDE]
