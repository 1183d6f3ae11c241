"""Sign-in and roles in the app: who is looking (:func:`visitor`), the screens shown to anyone who may not see
the dashboard (:func:`gate`), the sidebar's account box, and :func:`refusal`, the check every function that
changes data calls before it writes (through :mod:`app_pages.ui.actions`); what a role may do is decided in one
place, :func:`kpis.core.access.permission_allowed`.

Without an ``[auth]`` table in ``secrets.toml`` the dashboard runs in local single-user mode and everyone is an
editor (unless there is an ``[access]`` table: then ``[auth]`` is taken to be missing or misspelt, and the
dashboard stays closed). With one, every page needs sign-in through Streamlit's OIDC support (``st.login``),
and the role comes from the ``[access]`` table (:mod:`kpis.core.access`). The role is worked out again from
``st.user`` and the secrets on the server at each check, so a viewer's session cannot make itself an editor.
Configuration mistakes are shown to visitors as one generic message; the details go to the server log only.
See docs/access.md.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import streamlit as st
from streamlit.errors import StreamlitAPIException, StreamlitSecretNotFoundError

from app_pages.ui import return_link
from app_pages.ui.text import message, plain
from kpis.core import access
from kpis.core.access import AccessConfigError, Role, email_trusted, normalise_address, parse_rules, role_for

logger = logging.getLogger(__name__)

Mode = Literal["local", "signed_out", "allowed", "no_access", "unverified", "misconfigured"]
LOCAL_MODE_NOTE = "Local single-user mode: no sign-in configured"
#: All that visitors are told about a configuration mistake; the details go to the server log only.
MISCONFIGURED_MESSAGE = ("Sign-in is not configured correctly; the person who runs the dashboard has the details in "
                         "the server log.")


@dataclass(frozen=True)
class Visitor:
    """Who is looking and what they may do; ``problem`` says why someone is kept out."""

    mode: Mode
    role: Role | None = None
    email: str | None = None
    name: str | None = None
    contact: str | None = None
    problem: str | None = None
    signed_in: bool = False

    @property
    def actor(self) -> access.Actor:
        """This visitor as :func:`kpis.core.access.permission_allowed` asks about them."""
        return access.Actor(self.role, self.email, self.contact)

    @property
    def can_edit(self) -> bool:
        """Whether this visitor may change data (always in local mode)."""
        return access.permission_allowed(self.actor, "edit")

    @property
    def who(self) -> str:
        """The name recorded with what this visitor imports or notes: the e-mail address, or ``local``."""
        return self.email or "local"

    @property
    def ask(self) -> str:
        """Who to ask for access."""
        return access.ask_whom(self.contact)


def _secrets() -> dict[str, Any] | None:
    """The secrets as a plain dict; None when there is no secrets file at all (local mode).

    A secrets file that exists but cannot be read raises :class:`AccessConfigError`: it may hold the ``[auth]``
    table, so the dashboard must not fall back to local mode (where everyone edits).
    """
    try:
        return st.secrets.to_dict()
    except StreamlitSecretNotFoundError as exc:
        if getattr(exc, "error_id", None) == "no-secrets-found":
            return None
        raise AccessConfigError(f"The secrets file could not be read: {exc}") from exc


def _auth_table(secrets: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The ``[auth]`` table, None when sign-in is not configured."""
    if secrets is None or "auth" not in secrets:
        return None
    auth = secrets["auth"]
    if not isinstance(auth, Mapping):
        raise AccessConfigError("auth must be a table ([auth]) with redirect_uri, cookie_secret and the provider's "
                                "client_id, client_secret and server_metadata_url.")
    return auth


def providers(auth: Mapping[str, Any]) -> list[str | None]:
    """The sign-in providers of an ``[auth]`` table: None for the settings written directly in ``[auth]``, and
    the name of each ``[auth.NAME]`` sub-table."""
    named = [str(k) for k, v in auth.items() if isinstance(v, Mapping) and "client_id" in v]
    return ([None] if "client_id" in auth or not named else []) + named


def visitor() -> Visitor:
    """Who is looking, from the secrets and ``st.user`` of this session, read on the server."""
    try:
        secrets = _secrets() or {}
        if _auth_table(secrets) is None:
            if "access" in secrets:  # sign-in was meant: [auth] is missing or misspelt, so fail closed
                raise AccessConfigError("The secrets have an [access] table but no [auth] table (missing or "
                                        "misspelt), so sign-in is not configured; refusing to run in local mode, "
                                        "where everyone can edit. Add [auth] (see docs/access.md), or remove "
                                        "[access] for local single-user mode.")
            return Visitor("local", role="editor")
        rules = parse_rules(secrets.get("access"))
    except AccessConfigError as exc:
        return Visitor("misconfigured", problem=str(exc), signed_in=bool(st.user.get("is_logged_in")))
    user = st.user.to_dict()
    if user.get("is_logged_in") is not True:
        return Visitor("signed_out", contact=rules.contact)
    name = user.get("name") if isinstance(user.get("name"), str) else None
    email = normalise_address(user.get("email"))
    if email is None:
        return Visitor("no_access", name=name, contact=rules.contact, signed_in=True,
                       problem="Your sign-in did not tell us an e-mail address, which is what access is given by.")
    if not email_trusted(user, rules.require_verified_email):
        return Visitor("unverified", email=email, name=name, contact=rules.contact, signed_in=True,
                       problem=f"Your identity provider has not verified the address {email}, so it cannot be "
                               "used to give access.")
    role = role_for(rules, email)
    if role is None:
        return Visitor("no_access", email=email, name=name, contact=rules.contact, signed_in=True)
    return Visitor("allowed", role=role, email=email, name=name, contact=rules.contact, signed_in=True)


def refusal(action: str) -> str | None:
    """None when the person in this session may take ``action`` (a key of :data:`kpis.core.access.WRITES`, e.g.
    ``"undo"``); else the sentence saying why not. Functions that write ask this first, whatever the page
    showed."""
    current = visitor()
    if access.permission_allowed(current.actor, action):
        return None
    return access.refusal(current.actor if current.mode == "allowed" else None, action)


def _sign_in_button(provider: str | None, several: bool) -> None:
    label = f"Sign in with {provider[:1].upper()}{provider[1:]}" if several and provider else "Sign in"
    if st.button(label, type="primary", icon=":material/login:", key=f"sign_in_{provider or 'default'}"):
        try:
            st.login(provider) if provider else st.login()
        except StreamlitAPIException as exc:  # e.g. [auth] lacks cookie_secret, or Authlib is not installed
            logger.error("sign-in is not set up correctly: %s", exc)
            _say("error", MISCONFIGURED_MESSAGE)


def _sign_out_button(where: Any = st) -> None:
    if where.button("Sign out", icon=":material/logout:", key="sign_out"):
        st.logout()


def _say(level: Literal["info", "warning", "error"], text: str) -> None:
    message(level, text)


def gate(return_paths: Collection[str] = ()) -> Visitor:
    """The visitor, when they may see the dashboard; otherwise draw the sign-in, no-access or configuration
    screen and stop the run, before anything reads the data. On the sign-in screen, the link opened (when its
    page is one of ``return_paths``) is kept for after sign-in (:mod:`app_pages.ui.return_link`)."""
    current = visitor()
    if current.mode in ("local", "allowed"):
        return current
    st.title("CPO KPI dashboard")
    if current.mode == "signed_out":
        return_link.remember(return_paths)
        st.write("Sign in to see the company's KPIs.")
        auth = _auth_table(_secrets()) or {}
        found = providers(auth)
        for provider in found:
            _sign_in_button(provider, len(found) > 1)
    elif current.mode == "misconfigured":
        # The details (entries of [access], the secrets file's path, TOML errors) are for the server log only.
        logger.error("access is not configured correctly, so the dashboard stays closed: %s", current.problem)
        _say("error", MISCONFIGURED_MESSAGE)
    else:
        who = current.email or current.name or "this account"
        if current.problem:
            _say("warning", access.kept_out(current.problem, current.contact))
        else:
            _say("info", access.no_access(who, current.contact))
    if current.signed_in:
        _sign_out_button()
    st.stop()


def sidebar(current: Visitor) -> None:
    """The account box at the bottom of the sidebar: who is signed in, their role and a sign-out button, or the
    note that the dashboard runs without sign-in."""
    with st.sidebar:
        st.divider()
        if current.mode == "local":
            st.caption(LOCAL_MODE_NOTE, help="Everyone who can open this address can see and change the data. "
                                             "Configure sign-in to give people roles: see docs/access.md.")
            return
        st.caption(f":material/account_circle: Signed in as **{plain(current.email)}** · {current.role}",
                   help="Editors import data, undo imports, edit targets and add notes; viewers see every page "
                        "read-only.")
        _sign_out_button(st.sidebar)


def read_only_note(what: str, current: Visitor | None = None) -> bool:
    """For a viewer, a caption saying that ``what`` (e.g. ``"Importing files"``) is for editors, and True;
    False (nothing drawn) for an editor."""
    current = current or visitor()
    if current.can_edit:
        return False
    st.caption(f":material/visibility: {plain(access.read_only(what, current.contact))}")
    return True
