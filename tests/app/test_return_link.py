"""The link kept across sign-in: whose browser it is, what of a link is kept, and for how long (the round trip
through a real OIDC provider is in tests/browser/test_auth.py)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app_pages.ui.return_link import LINK_CHARS, MOST_CHARS, MOST_VALUES, Link, Waiting, browser_key, link_from

PATHS = {"", "revenue", "customers", "retention"}


def cookie(token: bytes, mask: bytes, when: int = 1_764_000_000) -> str:
    """Streamlit's XSRF cookie: version 2, the token XOR-ed with a 4-byte mask repeated."""
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(token))
    return f"2|{mask.hex()}|{masked.hex()}|{when}"


@given(st.binary(min_size=16, max_size=16), st.binary(min_size=4, max_size=4), st.binary(min_size=4, max_size=4),
       st.integers(0, 2**40), st.integers(0, 2**40))
def test_one_browser_keeps_its_key_whatever_the_mask(token: bytes, mask: bytes, other: bytes, t1: int,
                                                     t2: int) -> None:
    assert browser_key(cookie(token, mask, t1)) == browser_key(cookie(token, other, t2)) is not None


@given(st.binary(min_size=16, max_size=16), st.binary(min_size=16, max_size=16), st.binary(min_size=4, max_size=4))
def test_two_browsers_have_two_keys(token: bytes, other: bytes, mask: bytes) -> None:
    assert (browser_key(cookie(token, mask)) == browser_key(cookie(other, mask))) == (token == other)


def test_the_key_is_a_hash_not_the_token() -> None:
    token = bytes(range(16))
    key = browser_key(cookie(token, b"\x01\x02\x03\x04"))
    assert key is not None and len(key) == 64 and token.hex() not in key


def test_a_missing_or_strange_cookie_keeps_nothing() -> None:
    sixteen = "00" * 16
    for value in (None, "", "2|zz|00|1", f"1|01020304|{sixteen}|1", "2|0102|", f"2||{sixteen}|5", "abc",
                  f"2|01020304|{sixteen}|1|9", f"2|0102|{sixteen}|1", f"2|01020304|{'00' * 4096}|1"):
        assert browser_key(value) is None, value


def test_a_page_and_its_known_keys_are_kept() -> None:
    link = link_from("http://dash.example/customers?grain=month", {"grain": ["month"], "compare": ["same"]}, PATHS)
    assert link == Link("customers", (("compare", ("same",)), ("grain", ("month",))))
    assert link.query_params() == {"compare": ["same"], "grain": ["month"]}


def test_unknown_keys_and_pages_are_dropped() -> None:
    link = link_from("http://dash.example/admin", {"grain": ["week"], "next": ["https://evil.example"]}, PATHS)
    assert link == Link("", (("grain", ("week",)),))  # an unknown page is home; an unknown key is gone
    assert link_from("http://dash.example/admin", {"next": ["https://evil.example"]}, PATHS) is None
    assert link_from("http://dash.example/revenue/../admin", {}, PATHS) is None


def test_the_bare_home_page_is_not_kept() -> None:
    assert link_from("http://dash.example/", {}, PATHS) is None
    assert link_from("http://dash.example/", {"segment": [""]}, PATHS) is None  # no value: nothing to keep
    assert link_from(None, {}, PATHS) is None


def test_an_unreadable_url_keeps_nothing() -> None:
    assert link_from("http://[::1/revenue", {"grain": ["week"]}, PATHS) is None


def test_the_servers_base_path_comes_off_first() -> None:
    assert link_from("https://acme.example/kpi/retention/", {}, PATHS, "kpi") == Link("retention", ())
    # a base path named like a page: its bare home is home, not that page
    assert link_from("https://acme.example/revenue", {}, PATHS, "/revenue/") is None
    assert link_from("https://acme.example/revenue/customers", {}, PATHS, "revenue") == Link("customers", ())
    assert link_from("https://acme.example/kpi/retention", {}, PATHS) is None  # not a page of this server


def test_a_long_segment_is_kept_whole() -> None:
    segment = "acquisition_channel=" + "Partner referral programme " * 18  # 506 characters, as Stripe allows
    link = link_from("http://d/customers", {"segment": [segment]}, PATHS)
    assert link == Link("customers", (("segment", (segment,)),))


def test_too_long_and_too_many_values_are_dropped() -> None:
    cohorts = [f"2026-{m:02d}-01" for m in range(1, 13)]
    link = link_from("http://d/retention", {"cohorts": cohorts, "segment": ["x" * (MOST_CHARS + 1)]}, PATHS)
    assert link == Link("retention", (("cohorts", tuple(cohorts[:MOST_VALUES])),))  # the segment is gone, not cut


def test_a_link_too_long_to_keep_is_not_kept() -> None:
    many = {key: ["y" * MOST_CHARS] * MOST_VALUES for key in ("grain", "segment", "compare")}
    assert sum(len(v) for values in many.values() for v in values[:MOST_VALUES]) > LINK_CHARS
    assert link_from("http://d/revenue", many, PATHS) is None


def test_a_link_is_taken_once_and_only_by_its_browser() -> None:
    waiting, link = Waiting(), Link("revenue", ())
    waiting.put("a", link, now=0)
    assert waiting.take("b", now=1) is None
    assert waiting.take("a", now=1) == link
    assert waiting.take("a", now=2) is None


def test_the_latest_link_of_a_browser_wins() -> None:
    waiting = Waiting()
    waiting.put("a", Link("revenue", ()), now=0)
    waiting.put("a", Link("retention", ()), now=1)
    assert waiting.take("a", now=2) == Link("retention", ())


def test_a_stale_link_is_forgotten() -> None:
    waiting = Waiting(keep_seconds=60)
    waiting.put("old", Link("revenue", ()), now=0)
    waiting.put("new", Link("customers", ()), now=50)
    assert waiting.take("old", now=61) is None
    assert len(waiting) == 1  # the stale one went; the recent one waits
    assert waiting.take("new", now=110) == Link("customers", ())


def test_the_oldest_go_first_when_full() -> None:
    waiting = Waiting(most=3)
    for i in range(5):
        waiting.put(f"b{i}", Link("revenue", ()), now=i)
    assert len(waiting) == 3
    assert waiting.take("b0", now=5) is None and waiting.take("b1", now=5) is None
    assert waiting.take("b4", now=5) == Link("revenue", ())
