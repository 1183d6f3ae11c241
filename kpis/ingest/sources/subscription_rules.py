"""Vocabulary shared by every subscription source: billing intervals and statuses."""

from __future__ import annotations

INTERVALS = ("day", "week", "month", "year")
STATUSES = ("trialing", "active", "past_due", "canceled", "unpaid", "incomplete", "incomplete_expired", "paused")

_INTERVAL_ALIASES = {
    "daily": "day", "days": "day", "weekly": "week", "weeks": "week", "monthly": "month", "months": "month",
    "yearly": "year", "annual": "year", "annually": "year", "years": "year",
}
_STATUS_ALIASES = {"cancelled": "canceled", "past due": "past_due", "trial": "trialing"}


def normalise_interval(text: str) -> str:
    """``Monthly`` -> ``month``; anything else is a ValueError naming what we accept.

    >>> normalise_interval("Yearly")
    'year'
    """
    value = text.strip().lower()
    value = _INTERVAL_ALIASES.get(value, value)
    if value not in INTERVALS:
        raise ValueError(f"expected a billing interval: {', '.join(INTERVALS)}")
    return value


def normalise_status(text: str) -> str:
    """Stripe's statuses, with common spellings (``Cancelled``) folded in.

    >>> normalise_status("Past Due")
    'past_due'
    """
    value = text.strip().lower()
    value = _STATUS_ALIASES.get(value, value.replace(" ", "_"))
    if value not in STATUSES:
        raise ValueError(f"expected a subscription status: {', '.join(STATUSES)}")
    return value
