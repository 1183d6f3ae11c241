"""Every setting, read and checked in one place: the ones stored in the database (``timezone``,
``inactive_events``, ``event_sources``, ``currency``, ``public_url``, ``at_risk_drop``) and the numbers read from
the environment (``KPI_IMPORT_TIMEOUT``, ``KPI_BACKUPS_KEPT``, ...).

A stored setting is checked before it is written (a bad value is refused with a one-line message naming the
setting) and again when it is read: a value that is not valid (a file edited by hand) reads as the default.
Writes go through :meth:`kpis.store.db.Store.set_setting`, which rebuilds the derived engagement tables in the same
transaction when the setting is one they depend on.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from typing import Protocol
from urllib.parse import urlsplit
from zoneinfo import available_timezones

from kpis.core.errors import InputError

TIMEZONE = "timezone"
INACTIVE_EVENTS = "inactive_events"
EVENT_SOURCES = "event_sources"
CURRENCY = "currency"
PUBLIC_URL = "public_url"
AT_RISK_DROP = "at_risk_drop"
#: The settings a user sets (``python -m kpis settings``), in the order they are listed.
STORED = (TIMEZONE, INACTIVE_EVENTS, CURRENCY, EVENT_SOURCES, PUBLIC_URL, AT_RISK_DROP)
#: ``at_risk_drop`` unless set: an account is at risk when its active users fell by 30% or more.
DEFAULT_AT_RISK_DROP = 0.3
#: How many settings writes the database has seen: part of the store's data version, so that every cache of KPI
#: values (which a timezone or an inactive event changes) is keyed on the settings too. Not a user setting.
WRITES = "settings_writes"


class SettingsStore(Protocol):
    """What the settings need of a store (:class:`kpis.store.db.Store`)."""

    def get_setting(self, key: str, default: str | None = None) -> str | None: ...

    def set_setting(self, key: str, value: str) -> None: ...


# -- numbers from the environment -----------------------------------------------------------------------------------

def env_number(name: str, default: float, expected: str, *, whole: bool = False, least: float = 1) -> float:
    """The number in the environment variable ``name`` (``default`` when unset or blank), at least ``least``;
    ``whole`` accepts only digits. Anything else is an :class:`InputError` naming the variable and ``expected``.

    >>> env_number("KPI_EXAMPLE_UNSET", 10, "a number such as 10")
    10
    >>> os.environ["KPI_EXAMPLE"] = "0"
    >>> env_number("KPI_EXAMPLE", 10, "a number of seconds such as 600 (0: no limit)", least=0)
    0.0
    >>> env_number("KPI_EXAMPLE", 10, "a number of backups such as 10", whole=True)
    Traceback (most recent call last):
    ...
    kpis.core.errors.InputError: KPI_EXAMPLE: expected a number of backups such as 10, got '0'
    >>> del os.environ["KPI_EXAMPLE"]
    """
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    value = _whole(raw) if whole else _finite(raw)
    if value is None or value < least:
        raise InputError(f"{name}: expected {expected}, got {raw!r}")
    return value


def _whole(raw: str) -> int | None:
    return int(raw) if raw.isdecimal() else None


def _finite(raw: str) -> float | None:
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


# -- checks ---------------------------------------------------------------------------------------------------------

def check_timezone(name: str) -> str:
    """``name`` when it is an IANA time zone (``Europe/Berlin``) or ``UTC``, else an :class:`InputError`.

    >>> check_timezone("Europe/Berlin")
    'Europe/Berlin'
    """
    if name != "UTC" and name not in available_timezones():
        raise InputError(f"unknown time zone {name!r}: use an IANA name such as Europe/Berlin")
    return name


def check_event_names(names: Sequence[str]) -> list[str]:
    """Event names for ``inactive_events``: each a non-blank string, kept once, in their order.

    >>> check_event_names(["$pageleave", "$identify", "$pageleave"])
    ['$pageleave', '$identify']
    """
    if any(not isinstance(n, str) or not n.strip() for n in names):
        raise InputError(f"{INACTIVE_EVENTS}: expected event names, got {list(names)!r}")
    return list(dict.fromkeys(names))


def check_event_sources(names: Sequence[str], known: Sequence[str]) -> list[str]:
    """Sources for ``event_sources``: each one of ``known`` (the sources that read product events), each once.

    >>> check_event_sources(["posthog_events"], ["posthog_events", "events_csv"])
    ['posthog_events']
    """
    unknown = [n for n in names if n not in known]
    if unknown:
        raise InputError(f"{', '.join(unknown)}: not a source of product events; use some of {', '.join(known)}")
    if len(set(names)) != len(names):
        raise InputError("each source may be listed once")
    return list(names)


def check_currency(text: str) -> str:
    """A three-letter currency code, upper case.

    >>> check_currency(" eur ")
    'EUR'
    """
    code = text.strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise InputError(f"expected a three-letter currency code such as EUR, got {text!r}")
    return code


def check_public_url(text: str) -> str:
    """``text`` as a base address (no trailing slash), or an :class:`InputError` saying what is wrong: only
    ``http``/``https`` with a host and nothing after the path (no query, fragment, user name or password).

    >>> check_public_url(" https://kpis.example.com/dash/ ")
    'https://kpis.example.com/dash'
    >>> check_public_url("javascript:x")
    Traceback (most recent call last):
    ...
    kpis.core.errors.InputError: public_url: expected an address such as https://kpis.example.com, got 'javascript:x'
    """
    value = text.strip()
    try:
        parts = urlsplit(value)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        parts, port_ok = None, False
    if (parts is None or parts.scheme not in ("http", "https") or not parts.hostname or not port_ok
            or parts.query or parts.fragment or parts.username or parts.password
            or any(ch.isspace() or ord(ch) < 32 for ch in value)):
        raise InputError(f"{PUBLIC_URL}: expected an address such as https://kpis.example.com, got {value[:80]!r}")
    return value.rstrip("/")


def check_at_risk_drop(text: str) -> float:
    """The fall in an account's active users that puts it at risk: a fraction above 0 and below 1.

    >>> check_at_risk_drop(" 0.25 ")
    0.25
    >>> check_at_risk_drop("30%")
    Traceback (most recent call last):
    ...
    kpis.core.errors.InputError: at_risk_drop: expected a fraction above 0 and below 1 such as 0.3, got '30%'
    """
    value = _finite(text.strip())
    if value is None or not 0 < value < 1:
        raise InputError(f"{AT_RISK_DROP}: expected a fraction above 0 and below 1 such as 0.3, got {text.strip()!r}")
    return value


# -- stored values as read ------------------------------------------------------------------------------------------

def parse_timezone(raw: str | None) -> str:
    """A stored ``timezone``: the zone, or UTC when unset or not valid.

    >>> parse_timezone(None), parse_timezone("Mars/Olympus"), parse_timezone("Europe/Berlin")
    ('UTC', 'UTC', 'Europe/Berlin')
    """
    try:
        return check_timezone(raw) if raw else "UTC"
    except InputError:
        return "UTC"


def parse_names(raw: str | None) -> list[str]:
    """A stored list of names (``inactive_events``, ``event_sources``: JSON); empty when unset or not valid.

    >>> parse_names('["a", "b"]'), parse_names(None), parse_names("not json"), parse_names('[1]')
    (['a', 'b'], [], [], [])
    """
    try:
        value = json.loads(raw) if raw else []
    except ValueError:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return []
    return value


def timezone(store: SettingsStore) -> str:
    """The reporting time zone (setting ``timezone``, default UTC)."""
    return parse_timezone(store.get_setting(TIMEZONE))


def inactive_events(store: SettingsStore) -> list[str]:
    """Event names that do not make a user active (setting ``inactive_events``, a JSON list; default none)."""
    return parse_names(store.get_setting(INACTIVE_EVENTS))


def event_sources(store: SettingsStore) -> list[str]:
    """The sources that count where they overlap, in order of preference (setting ``event_sources``, a JSON list
    of source names such as ``posthog_events``; default none)."""
    return parse_names(store.get_setting(EVENT_SOURCES))


def currency(store: SettingsStore) -> str | None:
    """The reporting currency chosen by hand (setting ``currency``), or None."""
    try:
        return check_currency(store.get_setting(CURRENCY) or "")
    except InputError:
        return None


def public_url(store: SettingsStore) -> str | None:
    """The public base address (setting ``public_url``), or None when unset (or no longer valid)."""
    raw = store.get_setting(PUBLIC_URL)
    try:
        return check_public_url(raw) if raw else None
    except InputError:
        return None


def at_risk_drop(store: SettingsStore) -> float:
    """The fall in active users that puts a paying account at risk (setting ``at_risk_drop``, default 0.3)."""
    raw = store.get_setting(AT_RISK_DROP)
    try:
        return check_at_risk_drop(raw) if raw else DEFAULT_AT_RISK_DROP
    except InputError:
        return DEFAULT_AT_RISK_DROP


# -- writes ---------------------------------------------------------------------------------------------------------

def set_timezone(store: SettingsStore, name: str) -> None:
    """Set the reporting time zone; only IANA names (``Europe/Berlin``) are accepted."""
    store.set_setting(TIMEZONE, check_timezone(name))


def set_inactive_events(store: SettingsStore, names: Sequence[str]) -> list[str]:
    """Set :func:`inactive_events` (each name once); returns the list stored."""
    checked = check_event_names(names)
    store.set_setting(INACTIVE_EVENTS, json.dumps(checked))
    return checked


def add_inactive_events(store: SettingsStore, names: Sequence[str]) -> list[str]:
    """Add ``names`` to :func:`inactive_events` (each once, the earlier ones kept first); returns the new list."""
    return set_inactive_events(store, [*inactive_events(store), *names])


def set_event_sources(store: SettingsStore, names: Sequence[str], known: Sequence[str]) -> None:
    """Set :func:`event_sources`; only ``known`` sources (those that read product events) are accepted, each once."""
    store.set_setting(EVENT_SOURCES, json.dumps(check_event_sources(names, known)))


def set_currency(store: SettingsStore, text: str) -> str:
    """Set the reporting currency (a three-letter code); returns it as stored."""
    code = check_currency(text)
    store.set_setting(CURRENCY, code)
    return code


def set_public_url(store: SettingsStore, text: str) -> str | None:
    """Store the public base address; an empty ``text`` removes it (the browser's address is used again)."""
    value = check_public_url(text) if text.strip() else ""
    store.set_setting(PUBLIC_URL, value)
    return value or None


def set_from_text(store: SettingsStore, key: str, text: str, known_sources: Sequence[str]) -> None:
    """Set one of :data:`STORED` from its text form (lists comma separated), as typed on the command line."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    if key == TIMEZONE:
        set_timezone(store, text)
    elif key == INACTIVE_EVENTS:
        set_inactive_events(store, names)
    elif key == EVENT_SOURCES:
        set_event_sources(store, names, known_sources)
    elif key == PUBLIC_URL:
        set_public_url(store, text)
    elif key == CURRENCY:
        set_currency(store, text)
    elif key == AT_RISK_DROP:
        store.set_setting(AT_RISK_DROP, repr(check_at_risk_drop(text)))
    else:
        raise InputError(f"unknown setting {key!r}; use one of {', '.join(STORED)}")
