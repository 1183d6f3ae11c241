"""Stripe billing exports (Dashboard, customers, API/warehouse dump) and the ChartMogul-style subscriptions schema.

Each shape is recognised by its header alone (docs/formats.md), matched by normalised names and aliases so that
reordered, extra or unticked columns do not matter. All of them land in the canonical ``subscriptions`` table
(amounts in major units, currency upper case); customers and ``<key> (metadata)`` columns come along where the
export carries them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import duckdb

from kpis.ingest.sources.base import (
    Row,
    Sniff,
    Source,
    Staged,
    count_parser,
    latest,
    number_parser,
    parse_timestamp,
    read_rows,
    stage_records,
)
from kpis.ingest.sources.subscription_rules import normalise_interval, normalise_status

_METADATA = " (metadata)"

Record = dict[str, Any]


# -- shared value parsers --------------------------------------------------------------------------------------------

def _currency(text: str) -> str:
    """Stripe writes ``usd``; we store ``USD``."""
    value = text.strip().upper()
    if len(value) != 3 or not value.isalpha():
        raise ValueError("expected a three-letter currency code such as usd")
    return value


def _cents_parser(number: Callable[[str], float]) -> Callable[[str], float]:
    """API dumps and ChartMogul give prices in cents: ``9900`` is 99.00."""
    return lambda text: number(text) / 100


def _default(value: Any, default: Any) -> Any:
    """``value`` unless it is missing (None); unlike ``or``, keeps a real 0."""
    return default if value is None else value


def _has(sniff: Sniff, *names: str) -> bool:
    return all(n in sniff.columns for n in names)


def _has_any(sniff: Sniff, *names: str) -> bool:
    return any(n in sniff.columns for n in names)


def _utc_columns(sniff: Sniff) -> bool:
    """Dashboard exports (and only they) suffix their timestamp columns with ``(UTC)``."""
    return any(c.endswith("(utc)") for c in sniff.columns)


def _metadata_keys(sniff: Sniff) -> list[tuple[str, str]]:
    """``(column, key)`` for each ``<key> (metadata)`` column: ``Segment (metadata)`` -> ``segment``."""
    found = []
    for column in sorted(sniff.columns):
        if column.endswith(_METADATA) and column[: -len(_METADATA)].strip():
            found.append((column, column[: -len(_METADATA)].strip()))
    return found


def _attributes(row: Row, customer_id: str, keys: list[tuple[str, str]]) -> Iterable[Record]:
    for column, key in keys:
        value = row.get(column)
        if value is not None:
            yield {"customer_id": customer_id, "key": key, "value": value}


def _merge_customer(customers: dict[str, Record], record: Record) -> None:
    """One customer per id; a later row fills what an earlier one left empty and wins where both have a value."""
    known = customers.setdefault(record["customer_id"], dict.fromkeys(record))
    for field, value in record.items():
        if value is not None:
            known[field] = value


def _stage(cur: duckdb.DuckDBPyConnection, read: int, as_of: datetime | None,
           tables: dict[str, list[Record]]) -> Staged:
    """Stage each kind in order (the primary kind first) and report what was read."""
    staged = Staged(read=read, as_of=as_of)
    for kind, records in tables.items():
        staged.rows[kind] = stage_records(cur, kind, records)
    return staged


# -- Stripe Dashboard subscriptions export ---------------------------------------------------------------------------

_DASH_CUSTOMER = ("customer id", "customer")
_DASH_INTERVAL = ("interval", "plan interval")
_DASH_START = ("start (utc)", "start date (utc)", "start", "start date", "created (utc)", "created")
_DASH_CREATED = ("created (utc)", "created")
_DASH_TRIAL_END = ("trial end (utc)", "trial end")
_DASH_CANCELED = ("canceled at (utc)", "cancelled at (utc)", "canceled at", "cancelled at")
_DASH_ENDED = ("ended at (utc)", "ended at")
#: dates that say how recent the export is (Current Period End is a future billing date, so it is left out)
_DASH_PAST_DATES = ("current period start (utc)", "trial start (utc)")


def _detect_dashboard(sniff: Sniff) -> bool:
    # Interval tells it from the payments export, which also has id, Amount, Status and Customer ID
    return (sniff.kind == "csv" and _has(sniff, "id", "amount", "status") and _has_any(sniff, *_DASH_CUSTOMER)
            and _has_any(sniff, *_DASH_INTERVAL) and _utc_columns(sniff))


def _stage_dashboard(cur: duckdb.DuckDBPyConnection, sniff: Sniff) -> Staged:
    """Subscriptions, plus the customers (name, email) and metadata attributes the export carries.

    ``as_of`` is the latest created, start, current period start, trial, cancel or end date: Current Period End
    is left out because it is the next renewal, in the future for every live subscription.
    """
    number = number_parser(sniff.decimal_comma)
    count = count_parser(number)
    keys = _metadata_keys(sniff)
    subscriptions: list[Record] = []
    customers: dict[str, Record] = {}
    attributes: list[Record] = []
    as_of = None
    for row in read_rows(sniff):
        customer_id = row.require(*_DASH_CUSTOMER)
        record = {
            "subscription_id": row.require("id"),
            "customer_id": customer_id,
            "plan": row.get("plan", "product", "price", "plan id", "price id"),
            "amount": row.parse(number, "amount", required=True),
            "quantity": _default(row.parse(number, "quantity"), 1.0),
            "currency": row.parse(_currency, "currency", required=True),
            "interval": row.parse(normalise_interval, *_DASH_INTERVAL, required=True),
            "interval_count": row.parse(count, "interval count", "plan interval count") or 1,
            "status": row.parse(normalise_status, "status", required=True),
            "started_at": row.parse(parse_timestamp, *_DASH_START, required=True),
            "trial_end": row.parse(parse_timestamp, *_DASH_TRIAL_END),
            "canceled_at": row.parse(parse_timestamp, *_DASH_CANCELED),
            "ended_at": row.parse(parse_timestamp, *_DASH_ENDED),
            "created_at": row.parse(parse_timestamp, *_DASH_CREATED),
            "cancellation_reason": row.get("cancellation reason"),
            "cancellation_feedback": row.get("cancellation feedback"),
            "cancellation_comment": row.get("cancellation comment", "cancellation comments"),
        }
        subscriptions.append(record)
        _merge_customer(customers, {"customer_id": customer_id, "name": row.get("customer name"),
                                    "email": row.get("customer email"), "created_at": None})
        attributes.extend(_attributes(row, customer_id, keys))
        as_of = latest(as_of, record["started_at"], record["trial_end"], record["canceled_at"], record["ended_at"],
                       record["created_at"], *(row.parse(parse_timestamp, c) for c in _DASH_PAST_DATES))
    return _stage(cur, len(subscriptions), as_of, {"subscriptions": subscriptions,
                                                   "customers": list(customers.values()),
                                                   "customer_attributes": attributes})


DASHBOARD = Source(
    "stripe_subscriptions", "Stripe subscriptions export (Dashboard)", _detect_dashboard, _stage_dashboard,
    "id,Customer ID,Customer Name,Customer Email,Plan,Quantity,Currency,Interval,Amount,Status,Created (UTC),"
    "Start (UTC),...,Canceled At (UTC),Ended At (UTC),<key> (metadata)",
)


# -- Stripe customers export -----------------------------------------------------------------------------------------

def _detect_customers(sniff: Sniff) -> bool:
    return (sniff.kind == "csv" and _has(sniff, "id", "email") and _utc_columns(sniff)
            and not _has_any(sniff, "amount", *_DASH_CUSTOMER))


def _stage_customers(cur: duckdb.DuckDBPyConnection, sniff: Sniff) -> Staged:
    """Customers with their creation time, and one attribute per filled ``<key> (metadata)`` column."""
    keys = _metadata_keys(sniff)
    customers: dict[str, Record] = {}
    attributes: list[Record] = []
    read, as_of = 0, None
    for row in read_rows(sniff):
        read += 1
        customer_id = row.require("id")
        created = row.parse(parse_timestamp, *_DASH_CREATED)
        as_of = latest(as_of, created)
        _merge_customer(customers, {"customer_id": customer_id, "name": row.get("name"),
                                    "email": row.get("email"), "created_at": created})
        attributes.extend(_attributes(row, customer_id, keys))
    return _stage(cur, read, as_of, {"customers": list(customers.values()), "customer_attributes": attributes})


CUSTOMERS = Source(
    "stripe_customers", "Stripe customers export (Dashboard)", _detect_customers, _stage_customers,
    "id,Name,Email,Description,Created (UTC),<key> (metadata)",
)


# -- Stripe API / warehouse dump (snake_case, prices in cents) ------------------------------------------------------

_API_CUSTOMER = ("customer_id", "customer")
_API_START = ("start_date", "start", "created")
_API_AMOUNT = ("plan_amount", "price_unit_amount", "plan_unit_amount", "unit_amount", "amount",
               "plan_amount_decimal", "price_unit_amount_decimal")
_API_PLAN = ("plan_nickname", "price_nickname", "plan_name", "plan_id", "price_id", "plan", "price", "product_id")
_API_CURRENCY = ("plan_currency", "price_currency", "currency")
_API_INTERVAL = ("plan_interval", "price_recurring_interval", "recurring_interval", "interval")
_API_INTERVAL_COUNT = ("plan_interval_count", "price_recurring_interval_count", "recurring_interval_count",
                       "interval_count")


def _detect_api(sniff: Sniff) -> bool:
    return (sniff.kind == "csv" and _has(sniff, "id", "status") and _has_any(sniff, *_API_CUSTOMER)
            and _has_any(sniff, *_API_START) and _has_any(sniff, *_API_AMOUNT) and _has_any(sniff, *_API_INTERVAL)
            and not _utc_columns(sniff))


def _stage_api(cur: duckdb.DuckDBPyConnection, sniff: Sniff) -> Staged:
    """Subscriptions from a snake_case dump; epoch seconds or ISO timestamps; cents become major units.

    ``cancel_at`` and ``current_period_end`` are future dates and are neither stored nor used for ``as_of``.
    """
    number = number_parser(sniff.decimal_comma)
    cents, count = _cents_parser(number), count_parser(number)
    subscriptions: list[Record] = []
    as_of = None
    for row in read_rows(sniff):
        record = {
            "subscription_id": row.require("id"),
            "customer_id": row.require(*_API_CUSTOMER),
            "plan": row.get(*_API_PLAN),
            "amount": row.parse(cents, *_API_AMOUNT, required=True),
            "quantity": _default(row.parse(number, "quantity"), 1.0),
            "currency": row.parse(_currency, *_API_CURRENCY, required=True),
            "interval": row.parse(normalise_interval, *_API_INTERVAL, required=True),
            "interval_count": row.parse(count, *_API_INTERVAL_COUNT) or 1,
            "status": row.parse(normalise_status, "status", required=True),
            "started_at": row.parse(parse_timestamp, *_API_START, required=True),
            "trial_end": row.parse(parse_timestamp, "trial_end"),
            "canceled_at": row.parse(parse_timestamp, "canceled_at"),
            "ended_at": row.parse(parse_timestamp, "ended_at"),
            "created_at": row.parse(parse_timestamp, "created"),
            "cancellation_reason": row.get("cancellation_details_reason", "cancellation_reason"),
            "cancellation_feedback": row.get("cancellation_details_feedback", "cancellation_feedback"),
            "cancellation_comment": row.get("cancellation_details_comment", "cancellation_comment"),
        }
        subscriptions.append(record)
        as_of = latest(as_of, record["started_at"], record["trial_end"], record["canceled_at"], record["ended_at"],
                       record["created_at"], row.parse(parse_timestamp, "current_period_start"))
    return _stage(cur, len(subscriptions), as_of, {"subscriptions": subscriptions})


API = Source(
    "stripe_api_subscriptions", "Stripe subscriptions (API / warehouse dump, amounts in cents)", _detect_api,
    _stage_api,
    "id,status,customer_id,start_date,created,current_period_start,current_period_end,canceled_at,ended_at,"
    "trial_end,plan_amount,plan_currency,plan_interval,quantity",
)


# -- ChartMogul / Baremetrics-style subscriptions ------------------------------------------------------------------

_CM_AMOUNT = ("plan_amount", "plan_amount (cents)", "plan_amount_in_cents")


def _detect_chartmogul(sniff: Sniff) -> bool:
    return (sniff.kind == "csv" and _has(sniff, "subscription_oid", "customer_oid", "subscription_started_at")
            and _has_any(sniff, *_CM_AMOUNT))


def _stage_chartmogul(cur: duckdb.DuckDBPyConnection, sniff: Sniff) -> Staged:
    """Subscriptions and customers; the schema has no status, so a cancel date means canceled (and ended)."""
    number = number_parser(sniff.decimal_comma)
    cents, count = _cents_parser(number), count_parser(number)
    subscriptions: list[Record] = []
    customers: dict[str, Record] = {}
    as_of = None
    for row in read_rows(sniff):
        customer_id = row.require("customer_oid")
        canceled = row.parse(parse_timestamp, "subscription_canceled_at")
        record = {
            "subscription_id": row.require("subscription_oid"),
            "customer_id": customer_id,
            "plan": row.get("plan_name"),
            "amount": row.parse(cents, *_CM_AMOUNT, required=True),
            "quantity": _default(row.parse(number, "subscription_quantity"), 1.0),
            "currency": row.parse(_currency, "plan_currency", required=True),
            "interval": row.parse(normalise_interval, "plan_interval", required=True),
            "interval_count": row.parse(count, "plan_interval_count") or 1,
            "status": "canceled" if canceled else "active",
            "started_at": row.parse(parse_timestamp, "subscription_started_at", required=True),
            "trial_end": None,
            "canceled_at": canceled,
            "ended_at": canceled,
            "created_at": None,
        }
        subscriptions.append(record)
        _merge_customer(customers, {"customer_id": customer_id, "name": row.get("customer_name"),
                                    "email": row.get("customer_email"), "created_at": None})
        as_of = latest(as_of, record["started_at"], canceled)
    return _stage(cur, len(subscriptions), as_of, {"subscriptions": subscriptions,
                                                   "customers": list(customers.values())})


CHARTMOGUL = Source(
    "chartmogul_subscriptions", "Subscriptions in the ChartMogul / Baremetrics schema (amounts in cents)",
    _detect_chartmogul, _stage_chartmogul,
    "plan_name,plan_amount,plan_currency,plan_interval,plan_interval_count,customer_oid,customer_name,"
    "customer_email,subscription_oid,subscription_started_at,subscription_canceled_at,subscription_quantity",
)

SOURCES = [DASHBOARD, CUSTOMERS, API, CHARTMOGUL]
