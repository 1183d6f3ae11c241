"""The ``[access]`` table and roles (:mod:`kpis.core.access`): exact results on small literal tables, and the rules
(case, exact address over domain, editors over viewers, failing closed) checked on generated addresses."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kpis.core import access
from kpis.core.access import (
    AccessConfigError,
    AccessRules,
    Actor,
    email_trusted,
    normalise_address,
    parse_rules,
    permission_allowed,
    refusal,
    role_for,
)

TABLE = {
    "editors": ["Ana@Example.com", "@ops.example.com"],
    "viewers": ["@example.com", "ana@partner.org", "bo@ops.example.com"],
}


def test_a_table_parses_to_lower_case_addresses_and_domains() -> None:
    rules = parse_rules(TABLE)
    assert rules == AccessRules(
        editor_addresses=frozenset({"ana@example.com"}),
        editor_domains=frozenset({"ops.example.com"}),
        viewer_addresses=frozenset({"ana@partner.org", "bo@ops.example.com"}),
        viewer_domains=frozenset({"example.com"}),
        contact="ana@example.com",
        require_verified_email=True,  # the default: a missing email_verified claim is refused
    )


@pytest.mark.parametrize(("email", "role"), [
    ("ana@example.com", "editor"),          # listed address (written Ana@Example.com)
    ("ANA@EXAMPLE.COM", "editor"),          # case is ignored
    ("  ana@example.com ", "editor"),       # surrounding spaces are ignored
    ("cy@example.com", "viewer"),           # @example.com domain
    ("cy@ops.example.com", "editor"),       # @ops.example.com domain (its own entry, not example.com's)
    ("bo@ops.example.com", "viewer"),       # exact address (viewers) beats its domain (editors)
    ("ana@partner.org", "viewer"),
    ("bo@partner.org", None),               # an address listed at partner.org does not open the domain
    ("dan@eng.example.com", None),          # a domain does not cover its subdomains
    ("dan@example.com.evil.test", None),    # nor anything that merely starts with it
    ("ana@example.comx", None),
    ("ana@example.com@evil.test", None),    # not one address
    ("", None),
    (None, None),
    (42, None),
])
def test_roles(email: object, role: str | None) -> None:
    assert role_for(parse_rules(TABLE), email) == role


def test_editors_beat_viewers_at_the_same_level() -> None:
    rules = parse_rules({"editors": ["ana@example.com", "@example.org"],
                         "viewers": ["ana@example.com", "@example.org"]})
    assert role_for(rules, "ana@example.com") == "editor"
    assert role_for(rules, "bo@example.org") == "editor"


def test_contact_is_configurable_and_defaults_to_the_first_editor_address() -> None:
    assert parse_rules({"editors": ["@example.com", "bo@example.com", "ana@example.com"]}).contact == "bo@example.com"
    assert parse_rules({"editors": ["@example.com"]}).contact is None  # no address to name
    assert parse_rules({"viewers": ["@example.com"], "contact": "  the data team\n(#kpis)  "}).contact == \
        "the data team (#kpis)"


def test_lists_are_optional_but_someone_must_be_listed() -> None:
    assert parse_rules({"viewers": ["@example.com"]}).editor_addresses == frozenset()
    with pytest.raises(AccessConfigError, match="no editors and no viewers"):
        parse_rules({"editors": [], "viewers": []})


@pytest.mark.parametrize(("table", "message"), [
    (None, "no \\[access\\] table"),
    ("ana@example.com", "access must be a table"),
    ({"editors": "ana@example.com"}, "access.editors must be a list .* it is str 'ana@example.com'"),
    ({"viewers": {"a": 1}}, "access.viewers must be a list"),
    ({"editors": 3}, "access.editors must be a list .* it is int 3"),
    ({"editors": ["ana@example.com", 7]}, "access.editors, entry 2: 7 is not text"),
    ({"editors": ["example.com"]}, "entry 1: write the domain 'example.com' with a leading @ \\(\"@example.com\"\\)"),
    ({"editors": ["*@example.com"]}, "entry 1: '\\*@example.com' has a wildcard, which is not supported"),
    ({"editors": ["@*.example.com"]}, "has a wildcard"),
    ({"editors": ["o'brien@example.com"], "viewers": []}, None),  # an unusual but valid address
    ({"editors": ["@"]}, "neither an e-mail address"),
    ({"editors": ["ana@"]}, "neither an e-mail address"),
    ({"editors": ["ana@localhost"]}, "neither an e-mail address"),  # a domain needs a dot
    ({"editors": ["ana bo@example.com"]}, "neither an e-mail address"),
    ({"editors": ["@@example.com"]}, "neither an e-mail address"),
    ({"editors": [""]}, "neither an e-mail address"),
    ({"editor": ["ana@example.com"]}, "unknown key editor; the keys are editors, viewers, contact"),
    ({"editors": ["ana@example.com"], "contact": ""}, "access.contact must be a short text"),
    ({"editors": ["ana@example.com"], "contact": ["x"]}, "access.contact must be a short text"),
    ({"editors": ["ana@example.com"], "contact": "x" * 201}, "access.contact must be a short text"),
    ({"editors": ["ana@example.com"], "require_verified_email": "yes"}, "must be true or false"),
])
def test_a_bad_table_is_refused_with_a_message(table: object, message: str | None) -> None:
    if message is None:
        assert role_for(parse_rules(table), "O'Brien@example.com") == "editor"  # type: ignore[arg-type]
        return
    with pytest.raises(AccessConfigError, match=message):
        parse_rules(table)  # type: ignore[arg-type]


@pytest.mark.parametrize(("claims", "required", "trusted"), [
    ({"email_verified": True}, False, True),
    ({"email_verified": True}, True, True),
    ({"email_verified": "true"}, True, True),
    ({"email_verified": " TRUE "}, True, True),
    ({"email_verified": False}, False, False),
    ({"email_verified": "false"}, False, False),
    ({"email_verified": "yes"}, False, False),  # not a value we know: not trusted
    ({"email_verified": 1}, False, False),
    ({}, False, True),                          # the provider does not send the claim (e.g. Entra ID)
    ({"email_verified": None}, False, True),
    ({}, True, False),
    ({"email_verified": None}, True, False),
])
def test_email_trusted(claims: dict[str, object], required: bool, trusted: bool) -> None:
    assert email_trusted(claims, required) is trusted


def test_a_missing_email_verified_claim_is_refused_unless_turned_off() -> None:
    assert email_trusted({}) is False  # the default refuses
    assert parse_rules({"editors": ["ana@example.com"]}).require_verified_email is True
    assert parse_rules({"editors": ["ana@example.com"], "require_verified_email": False}).require_verified_email \
        is False


def test_normalise_address() -> None:
    assert normalise_address(" Ana.Lee+kpi@Example.CO.UK\n") == "ana.lee+kpi@example.co.uk"
    assert normalise_address("ana@example") is None
    assert normalise_address("@example.com") is None


# -- properties ----------------------------------------------------------------------------------------------------

_label = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8)
_odd = st.text("aZ@.* \t'", max_size=8)
domains = st.lists(_label, min_size=2, max_size=3).map(".".join)
locals_ = st.text("abcdefghijklmnopqrstuvwxyz0123456789._+-", min_size=1, max_size=10)
addresses = st.builds(lambda local, domain: f"{local}@{domain}", locals_, domains)


def _mixed_case(text: str, flips: list[bool]) -> str:
    return "".join(c.upper() if flip else c for c, flip in zip(text, flips + [False] * len(text), strict=False))


@given(addresses, st.lists(st.booleans(), max_size=40), st.sampled_from(["editors", "viewers"]))
def test_case_never_matters(address: str, flips: list[bool], key: str) -> None:
    rules = parse_rules({key: [_mixed_case(address, flips[::-1])]})
    assert role_for(rules, _mixed_case(address, flips)) == key[:-1]


@given(addresses, st.sampled_from(["editors", "viewers"]), st.sampled_from(["editors", "viewers"]))
def test_an_exact_address_beats_its_domain(address: str, address_key: str, domain_key: str) -> None:
    domain = "@" + address.split("@")[1]
    rules = parse_rules({address_key: [address], domain_key: [domain]} if address_key != domain_key
                        else {address_key: [address, domain]})
    assert role_for(rules, address) == address_key[:-1]
    assert role_for(rules, "someone.else." + address) == domain_key[:-1]


@given(addresses, addresses)
def test_someone_on_no_list_has_no_role(listed: str, other: str) -> None:
    rules = parse_rules({"editors": [listed]})
    assert role_for(rules, other) == ("editor" if other == listed else None)


_not_a_list = st.one_of(st.text(), st.integers(), st.booleans(), st.floats(allow_nan=False),
                        st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2))


@given(_not_a_list, addresses)
def test_a_key_that_is_not_a_list_is_refused_never_ignored(value: object, viewer: str) -> None:
    with pytest.raises(AccessConfigError, match="access.editors must be a list"):
        parse_rules({"editors": value, "viewers": [viewer]})


@given(st.lists(st.one_of(addresses, st.text(max_size=12), _odd, domains.map("@".__add__)), min_size=1, max_size=5))
def test_a_table_either_parses_exactly_or_is_refused(entries: list[str]) -> None:
    """Every entry is an address or an @domain of the result, or the whole table is refused: no entry is dropped."""
    try:
        rules = parse_rules({"editors": entries})
    except AccessConfigError:
        assert any("*" in e or (normalise_address(e) is None and not (e.strip().startswith("@")
                                                                    and normalise_address("x" + e) is not None))
                   for e in entries)
        return
    for entry in entries:
        text = entry.strip().lower()
        if text.startswith("@"):
            assert text[1:] in rules.editor_domains
            assert role_for(rules, "x" + text) == "editor"
        else:
            assert text in rules.editor_addresses
            assert role_for(rules, text) == "editor"


# -- the one permission check ------------------------------------------------------------------------------------------

WRITE_WORDS = {
    "import": "import files",
    "undo": "undo an import",
    "back_up": "back up the database",
    "load_demo": "load the demo company",
    "remove_demo": "remove the demo company",
    "choose_sources": "choose which source counts",
    "set_inactive_events": "change what counts as activity",
    "set_activation": "set the activation event",
    "change_targets": "change targets",
    "add_note": "add notes",
    "remove_note": "remove notes",
    "edit": "change data",
}


@pytest.mark.parametrize("action", [*WRITE_WORDS, "view"])
def test_editors_may_do_everything_viewers_only_view_and_no_one_else_anything(action: str) -> None:
    assert permission_allowed(Actor("editor", "ana@example.com"), action) is True
    assert permission_allowed(Actor("viewer", "bo@example.com"), action) is (action == "view")
    assert permission_allowed(Actor(None, "cy@example.com"), action) is False
    assert permission_allowed(None, action) is False


def test_an_unknown_action_is_an_error_not_a_refusal_or_a_pass() -> None:
    """A misspelt action must never pass silently, for an editor either."""
    with pytest.raises(ValueError, match="unknown action 'import files'"):
        permission_allowed(Actor("editor"), "import files")


@pytest.mark.parametrize(("action", "words"), WRITE_WORDS.items())
def test_the_refusal_names_the_action_the_viewer_and_whom_to_ask(action: str, words: str) -> None:
    viewer = Actor("viewer", "bo@example.com", "ana@example.com")
    assert refusal(viewer, action) == (f"Only editors can {words}: you are signed in as bo@example.com, a viewer. "
                                       "Nothing was changed. Ask ana@example.com for editor access.")
    assert refusal(None, action) == f"Only editors can {words}, and you are not signed in as one. Nothing was changed."


def test_a_viewer_without_a_contact_is_told_to_ask_whoever_runs_the_dashboard() -> None:
    assert refusal(Actor("viewer", "bo@example.com"), "undo").endswith(
        "Ask the person who runs this dashboard for editor access.")


def test_every_refusal_sentence_is_built_in_kpis_core_access() -> None:
    """The UI shows access's sentences; no string in it refuses or keeps someone out in words of its own."""
    root = Path(__file__).resolve().parents[2]
    words = ("Only editors", "is for editors:", "does not have access", "runs this dashboard")
    found = []
    for source in sorted((root / "app_pages").rglob("*.py")) + [root / "dashboard.py"]:
        tree = ast.parse(source.read_text(encoding="utf-8"))
        docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                      if isinstance(n, ast.Module | ast.FunctionDef | ast.ClassDef) and n.body
                      and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                found += [f"{source.name}:{node.lineno}" for w in words if w in node.value]
    assert found == []
    assert access.read_only("Importing files", None) == ("Importing files is for editors: you are signed in as a "
                                                         "viewer. Ask the person who runs this dashboard for editor "
                                                         "access.")
