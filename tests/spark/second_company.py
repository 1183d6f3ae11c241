"""A second company, unlike the demo, from the raw exports of its tools: Stripe's dashboard export with customers in
US dollars and euros (and an exchange rates file), annual and monthly plans, trials, seats, cancellations and a
segment in the metadata; product events from Mixpanel (JSON lines) and, for the last months, PostHog (CSV) recording
the same activity, with ``event_sources`` choosing PostHog where both have a day; reported in Europe/Berlin, with
events near midnight so that days differ from UTC's.

Everything is drawn from a seeded generator: the same files every run.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from pathlib import Path

from kpis.ingest.importer import import_file
from kpis.store.db import Store

STRIPE_HEADER = (
    "id,Customer ID,Customer Name,Customer Email,Plan,Product,Quantity,Currency,Interval,Amount,Status,"
    "Cancellation Reason,Coupon,Created (UTC),Start Date (UTC),Current Period Start (UTC),Current Period End (UTC),"
    "Trial Start (UTC),Trial End (UTC),Canceled At (UTC),Ended At (UTC),Segment (metadata)\n"
)
POSTHOG_HEADER = ("uuid,event,distinct_id,properties.$browser,properties.account_id,properties.$group_0,timestamp,"
                  "person\n")
FIRST_DAY = datetime(2025, 9, 1)
LAST_DAY = datetime(2026, 6, 14)
#: The segment every test of this company filters on.
SEGMENT = ("segment", "mid-market")
EVENTS = ("Opened dashboard", "Created report", "Shared report", "Invited teammate")


def _stamp(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else ""


def stripe_csv(rng: random.Random) -> str:
    """Sixty subscriptions of forty customers between the first and the last day."""
    lines = [STRIPE_HEADER]
    span = (LAST_DAY - FIRST_DAY).days
    for n in range(60):
        customer = f"cus_{n % 40}"
        start = FIRST_DAY + timedelta(days=rng.randrange(span), hours=rng.randrange(24), minutes=rng.randrange(60))
        interval = rng.choice(("month", "month", "month", "year"))
        currency = rng.choice(("usd", "usd", "eur"))
        amount = rng.choice((29, 49, 99, 249)) * (10 if interval == "year" else 1)
        quantity = rng.choice(("", "1", "3", "12"))
        trial_end = start + timedelta(days=14) if rng.random() < 0.25 else None
        ended = start + timedelta(days=rng.randrange(20, 300)) if rng.random() < 0.3 else None
        if ended is not None and ended > LAST_DAY:
            ended = None
        status = "canceled" if ended else ("trialing" if trial_end and trial_end > LAST_DAY else "active")
        segment = ("smb", "mid-market", "enterprise")[n % 40 % 3]
        lines.append(
            f"sub_{n},{customer},Company {n % 40},c{n % 40}@example.test,{interval}-{amount},Plan,{quantity},"
            f"{currency},{interval},{amount}.00,{status},{'cancellation_requested' if ended else ''},,"
            f"{_stamp(start)},{_stamp(start)},{_stamp(start)},{_stamp(start + timedelta(days=30))},"
            f"{_stamp(start) if trial_end else ''},{_stamp(trial_end)},{_stamp(ended)},{_stamp(ended)},{segment}\n")
    return "".join(lines)


def _moments(rng: random.Random) -> list[tuple[str, str, datetime, str]]:
    """``(user, event, moment, account)``: sixty users of the forty customers, active on random days, many events
    between 22:00 and 02:00 UTC (another day in Berlin)."""
    found = []
    span = (LAST_DAY - FIRST_DAY).days
    for user in range(60):
        first = rng.randrange(span)
        for _ in range(rng.randrange(3, 40)):
            day = FIRST_DAY + timedelta(days=min(span, first + rng.randrange(0, 120)))
            hour = rng.choice((0, 1, 9, 14, 22, 23))
            moment = day + timedelta(hours=hour, minutes=rng.randrange(60), seconds=rng.randrange(60))
            found.append((f"user{user}", rng.choice(EVENTS), moment, f"cus_{user % 40}"))
    return sorted(found, key=lambda row: (row[2], row[0]))


def mixpanel_jsonl(moments: list[tuple[str, str, datetime, str]]) -> str:
    """Every moment, as Mixpanel exports it."""
    return "".join(json.dumps({"event": event, "properties": {
        "time": int((moment - datetime(1970, 1, 1)).total_seconds()), "distinct_id": user,
        "$insert_id": f"m{n}", "account_id": account}}) + "\n"
        for n, (user, event, moment, account) in enumerate(moments))


def posthog_csv(moments: list[tuple[str, str, datetime, str]], since: datetime) -> str:
    """The moments from ``since`` on, as PostHog exports them (the same activity, other ids)."""
    rows = [f"ph-{n},{event},{user},Chrome,{account},,{moment.isoformat()}Z,\n"
            for n, (user, event, moment, account) in enumerate(moments) if moment >= since]
    return POSTHOG_HEADER + "".join(rows)


def build(store: Store, folder: Path, seed: int = 20260614) -> None:
    """Import the second company's exports into ``store`` (files written in ``folder``) and set its reporting
    time zone, event sources and activation event (a report created within 14 days)."""
    rng = random.Random(seed)
    moments = _moments(rng)
    files = {
        "subscriptions.csv": stripe_csv(rng),
        "rates.csv": "currency,rate\nEUR,1.0843\n",
        "mixpanel.jsonl": mixpanel_jsonl(moments),
        "posthog.csv": posthog_csv(moments, datetime(2026, 3, 1)),
    }
    for name, text in files.items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        result = import_file(store, path)
        assert result.status == "ok", result.summary()
    store.set_setting("timezone", "Europe/Berlin")
    store.set_setting("event_sources", "posthog_events,mixpanel_events")
    store.set_setting("activation_event", "Created report")
    store.set_setting("activation_window_days", "14")
