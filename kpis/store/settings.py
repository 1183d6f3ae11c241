"""Every setting, read and checked in one place: the ones stored in the database (``timezone``,
``inactive_events``, ``event_sources``, ``currency``, ``public_url``, ``activation_event``,
``activation_window_days``, ``at_risk_drop``) and the numbers read from the environment
(``KPI_IMPORT_TIMEOUT``, ``KPI_BACKUPS_KEPT``, ...).

A stored setting is checked before it is written (a bad value is refused with a one-line message naming the
setting) and again when it is read: a value that is not valid (a file edited by hand) reads as the default.
Writes go through :meth:`kpis.store.db.Store.set_setting`, which rebuilds the derived engagement tables in the same
transaction when the setting is one they depend on.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar
from urllib.parse import urlsplit
from zoneinfo import available_timezones

from kpis.core.errors import InputError

T = TypeVar("T")

TIMEZONE = "timezone"
INACTIVE_EVENTS = "inactive_events"
EVENT_SOURCES = "event_sources"
CURRENCY = "currency"
PUBLIC_URL = "public_url"
ACTIVATION_EVENT = "activation_event"
ACTIVATION_WINDOW = "activation_window_days"
AT_RISK_DROP = "at_risk_drop"
#: The settings a user sets (``python -m kpis settings``), in the order they are listed.
STORED = (TIMEZONE, INACTIVE_EVENTS, CURRENCY, EVENT_SOURCES, PUBLIC_URL, ACTIVATION_EVENT, ACTIVATION_WINDOW,
          AT_RISK_DROP)
#: The activation window's default and the longest one accepted, in days.
DEFAULT_ACTIVATION_WINDOW = 7
MAX_ACTIVATION_WINDOW = 90
#: How an activation KPI says that the activation event is not set, and where to set it.
NO_ACTIVATION_EVENT = ("set the activation event: python -m kpis settings activation_event NAME, "
                       "or on the Data page")
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


def check_activation_event(text: str) -> str:
    """An event name for ``activation_event``: trimmed, not blank, on one line.

    >>> check_activation_event("  report_created ")
    'report_created'
    >>> check_activation_event(" ")
    Traceback (most recent call last):
    ...
    kpis.core.errors.InputError: activation_event: expected an event name such as report_created, got ' '
    """
    name = text.strip() if isinstance(text, str) else ""
    if not name or any(ord(ch) < 32 for ch in name):
        raise InputError(f"{ACTIVATION_EVENT}: expected an event name such as report_created, got {str(text)[:80]!r}")
    return name


def check_activation_window(value: str | int) -> int:
    """A number of days for ``activation_window_days``: a whole number from 1 to :data:`MAX_ACTIVATION_WINDOW`.

    >>> check_activation_window(" 14 "), check_activation_window(1)
    (14, 1)
    >>> check_activation_window("0")
    Traceback (most recent call last):
    ...
    kpis.core.errors.InputError: activation_window_days: expected a whole number of days from 1 to 90, got '0'
    """
    raw = str(value).strip()
    days = int(raw) if raw.isdecimal() and raw.isascii() else 0
    if not 1 <= days <= MAX_ACTIVATION_WINDOW:
        raise InputError(f"{ACTIVATION_WINDOW}: expected a whole number of days from 1 to {MAX_ACTIVATION_WINDOW}, "
                         f"got {raw[:20]!r}")
    return days


def unknown_event_note(name: str, known: Sequence[str]) -> str | None:
    """A note (not an error: the events may come later) when no imported event has the name ``name``.

    >>> unknown_event_note("signup", ["view"])
    "note: no imported event is named 'signup' yet: nobody counts as activated until one is"
    >>> unknown_event_note("view", ["view"]) is None
    True
    """
    if name in known:
        return None
    return f"note: no imported event is named {name!r} yet: nobody counts as activated until one is"


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


def _checked(store: SettingsStore, key: str, check: Callable[[str], T], default: T) -> T:
    """Setting ``key`` through its check, or ``default`` when unset or no longer valid (a value stored by an older
    version, or by hand): a read never fails on a bad stored value, a write always refuses one."""
    raw = store.get_setting(key)
    try:
        return check(raw) if raw else default
    except InputError:
        return default


def public_url(store: SettingsStore) -> str | None:
    """The public base address (setting ``public_url``), or None when unset (or no longer valid)."""
    return _checked(store, PUBLIC_URL, check_public_url, None)


def activation_event(store: SettingsStore) -> str | None:
    """The event that marks a user as activated (setting ``activation_event``), or None when unset."""
    return _checked(store, ACTIVATION_EVENT, check_activation_event, None)


def activation_window_days(store: SettingsStore) -> int:
    """How many days from their first active day a user has to do the activation event (setting
    ``activation_window_days``, default :data:`DEFAULT_ACTIVATION_WINDOW`)."""
    return _checked(store, ACTIVATION_WINDOW, check_activation_window, DEFAULT_ACTIVATION_WINDOW)


def at_risk_drop(store: SettingsStore) -> float:
    """The fall in active users that puts a paying account at risk (setting ``at_risk_drop``, default 0.3)."""
    return _checked(store, AT_RISK_DROP, check_at_risk_drop, DEFAULT_AT_RISK_DROP)


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


def set_activation(store: SettingsStore, event: str, window: str | int, known: Sequence[str]) -> str | None:
    """Set the activation event and window together (the Data page's form), both checked before either is
    written; an empty ``event`` unsets it. Returns :func:`unknown_event_note`'s note, if any."""
    days = check_activation_window(window)
    note = set_activation_event(store, event, known)
    store.set_setting(ACTIVATION_WINDOW, str(days))
    return note


def set_activation_event(store: SettingsStore, text: str, known: Sequence[str]) -> str | None:
    """Set ``activation_event`` (an empty ``text`` unsets it: activation KPIs then ask for one); returns a note
    when ``known`` (the imported event names) holds no such event."""
    name = check_activation_event(text) if text.strip() else ""
    store.set_setting(ACTIVATION_EVENT, name)
    return unknown_event_note(name, known) if name else None


def set_activation_window(store: SettingsStore, value: str | int) -> int:
    """Set ``activation_window_days``; returns the days stored."""
    days = check_activation_window(value)
    store.set_setting(ACTIVATION_WINDOW, str(days))
    return days


def set_from_text(store: SettingsStore, key: str, text: str, known_sources: Sequence[str],
                  known_events: Sequence[str] = ()) -> str | None:
    """Set one of :data:`STORED` from its text form (lists comma separated), as typed on the command line;
    returns a note to show beside the value (an activation event no import holds), if any."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    if key == ACTIVATION_EVENT:
        return set_activation_event(store, text, known_events)
    if key == ACTIVATION_WINDOW:
        set_activation_window(store, text)
        return None
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
    return None
