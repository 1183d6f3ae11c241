"""The segment filter shared by every KPI: a customer attribute ``key = value`` (from Stripe metadata or a
customers CSV), or ``plan = name`` (customers with a subscription on that plan)."""

from __future__ import annotations

Segment = tuple[str, str]


def customers_sql(segment: Segment, prefix: str = "seg") -> tuple[str, dict[str, object]]:
    """A subquery listing the customer ids in ``segment``, with its named parameters.

    >>> customers_sql(("segment", "SMB"))[1]
    {'seg_key': 'segment', 'seg_value': 'SMB'}
    """
    key, value = segment
    if key == "plan":
        return (f"SELECT customer_id FROM subscriptions WHERE plan = ${prefix}_value",
                {f"{prefix}_value": value})
    return (f'SELECT customer_id FROM customer_attributes WHERE "key" = ${prefix}_key AND "value" = ${prefix}_value',
            {f"{prefix}_key": key, f"{prefix}_value": value})
