"""Recognise which export a file is, from its content; the list of every format we read."""

from __future__ import annotations

from kpis.core.errors import InputError
from kpis.ingest.sources import amplitude, canonical, ga4, mixpanel, posthog, stripe, stripe_json
from kpis.ingest.sources.base import Sniff, Source, shown_value

#: Source modules in order of precedence: specific vendor shapes before our generic ones.
MODULES = (stripe, stripe_json, posthog, amplitude, mixpanel, ga4, canonical)


def all_sources() -> list[Source]:
    """Every format we recognise, in order of precedence."""
    return [source for module in MODULES for source in module.SOURCES]


def detect(sniff: Sniff) -> Source:
    """The source that recognises the file, or an :class:`InputError` listing the formats we know."""
    for source in all_sources():
        if source.detect(sniff):
            return source
    known = "; ".join(s.LABEL for s in all_sources())
    if sniff.kind in ("jsonl", "json"):
        what = ("JSON that is not an event export we know (Amplitude or Mixpanel JSON lines) nor Stripe "
                "subscriptions (API or Stripe CLI JSON)")
    else:
        header = ", ".join(shown_value(h, 40) for h in sniff.header[:8]) + (", ..." if len(sniff.header) > 8 else "")
        what = f"a table whose header ({header}) matches no export we know"
    raise InputError(f"this is {what}. Known formats: {known}. docs/formats.md shows each header.",
                     file=sniff.name)


def label_of(name: str | None) -> str:
    """The plain name of a source for people (``posthog_events`` -> "PostHog events export (CSV)"); the name
    itself when no format has it (a source this version no longer reads).

    >>> label_of("stripe_subscriptions"), label_of("targets_csv"), label_of("gone")
    ('Stripe subscriptions export (Dashboard)', 'Targets CSV', 'gone')
    """
    return next((s.LABEL for s in all_sources() if s.NAME == name), str(name or ""))


#: The sources that read product events (the others read subscriptions, customers, targets, series, rates).
EVENT_SOURCES = ("posthog_events", "amplitude_events", "mixpanel_events", "events_csv")


def event_source_names() -> list[str]:
    """The sources that read product events, in detection order.

    >>> event_source_names()
    ['posthog_events', 'amplitude_events', 'mixpanel_events', 'events_csv']
    """
    return [s.NAME for s in all_sources() if s.NAME in EVENT_SOURCES]
