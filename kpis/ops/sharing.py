"""The address a shared link starts with. The dashboard shows the full link of the view on screen: the address
the browser used, or, behind a proxy or under another public name, the setting ``public_url`` (read and checked
in :mod:`kpis.store.settings`). Never imports streamlit.

The setting is checked before it is stored and again before it is used: only ``http``/``https`` addresses with a
host and nothing after the path (no query, no fragment, no user name or password), so a link built on it can
only ever point at the dashboard.
"""

from __future__ import annotations


def full_link(base: str | None, relative: str) -> str:
    """The link to share: ``base`` (an address without a trailing slash) followed by ``relative``
    (``/revenue?grain=month``); the relative link alone when no base is known.

    >>> full_link("https://kpis.example.com", "/revenue?grain=month"), full_link(None, "/?grain=month")
    ('https://kpis.example.com/revenue?grain=month', '/?grain=month')
    """
    return f"{base.rstrip('/')}{relative}" if base else relative
