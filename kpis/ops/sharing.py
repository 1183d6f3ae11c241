"""The address a shared link starts with. The dashboard shows the full link of the view on screen: the address
the browser used, or, behind a proxy or under another public name, the setting ``public_url``. Never imports
streamlit.

The setting is checked before it is stored and again before it is used: only ``http``/``https`` addresses with a
host and nothing after the path (no query, no fragment, no user name or password), so a link built on it can
only ever point at the dashboard.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from kpis.core.errors import InputError
from kpis.store.db import Store

PUBLIC_URL = "public_url"


def check_base_url(text: str) -> str:
    """``text`` as a base address (no trailing slash), or an :class:`InputError` saying what is wrong.

    >>> check_base_url(" https://kpis.example.com/dash/ ")
    'https://kpis.example.com/dash'
    >>> check_base_url("javascript:x")
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


def public_url(store: Store) -> str | None:
    """The public base address (setting ``public_url``), or None when unset (or no longer valid)."""
    raw = store.get_setting(PUBLIC_URL)
    if not raw:
        return None
    try:
        return check_base_url(raw)
    except InputError:
        return None


def set_public_url(store: Store, text: str) -> str | None:
    """Store the public base address; an empty ``text`` removes it (the browser's address is used again)."""
    value = check_base_url(text) if text.strip() else ""
    store.set_setting(PUBLIC_URL, value)
    return value or None


def full_link(base: str | None, relative: str) -> str:
    """The link to share: ``base`` (an address without a trailing slash) followed by ``relative``
    (``/revenue?grain=month``); the relative link alone when no base is known.

    >>> full_link("https://kpis.example.com", "/revenue?grain=month"), full_link(None, "/?grain=month")
    ('https://kpis.example.com/revenue?grain=month', '/?grain=month')
    """
    return f"{base.rstrip('/')}{relative}" if base else relative
