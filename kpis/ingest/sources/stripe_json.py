"""Stripe's own JSON: subscription objects as the API and the Stripe CLI return them.

``GET /v1/subscriptions`` (and ``stripe subscriptions list``) answers a list object ``{"object": "list", "data":
[...]}``; dumps of many pages are often one subscription object per line (JSON lines), or several list objects
one after the other. All of these are read, as is a plain JSON array of subscription objects.

A subscription is one row of ``subscriptions`` (trials and churn count subscriptions, not their items). Its
monthly amount is the sum of its items' (KPI contract, "Revenue"): a single item keeps its unit amount and
quantity; several items billed on the same interval are stored as the sum of unit amount × quantity on that
interval (quantity 1); items on different intervals as the sum of their monthly amounts, billed monthly. The plan
is the items' plan names joined with `` + `` ("Seat + SSO add-on"). A metered (usage-priced) item has no fixed
price: it counts 0 and the import says how many there were.

The customer (an id, or the expanded customer object with its name, email and metadata) lands in ``customers``;
the subscription's metadata (and an expanded customer's) in ``customer_attributes``, keys normalised as the
Dashboard export's ``<key> (metadata)`` columns are. ``cancel_at`` and ``current_period_end`` are future dates:
neither stored nor used for the export's date.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

import duckdb

from kpis.core.errors import InputError
from kpis.ingest.sources.base import Sniff, Source, Staged, latest, norm, parse_timestamp, shown_value, stage_records
from kpis.ingest.sources.subscription_rules import normalise_interval, normalise_status

Record = dict[str, Any]

#: Top-level objects that hold subscriptions in ``data``: a list page and a search result page.
_LIST_OBJECTS = ("list", "search_result")
#: Months per interval: a price billed every ``interval`` is worth this many months' amount per month.
_MONTHLY = {"day": Fraction(365, 12), "week": Fraction(52, 12), "month": Fraction(1), "year": Fraction(1, 12)}
#: The largest amount (in cents) or quantity we read: far above any price, far below what a float cannot hold.
_LARGEST = 10**15
_SPACE = re.compile(r"[ \t\n\r]*")
_DATA_ARRAY = re.compile(r'"data"[ \t\n\r]*:[ \t\n\r]*\[')
_DECODER = json.JSONDecoder()


# -- recognising the file ----------------------------------------------------------------------------------------

def _is_subscription(value: Any) -> bool:
    return isinstance(value, dict) and value.get("object") == "subscription"


def _holds_subscriptions(value: Any) -> bool:
    """A subscription, a list page whose first object is one (or an empty page of ``/v1/subscriptions``), or an
    array whose first element is one."""
    if isinstance(value, list):
        return bool(value) and _is_subscription(value[0])
    if not isinstance(value, dict):
        return False
    if _is_subscription(value):
        return True
    data = value.get("data")
    if value.get("object") not in _LIST_OBJECTS or not isinstance(data, list):
        return False
    return _is_subscription(data[0]) if data else str(value.get("url", "")).startswith("/v1/subscriptions")


def _first_element(sample: str) -> Any:
    """The first subscription-sized value of a page too large for the sample: the first element of the top-level
    array, or of the first ``"data": [`` (a list page's own, whatever its key order)."""
    if sample.startswith("["):
        start = 1
    else:
        found = _DATA_ARRAY.search(sample)
        if found is None:
            return None
        start = found.end()
    try:
        return _DECODER.raw_decode(sample, _SPACE.match(sample, start).end())[0]
    except (ValueError, RecursionError):
        return None


def _detect(sniff: Sniff) -> bool:
    if sniff.kind not in ("jsonl", "json"):
        return False
    if sniff.first_record is not None:  # one object on the first line: JSON lines, or a one-line page
        return _holds_subscriptions(sniff.first_record)
    sample = sniff.file.sample.lstrip("\ufeff").lstrip()
    try:  # a document over several lines (the Stripe CLI prints pages indented)
        return _holds_subscriptions(_DECODER.raw_decode(sample)[0])
    except (ValueError, RecursionError):
        return _is_subscription(_first_element(sample))


# -- reading the JSON, with where each subscription starts -------------------------------------------------------

class _BadJSON(Exception):
    def __init__(self, pos: int, problem: str) -> None:
        super().__init__(problem)
        self.pos, self.problem = pos, problem


@dataclass(frozen=True)
class _Found:
    """One value that should be a subscription: where it starts and how messages name it."""

    pos: int
    label: str
    value: Any


def _skip(text: str, pos: int) -> int:
    return _SPACE.match(text, pos).end()


def _value(text: str, pos: int) -> tuple[Any, int]:
    try:
        return _DECODER.raw_decode(text, pos)
    except json.JSONDecodeError as exc:
        raise _BadJSON(exc.pos, exc.msg) from None
    except RecursionError:
        raise _BadJSON(pos, "nested too deeply to read (hundreds of levels)") from None
    except ValueError as exc:  # a number too long to read (Python refuses integers of over 4,300 digits)
        raise _BadJSON(pos, str(exc).split(";")[0]) from None


def _array(text: str, pos: int) -> tuple[list[tuple[int, Any]], int]:
    """The elements of the array starting at ``text[pos]`` (``[``), each with its offset; and the offset after."""
    elements: list[tuple[int, Any]] = []
    pos = _skip(text, pos + 1)
    if text.startswith("]", pos):
        return elements, pos + 1
    while True:
        value, end = _value(text, pos)
        elements.append((pos, value))
        pos = _skip(text, end)
        if text.startswith(",", pos):
            pos = _skip(text, pos + 1)
        elif text.startswith("]", pos):
            return elements, pos + 1
        else:
            raise _BadJSON(pos, "Expecting ',' delimiter or ']'")


def _page_elements(text: str, pos: int) -> list[tuple[int, Any]]:
    """The offsets and values of the ``data`` array of the object at ``pos`` (already known to be valid JSON)."""
    pos = _skip(text, pos + 1)
    while not text.startswith("}", pos):
        key, pos = _value(text, pos)
        pos = _skip(text, _skip(text, pos) + 1)  # past ':'
        if key == "data" and text.startswith("[", pos):
            return _array(text, pos)[0]
        pos = _skip(text, _value(text, pos)[1])
        if text.startswith(",", pos):
            pos = _skip(text, pos + 1)
    return []


def _found_in(text: str) -> Iterator[_Found]:
    """Every value that should be a subscription, in file order: the elements of list pages and arrays, and
    top-level objects (JSON lines), each with its offset."""
    pos = _skip(text, 0)
    while pos < len(text):
        start = pos
        if text.startswith("[", pos):
            elements, pos = _array(text, pos)
            yield from (_Found(at, f"[{i}]", value) for i, (at, value) in enumerate(elements))
        else:
            value, pos = _value(text, pos)
            if isinstance(value, dict) and value.get("object") in _LIST_OBJECTS and isinstance(value.get("data"), list):
                elements = _page_elements(text, start)
                yield from (_Found(at, f"data[{i}]", item) for i, (at, item) in enumerate(elements))
            else:
                yield _Found(start, "", value)
        pos = _skip(text, pos)


class _Lines:
    """Line numbers of offsets that mostly come in increasing order."""

    def __init__(self, text: str) -> None:
        self._text, self._pos, self._line = text, 0, 1

    def at(self, pos: int) -> int:
        if pos < self._pos:
            self._pos, self._line = 0, 1
        self._line += self._text.count("\n", self._pos, pos)
        self._pos = pos
        return self._line


def _json_error(text: str, bad: _BadJSON) -> InputError:
    """A message for JSON we cannot read, on its line; one that ends inside a value was cut off."""
    lines = _Lines(text)
    if not text[bad.pos:].strip() or (bad.problem.startswith("Unterminated string")
                                      and "\n" not in text[bad.pos:].rstrip()):
        return InputError("the file ends inside a JSON value: it looks truncated (export it again)",
                          line=lines.at(len(text.rstrip())))
    return InputError(f"this is not valid JSON ({bad.problem})", line=lines.at(bad.pos))


# -- values --------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Where:
    """The subscription being read, for messages: its line and its name (``data[2] (sub_123)``)."""

    line: int
    name: str

    def error(self, field: str, problem: str) -> InputError:
        return InputError(f'subscription {self.name}, field "{field}": {problem}', line=self.line)


def _text(value: Any, where: _Where, field: str) -> str | None:
    """A string value (an id, a name, a status); empty is None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise where.error(field, f"expected text, found {shown_value(json.dumps(value))}")
    return str(value).strip() or None


def _required(value: Any, where: _Where, field: str) -> str:
    text = _text(value, where, field)
    if text is None:
        raise where.error(field, "this value is required but missing")
    return text


def _number(value: Any, where: _Where, field: str) -> Fraction:
    """A finite number of at least 0: a JSON number or a decimal string (``unit_amount_decimal``)."""
    try:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError
        exact = Decimal(value.strip()) if isinstance(value, str) else value
        if isinstance(exact, Decimal) and exact.is_finite() and abs(exact.adjusted()) > 30:
            raise ValueError  # a decimal with more digits than any price (and too costly to make exact)
        number = Fraction(exact)
    except (ValueError, OverflowError, InvalidOperation):
        raise where.error(field, f"expected a number, found {shown_value(json.dumps(value))}") from None
    if number < 0 or number > _LARGEST:
        raise where.error(field, f"expected a number from 0 to {_LARGEST:.0e}, found {shown_value(json.dumps(value))}")
    return number


def _timestamp(value: Any, where: _Where, field: str) -> datetime | None:
    """Unix seconds (an ISO time is read too); null is None."""
    if value is None:
        return None
    try:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError
        return parse_timestamp(str(int(value)) if isinstance(value, (int, float)) else value)
    except (ValueError, OverflowError):
        raise where.error(field, f"expected a time in Unix seconds (such as 1767225600), found "
                                 f"{shown_value(json.dumps(value))}") from None


def _object(value: Any, where: _Where, field: str) -> dict[str, Any]:
    """A JSON object; null or absent is an empty one."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise where.error(field, f"expected a JSON object, found {shown_value(json.dumps(value))}")
    return value


def _currency(value: Any, where: _Where, field: str) -> str | None:
    code = _text(value, where, field)
    if code is None:
        return None
    if len(code) != 3 or not code.isalpha():
        raise where.error(field, f'expected a three-letter currency code such as usd, found "{shown_value(code)}"')
    return code.upper()


# -- items ---------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Item:
    """One subscription item: its plan name, unit amount in cents, quantity, currency and billing period."""

    name: str | None
    cents: Fraction
    quantity: Fraction
    currency: str | None
    currency_field: str
    interval: str
    interval_count: int
    metered: bool

    @property
    def monthly_cents(self) -> Fraction:
        return self.cents * self.quantity * _MONTHLY[self.interval] / self.interval_count


def _first(*pairs: tuple[Any, str]) -> tuple[Any, str]:
    """The first value that is not None, with its field name (the last field when all are None)."""
    for value, field in pairs:
        if value is not None:
            return value, field
    return None, pairs[-1][1]


def _item(raw: Any, path: str, where: _Where) -> _Item:
    """An item of ``items.data`` (``path`` ``items.data[0]``), or the legacy ``plan`` + ``quantity`` of a subscription
    without items (``path`` empty): the price object first, the older plan object where the price says nothing."""
    at = f"{path}." if path else ""
    item = _object(raw, where, path or "plan")
    price = item.get("price") if isinstance(item.get("price"), dict) else {}
    plan = _object(item.get("plan"), where, f"{at}plan")
    if not price and not plan:
        raise where.error(f"{at}price", "the item has neither a price object nor a plan object")
    recurring = _object(price.get("recurring"), where, f"{at}price.recurring")
    usage, _ = _first((recurring.get("usage_type"), ""), (plan.get("usage_type"), ""))
    interval, interval_field = _first((recurring.get("interval"), f"{at}price.recurring.interval"),
                                      (plan.get("interval"), f"{at}plan.interval"))
    count, count_field = _first((recurring.get("interval_count"), f"{at}price.recurring.interval_count"),
                                (plan.get("interval_count"), f"{at}plan.interval_count"))
    currency, currency_field = _first((price.get("currency"), f"{at}price.currency"),
                                      (plan.get("currency"), f"{at}plan.currency"))
    metered = usage == "metered"
    return _Item(
        name=_item_name(price, plan, where, at),
        cents=Fraction(0) if metered else _unit_cents(price, plan, where, at),
        quantity=Fraction(1) if item.get("quantity") is None else _number(item["quantity"], where, f"{at}quantity"),
        currency=_currency(currency, where, currency_field),
        currency_field=currency_field,
        interval=_interval(interval, where, interval_field),
        interval_count=_interval_count(count, where, count_field),
        metered=metered,
    )


def _unit_cents(price: dict[str, Any], plan: dict[str, Any], where: _Where, at: str) -> Fraction:
    """The unit amount in cents: ``unit_amount``, else ``unit_amount_decimal``, else the plan's ``amount``."""
    amount, field = _first((price.get("unit_amount"), f"{at}price.unit_amount"),
                           (price.get("unit_amount_decimal"), f"{at}price.unit_amount_decimal"),
                           (plan.get("amount"), f"{at}plan.amount"),
                           (plan.get("amount_decimal"), f"{at}plan.amount_decimal"))
    if amount is None:
        scheme = price.get("billing_scheme") or plan.get("billing_scheme")
        why = " (a tiered price: only prices with one unit amount are read)" if scheme == "tiered" else ""
        raise where.error(f"{at}price", f"the price has no amount: no unit_amount, unit_amount_decimal or plan "
                                        f"amount{why}")
    return _number(amount, where, field)


def _item_name(price: dict[str, Any], plan: dict[str, Any], where: _Where, at: str) -> str | None:
    """The price's nickname, else the plan's, else the expanded product's name, else the price or plan id."""
    product = price.get("product") if isinstance(price.get("product"), dict) else {}
    for value, field in ((price.get("nickname"), "price.nickname"), (plan.get("nickname"), "plan.nickname"),
                         (product.get("name"), "price.product.name"), (price.get("id"), "price.id"),
                         (plan.get("id"), "plan.id")):
        name = _text(value, where, f"{at}{field}")
        if name:
            return name
    return None


def _interval(value: Any, where: _Where, field: str) -> str:
    text = _required(value, where, field)
    try:
        return normalise_interval(text)
    except ValueError as exc:
        raise where.error(field, f'cannot read "{shown_value(text)}": {exc}') from None


def _interval_count(value: Any, where: _Where, field: str) -> int:
    if value is None:
        return 1
    count = _number(value, where, field)
    if count < 1 or count.denominator != 1 or count > 10_000:
        raise where.error(field, f"expected a whole number of at least 1, found {shown_value(json.dumps(value))}")
    return int(count)


def _items(sub: dict[str, Any], where: _Where) -> tuple[list[_Item], bool]:
    """The subscription's items, and whether the list says it holds more than the file has (``has_more``)."""
    listed = sub.get("items")
    if listed is None and sub.get("plan") is not None:  # an old object: one plan on the subscription itself
        return [_item({"plan": sub["plan"], "quantity": sub.get("quantity")}, "", where)], False
    page = _object(listed, where, "items")
    data = page.get("data")
    if not isinstance(data, list) or not data:
        raise where.error("items.data", "the subscription has no items (expected a list of subscription items)")
    return [_item(raw, f"items.data[{i}]", where) for i, raw in enumerate(data)], page.get("has_more") is True


def _billing(items: list[_Item]) -> tuple[float, float, str, int]:
    """Amount, quantity, interval and interval count of the one row that stands for all the items.

    >>> one = _Item("Seat", Fraction(1000), Fraction(5), "USD", "", "month", 1, False)
    >>> _billing([one])
    (10.0, 5.0, 'month', 1)
    >>> _billing([one, _Item("SSO", Fraction(2000), Fraction(1), "USD", "", "month", 1, False)])
    (70.0, 1.0, 'month', 1)
    >>> _billing([one, _Item("Support", Fraction(120000), Fraction(1), "USD", "", "year", 1, False)])
    (150.0, 1.0, 'month', 1)
    """
    if len(items) == 1:
        only = items[0]
        return float(only.cents / 100), float(only.quantity), only.interval, only.interval_count
    paying = [i for i in items if not i.metered] or items
    periods = {(i.interval, i.interval_count) for i in paying}
    if len(periods) == 1:
        interval, count = periods.pop()
        return float(sum(i.cents * i.quantity for i in items) / 100), 1.0, interval, count
    return float(sum(i.monthly_cents for i in items) / 100), 1.0, "month", 1


def _one_currency(sub: dict[str, Any], items: list[_Item], where: _Where) -> str:
    """The subscription's currency; items in another currency than the first are bad input."""
    own = _currency(sub.get("currency"), where, "currency")
    first = own or next((i.currency for i in items if i.currency), None)
    if first is None:
        raise where.error("currency", "this value is required but missing (on the subscription or its prices)")
    for item in items:
        if item.currency and item.currency != first:
            raise where.error(item.currency_field, f"the items are in different currencies ({first.lower()} and "
                                                   f"{item.currency.lower()}); a subscription has one currency")
    return first


# -- one subscription ------------------------------------------------------------------------------------------------

@dataclass
class _Read:
    """What the file held, gathered subscription by subscription."""

    subscriptions: list[Record]
    customers: dict[str, Record]
    attributes: list[Record]
    as_of: datetime | None = None
    metered: int = 0
    partial: int = 0


def _customer(sub: dict[str, Any], where: _Where) -> tuple[Record, dict[str, Any]]:
    """The customer row (an id, or an expanded customer object) and the expanded customer's metadata."""
    raw = sub.get("customer")
    if not isinstance(raw, dict):
        return {"customer_id": _required(raw, where, "customer"), "name": None, "email": None,
                "created_at": None}, {}
    return ({"customer_id": _required(raw.get("id"), where, "customer.id"),
             "name": _text(raw.get("name"), where, "customer.name"),
             "email": _text(raw.get("email"), where, "customer.email"),
             "created_at": _timestamp(raw.get("created"), where, "customer.created")},
            _object(raw.get("metadata"), where, "customer.metadata"))


def _metadata_value(value: Any) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text.strip() or None


def _attributes(customer_id: str, *metadata: dict[str, Any]) -> list[Record]:
    """One attribute per filled metadata key (normalised like the Dashboard export's ``<key> (metadata)``)."""
    found: dict[str, str] = {}
    for bag in metadata:
        for key, value in bag.items():
            name, text = norm(str(key)), _metadata_value(value)
            if name and text is not None:
                found[name] = text
    return [{"customer_id": customer_id, "key": k, "value": v} for k, v in found.items()]


def _item_period_starts(sub: dict[str, Any], where: _Where) -> list[datetime | None]:
    """Newer API versions give each item its own ``current_period_start`` (a past date, like the subscription's)."""
    data = (sub.get("items") or {}).get("data") or []
    return [_timestamp(item.get("current_period_start"), where, f"items.data[{i}].current_period_start")
            for i, item in enumerate(data) if isinstance(item, dict)]


def _subscription(found: _Found, line: int, read: _Read) -> None:
    """Read one subscription object into ``read``."""
    sub = found.value
    ident = sub.get("id") if isinstance(sub, dict) and isinstance(sub.get("id"), str) else None
    name = " ".join(p for p in (found.label, f"({ident})" if found.label and ident else ident) if p) or "(no id)"
    where = _Where(line, name)
    if not _is_subscription(sub):
        kind = sub.get("object") if isinstance(sub, dict) else None
        what = f'a Stripe "{shown_value(str(kind))}" object' if isinstance(kind, str) else "not a Stripe object"
        raise where.error("object", f"this is {what}, not a subscription")
    customer, customer_metadata = _customer(sub, where)
    items, partial = _items(sub, where)
    details = _object(sub.get("cancellation_details"), where, "cancellation_details")
    times = {field: _timestamp(sub.get(field), where, field) for field in (
        "created", "start_date", "trial_start", "trial_end", "canceled_at", "ended_at", "current_period_start")}
    started = times["start_date"] or times["created"]
    if started is None:
        raise where.error("start_date", "this value is required but missing (and there is no created time)")
    amount, quantity, interval, count = _billing(items)
    status = _required(sub.get("status"), where, "status")
    try:
        status = normalise_status(status)
    except ValueError as exc:
        raise where.error("status", f'cannot read "{shown_value(status)}": {exc}') from None
    read.subscriptions.append({
        "subscription_id": _required(sub.get("id"), where, "id"),
        "customer_id": customer["customer_id"],
        "plan": " + ".join(i.name for i in items if i.name) or None,
        "amount": amount, "quantity": quantity, "currency": _one_currency(sub, items, where),
        "interval": interval, "interval_count": count, "status": status,
        "started_at": started, "trial_end": times["trial_end"], "canceled_at": times["canceled_at"],
        "ended_at": times["ended_at"], "created_at": times["created"],
        "cancellation_reason": _text(details.get("reason"), where, "cancellation_details.reason"),
        "cancellation_feedback": _text(details.get("feedback"), where, "cancellation_details.feedback"),
        "cancellation_comment": _text(details.get("comment"), where, "cancellation_details.comment"),
    })
    known = read.customers.setdefault(customer["customer_id"], dict.fromkeys(customer))
    known.update({k: v for k, v in customer.items() if v is not None})
    read.attributes.extend(_attributes(customer["customer_id"], customer_metadata,
                                       _object(sub.get("metadata"), where, "metadata")))
    period_starts = _item_period_starts(sub, where)
    # the export's date: what already happened; a trial end is later than these only when it is still to come
    read.as_of = latest(read.as_of, times["created"], times["start_date"], times["canceled_at"], times["ended_at"],
                        times["trial_start"], times["current_period_start"], *period_starts)
    read.metered += sum(i.metered for i in items)
    read.partial += partial


# -- staging ---------------------------------------------------------------------------------------------------------

def _notes(read: _Read) -> list[str]:
    notes = []
    if read.metered:
        notes.append(f"{read.metered:,} metered (usage-priced) item{'s' if read.metered != 1 else ''} counted as 0: "
                     "MRR counts fixed prices only")
    if read.partial:
        notes.append(f"{read.partial:,} subscription{'s list' if read.partial != 1 else ' lists'} only part of "
                     "its items (items.has_more): only the items in the file count")
    return notes


def _read_file(sniff: Sniff) -> _Read:
    """Every subscription of the file; the first bad one (or bad JSON) is an :class:`InputError` on its line."""
    with open(sniff.file.path, encoding="utf-8") as fh:
        text = fh.read()
    lines, read = _Lines(text), _Read([], {}, [])
    try:
        for found in _found_in(text):
            _subscription(found, lines.at(found.pos), read)
    except _BadJSON as bad:
        raise _json_error(text, bad) from None
    return read


def _stage(cur: duckdb.DuckDBPyConnection, sniff: Sniff) -> Staged:
    """Subscriptions (one row each, whatever their number of items), their customers and metadata."""
    read = _read_file(sniff)
    staged = Staged(read=len(read.subscriptions), as_of=read.as_of, notes=_notes(read))
    for kind, records in (("subscriptions", read.subscriptions), ("customers", list(read.customers.values())),
                          ("customer_attributes", read.attributes)):
        staged.rows[kind] = stage_records(cur, kind, records)
    return staged


def _records(sniff: Sniff, rows: int) -> tuple[int, list[dict[str, Any]]]:
    """How many subscription objects the file holds and the first ``rows`` of them, for the preview: a page the
    Stripe CLI prints over hundreds of lines is a handful of subscriptions. JSON that cannot be read counts up to
    where it breaks (the import says where)."""
    with open(sniff.file.path, encoding="utf-8") as fh:
        text = fh.read()
    count, first = 0, []
    try:
        for found in _found_in(text):
            count += 1
            if len(first) < rows:
                first.append(found.value if isinstance(found.value, dict) else {"value": found.value})
    except _BadJSON:
        pass
    return count, first


STRIPE_JSON = Source(
    "stripe_json_subscriptions", "Stripe subscriptions (API / Stripe CLI JSON)", _detect, _stage,
    '{"object": "list", "data": [{"id": "sub_...", "object": "subscription", "customer": ..., "status": ..., '
    '"items": {"data": [{"price": {"unit_amount": ..., "recurring": {"interval": ...}}, "quantity": ...}]}, ...}]}'
    " or one subscription object per line",
    records=_records,
)

SOURCES = [STRIPE_JSON]
