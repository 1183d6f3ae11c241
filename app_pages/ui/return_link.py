"""Bring a visitor back to the link they opened once they have signed in.

Streamlit's sign-in always ends on the home page. A product director who opens a shared link and signs in would
land on the overview with the default filters, not on the view they were sent. So while the sign-in screen is
shown, the page and its query are kept on the server for a few minutes, under a hash of this browser's XSRF token.
That token is a secret random value that Streamlit keeps in a cookie across the sign-in round trip. The first run
after sign-in that lands on the bare home page takes the visitor there, once.

Only known page paths and known filter keys are kept, and only links of a sensible size; the pages validate the
values again, as they do for any link. The links live in this module, not in a Streamlit cache, so that no client
can clear them for everyone. When nothing was kept (a sign-in finished in another browser, after more than 15
minutes, or with cookies blocked) sign-in ends on the home page, as before. Streamlit always sets the cookie when
sign-in is configured: XSRF protection cannot be switched off then.
"""

from __future__ import annotations

import binascii
import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import streamlit as st

from app_pages.ui.keys import QUERY_KEYS

#: The cookie in which Streamlit keeps the browser's XSRF token.
XSRF_COOKIE = "_streamlit_xsrf"
#: How long a remembered link waits for its sign-in.
KEEP_SECONDS = 15 * 60
#: At most this many browsers' links are kept (the oldest go first), so signed-out visitors cannot fill memory.
MOST_KEPT = 2_000
#: At most this many values per key (the most any key takes is the 8 retention cohorts).
MOST_VALUES = 8
#: A longer value is dropped, not cut (a cut segment would be refused): segments are ``key=value`` labels from
#: customer attributes, which Stripe allows up to 500 characters.
MOST_CHARS = 600
#: A link whose values add up to more than this is not kept at all (so the kept links take 10 MB at most).
LINK_CHARS = 2_000
#: Streamlit's XSRF token: a 4-byte mask over a 16-byte token.
MASK_BYTES, TOKEN_BYTES = 4, 16


@dataclass(frozen=True)
class Link:
    """A page (its URL path, ``""`` for home) and its query, each key with its values in order."""

    path: str
    query: tuple[tuple[str, tuple[str, ...]], ...]

    def query_params(self) -> dict[str, list[str]]:
        """The query as ``st.switch_page`` takes it."""
        return {key: list(values) for key, values in self.query}


def browser_key(cookie: str | None) -> str | None:
    """A hash of the token inside Streamlit's XSRF cookie (``2|mask|masked token|time``). The cookie's text
    changes at every page load (the mask is new each time), but the token does not. None when there is no
    cookie or it is not in that form."""
    if not cookie:
        return None
    parts = cookie.strip("\"'").split("|")
    if len(parts) != 4 or parts[0] != "2":
        return None
    try:
        mask, masked = binascii.a2b_hex(parts[1]), binascii.a2b_hex(parts[2])
    except (binascii.Error, ValueError):
        return None
    if len(mask) != MASK_BYTES or len(masked) != TOKEN_BYTES:
        return None
    token = bytes(b ^ mask[i % MASK_BYTES] for i, b in enumerate(masked))
    return hashlib.sha256(token).hexdigest()


def link_from(url: str | None, query: Mapping[str, Sequence[str]], paths: Collection[str],
              base_path: str = "") -> Link | None:
    """The link worth coming back to: a known page (the URL's path after the server's ``base_path``) with its
    known query keys; None for the bare home page, an unreadable URL or a link too long to keep."""
    try:
        path = urlsplit(url or "").path
    except ValueError:  # e.g. "http://[::1/x" from a client that is not a browser
        return None
    base = "/" + base_path.strip("/") if base_path.strip("/") else ""
    if base and (path == base or path.startswith(base + "/")):
        path = path[len(base):]
    page = path.strip("/")
    page = page if page in paths else ""
    kept = tuple((key, tuple(v for v in values[:MOST_VALUES] if 0 < len(v) <= MOST_CHARS))
                 for key, values in sorted(query.items()) if key in QUERY_KEYS)
    kept = tuple((key, values) for key, values in kept if values)
    if (not page and not kept) or sum(len(v) for _, values in kept for v in values) > LINK_CHARS:
        return None
    return Link(page, kept)


class Waiting:
    """The links waiting for their visitors' sign-in, by browser key; thread-safe, bounded, each taken once."""

    def __init__(self, keep_seconds: float = KEEP_SECONDS, most: int = MOST_KEPT) -> None:
        self._keep, self._most = keep_seconds, most
        self._links: OrderedDict[str, tuple[float, Link]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, key: str, link: Link, now: float) -> None:
        """Keep ``link`` for ``key`` (the latest link a browser opened wins)."""
        with self._lock:
            self._links.pop(key, None)
            self._links[key] = (now, link)
            while len(self._links) > self._most:
                self._links.popitem(last=False)

    def take(self, key: str, now: float) -> Link | None:
        """The link kept for ``key``, if it is recent enough; it is forgotten either way."""
        with self._lock:
            for old, (when, _) in list(self._links.items()):  # oldest first: drop the stale ones
                if now - when <= self._keep:
                    break
                del self._links[old]
            found = self._links.pop(key, None)
        return found[1] if found else None

    def __len__(self) -> int:
        with self._lock:
            return len(self._links)


#: The server's one set of waiting links.
WAITING = Waiting()


def _this_browser() -> str | None:
    return browser_key(st.context.cookies.get(XSRF_COOKIE))


def remember(paths: Collection[str]) -> None:
    """On the sign-in screen: keep the link this browser opened; the bare home page forgets an earlier one."""
    key = _this_browser()
    if not key:
        return
    link = link_from(st.context.url, {k: st.query_params.get_all(k) for k in st.query_params}, paths,
                     str(st.get_option("server.baseUrlPath") or ""))
    if link:
        WAITING.put(key, link, time.monotonic())
    else:
        WAITING.take(key, time.monotonic())


def bring_back(pages: Mapping[str, st.Page], current: str) -> None:
    """On a signed-in run that landed on the bare home page: go to the link kept for this browser, if any (it
    is forgotten at once, so the visitor can come back home afterwards)."""
    if current or len(st.query_params):
        return
    key = _this_browser()
    link = WAITING.take(key, time.monotonic()) if key else None
    if link and link.path in pages:
        st.switch_page(pages[link.path], query_params=link.query_params())
