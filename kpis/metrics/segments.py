"""The segment filter shared by every KPI: a customer attribute ``key = value`` (from Stripe metadata or a
customers CSV), or ``plan = name`` (customers with a subscription on that plan).

An attribute with more distinct values than a segment filter can sensibly list (a phone number, an e-mail
address) is not offered as segments at all (:func:`offered_segments`): hundreds of thousands of options would
make every page heavy and could never be picked from anyway.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kpis.store.settings import env_number

if TYPE_CHECKING:
    from kpis.store.db import Store

Segment = tuple[str, str]
#: The value of a segment ``(key, NO_VALUE)``: the customers without a value of ``key`` (a breakdown's "(none)"
#: group). No filter offers it: an empty value is never a segment of its own.
NO_VALUE = ""

#: The most distinct values an attribute may have to be offered as segments, unless ``KPI_MAX_SEGMENT_VALUES``
#: says otherwise.
DEFAULT_MAX_SEGMENT_VALUES = 50


def customers_sql(segment: Segment, prefix: str = "seg") -> tuple[str, dict[str, object]]:
    """A subquery listing the customer ids in ``segment``, with its named parameters (``(key, NO_VALUE)``: the
    customers of the subscriptions without a value of ``key``).

    >>> customers_sql(("segment", "SMB"))[1]
    {'seg_key': 'segment', 'seg_value': 'SMB'}
    """
    key, value = segment
    if value == NO_VALUE:
        return (f'SELECT customer_id FROM subscriptions WHERE customer_id NOT IN (SELECT customer_id FROM '
                f'customer_attributes WHERE "key" = ${prefix}_key AND "value" IS NOT NULL AND "value" <> \'\')',
                {f"{prefix}_key": key})
    if key == "plan":
        return (f"SELECT customer_id FROM subscriptions WHERE plan = ${prefix}_value",
                {f"{prefix}_value": value})
    return (f'SELECT customer_id FROM customer_attributes WHERE "key" = ${prefix}_key AND "value" = ${prefix}_value',
            {f"{prefix}_key": key, f"{prefix}_value": value})


def segment_sql(segment: Segment | None) -> tuple[str, dict[str, object]]:
    """``AND account_id IN (...)``: users whose account is a customer of the segment (for the queries over users
    and their days, engagement and funnels alike)."""
    if segment is None:
        return "", {}
    subquery, params = customers_sql(segment)
    return f"AND account_id IN ({subquery})", params


def max_segment_values() -> int:
    """The most distinct values an attribute may have to be offered as segments (``KPI_MAX_SEGMENT_VALUES``,
    default 50, at least 1).

    >>> max_segment_values() == DEFAULT_MAX_SEGMENT_VALUES or "KPI_MAX_SEGMENT_VALUES" in os.environ
    True
    """
    return int(env_number("KPI_MAX_SEGMENT_VALUES", DEFAULT_MAX_SEGMENT_VALUES, "a number of values such as 50",
                          whole=True))


@dataclass(frozen=True)
class OfferedSegments:
    """The segments a filter offers, and the attributes left out because they have more than ``most`` values
    (attribute -> its number of distinct values)."""

    most: int
    segments: list[Segment] = field(default_factory=list)
    left_out: dict[str, int] = field(default_factory=dict)


_ATTRIBUTES = """
    WITH pairs AS (
        SELECT DISTINCT "key", "value" FROM customer_attributes WHERE "value" IS NOT NULL AND "value" <> ''
        UNION SELECT DISTINCT 'plan', plan FROM subscriptions WHERE plan IS NOT NULL AND plan <> ''),
    sizes AS (SELECT "key", count(*) AS n FROM pairs GROUP BY "key")"""


def offered_segments(store: Store, most: int = DEFAULT_MAX_SEGMENT_VALUES) -> OfferedSegments:
    """Every ``(key, value)`` of the attributes (and plans) with at most ``most`` distinct values, sorted; the
    others are named in ``left_out`` with their number of values, so that the filter can say why they are
    missing."""
    rows = store.query(f"""{_ATTRIBUTES}
        SELECT p."key", p."value" FROM pairs p JOIN sizes s USING ("key") WHERE s.n <= $most ORDER BY 1, 2""",
                       {"most": most})
    left = store.query(f"""{_ATTRIBUTES}
        SELECT "key", n FROM sizes WHERE n > $most ORDER BY 1""", {"most": most})
    return OfferedSegments(most, [(str(k), str(v)) for k, v in rows], {str(k): int(n) for k, n in left})
