"""Who may do what once sign-in is configured: the ``[access]`` table of ``secrets.toml`` parsed and validated,
and the role of a signed-in e-mail address.

Two roles: an **editor** may change data (import, undo, targets, notes, removing the demo company); a **viewer**
sees every page read-only. Anyone on neither list has no access. Entries are whole addresses
(``ana@example.com``) or whole domains written with a leading ``@`` (``@example.com``: every address at exactly
that domain, not its subdomains). Matching ignores case. An exact address beats a domain (``@example.com`` as
editors and ``bo@example.com`` as viewers makes Bo a viewer), and at the same level editors beat viewers.

Everything here fails closed: a table that cannot be read raises :class:`AccessConfigError` with a message that
names the key and the entry, and no one gets a role from it. See docs/access.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Role = Literal["editor", "viewer"]

#: The keys ``[access]`` may hold; anything else is a typo that would otherwise be ignored silently.
KEYS = ("editors", "viewers", "contact", "require_verified_email")
_LOCAL = r"[^\s@]+"
_DOMAIN = r"[^\s@.]+(?:\.[^\s@.]+)+"
_ADDRESS = re.compile(rf"{_LOCAL}@{_DOMAIN}")
_DOMAIN_ENTRY = re.compile(rf"@{_DOMAIN}")
_MAX_CONTACT = 200


class AccessConfigError(ValueError):
    """The ``[access]`` table is not valid; the message says which key and entry, and how to fix it."""


@dataclass(frozen=True)
class AccessRules:
    """The parsed ``[access]`` table: addresses and domains per role (lower case), the contact for people without
    access, and whether an identity without ``email_verified = true`` is refused (the default)."""

    editor_addresses: frozenset[str] = frozenset()
    editor_domains: frozenset[str] = frozenset()
    viewer_addresses: frozenset[str] = frozenset()
    viewer_domains: frozenset[str] = frozenset()
    contact: str | None = None
    require_verified_email: bool = True


def normalise_address(email: object) -> str | None:
    """``email`` stripped and lower-cased when it is one plain address, else None (so it matches nothing).

    >>> normalise_address("  Ana@Example.COM "), normalise_address("not an address"), normalise_address(None)
    ('ana@example.com', None, None)
    """
    if not isinstance(email, str):
        return None
    text = email.strip().lower()
    return text if _ADDRESS.fullmatch(text) else None


def _entries(access: Mapping[str, object], key: str) -> tuple[list[str], list[str]]:
    """The addresses and the domains (without their ``@``) listed under ``key``, validated, in order."""
    value = access.get(key, [])
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise AccessConfigError(
            f"access.{key} must be a list of e-mail addresses or @domains, e.g. {key} = [\"ana@example.com\", "
            f"\"@example.com\"]; it is {type(value).__name__} {value!r}.")
    addresses: list[str] = []
    domains: list[str] = []
    for position, entry in enumerate(value, start=1):
        if not isinstance(entry, str):
            raise AccessConfigError(f"access.{key}, entry {position}: {entry!r} is not text; write an e-mail "
                                    "address or a domain such as \"@example.com\" in quotes.")
        text = entry.strip().lower()
        if "*" in text:
            raise AccessConfigError(f"access.{key}, entry {position}: {entry!r} has a wildcard, which is not "
                                    "supported; write a whole domain as \"@example.com\".")
        if _DOMAIN_ENTRY.fullmatch(text):
            domains.append(text[1:])
        elif _ADDRESS.fullmatch(text):
            addresses.append(text)
        elif "@" not in text and re.fullmatch(_DOMAIN, text):
            raise AccessConfigError(f"access.{key}, entry {position}: write the domain {entry!r} with a leading "
                                    f"@ (\"@{text}\") so that it is clearly a whole domain.")
        else:
            raise AccessConfigError(f"access.{key}, entry {position}: {entry!r} is neither an e-mail address "
                                    "(ana@example.com) nor a domain (@example.com).")
    return addresses, domains


def parse_rules(access: Mapping[str, object] | None) -> AccessRules:
    """The ``[access]`` table as :class:`AccessRules`; raises :class:`AccessConfigError` on anything doubtful.

    ``contact`` defaults to the first editor listed by address. A table that lists no one is refused, since
    no one could then use the dashboard.

    >>> rules = parse_rules({"editors": ["Ana@Example.com"], "viewers": ["@example.com"]})
    >>> sorted(rules.editor_addresses), sorted(rules.viewer_domains), rules.contact
    (['ana@example.com'], ['example.com'], 'ana@example.com')
    """
    if access is None:
        raise AccessConfigError("Sign-in is configured ([auth]) but there is no [access] table saying who may "
                                "see the dashboard: add one with editors = [...] and viewers = [...].")
    if not isinstance(access, Mapping):
        raise AccessConfigError(f"access must be a table ([access]), not {type(access).__name__}.")
    unknown = sorted(str(k) for k in access if k not in KEYS)
    if unknown:
        raise AccessConfigError(f"access has unknown key{'s' if len(unknown) > 1 else ''} "
                                f"{', '.join(unknown)}; the keys are {', '.join(KEYS)}.")
    editor_addresses, editor_domains = _entries(access, "editors")
    viewer_addresses, viewer_domains = _entries(access, "viewers")
    if not (editor_addresses or editor_domains or viewer_addresses or viewer_domains):
        raise AccessConfigError("access lists no editors and no viewers, so no one could use the dashboard.")
    contact = access.get("contact")
    if contact is not None:
        if not isinstance(contact, str) or not contact.strip() or len(contact) > _MAX_CONTACT:
            raise AccessConfigError(f"access.contact must be a short text (who to ask for access, e.g. an "
                                    f"e-mail address); it is {contact!r}.")
        contact = " ".join(contact.split())
    elif editor_addresses:
        contact = editor_addresses[0]
    verified = access.get("require_verified_email", True)
    if not isinstance(verified, bool):
        raise AccessConfigError(f"access.require_verified_email must be true or false; it is {verified!r}.")
    return AccessRules(frozenset(editor_addresses), frozenset(editor_domains), frozenset(viewer_addresses),
                       frozenset(viewer_domains), contact, verified)


def role_for(rules: AccessRules, email: object) -> Role | None:
    """The role of ``email``: an exact address first (editors, then viewers), then its domain (editors, then
    viewers); None for anyone on neither list or for text that is not one address.

    >>> rules = parse_rules({"editors": ["@example.com"], "viewers": ["bo@example.com", "@partner.org"]})
    >>> role_for(rules, "ANA@example.com"), role_for(rules, "bo@example.com"), role_for(rules, "cy@partner.org")
    ('editor', 'viewer', 'viewer')
    >>> role_for(rules, "dan@eng.example.com") is None
    True
    """
    address = normalise_address(email)
    if address is None:
        return None
    if address in rules.editor_addresses:
        return "editor"
    if address in rules.viewer_addresses:
        return "viewer"
    domain = address.rsplit("@", 1)[1]
    if domain in rules.editor_domains:
        return "editor"
    if domain in rules.viewer_domains:
        return "viewer"
    return None


def email_trusted(claims: Mapping[str, object], require_verified: bool = True) -> bool:
    """Whether the provider vouches for the ``email`` claim: never when ``email_verified`` is false (a boolean,
    the text ``"false"`` or any value but true); when the claim is missing, only if ``require_verified`` is
    turned off (``require_verified_email = false``, for a single-tenant Microsoft Entra ID app; see
    docs/access.md).

    >>> email_trusted({"email_verified": True}), email_trusted({"email_verified": "false"}), email_trusted({})
    (True, False, False)
    >>> email_trusted({}, require_verified=False)
    True
    """
    if "email_verified" not in claims or claims["email_verified"] is None:
        return not require_verified
    verified = claims["email_verified"]
    return verified is True or (isinstance(verified, str) and verified.strip().lower() == "true")


# -- permissions -------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Actor:
    """Who asks: their role (None: no access, or not signed in), their address, and who to ask for more access."""

    role: Role | None
    email: str | None = None
    contact: str | None = None


#: The actions that change data, each with the words a refusal uses for it. Only editors may take them.
WRITES = {
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
#: The actions that only read: every role may take them.
READS = ("view",)
_NO_CONTACT = "the person who runs this dashboard"


def permission_allowed(actor: Actor | None, action: str, resource: object = None) -> bool:
    """Whether ``actor`` may take ``action`` (a key of :data:`WRITES`, or ``"view"``); the one check every page
    and every write asks. ``resource`` (what the action is on) is for checks that depend on it; none does yet.
    An action that is not listed raises ValueError, so that a misspelt one never passes.

    >>> editor, viewer = Actor("editor"), Actor("viewer")
    >>> permission_allowed(editor, "undo"), permission_allowed(viewer, "undo"), permission_allowed(viewer, "view")
    (True, False, True)
    >>> permission_allowed(None, "view"), permission_allowed(Actor(None), "view")
    (False, False)
    """
    if action not in WRITES and action not in READS:
        raise ValueError(f"unknown action {action!r}; the actions are {', '.join((*WRITES, *READS))}")
    if actor is None or actor.role is None:
        return False
    return actor.role == "editor" or action in READS


def refusal(actor: Actor | None, action: str) -> str:
    """The sentence that refuses ``action`` to ``actor``: what was asked, who is asking, that nothing changed and
    whom to ask.

    >>> said = refusal(Actor("viewer", "bo@example.com", "ana@example.com"), "undo")
    >>> for sentence in said.split(". "):
    ...     print(sentence)
    Only editors can undo an import: you are signed in as bo@example.com, a viewer
    Nothing was changed
    Ask ana@example.com for editor access.
    >>> refusal(None, "add_note")
    'Only editors can add notes, and you are not signed in as one. Nothing was changed.'
    """
    words = WRITES.get(action, action)
    if actor is not None and actor.role == "viewer" and actor.email:
        return (f"Only editors can {words}: you are signed in as {actor.email}, a viewer. Nothing was changed. "
                f"Ask {ask_whom(actor.contact)} for editor access.")
    return f"Only editors can {words}, and you are not signed in as one. Nothing was changed."


#: What the upload route answers a session that may not import (the file is not stored).
UPLOAD_REFUSED = "Only editors can upload files to this dashboard."


def ask_whom(contact: str | None) -> str:
    """Who to ask for access: the ``[access]`` table's contact, else the person running the dashboard.

    >>> ask_whom("ana@example.com"), ask_whom(None)
    ('ana@example.com', 'the person who runs this dashboard')
    """
    return contact or _NO_CONTACT


def read_only(what: str, contact: str | None) -> str:
    """What a viewer is told where an editor could change something (``what``: ``"Importing files"``).

    >>> read_only("Undoing", "ana@x.org")
    'Undoing is for editors: you are signed in as a viewer. Ask ana@x.org for editor access.'
    """
    return f"{what} is for editors: you are signed in as a viewer. Ask {ask_whom(contact)} for editor access."


def no_access(who: str, contact: str | None) -> str:
    """What someone signed in without a role is told.

    >>> no_access("cy@x.org", "ana@x.org")
    'You are signed in as cy@x.org, which does not have access to this dashboard. Ask ana@x.org to add you.'
    """
    return (f"You are signed in as {who}, which does not have access to this dashboard. "
            f"Ask {ask_whom(contact)} to add you.")


def kept_out(problem: str, contact: str | None) -> str:
    """What someone kept out for ``problem`` (an unverified address, ...) is told.

    >>> kept_out("Your e-mail address is not verified.", None)
    'Your e-mail address is not verified. Ask the person who runs this dashboard for help.'
    """
    return f"{problem} Ask {ask_whom(contact)} for help."
