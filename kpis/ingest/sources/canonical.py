"""Our own CSV formats (docs/formats.md): the shapes to use when a tool's export is not supported directly."""

from __future__ import annotations

import duckdb

from kpis.core.errors import InputError
from kpis.core.registry import TARGET_GRAINS
from kpis.core.target_rules import check_target
from kpis.ingest.sources.base import (
    NULLS,
    Row,
    Sniff,
    Source,
    Staged,
    count_parser,
    latest,
    number_parser,
    parse_date,
    parse_timestamp,
    read_rows,
    stage_records,
)
from kpis.ingest.sources.events_csv import stage_events_csv
from kpis.ingest.sources.subscription_rules import normalise_interval, normalise_status

TIME_ALIASES = ("timestamp", "ts", "time", "event_time")


def _has(sniff: Sniff, *names: str) -> bool:
    return sniff.kind == "csv" and all(n in sniff.columns for n in names)


# -- subscriptions -------------------------------------------------------------------------------------------------

def _subscription(row: Row, amount: object) -> dict[str, object]:
    started = row.parse(parse_timestamp, "started_at", required=True)
    return {
        "subscription_id": row.require("subscription_id"),
        "customer_id": row.require("customer_id"),
        "plan": row.get("plan"),
        "amount": row.parse(amount, "amount", required=True),  # type: ignore[arg-type]
        "quantity": row.parse(amount, "quantity") or 1.0,  # type: ignore[arg-type]
        "currency": (row.get("currency") or "USD").upper(),
        "interval": row.parse(normalise_interval, "interval") or "month",
        "interval_count": row.parse(count_parser(amount), "interval_count") or 1,  # type: ignore[arg-type]
        "status": row.parse(normalise_status, "status") or "active",
        "started_at": started,
        "trial_end": row.parse(parse_timestamp, "trial_end"),
        "canceled_at": row.parse(parse_timestamp, "canceled_at"),
        "ended_at": row.parse(parse_timestamp, "ended_at"),
        "created_at": row.parse(parse_timestamp, "created_at", "created"),
    }


def _stage_subscriptions(cur: duckdb.DuckDBPyConnection, sniff: Sniff) -> Staged:
    amount = number_parser(sniff.decimal_comma)
    records, as_of = [], None
    for row in read_rows(sniff):
        record = _subscription(row, amount)
        records.append(record)
        as_of = latest(as_of, record["started_at"], record["trial_end"], record["canceled_at"],  # type: ignore[arg-type]
                       record["ended_at"], record["created_at"])  # type: ignore[arg-type]
    staged = Staged(read=len(records), as_of=as_of)
    staged.rows["subscriptions"] = stage_records(cur, "subscriptions", records)
    return staged


SUBSCRIPTIONS = Source(
    "subscriptions_csv", "Subscriptions CSV (this dashboard's format)",
    lambda s: _has(s, "subscription_id", "customer_id", "amount", "started_at"),
    _stage_subscriptions,
    "subscription_id,customer_id,plan,amount,quantity,currency,interval,interval_count,status,started_at,...",
)


# -- customers -----------------------------------------------------------------------------------------------------

_CUSTOMER_FIELDS = ("customer_id", "name", "email", "created_at")


def _is_events(sniff: Sniff) -> bool:
    """Our events CSV: a user, an event and a time (its ``customer_id`` column names the user's customer)."""
    return _has(sniff, "user_id", "event") and any(a in sniff.columns for a in TIME_ALIASES)


def _stage_customers(cur: duckdb.DuckDBPyConnection, sniff: Sniff) -> Staged:
    customers, attributes, as_of = [], [], None
    extra = [c for c in (h.strip().lower() for h in sniff.header) if c not in _CUSTOMER_FIELDS and c]
    for row in read_rows(sniff):
        customer_id = row.require("customer_id")
        created = row.parse(parse_timestamp, "created_at")
        as_of = latest(as_of, created)
        customers.append({"customer_id": customer_id, "name": row.get("name"), "email": row.get("email"),
                          "created_at": created})
        for key in extra:
            value = row.get(key)
            if value is not None:
                attributes.append({"customer_id": customer_id, "key": key, "value": value})
    staged = Staged(read=len(customers), as_of=as_of)
    staged.rows["customers"] = stage_records(cur, "customers", customers)
    staged.rows["customer_attributes"] = stage_records(cur, "customer_attributes", attributes)
    return staged


CUSTOMERS = Source(
    "customers_csv", "Customers CSV (this dashboard's format)",
    lambda s: (_has(s, "customer_id") and "subscription_id" not in s.columns and "amount" not in s.columns
               and not _is_events(s)),
    _stage_customers,
    "customer_id,name,email,created_at,<attribute columns such as segment, country>",
)


# -- account links -------------------------------------------------------------------------------------------------

#: The key columns of an account mapping and the kind of key each holds.
LINK_KEYS = {"account_id": "account", "user_id": "user", "email": "email"}


def _is_link_file(sniff: Sniff) -> bool:
    """Only ``customer_id`` and key columns: ``account_id,customer_id``, ``user_id,customer_id`` or
    ``email,customer_id`` (a customers file names more than the email: a name, a date, attributes)."""
    columns = sniff.columns
    return _has(sniff, "customer_id") and len(columns) > 1 and columns <= {"customer_id", *LINK_KEYS}


def _stage_links(cur: duckdb.DuckDBPyConnection, sniff: Sniff) -> Staged:
    keys = [c for c in LINK_KEYS if c in sniff.columns]
    records = []
    for row in read_rows(sniff):
        customer_id = row.require("customer_id")
        found = [(LINK_KEYS[c], row.get(c)) for c in keys if row.get(c) is not None]
        if not found:
            raise InputError(f"a row needs a value in {' or '.join(keys)}", file=row.file, line=row.line,
                             column=keys[0])
        records += [{"key_kind": kind, "key": key.lower() if kind == "email" else key, "customer_id": customer_id}
                    for kind, key in found]
    staged = Staged(read=len(records))
    staged.rows["account_links"] = stage_records(cur, "account_links", records)
    return staged


ACCOUNT_LINKS = Source(
    "account_links_csv", "Account mapping CSV (product accounts or users to billing customers)",
    _is_link_file, _stage_links,
    "account_id,customer_id (or user_id,customer_id, or email,customer_id)",
)


# -- events --------------------------------------------------------------------------------------------------------

def _time_column(sniff: Sniff) -> str:
    return next(a for a in TIME_ALIASES if a in sniff.columns)


EVENTS = Source(
    "events_csv", "Events CSV (this dashboard's format)",
    _is_events,
    lambda cur, s: stage_events_csv(cur, s, user=("user_id", "device_id"), event="event", ts=_time_column(s),
                                    uuid="event_id", account=("account_id", "customer_id")),
    "user_id,event,timestamp[,account_id,event_id,device_id]",
)


# -- targets -------------------------------------------------------------------------------------------------------

def _grain(text: str) -> str:
    value = text.strip().lower()
    if value not in TARGET_GRAINS:
        raise ValueError(f"expected one of {', '.join(TARGET_GRAINS)}")
    return value


def _stage_targets(cur: duckdb.DuckDBPyConnection, sniff: Sniff) -> Staged:
    number = number_parser(sniff.decimal_comma)
    records = []
    for row in read_rows(sniff):
        record = {
            "kpi": row.require("kpi").strip().lower(),
            "grain": row.parse(_grain, "grain", required=True),
            "period_start": row.parse(parse_date, "period_start", required=True),
            "value": row.parse(number, "target", "value", required=True),
            "owner": row.get("owner"),
            "note": row.get("note"),
        }
        try:
            check_target(record["kpi"], record["grain"], record["period_start"])
        except ValueError as exc:
            column = "kpi" if "KPI" in str(exc) or "takes targets" in str(exc) else "period_start"
            raise InputError(str(exc), file=row.file, line=row.line, column=column) from None
        records.append(record)
    staged = Staged(read=len(records))
    staged.rows["targets"] = stage_records(cur, "targets", records)
    return staged


TARGETS = Source(
    "targets_csv", "Targets CSV",
    lambda s: _has(s, "kpi", "grain", "period_start") and ("target" in s.columns or "value" in s.columns),
    _stage_targets,
    "kpi,grain,period_start,target[,owner,note]",
)


# -- metric points and exchange rates ------------------------------------------------------------------------------

def _stage_metric_points(cur: duckdb.DuckDBPyConnection, sniff: Sniff) -> Staged:
    number = number_parser(sniff.decimal_comma)
    records, as_of = [], None
    for row in read_rows(sniff):
        day = row.parse(parse_date, "day", "date", required=True)
        as_of = latest(as_of, day)
        records.append({"source": row.get("source") or "csv", "metric": row.require("metric"),
                        "series": row.get("series") or "", "day": day,
                        "value": row.parse(number, "value")})
    staged = Staged(read=len(records), as_of=as_of)
    staged.rows["metric_points"] = stage_records(cur, "metric_points", records)
    return staged


METRIC_POINTS = Source(
    "metric_points_csv", "Metric points CSV (an aggregated series)",
    lambda s: _has(s, "metric", "value") and ("day" in s.columns or "date" in s.columns),
    _stage_metric_points,
    "metric,day,value[,series,source]",
)


def _currency(text: str) -> str:
    value = text.strip().upper()
    if len(value) != 3 or not value.isalpha():
        raise ValueError("expected a three-letter currency code such as EUR")
    return value


def _stage_fx(cur: duckdb.DuckDBPyConnection, sniff: Sniff) -> Staged:
    number = number_parser(sniff.decimal_comma)
    records = []
    for row in read_rows(sniff):
        rate = row.parse(number, "rate", required=True)
        if rate <= 0:
            raise InputError("a rate must be above zero", file=row.file, line=row.line, column="rate")
        records.append({"currency": row.parse(_currency, "currency", required=True), "rate": rate})
    staged = Staged(read=len(records))
    staged.rows["fx_rates"] = stage_records(cur, "fx_rates", records)
    return staged


FX_RATES = Source(
    "fx_rates_csv", "Exchange rates CSV (rate to the reporting currency)",
    lambda s: _has(s, "currency", "rate") and len(s.columns) <= 4,
    _stage_fx,
    "currency,rate",
)

SOURCES = [SUBSCRIPTIONS, ACCOUNT_LINKS, CUSTOMERS, EVENTS, TARGETS, METRIC_POINTS, FX_RATES]
__all__ = ["SOURCES", "NULLS"]
