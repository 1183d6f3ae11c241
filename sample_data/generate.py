"""Generate the demo company's exports: Northwind Analytics, a B2B SaaS that sells analytics seats.

Writes, in the real export formats of FORMATS.md (``python sample_data/generate.py [--out DIR] [--seed N]
[--events N] [--gzip | --no-gzip]``):

- ``stripe_customers.csv``: the Stripe Dashboard customers export;
- ``stripe_subscriptions.csv``: the Stripe Dashboard subscriptions export (two years, 2024-11 to 2026-11);
- ``posthog_events.csv.gz``: a PostHog events export (one year, 2025-11-23 to 2026-11-22), gzipped as people
  upload it (``posthog_events.csv`` with ``--no-gzip``, the default with ``--events``);
- ``account_mapping.csv``: which Stripe customer each of the product's accounts belongs to (most, not all);
- ``targets.csv``: a few 2026 Q3/Q4 targets;
- with ``--events N``: also ``events.csv`` (``user_id,event,timestamp``), the plain shape the benchmark reads.

Everything is deterministic: the same seed and the same ``--events`` give the same bytes, and the data end is
fixed (:data:`DATA_END`), never the clock. Without ``--events`` the files go to ``sample_data/`` (the committed
demo set); with it to ``sample_data/large/`` (git-ignored), and the company is scaled so that the event export
holds exactly N events. Events are generated and written with numpy only (no loop per event), so ten million
take well under two minutes.

The committed demo set gzips the event export to keep the repository small; the gzip stream is deterministic too
(no file name, ``mtime`` 0, a fixed compression level), so the committed bytes equal a fresh generation. Large
sets stay plain CSV unless ``--gzip`` is given (``events.csv`` is always plain: the benchmark reads it).

Only the standard library and numpy are used.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import math
import random
import sys
import time
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
LARGE_DIR = HERE / "large"

DEFAULT_SEED = 20261122
#: events in the committed demo export; ``--events`` scales the whole company to another count
DEFAULT_EVENTS = 110_000
#: a company is never scaled below this many events, so that a tiny ``--events N`` still finds N events to keep
MIN_COMPANY_EVENTS = 2_000

BILLING_START = datetime(2024, 11, 1)
DATA_END = date(2026, 11, 22)  # a Sunday: the last day with data in every file
END = datetime(2026, 11, 22, 23, 59)  # the moment the exports were taken
EVENTS_START = date(2025, 11, 23)  # PostHog export window: 365 days, Sunday 2025-11-23 .. Sunday 2026-11-22
EVENT_DAYS = (DATA_END - EVENTS_START).days + 1
FEATURE_LAUNCH = date(2026, 6, 1)  # ai_summary_generated and the AI Insights add-on exist from this day
FEATURE_EVENT = "ai_summary_generated"

EVENTS_FILE = "posthog_events.csv"
#: which customer each product account belongs to
MAPPING_FILE = "account_mapping.csv"
#: gzip level of a gzipped event export: fixed, so the bytes never change
GZIP_LEVEL = 9


def file_names(gzipped: bool) -> tuple[str, ...]:
    """The files :func:`generate` writes (besides ``events.csv``): the event export is ``.csv.gz`` when gzipped."""
    return ("stripe_customers.csv", "stripe_subscriptions.csv", EVENTS_FILE + (".gz" if gzipped else ""),
            MAPPING_FILE, "targets.csv")


#: the committed demo set (the default generation): the event export gzipped
FILES = file_names(gzipped=True)
PLAIN_EVENTS_FILE = "events.csv"
#: the settings the company's story is built around (read by the demo loader)
SETTINGS_FILE = "settings.json"

SUBSCRIPTION_HEADER = (
    "id", "Customer ID", "Customer Name", "Customer Email", "Plan", "Product", "Quantity", "Currency", "Interval",
    "Interval Count", "Amount", "Status", "Cancellation Reason", "Cancellation Feedback", "Cancellation Comment",
    "Coupon", "Created (UTC)", "Start Date (UTC)",
    "Current Period Start (UTC)", "Current Period End (UTC)", "Trial Start (UTC)", "Trial End (UTC)",
    "Canceled At (UTC)", "Ended At (UTC)", "segment (metadata)", "country (metadata)",
)
CUSTOMER_HEADER = ("id", "Name", "Email", "Description", "Created (UTC)", "segment (metadata)", "country (metadata)")
POSTHOG_HEADER = ("uuid", "event", "distinct_id", "properties.$browser", "properties.$groups.company", "timestamp",
                  "elements_chain")
PLAIN_EVENTS_HEADER = ("user_id", "event", "timestamp")
TARGETS_HEADER = ("kpi", "grain", "period_start", "target", "owner", "note")
MAPPING_HEADER = ("account_id", "customer_id")


# -- the price list -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Plan:
    """One Stripe price: ``amount`` is the unit price in dollars, per seat unless ``flat``."""

    key: str
    product: str
    interval: str
    interval_count: int
    amount: float
    tier: str
    flat: bool = False

    @property
    def months(self) -> float:
        """Length of one billing period in months (weeks count as 12/52)."""
        unit = {"week": 12 / 52, "month": 1.0, "year": 12.0}[self.interval]
        return unit * self.interval_count

    def monthly(self, quantity: int) -> float:
        """The plan's monthly amount for ``quantity`` seats (KPI_DEFINITIONS: monthly amount)."""
        return self.amount * quantity / self.months


PLANS: dict[str, Plan] = {p.key: p for p in (
    Plan("Starter Weekly", "Northwind Starter", "week", 1, 4.00, "starter"),
    Plan("Starter Monthly", "Northwind Starter", "month", 1, 15.00, "starter"),
    Plan("Starter Annual", "Northwind Starter", "year", 1, 150.00, "starter"),
    Plan("Team Monthly", "Northwind Team", "month", 1, 29.00, "team"),
    Plan("Team Quarterly", "Northwind Team", "month", 3, 81.00, "team"),
    Plan("Team Annual", "Northwind Team", "year", 1, 290.00, "team"),
    Plan("Business Monthly", "Northwind Business", "month", 1, 49.00, "business"),
    Plan("Business Quarterly", "Northwind Business", "month", 3, 138.00, "business"),
    Plan("Business Annual", "Northwind Business", "year", 1, 490.00, "business"),
    Plan("Enterprise Annual", "Northwind Enterprise", "year", 1, 540.00, "enterprise"),
    Plan("Data Connectors Add-on", "Data Connectors", "month", 1, 149.00, "addon", flat=True),
    Plan("AI Insights Add-on", "AI Insights", "month", 1, 6.00, "addon"),
)}
#: cheaper plan a customer moves to on a downgrade (same interval)
DOWNGRADE = {"Business Monthly": "Team Monthly", "Business Quarterly": "Team Quarterly",
             "Team Monthly": "Starter Monthly"}
SEGMENTS = ("SMB", "Mid-Market", "Enterprise")
# per segment: monthly logo churn hazard, monthly expansion chance, monthly downgrade chance, reactivation chance,
# trial conversion, share of users among seats
CHURN = {"SMB": 0.040, "Mid-Market": 0.020, "Enterprise": 0.008}
EXPAND = {"SMB": 0.010, "Mid-Market": 0.025, "Enterprise": 0.030}
SHRINK = {"SMB": 0.006, "Mid-Market": 0.008, "Enterprise": 0.004}
COMEBACK = {"SMB": 0.25, "Mid-Market": 0.30, "Enterprise": 0.15}
CONVERT = {"SMB": 0.50, "Mid-Market": 0.60, "Enterprise": 0.65}
USER_SHARE = {"SMB": 0.75, "Mid-Market": 0.45, "Enterprise": 0.32}

# Why customers leave, as Stripe records it (cancellation_details): the reason is Stripe's own
# (cancellation_requested, payment_failed, payment_disputed); the feedback is the customer's pick in the
# cancellation survey, and a few also leave a comment.
#: share of leaving customers who dispute their last charge with their bank instead of cancelling
DISPUTED = 0.06
#: chance a customer who cancels answers the survey, per segment (sales-led accounts leave through their AE)
ANSWERS = {"SMB": 0.75, "Mid-Market": 0.65, "Enterprise": 0.5}
#: survey answers on leaving, per segment: small teams find it too expensive or stop using it, bigger ones
#: switch to another service or miss features
LEAVING_FEEDBACK = {
    "SMB": (("too_expensive", 0.32), ("unused", 0.26), ("switched_service", 0.09), ("missing_features", 0.08),
            ("too_complex", 0.09), ("low_quality", 0.04), ("customer_service", 0.03), ("other", 0.09)),
    "Mid-Market": (("too_expensive", 0.18), ("unused", 0.13), ("switched_service", 0.22), ("missing_features", 0.23),
                   ("too_complex", 0.06), ("low_quality", 0.05), ("customer_service", 0.05), ("other", 0.08)),
    "Enterprise": (("switched_service", 0.36), ("missing_features", 0.30), ("too_expensive", 0.12),
                   ("unused", 0.05), ("customer_service", 0.08), ("low_quality", 0.03), ("other", 0.06)),
}
#: survey answers when a trial is cancelled, an add-on or seat pack is dropped, or a plan is downgraded
TRIAL_FEEDBACK = (("too_complex", 0.24), ("missing_features", 0.22), ("switched_service", 0.16),
                  ("too_expensive", 0.18), ("unused", 0.10), ("other", 0.10))
CONTRACTION_FEEDBACK = (("unused", 0.55), ("too_expensive", 0.35), ("other", 0.10))
DOWNGRADE_FEEDBACK = (("too_expensive", 0.6), ("unused", 0.4))
#: chance an answer comes with a comment
COMMENTS_SHARE = 0.35
COMMENTS = {
    "too_expensive": ("Moved to a cheaper tool", "Budget cuts this quarter", "Too pricey for a team of 3, sorry",
                      "Zu teuer für unser kleines Team", "Per-seat pricing does not work for us"),
    "unused": ("We only needed it for one project", "Nobody on the team logged in after the first month",
               "Seasonal business, we'll be back in spring", "Our analyst left"),
    "switched_service": ("Moving everything to Looker", "Consolidating on our data warehouse's BI tool",
                         "Parent company mandates Power BI", "Went with a competitor that has SSO on every plan"),
    "missing_features": ("No Salesforce connector", "Need row-level permissions", "Missing scheduled PDF exports",
                         "We need an on-premise option"),
    "too_complex": ("Too hard to set up without an engineer", "The report builder is confusing",
                    "Took too long to get our data in"),
    "low_quality": ("Dashboards were slow to load", "Numbers did not match our warehouse"),
    "customer_service": ("Support took a week to answer", "Never heard back about our invoice issue"),
    "other": ("Company was acquired", "Closing the business", "Just testing, thanks!"),
}

COUNTRIES = (("US", 0.44), ("GB", 0.12), ("DE", 0.09), ("CA", 0.07), ("FR", 0.05), ("NL", 0.05), ("AU", 0.05),
             ("SE", 0.03), ("IE", 0.03), ("ES", 0.02), ("SG", 0.02), ("BR", 0.02), ("IN", 0.01))
LEGAL = {"US": ("", " Inc.", " LLC", " Corp."), "GB": ("", " Ltd"), "DE": (" GmbH", " AG", ""), "CA": ("", " Inc."),
         "FR": (" SAS", " SA", ""), "NL": (" B.V.", ""), "AU": (" Pty Ltd", ""), "SE": (" AB",), "IE": (" Ltd", ""),
         "ES": (" S.L.", ""), "SG": (" Pte. Ltd.",), "BR": (" Ltda.", ""), "IN": (" Pvt. Ltd.",)}
TLD = {"US": ".com", "GB": ".co.uk", "DE": ".de", "CA": ".ca", "FR": ".fr", "NL": ".nl", "AU": ".com.au",
       "SE": ".se", "IE": ".ie", "ES": ".es", "SG": ".sg", "BR": ".com.br", "IN": ".in"}
#: business hours in UTC (centre, spread) by country, for event timestamps
HOURS = {"US": (16.0, 2.6), "CA": (16.0, 2.4), "BR": (14.0, 2.4), "GB": (11.0, 2.3), "IE": (11.0, 2.3),
         "DE": (10.0, 2.3), "FR": (10.0, 2.3), "NL": (10.0, 2.3), "SE": (10.0, 2.3), "ES": (10.5, 2.5),
         "AU": (0.5, 2.2), "SG": (3.0, 2.3), "IN": (6.0, 2.3)}

FIRST_WORDS = (
    "Acorn", "Alder", "Amber", "Anchor", "Apex", "Arbor", "Atlas", "Aurora", "Beacon", "Birch", "Bluefin",
    "Brightwater", "Cedar", "Cobalt", "Copper", "Coral", "Crescent", "Cypress", "Delta", "Driftwood", "Ember",
    "Evergreen", "Falcon", "Fernhill", "Fjord", "Foxglove", "Granite", "Harbor", "Hawthorn", "Heron", "Highland",
    "Ironwood", "Juniper", "Kestrel", "Lakeside", "Lantern", "Linden", "Lumen", "Maple", "Meridian", "Northstar",
    "Oakridge", "Onyx", "Orchid", "Osprey", "Pinecrest", "Polar", "Quarry", "Raven", "Redwood", "Ridgeline",
    "Riverbend", "Saffron", "Sagebrush", "Sequoia", "Silverline", "Slate", "Sparrow", "Spruce", "Summit", "Tidal",
    "Timber", "Umber", "Valley", "Willow", "Zephyr", "Brücke", "Søndergaard", "Élan", "Lumière", "Norrsken",
    "Müller", "Peña", "Ångström",
)
SECOND_WORDS = (
    "Logistics", "Freight", "Health", "Dental", "Labs", "Robotics", "Foods", "Retail", "Outfitters", "Media",
    "Studios", "Capital", "Insurance", "Energy", "Solar", "Biotech", "Systems", "Software", "Payments", "Travel",
    "Hospitality", "Realty", "Construction", "Manufacturing", "Apparel", "Learning", "Security", "Marine", "Farms",
    "Brewing", "Cloud", "Networks", "Mobility", "Telecom", "Games", "Clinics", "Supply", "Architects", "Pharma",
    "Tooling",
)
SURNAMES = ("Okafor", "Lindqvist", "Brennan", "Castillo", "Nakamura", "Whitfield", "Dubois", "Hoffmann", "Patel",
            "O'Neill", "Kowalski", "Ferreira")
FIRST_NAMES = ("anna", "ben", "carla", "dev", "emma", "felix", "grace", "hugo", "isla", "jonas", "kai", "lena",
               "maya", "noah", "olivia", "priya", "quinn", "rosa", "sam", "tom")
ACCOUNT_EXECS = ("Dana Kim", "Marcus Reed", "Sofia Alvarez", "Tobias Vogel")


# -- small helpers --------------------------------------------------------------------------------------------------

def stamp(moment: datetime | None) -> str:
    """Stripe's timestamp format: ``YYYY-MM-DD HH:MM`` (UTC), empty for None."""
    return moment.strftime("%Y-%m-%d %H:%M") if moment is not None else ""


def add_months(moment: datetime, months: int) -> datetime:
    """``moment`` plus whole months, clamping the day like Stripe's billing anchor (Jan 31 -> Feb 28)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    last = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
    return moment.replace(year=year, month=month, day=min(moment.day, last))


def period_bound(anchor: datetime, plan: Plan, n: int) -> datetime:
    """The start of billing period ``n`` of a subscription anchored at ``anchor``."""
    if plan.interval == "week":
        return anchor + timedelta(weeks=n * plan.interval_count)
    return add_months(anchor, n * plan.interval_count * (12 if plan.interval == "year" else 1))


def period_containing(anchor: datetime, plan: Plan, moment: datetime) -> tuple[datetime, datetime]:
    """The billing period ``[start, end)`` that contains ``moment`` (``moment`` >= ``anchor``)."""
    days = 7 * plan.interval_count if plan.interval == "week" else 30.4 * plan.months
    n = max(0, int((moment - anchor).days / days) - 1)
    while period_bound(anchor, plan, n + 1) <= moment:
        n += 1
    while n > 0 and period_bound(anchor, plan, n) > moment:
        n -= 1
    return period_bound(anchor, plan, n), period_bound(anchor, plan, n + 1)


def ascii_slug(text: str) -> str:
    """``Müller Brewing`` -> ``muellerbrewing`` (for e-mail domains)."""
    text = text.replace("ü", "ue").replace("ö", "oe").replace("ä", "ae").replace("ø", "o").replace("Ø", "O")
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def weighted(rng: random.Random, pairs: Sequence[tuple[str, float]]) -> str:
    """Pick a key from ``(key, weight)`` pairs."""
    return rng.choices([k for k, _ in pairs], weights=[w for _, w in pairs])[0]


# -- the company ----------------------------------------------------------------------------------------------------

@dataclass
class Customer:
    """One Stripe customer (an account in the product)."""

    index: int
    id: str
    name: str
    email: str
    description: str
    created: datetime
    segment: str
    country: str
    seats: int
    #: when each paying life ended and whether the customer chose to leave (not a failed card): usage fades first
    churns: list[tuple[datetime, bool]] = field(default_factory=list)
    #: when a seat pack was bought and how many seats: the team grows into them first
    expansions: list[tuple[datetime, int]] = field(default_factory=list)


@dataclass
class Subscription:
    """One Stripe subscription as the simulation knows it (including what happens after the export)."""

    id: str
    customer: Customer
    plan: Plan
    quantity: int
    created: datetime
    trial_end: datetime | None = None
    canceled_at: datetime | None = None
    ended_at: datetime | None = None
    reason: str = ""
    feedback: str = ""
    comment: str = ""
    coupon: str = ""
    #: a status the dates alone do not give: past_due, unpaid, incomplete, incomplete_expired
    special: str = ""

    @property
    def anchor(self) -> datetime:
        """The billing cycle anchor: the end of the trial, else the start."""
        return self.trial_end or self.created

    def paying_on(self, day: date) -> bool:
        """Whether the subscription pays on ``day`` (KPI_DEFINITIONS: paid interval)."""
        if self.special.startswith("incomplete"):
            return False
        ended = self.ended_at if self.ended_at is not None and self.ended_at <= END else None
        return self.anchor.date() <= day and (ended is None or day < ended.date())


@dataclass
class Company:
    """Everything the simulation produced."""

    customers: list[Customer] = field(default_factory=list)
    subscriptions: list[Subscription] = field(default_factory=list)


class CompanySimulation:
    """Simulate Northwind's customers month by month: signups, trials, expansions, downgrades, churn, comebacks.

    ``scale`` multiplies the number of signups (1.0 is the committed demo company).
    """

    def __init__(self, seed: int, scale: float) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        #: the customer's answers to the cancellation survey: a stream of its own, so they change no other draw
        self.voice = random.Random(f"{seed}:voice")
        self.scale = scale
        self.company = Company()
        self._ids: set[str] = set()
        self._names: set[str] = set()

    # ids and names
    def _stripe_id(self, prefix: str, length: int) -> str:
        alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
        while True:
            candidate = prefix + "".join(self.rng.choices(alphabet, k=length))
            if candidate not in self._ids:
                self._ids.add(candidate)
                return candidate

    def _company_name(self, country: str) -> tuple[str, str]:
        rng = self.rng
        for attempt in range(50):
            if rng.random() < 0.02:
                first, second = rng.sample(SURNAMES, 2)
                base = f"{first}, {second} & Partners"
            else:
                base = f"{rng.choice(FIRST_WORDS)} {rng.choice(SECOND_WORDS)}"
            if attempt >= 20:
                base += f" {rng.choice(('North', 'South', 'East', 'West', 'Group', 'Holdings'))} {attempt}"
            if base not in self._names:
                self._names.add(base)
                return base + rng.choice(LEGAL[country]), base
        raise RuntimeError("ran out of company names")  # pragma: no cover

    # signups
    def run(self) -> Company:
        """Run the whole simulation from :data:`BILLING_START` to :data:`END`."""
        rng = self.rng
        # design partners from the beta become paying customers in November 2024
        for _ in range(max(1, round(50 * self.scale))):
            when = BILLING_START + timedelta(days=rng.uniform(0, 27), minutes=rng.uniform(8 * 60, 18 * 60))
            self._signup(when, "beta")
        month = 0
        while True:
            start = add_months(BILLING_START, month)
            if start > END:
                break
            stop = min(add_months(start, 1), END)
            rate = 12.0 * 1.052 ** month * self.scale * (stop - start).days / 30.4
            for when in sorted(self._times_in(start, stop, self._poisson(rate))):
                self._signup(when, "")
            month += 1
        # checkouts whose first payment never went through (expired), and some on the export day (still open)
        for _ in range(max(1, round(2 * self.scale))):
            self._signup(END - timedelta(days=rng.uniform(2, 90)), "expired")
            self._signup(END - timedelta(hours=rng.uniform(1, 20)), "incomplete")
        company = self.company
        # a downgrade scheduled for after the export has not created its new subscription yet
        company.subscriptions = [s for s in company.subscriptions if s.created <= END]
        self._assign_payment_problems()
        company.customers.sort(key=lambda c: (c.created, c.id))
        company.subscriptions.sort(key=lambda s: (s.created, s.id))
        return company

    def _poisson(self, mean: float) -> int:
        """A Poisson draw (Knuth for small means, normal approximation above)."""
        if mean > 60:
            return max(0, round(self.rng.gauss(mean, math.sqrt(mean))))
        limit, k, product = math.exp(-mean), 0, self.rng.random()
        while product > limit:
            k += 1
            product *= self.rng.random()
        return k

    def _times_in(self, start: datetime, stop: datetime, count: int) -> Iterable[datetime]:
        """``count`` signup moments in ``[start, stop)``, mostly on weekdays in office hours."""
        span = (stop - start).total_seconds()
        found = 0
        while found < count:
            moment = start + timedelta(seconds=self.rng.uniform(0, span))
            if moment.weekday() >= 5 and self.rng.random() < 0.7:
                continue
            found += 1
            yield moment.replace(second=0, microsecond=0)

    def _segment(self, when: datetime) -> str:
        progress = (when - BILLING_START).days / 750
        enterprise = 0.04 + 0.03 * progress
        return weighted(self.rng, (("SMB", 0.72 - enterprise), ("Mid-Market", 0.24), ("Enterprise", enterprise)))

    def _signup(self, when: datetime, kind: str) -> None:
        """One new customer and its whole life, drawn from a random stream of its own (so that changing one
        customer's story does not reshuffle everyone else's)."""
        master, voice = self.rng, self.voice
        self.rng = random.Random(f"{self.seed}:{len(self.company.customers)}")
        self.voice = random.Random(f"{self.seed}:{len(self.company.customers)}:voice")
        try:
            self._customer_life(when, kind)
        finally:
            self.rng, self.voice = master, voice

    def _customer_life(self, when: datetime, kind: str) -> None:
        rng = self.rng
        segment = "Mid-Market" if kind == "beta" and rng.random() < 0.45 else self._segment(when)
        if kind == "":
            roll = rng.random()
            kind = {"SMB": "trial" if roll < 0.85 else "direct",
                    "Mid-Market": "trial" if roll < 0.7 else "sales",
                    "Enterprise": "trial" if roll < 0.25 else "sales"}[segment]
        if kind in ("incomplete", "expired"):
            segment = "SMB"
        country = weighted(rng, COUNTRIES)
        name, base = self._company_name(country)
        domain = ascii_slug(base) + TLD[country]
        local = rng.choice(("billing", "finance", "accounts", "ops", "admin", *FIRST_NAMES, *FIRST_NAMES))
        seats = {"SMB": 2 + min(10, int(rng.expovariate(1 / 3.0))),
                 "Mid-Market": 6 + min(40, int(rng.expovariate(1 / 7.0))),
                 "Enterprise": 25 + min(150, int(rng.expovariate(1 / 25.0)))}[segment]
        description = {
            "beta": "Design partner (beta)",
            "trial": "Self-serve trial",
            "direct": "Self-serve checkout",
            "incomplete": "Self-serve checkout",
            "expired": "Self-serve checkout",
            "sales": f"Sales-led, AE: {rng.choice(ACCOUNT_EXECS)}",
        }[kind]
        customer = Customer(len(self.company.customers), self._stripe_id("cus_", 14), name, f"{local}@{domain}",
                            description, when - timedelta(minutes=rng.randint(1, 9)), segment, country, seats)
        self.company.customers.append(customer)
        plan = self._choose_plan(segment)
        if kind in ("incomplete", "expired"):
            self._add(customer, plan, seats, when, special="incomplete" if kind == "incomplete" else
                      "incomplete_expired")
            return
        if kind == "direct" and rng.random() < 0.06:
            # the first card payment fails; most retry with another card within the hour
            self._add(customer, plan, seats, when, special="incomplete_expired")
            if rng.random() < 0.4:
                return
            when += timedelta(minutes=rng.randint(5, 50))
        coupon = "BETA50" if kind == "beta" else ""
        if kind == "trial":
            trial = self._add(customer, plan, seats, when, trial_end=when + timedelta(days=14))
            if trial.trial_end and trial.trial_end <= END and rng.random() > CONVERT[segment]:
                # asked to cancel during the trial, or the trial ran out without a card (canceled at its end)
                asked = rng.random() < 0.3
                trial.canceled_at = (when + timedelta(days=rng.uniform(1, 13))).replace(second=0) if asked \
                    else trial.trial_end
                trial.ended_at = trial.trial_end
                if asked:
                    trial.reason = "cancellation_requested"
                    self._answer(trial, TRIAL_FEEDBACK, ANSWERS[segment])
                return
            self._life(customer, trial)
            return
        if coupon == "" and kind == "direct" and date(2025, 11, 28) <= when.date() <= date(2025, 12, 1):
            coupon = "BLACKFRIDAY25"
        self._life(customer, self._add(customer, plan, seats, when, coupon=coupon))

    def _choose_plan(self, segment: str) -> Plan:
        rng = self.rng
        if segment == "SMB":
            tier = "Starter" if rng.random() < 0.45 else "Team"
            options = ((f"{tier} Monthly", 0.76), (f"{tier} Annual", 0.14),
                       ("Starter Weekly" if tier == "Starter" else "Team Quarterly", 0.10))
        elif segment == "Mid-Market":
            tier = "Team" if rng.random() < 0.45 else "Business"
            options = ((f"{tier} Monthly", 0.55), (f"{tier} Quarterly", 0.15), (f"{tier} Annual", 0.30))
        else:
            options = (("Enterprise Annual", 0.6), ("Business Annual", 0.3), ("Business Quarterly", 0.1))
        return PLANS[weighted(rng, options)]

    def _add(self, customer: Customer, plan: Plan, quantity: int, when: datetime, *, trial_end: datetime | None = None,
             coupon: str = "", special: str = "") -> Subscription:
        if not coupon and special == "" and self.rng.random() < 0.06:
            coupon = "ANNUAL10" if plan.interval == "year" else "LAUNCH20"
        sub = Subscription(self._stripe_id("sub_1", 23), customer, plan, 1 if plan.flat else max(1, quantity),
                           when, trial_end=trial_end, coupon=coupon, special=special)
        self.company.subscriptions.append(sub)
        return sub

    # a paying life, with comebacks
    def _life(self, customer: Customer, base: Subscription) -> None:
        rng = self.rng
        segment = customer.segment
        while True:
            ended = self._paid_life(customer, base)
            if ended is None or rng.random() > COMEBACK[segment]:
                return
            back = ended + timedelta(days=rng.uniform(40, 240), hours=rng.uniform(-6, 6))
            if back > END:
                return
            quantity = max(2, round(customer.seats * rng.uniform(0.6, 1.1)))
            base = self._add(customer, self._choose_plan(segment), quantity, back.replace(second=0, microsecond=0),
                             coupon="WINBACK20" if rng.random() < 0.5 else "")

    def _paid_life(self, customer: Customer, base: Subscription) -> datetime | None:
        """Month by month from the first paid day until churn; returns when the customer left (or None)."""
        rng = self.rng
        segment = customer.segment
        extras: list[Subscription] = []
        tick = 0
        start = base.anchor
        while True:
            tick += 1
            previous, moment = add_months(start, tick - 1), add_months(start, tick)
            when = previous + (moment - previous) * rng.random()
            if when > END:
                return None
            if when < base.anchor + timedelta(days=1):
                continue  # a downgraded plan that has not started yet
            # churn: monthly and weekly plans any month; quarterly and annual ones at renewal
            plan = base.plan
            renewal_months = max(1, round(plan.months))
            months_paid = tick
            if months_paid % renewal_months == 0:
                hazard = 1 - (1 - CHURN[segment] * (0.55 if plan.interval == "year" else 0.85)) ** renewal_months
                if renewal_months == 1:
                    hazard = CHURN[segment]
                if rng.random() < hazard:
                    return self._churn(base, extras, when, renewal_months)
            # contraction: an add-on or a seat pack is dropped
            for extra in [e for e in extras if e.created < when]:
                if rng.random() < 0.02:
                    self._cancel(extra, when, "cancellation_requested")
                    self._answer(extra, CONTRACTION_FEEDBACK, 0.5)
                    extras.remove(extra)
            # downgrade: the plan ends at its period end and a cheaper one starts that day
            if plan.key in DOWNGRADE or (plan.interval != "year" and base.quantity > 3):
                if rng.random() < SHRINK[segment]:
                    base = self._downgrade(customer, base, when)
                    continue
            # expansion: an added subscription on the same customer
            if rng.random() < EXPAND[segment]:
                self._expand(customer, base, extras, when)
            if when.date() >= FEATURE_LAUNCH and not any(e.plan.key == "AI Insights Add-on" for e in extras):
                if rng.random() < {"SMB": 0.02, "Mid-Market": 0.05, "Enterprise": 0.07}[segment]:
                    seats = base.quantity + sum(e.quantity for e in extras if e.plan is plan)
                    extras.append(self._add(customer, PLANS["AI Insights Add-on"], seats,
                                            when.replace(second=0, microsecond=0)))

    def _expand(self, customer: Customer, base: Subscription, extras: list[Subscription], when: datetime) -> None:
        rng = self.rng
        when = when.replace(second=0, microsecond=0)
        has_connectors = any(e.plan.key == "Data Connectors Add-on" for e in extras)
        if rng.random() < 0.35 and not has_connectors:
            extras.append(self._add(customer, PLANS["Data Connectors Add-on"], 1, when))
        else:  # a seat pack on the customer's plan
            seats = max(1, math.ceil(base.quantity * rng.uniform(0.15, 0.6)))
            extras.append(self._add(customer, base.plan, seats, when))
            customer.seats += seats
            customer.expansions.append((when, seats))

    def _downgrade(self, customer: Customer, base: Subscription, when: datetime) -> Subscription:
        rng = self.rng
        cheaper = PLANS[DOWNGRADE[base.plan.key]] if base.plan.key in DOWNGRADE and rng.random() < 0.6 else base.plan
        quantity = base.quantity if cheaper is not base.plan else max(2, round(base.quantity * rng.uniform(0.5, 0.8)))
        _, period_end = period_containing(base.anchor, base.plan, when)
        base.canceled_at = when.replace(second=0, microsecond=0)
        base.ended_at = period_end
        base.reason = "cancellation_requested"
        self._answer(base, DOWNGRADE_FEEDBACK, 0.5)
        return self._add(customer, cheaper, quantity, period_end + timedelta(minutes=rng.randint(0, 3)))

    def _cancel(self, sub: Subscription, when: datetime, reason: str, *, now: bool = False) -> None:
        sub.canceled_at = when.replace(second=0, microsecond=0)
        sub.ended_at = sub.canceled_at if now else period_containing(sub.anchor, sub.plan, when)[1]
        sub.reason = reason

    def _answer(self, sub: Subscription, choices: Sequence[tuple[str, float]], share: float) -> None:
        """The customer answers the cancellation survey (``share`` of the time), some with a comment."""
        voice = self.voice
        if voice.random() >= share:
            return
        sub.feedback = weighted(voice, choices)
        if voice.random() < COMMENTS_SHARE:
            sub.comment = voice.choice(COMMENTS[sub.feedback])

    def _churn(self, base: Subscription, extras: list[Subscription], when: datetime, renewal_months: int) -> datetime:
        rng = self.rng
        disputes = self.voice.random() < DISPUTED
        if renewal_months > 1:
            # asked some weeks before the renewal, effective at the end of the paid period
            _, period_end = period_containing(base.anchor, base.plan, when - timedelta(days=2))
            asked = period_end - timedelta(days=rng.uniform(3, min(60, 25 * renewal_months)))
            if disputes:  # forgot to cancel and disputed the renewal charge: canceled when the dispute came in
                self._cancel(base, period_end + timedelta(days=self.voice.uniform(7, 21)), "payment_disputed",
                             now=True)
            else:
                self._cancel(base, max(asked, base.anchor + timedelta(hours=1)), "cancellation_requested")
        elif rng.random() < 0.15:
            # involuntary: the card kept failing and dunning gave up three weeks into the period
            period_start, period_end = period_containing(base.anchor, base.plan, when)
            self._cancel(base, min(period_start + timedelta(days=21, hours=rng.uniform(0, 12)), period_end),
                         "payment_failed", now=True)
        elif disputes:  # the last charge was disputed: canceled at once
            self._cancel(base, when, "payment_disputed", now=True)
        else:
            self._cancel(base, when, "cancellation_requested")
        if base.reason == "cancellation_requested":
            self._answer(base, LEAVING_FEEDBACK[base.customer.segment], ANSWERS[base.customer.segment])
        assert base.canceled_at is not None and base.ended_at is not None
        for extra in extras:
            if extra.ended_at is None:
                self._cancel(extra, max(base.canceled_at, extra.created + timedelta(hours=1)), base.reason,
                             now=base.reason != "cancellation_requested")
                extra.feedback, extra.comment = base.feedback, base.comment
        ended = max([base.ended_at] + [e.ended_at for e in extras if e.ended_at is not None])
        base.customer.churns.append((ended, base.reason != "payment_failed"))
        return ended

    def _assign_payment_problems(self) -> None:
        """At export time a few live subscriptions are past_due (retrying) or unpaid (dunning exhausted)."""
        live = [s for s in self.company.subscriptions
                if not s.special and s.plan.tier != "addon" and (s.ended_at is None or s.ended_at > END)
                and (s.trial_end is None or s.trial_end <= END) and s.plan.interval in ("month", "week")]
        recent = [s for s in live if END - period_containing(s.anchor, s.plan, END)[0] < timedelta(days=12)]
        for sub in self.rng.sample(recent, min(len(recent), max(1, round(0.06 * len(recent))))):
            sub.special = "past_due"
        rest = [s for s in live if not s.special and s.canceled_at is None]
        for sub in self.rng.sample(rest, min(len(rest), max(1, round(0.012 * len(live))))):
            sub.special = "unpaid"


# -- Stripe exports -------------------------------------------------------------------------------------------------

def subscription_row(sub: Subscription) -> list[str]:
    """One line of the Stripe subscriptions export, as Stripe would show it on :data:`END`."""
    canceled = sub.canceled_at if sub.canceled_at is not None and sub.canceled_at <= END else None
    ended = sub.ended_at if sub.ended_at is not None and sub.ended_at <= END else None
    if sub.special.startswith("incomplete"):
        status, period = sub.special, (sub.created, period_bound(sub.created, sub.plan, 1))
    elif ended is not None:
        status = "canceled"
        moment = ended - timedelta(minutes=1)
        period = ((sub.created, sub.trial_end) if sub.trial_end and moment < sub.trial_end
                  else period_containing(sub.anchor, sub.plan, max(moment, sub.anchor)))
    elif sub.trial_end is not None and sub.trial_end > END:
        status, period = "trialing", (sub.created, sub.trial_end)
    else:
        status = sub.special or "active"
        period = period_containing(sub.anchor, sub.plan, END)
    customer = sub.customer
    return [
        sub.id, customer.id, customer.name, customer.email, sub.plan.key, sub.plan.product, str(sub.quantity), "usd",
        sub.plan.interval, str(sub.plan.interval_count), f"{sub.plan.amount:.2f}", status,
        *((sub.reason, sub.feedback, sub.comment) if canceled is not None else ("", "", "")), sub.coupon,
        stamp(sub.created), stamp(sub.created), stamp(period[0]), stamp(period[1]),
        stamp(sub.created if sub.trial_end else None), stamp(sub.trial_end), stamp(canceled), stamp(ended),
        customer.segment, customer.country,
    ]


def customer_row(customer: Customer) -> list[str]:
    """One line of the Stripe customers export."""
    return [customer.id, customer.name, customer.email, customer.description, stamp(customer.created),
            customer.segment, customer.country]


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """A CSV with ``\\n`` line ends, quoting only where needed (as the exporters do)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8", newline="")


# -- revenue numbers (for the targets and the summary) --------------------------------------------------------------

def mrr_by_customer(company: Company, day: date) -> dict[str, float]:
    """Monthly recurring revenue per customer on ``day`` (KPI_DEFINITIONS: mrr_c(d))."""
    totals: dict[str, float] = {}
    for sub in company.subscriptions:
        if sub.paying_on(day):
            totals[sub.customer.id] = totals.get(sub.customer.id, 0.0) + sub.plan.monthly(sub.quantity)
    return totals


def first_paid(company: Company) -> dict[str, date]:
    """The first paid day of every customer who ever paid."""
    found: dict[str, date] = {}
    for sub in company.subscriptions:
        if sub.special.startswith("incomplete") or sub.anchor > END:
            continue
        if sub.ended_at is not None and sub.ended_at.date() <= sub.anchor.date():
            continue
        day = sub.anchor.date()
        if sub.customer.id not in found or day < found[sub.customer.id]:
            found[sub.customer.id] = day
    return found


def targets_rows(company: Company) -> list[list[str]]:
    """2026 Q3/Q4 targets, set against the plan the company had (some met, some missed)."""
    q2 = mrr_by_customer(company, date(2026, 6, 30))
    q3 = mrr_by_customer(company, date(2026, 9, 30))
    mrr_q2, mrr_q3 = sum(q2.values()), sum(q3.values())
    growth = (mrr_q3 / mrr_q2) if mrr_q2 else 1.0
    first = first_paid(company)
    new_q3 = sum(1 for d in first.values() if date(2026, 7, 1) <= d <= date(2026, 9, 30))

    def money(value: float) -> str:
        return str(int(round(value, -3)))

    rows = [
        ["mrr", "quarter", "2026-07-01", money(mrr_q2 * 1.22), "CPO", "Board plan, approved 2026-06-15"],
        ["mrr", "quarter", "2026-10-01", money(mrr_q3 * growth * 1.03), "CPO", "Board plan; includes AI Insights"],
        ["active_customers", "quarter", "2026-07-01", str(round(len(q2) * 1.10)), "VP Sales", ""],
        ["active_customers", "quarter", "2026-10-01", str(round(len(q3) * 1.10)), "VP Sales", ""],
        ["new_customers", "quarter", "2026-07-01", str(round(new_q3 * 0.95)), "VP Sales", "Self-serve + sales-led"],
        ["new_customers", "quarter", "2026-10-01", str(round(new_q3 * 1.15)), "VP Sales", "Q4 enterprise push"],
    ]
    for month in ("2026-07-01", "2026-08-01", "2026-09-01", "2026-10-01", "2026-11-01"):
        rows.append(["logo_churn_rate", "month", month, "0.02", "VP Customer Success", "Keep under 2% a month"])
    for month in ("2026-07-01", "2026-08-01", "2026-09-01", "2026-10-01", "2026-11-01"):
        rows.append(["stickiness", "month", month, "0.25", "CPO", "DAU/MAU: a daily habit"])
    return rows


# -- product analytics: users and events ----------------------------------------------------------------------------

EVENT_NAMES = ("$pageview", "dashboard_viewed", "report_created", "export_csv", "$autocapture", "invite_sent",
               FEATURE_EVENT, "signed_up")
EV_PAGEVIEW, EV_DASHBOARD, EV_REPORT, EV_EXPORT, EV_AUTOCAPTURE, EV_INVITE, EV_AI, EV_SIGNUP = range(len(EVENT_NAMES))
#: events sent by the backend SDK: no $browser, and their timestamps end in ``Z`` (browser ones in ``+00:00``)
SERVER_EVENTS = (EV_REPORT, EV_EXPORT, EV_INVITE, EV_AI, EV_SIGNUP)
#: the "aha" moment: users who create a report within ACTIVATION_DAYS of signing up stay, the others mostly drift
#: away (the setting ``activation_event`` for the demo)
ACTIVATION_EVENT, ACTIVATION_DAYS = EVENT_NAMES[EV_REPORT], 7
#: the mix of events after the first page view of a day, before and after a user adopts the AI feature
MIX = np.array([0.40, 0.34, 0.12, 0.08, 0.012, 0.004, 0.0])
MIX_ADOPTED = np.concatenate([MIX[:-1] * 0.82, [0.18]])
#: the events that open a user's signup day and activation day, by kind of day (1: signup, 2: activation, 3: both):
#: the page view, ``signed_up``, then a dashboard and the first report, the onboarding funnel in order
OPENINGS = np.array([[EV_PAGEVIEW] * 4, [EV_PAGEVIEW, EV_SIGNUP, EV_PAGEVIEW, EV_PAGEVIEW],
                     [EV_PAGEVIEW, EV_DASHBOARD, EV_REPORT, EV_PAGEVIEW],
                     [EV_PAGEVIEW, EV_SIGNUP, EV_DASHBOARD, EV_REPORT]], np.int8)
OPENING_LENGTH = np.array([1, 2, 3, 4])
#: chance of creating a report in the first week: the first user of an account that goes on to pay, of one that
#: never pays, and a teammate of either
ACTIVATES = {"admin_paid": 0.68, "admin_unpaid": 0.25, "member_paid": 0.36, "member_unpaid": 0.18}
#: the day of the first week on which an activated user creates the first report
ACTIVATION_DAY_WEIGHTS = np.array([0.30, 0.22, 0.16, 0.12, 0.09, 0.06, 0.05])
BROWSERS = ("", "Chrome", "Safari", "Microsoft Edge", "Firefox", "Mobile Safari")
BROWSER_WEIGHTS = np.array([0.0, 0.64, 0.15, 0.11, 0.08, 0.02])
ELEMENT_CHAINS = (
    "",
    'button.btn.btn-primary:attr__class="btn btn-primary"nth-child="2"nth-of-type="1"text="Export CSV";'
    'div.toolbar:attr__class="toolbar"nth-child="1"nth-of-type="1"',
    'a.nav-link:attr__class="nav-link"attr__href="/reports/new"href="/reports/new"nth-child="1"nth-of-type="1"'
    'text="New report, from a template"',
    'span:nth-child="1"nth-of-type="1"text="Save & share";button.share:attr__class="share"attr__data-attr='
    '"share-button"nth-child="3"nth-of-type="2"',
    'button:attr__aria-label="Filter by segment, country"nth-child="4"nth-of-type="4"text="Filters (2)"',
    'li.menu-item:nth-child="5"nth-of-type="5"text="Schedule \\"Weekly KPIs\\" e-mail"',
)
ELEMENT_WEIGHTS = np.array([0.0, 0.3, 0.25, 0.2, 0.15, 0.1])
TIMESTAMP_SUFFIXES = ("+00:00", "Z")

#: before a customer chooses to leave, its users fall silent one by one over its last weeks (days, a range); most
#: silent early in that time. A failed card gives no warning, and a few leave while still using the product.
FADE_DAYS = (49.0, 63.0)
FADES = 0.9
#: how late in that time a user may fall silent (a share of it; most fall silent early)
FADE_LATEST = 0.3
#: the users of a seat pack join over the weeks before it is bought (days, a range): the team outgrows its seats
GROWTH_DAYS = (7.0, 42.0)
#: the least activity of a paying account's first user and of its other users (chance of a weekday's use)
PAYING_FLOOR = (0.3, 0.15)
#: how the product names its accounts (the PostHog group ``company``): a slug of the company's name, an org
#: number, or (for a few set up by hand) the Stripe customer id itself, as ``(kind, weight)``
ACCOUNT_KINDS = (("slug", 0.6), ("org", 0.3), ("stripe", 0.1))
#: share of the accounts with their own id that the mapping file leaves out (nobody has mapped them yet)
UNMAPPED = 0.1
ONBOARD_BOOST, ONBOARD_DAYS = 2.2, 5.0  # day-activity boost in a user's first days, and how fast it fades
WEEKDAY = np.array([1.0, 1.0, 1.0, 0.97, 0.88, 0.3, 0.26])  # Monday .. Sunday


@dataclass
class Users:
    """The product's users, one entry per person, as numpy arrays (days count from :data:`EVENTS_START`)."""

    distinct_id: list[str]
    account: np.ndarray  # index into ``accounts``
    accounts: list[str]  # the product's account ids (:func:`account_ids`)
    customers: list[str]  # the Stripe customer id of each account
    mapped: list[bool]  # whether the mapping file links the account to its customer
    join: np.ndarray  # day the user starts using the product
    quit: np.ndarray  # day the user stops (churned accounts stop earlier through ``alive``)
    activity: np.ndarray  # chance of being active on a weekday once settled in
    intensity: np.ndarray  # extra events per active day (Poisson mean)
    browser: np.ndarray  # index into BROWSERS
    hour: np.ndarray  # centre of the working day, hours UTC
    spread: np.ndarray  # its spread, hours
    adopt: np.ndarray  # day the user starts using the AI feature (inf: never)
    signup: np.ndarray  # day of the ``signed_up`` event (-1: signed up before the export window)
    aha: np.ndarray  # day of the first report when it falls in the first week and the window (inf: none)
    report_from: np.ndarray  # first day the user creates reports and exports (inf: never)
    admin: np.ndarray  # index of the account's first user (who sends the invites)
    alive: np.ndarray  # (accounts, days) the account has a live subscription that day
    silent_from: np.ndarray  # (users, episodes) first day of each silence before the account churns (inf: none)
    silent_to: np.ndarray  # (users, episodes) the day that silence ends (the churn)


def build_users(company: Company, seed: int) -> Users:
    """The users of every account that is live at some point of the event window."""
    rng = np.random.default_rng([seed, 2])
    start = datetime.combine(EVENTS_START, datetime.min.time())
    launch = (FEATURE_LAUNCH - EVENTS_START).days
    spans: dict[str, list[tuple[float, float]]] = {}
    for sub in company.subscriptions:
        if sub.special.startswith("incomplete"):
            continue
        begin = (sub.created - start).total_seconds() / 86400
        ended = sub.ended_at if sub.ended_at is not None and sub.ended_at <= END else None
        stop = (ended - start).total_seconds() / 86400 if ended is not None else EVENT_DAYS
        if stop > 0 and begin < EVENT_DAYS:
            spans.setdefault(sub.customer.id, []).append((begin, stop))
    with_ai = {s.customer.id: (s.created - start).total_seconds() / 86400 for s in company.subscriptions
               if s.plan.key == "AI Insights Add-on"}
    customers = [c for c in company.customers if c.id in spans]
    alive = np.zeros((len(customers), EVENT_DAYS + 1), np.int32)
    first_seen = np.zeros(len(customers))
    for index, customer in enumerate(customers):
        first_seen[index] = min(b for b, _ in spans[customer.id])
        for begin, stop in spans[customer.id]:
            alive[index, max(0, math.floor(begin))] += 1
            alive[index, min(EVENT_DAYS, math.ceil(stop))] -= 1
    alive_days = np.cumsum(alive, axis=1)[:, :EVENT_DAYS] > 0

    counts = np.array([min(30, max(2, round(c.seats * USER_SHARE[c.segment] * rng.uniform(0.7, 1.2))))
                       for c in customers], np.int64)
    total = int(counts.sum())
    account = np.repeat(np.arange(len(customers)), counts)
    offsets = np.cumsum(counts) - counts
    position = np.arange(total) - np.repeat(offsets, counts)
    is_admin = position == 0
    opened = first_seen[account]
    # the first team joins over the first weeks; a quarter are hired later over the account's life
    later = rng.random(total) < 0.25
    join = opened + np.where(later, rng.uniform(20, 500, total), rng.exponential(9.0, total))
    join = np.where(is_admin, opened, join)
    story = np.random.default_rng([seed, 8])  # the accounts' story draws: a stream of their own
    join = grow_before_expansions(customers, join, offsets, counts, first_seen, story)
    paid = first_paid(company)
    activated = activation(np.array([c.id in paid for c in customers])[account], is_admin, seed)
    # activated users rarely leave early; the others mostly drift away within weeks
    early_quit = rng.random(total) < np.where(activated, np.where(is_admin, 0.03, 0.08),
                                              np.where(is_admin, 0.25, 0.55))
    quit = join + np.where(early_quit, rng.exponential(np.where(activated, 30.0, 10.0)),
                           rng.exponential(np.where(activated, 800.0, 250.0)))
    signup, aha, report_from = first_reports(join, activated, seed)
    quit = np.maximum(quit, np.where(np.isfinite(aha), aha + 1, -np.inf))
    segment = np.array([SEGMENTS.index(c.segment) for c in customers])[account]
    activity = rng.beta(1.6, 3.6, total) * np.array([0.9, 1.0, 1.1])[segment]
    activity = np.where(is_admin, np.minimum(1.0, activity * 1.5), activity) * np.where(activated, 1.0, 0.75)
    # a paying account's first user stays while it pays, and its people use the product at least now and then
    pays = np.array([c.id in paid for c in customers])[account]
    quit = np.where(pays & is_admin, np.inf, quit)
    activity = np.where(pays, np.maximum(activity, np.where(is_admin, PAYING_FLOOR[0], PAYING_FLOOR[1])), activity)
    intensity = rng.gamma(1.5, 0.65, total)
    browser = rng.choice(len(BROWSERS), total, p=BROWSER_WEIGHTS)
    hours = np.array([HOURS[c.country] for c in customers])[account]
    ai_account = np.array([with_ai.get(c.id, np.inf) for c in customers])[account]
    adopts = rng.random(total) < np.where(np.isfinite(ai_account), 0.9, 0.6)
    adopt_from = np.maximum(np.maximum(launch, join), np.where(np.isfinite(ai_account), ai_account, launch))
    adopt = np.where(adopts, adopt_from + rng.exponential(np.where(np.isfinite(ai_account), 10.0, 45.0)), np.inf)
    admin = offsets[account]
    ids = rng.integers(0, 36, (total, 8))
    alphabet = np.array(list("0123456789abcdefghijklmnopqrstuvwxyz"))
    distinct = ["usr_" + "".join(row) for row in alphabet[ids]]
    silent_from, silent_to = fade_before_churn(customers, account, story)
    names, mapped = account_ids(customers, seed)
    return Users(distinct, account, names, [c.id for c in customers], mapped, join, quit, activity, intensity,
                 browser, hours[:, 0], hours[:, 1], adopt, signup, aha, report_from, admin, alive_days, silent_from,
                 silent_to)


def account_ids(customers: Sequence[Customer], seed: int) -> tuple[list[str], list[bool]]:
    """The product's id of each customer's account (:data:`ACCOUNT_KINDS`: ``brightwater-labs``, ``org_482913`` or
    the Stripe id) and whether the mapping file links it; an account named by its Stripe id needs no mapping."""
    rng = random.Random(f"{seed}:accounts")
    names: list[str] = []
    mapped: list[bool] = []
    taken: set[str] = set()
    for customer in customers:
        kind = weighted(rng, ACCOUNT_KINDS)
        if kind == "stripe":
            name = customer.id
        elif kind == "org":
            name = f"org_{rng.randrange(100_000, 1_000_000)}"
        else:
            name = "-".join(filter(None, (ascii_slug(word) for word in customer.name.split())))
        while name in taken:
            name += f"-{rng.randrange(2, 10)}"
        taken.add(name)
        names.append(name)
        mapped.append(kind != "stripe" and rng.random() >= UNMAPPED)
    return names, mapped


def mapping_rows(users: Users) -> list[list[str]]:
    """The account mapping file: ``account_id,customer_id`` for every mapped account (FORMATS.md)."""
    return [[name, customer] for name, customer, linked in zip(users.accounts, users.customers, users.mapped,
                                                                strict=True) if linked]


def day_of(moment: datetime) -> float:
    """Days from the start of the event window to ``moment`` (fractional)."""
    return (moment - datetime.combine(EVENTS_START, datetime.min.time())).total_seconds() / 86400


def grow_before_expansions(customers: Sequence[Customer], join: np.ndarray, offsets: np.ndarray, counts: np.ndarray,
                           first_seen: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``join`` with the users of each seat pack bought in the event window joining over the weeks before it (the
    account's last users, as many as the pack's seats bring), so active users grow before the expansion."""
    join = join.copy()
    for index, customer in enumerate(customers):
        taken = 0
        for when, seats in customer.expansions:
            day = day_of(when)
            wanted = max(1, round(seats * USER_SHARE[customer.segment]))
            k = min(wanted, int(counts[index]) - 1 - taken)
            if not 0 <= day < EVENT_DAYS or k <= 0:
                continue
            members = offsets[index] + counts[index] - taken - np.arange(1, k + 1)
            join[members] = np.maximum(first_seen[index], day - rng.uniform(*GROWTH_DAYS, k))
            taken += k
    return join


def fade_before_churn(customers: Sequence[Customer], account: np.ndarray, rng: np.random.Generator
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Each user's silences ``[from, to)``, one column per churn of the account (see :data:`FADE_DAYS`): over the
    weeks before a customer leaves, its users stop one by one, most of them early, and none comes back before the
    subscription ends."""
    episodes = [[(day_of(ended), rng.uniform(*FADE_DAYS)) for ended, chosen in c.churns
                 if chosen and rng.random() < FADES] for c in customers]
    width = max(1, max(len(e) for e in episodes))
    end = np.full((len(customers), width), np.inf)
    length = np.zeros((len(customers), width))
    for index, found in enumerate(episodes):
        for k, (ended, days) in enumerate(found):
            end[index, k], length[index, k] = ended, days
    late = FADE_LATEST * rng.random((len(account), width)) ** 2
    return end[account] - length[account] * (1 - late), end[account]


def activation(paying: np.ndarray, is_admin: np.ndarray, seed: int) -> np.ndarray:
    """Which users reach the aha moment (a report in their first week): most first users of accounts that go on to
    pay, few of those that never pay, fewer teammates."""
    chance = np.where(is_admin, np.where(paying, ACTIVATES["admin_paid"], ACTIVATES["admin_unpaid"]),
                      np.where(paying, ACTIVATES["member_paid"], ACTIVATES["member_unpaid"]))
    return np.random.default_rng([seed, 6]).random(len(paying)) < chance


def first_reports(join: np.ndarray, activated: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each user's signup day, activation day and first reporting day (see :class:`Users`).

    Activated users create their first report on one of their first :data:`ACTIVATION_DAYS` days; the others
    only after their first week, if ever (about half of them).
    """
    rng = np.random.default_rng([seed, 7])
    n = len(join)
    first_day = np.floor(join)
    signup = np.where((join >= 0) & (join < EVENT_DAYS), first_day, -1.0)
    offset = rng.choice(ACTIVATION_DAYS, n, p=ACTIVATION_DAY_WEIGHTS)
    aha = np.where(activated & (signup >= 0) & (first_day + offset < EVENT_DAYS), first_day + offset, np.inf)
    late = np.where(rng.random(n) < 0.55, first_day + ACTIVATION_DAYS + np.floor(rng.exponential(35.0, n)), np.inf)
    report_from = np.where(activated, np.where(join >= 0, first_day + offset, -np.inf), late)
    return signup, aha, report_from


@dataclass
class Events:
    """Generated events, sorted by time: ms since :data:`EVENTS_START`, user index, event code, element chain, and
    whether the event is part of a signup or activation day's opening (never dropped when sampling)."""

    ms: np.ndarray
    user: np.ndarray
    event: np.ndarray
    chain: np.ndarray
    pinned: np.ndarray

    def __len__(self) -> int:
        return len(self.ms)

    def take(self, index: np.ndarray) -> Events:
        """A subset of rows."""
        return Events(self.ms[index], self.user[index], self.event[index], self.chain[index], self.pinned[index])


def day_factors() -> np.ndarray:
    """Activity by calendar day: the weekly rhythm, quiet holidays, a softer August."""
    days = [EVENTS_START + timedelta(days=d) for d in range(EVENT_DAYS)]
    factor = np.array([WEEKDAY[d.weekday()] for d in days])
    for index, day in enumerate(days):
        if (day.month == 12 and day.day >= 24) or (day.month == 1 and day.day == 1):
            factor[index] *= 0.35
        elif day.month == 8:
            factor[index] *= 0.78
    return factor


def generate_events(users: Users, seed: int, boost: float = 1.0, chunk: int = 8192) -> Events:
    """Every user's active days and events, vectorised over blocks of users."""
    rng = np.random.default_rng([seed, 3])
    factor = day_factors().astype(np.float32)
    days = np.arange(EVENT_DAYS, dtype=np.float32)
    parts: list[Events] = []
    n_users = len(users.join)
    for lo in range(0, n_users, chunk):
        hi = min(n_users, lo + chunk)
        join = users.join[lo:hi].astype(np.float32)
        age = days[None, :] - np.floor(join)[:, None]
        alive = users.alive[users.account[lo:hi]] & (age >= 0) & (days[None, :] < users.quit[lo:hi, None])
        for k in range(users.silent_from.shape[1]):
            alive &= ~((days[None, :] >= users.silent_from[lo:hi, k, None])
                       & (days[None, :] < users.silent_to[lo:hi, k, None]))
        chance = users.activity[lo:hi, None].astype(np.float32) * factor[None, :]
        chance = np.minimum(0.95, chance * (1 + ONBOARD_BOOST * np.exp(-np.maximum(age, 0) / ONBOARD_DAYS)))
        # a user is always active on the signup day and on the activation day
        opening = (days[None, :] == users.signup[lo:hi, None]) | (days[None, :] == users.aha[lo:hi, None])
        active = alive & ((rng.random(alive.shape, dtype=np.float32) < chance) | opening)
        row, day = np.nonzero(active)
        user = row + lo
        cell_age = age[row, day]
        extra = rng.poisson(boost * users.intensity[user] * (1 + 1.5 * np.exp(-cell_age / 6.0)))
        kind = (day == users.signup[user]) + 2 * (day == users.aha[user])
        count = np.maximum(1 + extra, OPENING_LENGTH[kind])
        n = int(count.sum())
        cell = np.repeat(np.arange(len(user)), count)
        first = np.cumsum(count) - count
        within = np.arange(n) - first[cell]
        # a working session: the first event at some hour of the user's day, the next ones minutes apart
        start = (users.hour[user] + rng.normal(0, 1, len(user)) * users.spread[user]) % 24 * 3_600_000
        gaps = rng.exponential(80_000, n)
        gaps[first] = 0
        elapsed = np.cumsum(gaps)
        elapsed -= elapsed[first][cell]
        ms = day[cell].astype(np.int64) * 86_400_000 + np.minimum(start[cell] + elapsed, 86_399_999).astype(np.int64)
        ev_user = user[cell]
        adopted = day[cell] >= users.adopt[ev_user]
        draw = rng.random(n)
        event = np.where(adopted, np.searchsorted(np.cumsum(MIX_ADOPTED), draw * MIX_ADOPTED.sum()),
                         np.searchsorted(np.cumsum(MIX), draw * MIX.sum()))
        event = np.minimum(event, len(MIX) - 1).astype(np.int8)
        # no reports or exports before a user's first report: those sessions only look at dashboards
        event[(day[cell] < users.report_from[ev_user]) & ((event == EV_REPORT) | (event == EV_EXPORT))] = EV_DASHBOARD
        opens = within < OPENING_LENGTH[kind[cell]]
        event = np.where(opens, OPENINGS[kind[cell], np.minimum(within, 3)], event).astype(np.int8)
        chain = np.zeros(n, np.int8)
        auto = np.nonzero(event == EV_AUTOCAPTURE)[0]
        chain[auto] = rng.choice(len(ELEMENT_CHAINS), len(auto), p=ELEMENT_WEIGHTS)
        parts.append(Events(ms, ev_user.astype(np.int32), event, chain, opens & (within > 0)))
    # invitations: the account's first user invites each teammate shortly before they join
    invited = np.nonzero((users.admin != np.arange(n_users)) & (users.join >= 2) & (users.join < EVENT_DAYS)
                         & (users.join < users.quit))[0]
    alive_on_join = users.alive[users.account[invited], np.floor(users.join[invited]).astype(np.int64)]
    invited = invited[alive_on_join]
    when = np.maximum(users.join[invited] - rng.uniform(1 / 24, 1.5, len(invited)), users.join[users.admin[invited]])
    parts.append(Events(np.maximum(0, when * 86_400_000).astype(np.int64), users.admin[invited].astype(np.int32),
                        np.full(len(invited), EV_INVITE, np.int8), np.zeros(len(invited), np.int8),
                        np.zeros(len(invited), bool)))
    merged = Events(*(np.concatenate([getattr(p, name) for p in parts])
                      for name in ("ms", "user", "event", "chain", "pinned")))
    return merged.take(np.argsort(merged.ms, kind="stable"))


def sample_events(users: Users, seed: int, wanted: int) -> Events:
    """Exactly ``wanted`` events: generate a few more than needed, then drop a uniform random share of them, keeping
    the signup and activation openings (unless they alone are more than ``wanted``)."""
    boost, events = 1.0, generate_events(users, seed)
    for _ in range(6):
        if len(events) >= wanted:
            break
        boost *= 1.1 * wanted / max(1, len(events))
        events = generate_events(users, seed, boost)
    rng = np.random.default_rng([seed, 4])
    pinned = events.pinned if events.pinned.sum() <= wanted else np.zeros(len(events), bool)
    drawn = rng.choice(np.nonzero(~pinned)[0], min(wanted, len(events)) - int(pinned.sum()), replace=False,
                       shuffle=False)
    return events.take(np.sort(np.concatenate([np.nonzero(pinned)[0], drawn])))


# -- writing CSV from numpy -----------------------------------------------------------------------------------------

class Piece:
    """The bytes of one value in every row: a per-row byte matrix, or codes into a table of byte strings.

    Shorter values are padded with zero bytes, which :func:`render` drops (UTF-8 text never holds a zero byte).
    """

    def __init__(self, matrix: np.ndarray | None = None, *, table: Sequence[bytes] = (),
                 codes: np.ndarray | None = None) -> None:
        if matrix is None:
            assert codes is not None
            width = max(1, max(len(t) for t in table))
            padded = np.zeros((len(table), width), np.uint8)
            for index, value in enumerate(table):
                padded[index, :len(value)] = np.frombuffer(value, np.uint8)
            self.table, self.codes = padded, codes
            self.rows, self.width = len(codes), width
        else:
            self.table, self.codes = matrix, None
            self.rows, self.width = matrix.shape

    def values(self) -> np.ndarray:
        """An (rows, width) byte matrix."""
        return self.table if self.codes is None else self.table[self.codes]


def render(columns: Sequence[Sequence[Piece]], tail: tuple[Sequence[bytes], np.ndarray] | None = None) -> bytes:
    """CSV lines (``\\n`` ends) from columns, each the concatenation of its pieces, with no loop over rows:
    every row is laid out in one zero-padded matrix, and the padding is squeezed out at the end.

    ``tail`` is an optional last column that is empty on most rows and long on a few (``elements_chain``): a
    table of values and a code per row (0: empty). It is spliced in afterwards so it does not widen the matrix.
    """
    rows = columns[0][0].rows
    width = sum(p.width for pieces in columns for p in pieces) + len(columns) + (1 if tail else 0)
    matrix = np.zeros((rows, width), np.uint8)
    offset = 0
    for pieces in columns:
        for piece in pieces:
            matrix[:, offset:offset + piece.width] = piece.values()
            offset += piece.width
        matrix[:, offset] = ord(",")
        offset += 1
    matrix[:, -1] = ord("\n")
    kept = matrix != 0
    flat = matrix[kept]
    if tail is None or not tail[1].any():
        return flat.tobytes()
    table, codes = tail
    line_ends = np.cumsum(kept.sum(axis=1, dtype=np.int64))
    parts, start = [], 0
    for row in np.nonzero(codes)[0]:
        newline = int(line_ends[row]) - 1
        parts += [flat[start:newline].tobytes(), table[codes[row]]]
        start = newline
    parts.append(flat[start:].tobytes())
    return b"".join(parts)


def csv_field(text: str) -> bytes:
    """One value as CSV writes it: quoted (quotes doubled) when it holds a comma, quote or line break."""
    if any(ch in text for ch in ',"\n\r'):
        text = '"' + text.replace('"', '""') + '"'
    return text.encode()


def digits(values: np.ndarray, width: int) -> np.ndarray:
    """Zero-padded decimal digits of non-negative integers as an (n, width) byte matrix."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (values[:, None] // powers % 10 + 48).astype(np.uint8)


def timestamp_matrix(ms: np.ndarray) -> np.ndarray:
    """``YYYY-MM-DDTHH:MM:SS.mmm`` for ms since :data:`EVENTS_START` (UTC)."""
    base = np.datetime64(EVENTS_START.isoformat(), "ms")
    moments = base + ms.astype("timedelta64[ms]")
    day = moments.astype("datetime64[D]")
    month = moments.astype("datetime64[M]")
    year = moments.astype("datetime64[Y]").astype(np.int64) + 1970
    of_day = (moments - day).astype(np.int64)
    parts = [digits(year, 4), b"-", digits(month.astype(np.int64) % 12 + 1, 2), b"-",
             digits((day - month).astype(np.int64) + 1, 2), b"T", digits(of_day // 3_600_000, 2), b":",
             digits(of_day // 60_000 % 60, 2), b":", digits(of_day // 1000 % 60, 2), b".", digits(of_day % 1000, 3)]
    n = len(ms)
    return np.concatenate([p if isinstance(p, np.ndarray) else np.full((n, 1), p[0], np.uint8) for p in parts],
                          axis=1)


def uuid7_matrix(ms: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """PostHog's event ids: UUID v7 (48-bit Unix ms time, version 7, variant 10, random bits), as text."""
    unix_ms = ms + int((datetime.combine(EVENTS_START, datetime.min.time()) - datetime(1970, 1, 1))
                       .total_seconds() * 1000)
    n = len(ms)
    nibbles = np.empty((n, 32), np.uint8)
    nibbles[:, :12] = (unix_ms[:, None] >> (4 * np.arange(11, -1, -1, dtype=np.int64))) & 0xF
    nibbles[:, 12] = 7
    nibbles[:, 13:] = rng.integers(0, 16, (n, 19), dtype=np.uint8)
    nibbles[:, 16] = 8 | (nibbles[:, 16] & 3)
    text = np.frombuffer(b"0123456789abcdef", np.uint8)[nibbles]
    dash = np.full((n, 1), ord("-"), np.uint8)
    return np.concatenate([text[:, :8], dash, text[:, 8:12], dash, text[:, 12:16], dash, text[:, 16:20], dash,
                           text[:, 20:]], axis=1)


def write_events(directory: Path, users: Users, events: Events, seed: int, *, plain: bool, gzipped: bool = False,
                 block: int = 500_000) -> None:
    """Write the PostHog export (gzipped when asked) and the plain ``events.csv`` (when asked), block by block.

    The gzip stream is byte-for-byte deterministic: empty file name, ``mtime`` 0, level :data:`GZIP_LEVEL`.
    """
    rng = np.random.default_rng([seed, 5])
    user_ids = [u.encode() for u in users.distinct_id]
    accounts = [a.encode() for a in users.accounts]
    event_names = [csv_field(e) for e in EVENT_NAMES]
    chains = [csv_field(c) for c in ELEMENT_CHAINS]
    browsers = [b.encode() for b in BROWSERS]
    suffixes = [s.encode() for s in TIMESTAMP_SUFFIXES]
    server = np.zeros(len(EVENT_NAMES), bool)
    server[list(SERVER_EVENTS)] = True
    targets = [directory / file_names(gzipped)[2]] + ([directory / PLAIN_EVENTS_FILE] if plain else [])
    handles: list[io.BufferedIOBase] = [open(path, "wb") for path in targets]  # noqa: SIM115 - closed below
    raw = handles[0]
    if gzipped:
        handles[0] = gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=GZIP_LEVEL, mtime=0)
    try:
        handles[0].write((",".join(POSTHOG_HEADER) + "\n").encode())
        if plain:
            handles[1].write((",".join(PLAIN_EVENTS_HEADER) + "\n").encode())
        for lo in range(0, len(events), block):
            part = events.take(np.arange(lo, min(len(events), lo + block)))
            by_server = server[part.event]
            stamps = Piece(timestamp_matrix(part.ms))
            name = Piece(table=event_names, codes=part.event)
            user = Piece(table=user_ids, codes=part.user)
            handles[0].write(render([
                [Piece(uuid7_matrix(part.ms, rng))], [name], [user],
                [Piece(table=browsers, codes=np.where(by_server, 0, users.browser[part.user]))],
                [Piece(table=accounts, codes=users.account[part.user])],
                [stamps, Piece(table=suffixes, codes=by_server.astype(np.int8))],
            ], tail=(chains, part.chain)))
            if plain:
                handles[1].write(render([[user], [name], [stamps, Piece(table=[b"Z"], codes=np.zeros(len(part),
                                                                                                     np.int8))]]))
    finally:
        for handle in handles:
            handle.close()
        raw.close()  # a GzipFile leaves the file it wraps open


# -- the command line -----------------------------------------------------------------------------------------------

def generate(out: Path, seed: int = DEFAULT_SEED, events: int = DEFAULT_EVENTS, *,
             plain: bool = False, gzipped: bool = True) -> dict[str, float]:
    """Write every file of :func:`file_names` (and ``events.csv`` when ``plain``) into ``out``.

    Returns a few numbers for the summary.
    """
    out.mkdir(parents=True, exist_ok=True)
    scale = max(events, MIN_COMPANY_EVENTS) / DEFAULT_EVENTS
    company = CompanySimulation(seed, scale).run()
    write_csv(out / FILES[0], CUSTOMER_HEADER, (customer_row(c) for c in company.customers))
    write_csv(out / FILES[1], SUBSCRIPTION_HEADER, (subscription_row(s) for s in company.subscriptions))
    write_csv(out / FILES[4], TARGETS_HEADER, targets_rows(company))
    # the settings the story is built around, which loading the demo sets (kpis.ops.demo)
    (out / SETTINGS_FILE).write_text(json.dumps({"activation_event": ACTIVATION_EVENT,
                                                    "activation_window_days": ACTIVATION_DAYS}, indent=2) + "\n")
    users = build_users(company, seed)
    write_csv(out / FILES[3], MAPPING_HEADER, mapping_rows(users))
    sampled = sample_events(users, seed, events)
    write_events(out, users, sampled, seed, plain=plain, gzipped=gzipped)
    return {
        "customers": len(company.customers),
        "subscriptions": len(company.subscriptions),
        "users": len(users.distinct_id),
        "events": len(sampled),
        "mrr_start": sum(mrr_by_customer(company, date(2024, 11, 30)).values()),
        "mrr_end": sum(mrr_by_customer(company, DATA_END).values()),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """``python sample_data/generate.py [--out DIR] [--seed N] [--events N] [--gzip | --no-gzip]``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="folder to write into (default: sample_data/, or "
                                                  "sample_data/large/ with --events)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    parser.add_argument("--events", type=int, help=f"events in the PostHog export (default {DEFAULT_EVENTS:,}); "
                                                    "the company is scaled to match and events.csv is also written")
    parser.add_argument("--gzip", action=argparse.BooleanOptionalAction, default=None,
                        help="gzip the PostHog export as posthog_events.csv.gz (default: gzipped for the demo set, "
                             "plain CSV with --events; events.csv is never gzipped)")
    args = parser.parse_args(argv)
    if args.events is not None and args.events < 1:
        parser.error("--events must be at least 1")
    out = args.out or (LARGE_DIR if args.events is not None else HERE)
    began = time.perf_counter()
    gzipped = args.events is None if args.gzip is None else args.gzip
    stats = generate(out, args.seed, args.events or DEFAULT_EVENTS, plain=args.events is not None, gzipped=gzipped)
    print(f"wrote {out} in {time.perf_counter() - began:.1f} s: {stats['customers']:,} customers, "
          f"{stats['subscriptions']:,} subscriptions, {stats['users']:,} users, {stats['events']:,} events; "
          f"MRR ${stats['mrr_start']:,.0f} (2024-11-30) -> ${stats['mrr_end']:,.0f} ({DATA_END})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
