"""Access control in the running app (the real dashboard.py and a real DuckDB file, through AppTest): local mode,
the sign-in, no-access and configuration screens, what viewers see, and the functions that write refusing a
viewer themselves, whatever the page showed.

``AppTest.secrets`` stands for ``secrets.toml`` and ``AppTest.user`` for what ``st.user`` holds after an OIDC
sign-in; the role is worked out by the app from both, as in a real session.
"""

from __future__ import annotations

import io
import logging
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from app_pages.ui import auth
from kpis.ops.demo import DEMO_OFFERED
from kpis.plan import annotations
from kpis.store.db import Store
from tests.app.conftest import DASHBOARD, TIMEOUT
from tests.app.test_pages import DATA_PAGE, GOOD_EVENTS, stored, texts

REVIEW_PAGE = "app_pages/review.py"
TARGETS_PAGE = "app_pages/targets.py"
AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "a-test-secret-of-at-least-32-characters",
    "client_id": "dashboard",
    "client_secret": "not-a-real-secret",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}
ACCESS = {"editors": ["ana@example.com"], "viewers": ["@example.com"]}
EDITOR = {"is_logged_in": True, "email": "Ana@Example.com", "email_verified": True, "name": "Ana"}
VIEWER = {"is_logged_in": True, "email": "bo@example.com", "email_verified": True, "name": "Bo"}
STRANGER = {"is_logged_in": True, "email": "eve@elsewhere.test", "email_verified": True}
TARGETS = b"kpi,grain,period_start,target,owner,note\nmrr,month,2026-01-01,1000,CPO,\n"


def start(user: dict[str, Any] | None = None, access: object = ACCESS, page: str | None = None) -> AppTest:
    """The dashboard as ``user`` with sign-in configured (``access`` is the [access] table; None leaves it out);
    ``user=None`` runs in local mode, with no secrets at all."""
    at = AppTest.from_file(str(DASHBOARD), default_timeout=TIMEOUT)
    if user is not None:
        at.secrets["auth"] = AUTH
        if access is not None:
            at.secrets["access"] = access
        at.user = user
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def shown(at: AppTest) -> str:
    """Every text on the page and in the sidebar: titles, Markdown, messages, captions and button labels."""
    kinds = ("title", "markdown", "text", "caption", "info", "warning", "error", "success")
    return " | ".join([t for kind in kinds for t in texts(at.get(kind))] + buttons(at))


def captions(at: AppTest) -> str:
    return " | ".join(texts(at.caption))  # the sidebar's too


def buttons(at: AppTest) -> list[str]:
    return [b.label for b in at.button] + [b.label for b in at.sidebar.button]


# -- local mode ----------------------------------------------------------------------------------------------------

def test_without_auth_it_is_local_single_user_mode_and_everyone_edits(seeded: Path) -> None:
    at = start(page=DATA_PAGE)
    assert auth.LOCAL_MODE_NOTE in texts(at.sidebar.caption)
    assert len(at.file_uploader) == 1
    assert "Sign out" not in buttons(at)


@pytest.mark.parametrize("secrets", [
    {"access": ACCESS},                                # [auth] left out
    {"Auth": AUTH, "access": ACCESS},                  # [auth] misspelt
    {"oauth": AUTH, "access": ACCESS},
], ids=["missing", "capitalised", "misspelt"])
def test_access_without_auth_fails_closed(db_path: Path, secrets: dict[str, Any],
                                          caplog: pytest.LogCaptureFixture) -> None:
    """Sign-in was meant ([access] is there): running in local mode would let everyone edit."""
    at = AppTest.from_file(str(DASHBOARD), default_timeout=TIMEOUT)
    at.secrets.update(secrets)
    with caplog.at_level(logging.ERROR, logger="app_pages.ui.auth"):
        at.run()
    assert not at.exception
    assert texts(at.error) == [auth.MISCONFIGURED_MESSAGE]
    assert [t.value for t in at.title] == ["CPO KPI dashboard"]
    assert not buttons(at) and not at.dataframe and not at.file_uploader and not at.sidebar.caption
    assert auth.LOCAL_MODE_NOTE not in shown(at)
    assert not db_path.exists()  # the database was never opened
    assert "an [access] table but no [auth] table" in caplog.text


# -- who may not see the dashboard -----------------------------------------------------------------------------------

def test_signed_out_sees_only_the_sign_in_button_and_no_data_is_read(db_path: Path) -> None:
    at = start({"is_logged_in": False})
    assert [b.label for b in at.button] == ["Sign in"]
    assert [t.value for t in at.title] == ["CPO KPI dashboard"]
    assert not at.dataframe and not at.metric and not at.file_uploader and not at.sidebar.radio
    assert not db_path.exists()  # the database was never opened (nor the demo company loaded)


def test_several_providers_get_one_button_each(db_path: Path) -> None:
    at = AppTest.from_file(str(DASHBOARD), default_timeout=TIMEOUT)
    shared = {k: AUTH[k] for k in ("redirect_uri", "cookie_secret")}
    provider = {k: AUTH[k] for k in ("client_id", "client_secret", "server_metadata_url")}
    at.secrets["auth"] = {**shared, "google": provider, "okta": provider}
    at.secrets["access"] = ACCESS
    at.user = {"is_logged_in": False}
    at.run()
    assert [b.label for b in at.button] == ["Sign in with Google", "Sign in with Okta"]


def test_a_stranger_gets_the_no_access_page_with_the_contact(db_path: Path) -> None:
    at = start(STRANGER, access={**ACCESS, "contact": "the data team (data@example.com)"})
    (info,) = texts(at.info)
    assert info == ("You are signed in as eve@elsewhere.test, which does not have access to this dashboard. "
                    "Ask the data team (data@example.com) to add you.")
    assert [b.label for b in at.button] == ["Sign out"]
    assert not at.dataframe and not at.metric and not db_path.exists()


def test_the_contact_defaults_to_the_first_editor(db_path: Path) -> None:
    at = start(STRANGER)
    assert "Ask ana@example.com to add you." in texts(at.info)[0]


def test_an_unverified_address_is_not_trusted(db_path: Path) -> None:
    at = start({**EDITOR, "email_verified": False})
    (warning,) = texts(at.warning)
    assert warning.startswith("Your identity provider has not verified the address ana@example.com")
    assert [b.label for b in at.button] == ["Sign out"]
    assert not db_path.exists()


def test_a_missing_email_verified_claim_is_refused_by_default(db_path: Path) -> None:
    claims = {k: v for k, v in EDITOR.items() if k != "email_verified"}
    at = start(claims)
    (warning,) = texts(at.warning)
    assert warning.startswith("Your identity provider has not verified the address ana@example.com")
    assert not db_path.exists()


def test_require_verified_email_false_accepts_a_missing_claim(seeded: Path) -> None:
    """For a single-tenant Microsoft Entra ID app, which does not send the claim (see docs/access.md)."""
    claims = {k: v for k, v in EDITOR.items() if k != "email_verified"}
    at = start(claims, access={**ACCESS, "require_verified_email": False})
    assert "Signed in as **ana@example.com** · editor" in captions(at)
    refused = start({**EDITOR, "email_verified": False}, access={**ACCESS, "require_verified_email": False})
    assert texts(refused.warning)[0].startswith("Your identity provider has not verified the address")


@pytest.mark.parametrize(("access", "message"), [
    ({"editors": "ana@example.com"}, "access.editors must be a list of e-mail addresses or @domains"),
    ({"editors": ["secret.person@example.com", "example.com"]},
     "entry 2: write the domain 'example.com' with a leading @"),
    (None, "there is no [access] table"),
])
@pytest.mark.parametrize("user", [EDITOR, {"is_logged_in": False}], ids=["signed_in", "signed_out"])
def test_a_bad_access_table_closes_the_dashboard_and_logs_the_details(
        db_path: Path, access: object, message: str, user: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="app_pages.ui.auth"):
        at = start(user, access=access)
    assert texts(at.error) == [auth.MISCONFIGURED_MESSAGE]
    page = shown(at)
    assert "example.com" not in page and "access." not in page and "secrets" not in page  # no details shown
    assert [b.label for b in at.button] == (["Sign out"] if user["is_logged_in"] else [])
    assert not at.dataframe and not db_path.exists()
    assert message in caplog.text  # the details are in the server log


def test_an_unreadable_secrets_file_shows_no_details(db_path: Path, tmp_path: Path,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    from streamlit.runtime.secrets import secrets_singleton
    from streamlit.testing.v1.util import patch_config_options

    broken = tmp_path / "private-secrets.toml"
    broken.write_text('[auth]\nclient_secret = "hunter2\n', encoding="utf-8")
    with patch_config_options({"secrets.files": [str(broken)]}):
        secrets_singleton._reset()
        try:
            with caplog.at_level(logging.ERROR, logger="app_pages.ui.auth"):
                at = AppTest.from_file(str(DASHBOARD), default_timeout=TIMEOUT).run()
        finally:
            secrets_singleton._reset()
    assert not at.exception
    assert texts(at.error) == [auth.MISCONFIGURED_MESSAGE]
    assert "private-secrets" not in shown(at) and "hunter2" not in shown(at)
    assert "The secrets file could not be read" in caplog.text and not db_path.exists()


# -- viewers and editors ---------------------------------------------------------------------------------------------

def test_a_viewer_on_an_empty_database_does_not_load_the_demo(db_path: Path) -> None:
    """Loading the demo company is a write: a viewer is told that an editor must import the data."""
    from app_pages.ui import demo

    at = start(VIEWER)
    assert demo.NO_DATA_YET in texts(at.info)
    assert not any("Showing the demo company" in t for t in texts(at.info))
    with Store(db_path) as store:
        assert store.is_empty() and store.get_setting(DEMO_OFFERED) is None
    editor = start(EDITOR)  # the first editor's visit then loads it
    assert any("Showing the demo company" in t for t in texts(editor.info))
    assert demo.NO_DATA_YET not in texts(editor.info)

def test_the_sidebar_names_the_user_and_role(seeded: Path) -> None:
    assert "Signed in as **ana@example.com** · editor" in captions(start(EDITOR))
    at = start(VIEWER)
    assert "Signed in as **bo@example.com** · viewer" in captions(at)
    assert "Sign out" in [b.label for b in at.sidebar.button]
    assert auth.LOCAL_MODE_NOTE not in captions(at)


def test_a_viewer_sees_the_data_page_without_upload_or_undo(seeded: Path) -> None:
    at = start(VIEWER, page=DATA_PAGE)
    assert not at.file_uploader
    assert "Undo import" not in buttons(at)
    assert len(at.dataframe) == 2  # the events per source and the import history
    assert "Importing files is for editors: you are signed in as a viewer. Ask ana@example.com for editor access." \
        in captions(at)
    editor = start(EDITOR, page=DATA_PAGE)
    assert len(editor.file_uploader) == 1 and "Undo import" in buttons(editor)


def test_a_viewer_sees_targets_read_only(seeded: Path) -> None:
    at = start(VIEWER, page=TARGETS_PAGE)
    assert not at.data_editor and not at.file_uploader
    assert "Save changes" not in buttons(at)
    assert at.get("download_button")  # the export stays
    assert "Changing targets is for editors" in captions(at)
    editor = start(EDITOR, page=TARGETS_PAGE)
    assert len(editor.data_editor) == 1 and "Save changes" in buttons(editor)


def test_a_viewer_sees_notes_without_the_form_or_remove_buttons(seeded: Path) -> None:
    with Store(seeded) as store:
        annotations.add(store, date(2026, 1, 2), "Launched AI Insights", who="ana@example.com")
    at = start(VIEWER, page=REVIEW_PAGE)
    assert "Launched AI Insights" in texts(at.markdown)
    assert "Remove" not in buttons(at) and "Add the note" not in buttons(at)
    assert "Adding and removing notes is for editors" in captions(at)
    editor = start(EDITOR, page=REVIEW_PAGE)
    assert "Remove" in buttons(editor) and "Add the note" in buttons(editor)


# -- the writes refuse a viewer themselves -------------------------------------------------------------------------

def _every_write(events: bytes, targets_csv: bytes) -> None:
    """Call each function that changes data directly, as a crafted request would, and show what it answered."""
    import io
    from datetime import date

    import streamlit as st

    from app_pages import upload
    from app_pages.ui import actions, cache
    from kpis.ops import status
    from kpis.plan import annotations

    store = cache.open_store()
    import_id = int(status.live_imports(store)[0][0])
    note_id = int(annotations.all_annotations(store)["annotation_id"].iloc[0])

    class File(io.BytesIO):
        file_id, name, size = "f1", "more.csv", len(events)

    answers = {
        "import": actions.import_upload(store, "more.csv", io.BytesIO(events)).message,
        "import_all": upload.import_all(store, [File(events)], [upload._preview(store, File(events))])[0][1],
        "targets": actions.import_targets(store, "targets.csv", targets_csv)[1],
        "add note": actions.add_note(store, date(2026, 1, 3), "new note")[1],
        "remove note": actions.remove_note(store, note_id)[1],
        "undo": actions.undo(store, import_id)[1],
        "remove demo": actions.remove_demo(store)[0][1],
        "load demo": (actions.offer_demo(store) or [("", "not offered: the database holds data")])[0][1],
        "back up": actions.back_up(store)[1],
    }
    for action, answer in answers.items():
        st.text(f"{action}: {answer}")


def _run_every_write(user: dict[str, Any]) -> list[str]:
    at = AppTest.from_function(_every_write, default_timeout=TIMEOUT,
                               kwargs={"events": GOOD_EVENTS, "targets_csv": TARGETS})
    at.secrets["auth"] = AUTH
    at.secrets["access"] = ACCESS
    at.user = user
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return [t.value for t in at.text]


def test_every_write_refuses_a_viewer_and_changes_nothing(seeded: Path) -> None:
    with Store(seeded) as store:
        annotations.add(store, date(2026, 1, 2), "kept", who="ana@example.com")
    before = stored(seeded)
    answers = _run_every_write(VIEWER)
    refused = "Only editors can {}: you are signed in as bo@example.com, a viewer. Nothing was changed. " \
              "Ask ana@example.com for editor access."
    assert answers == [
        f"import: {refused.format('import files')}",
        f"import_all: {refused.format('import files')}",
        f"targets: {refused.format('change targets')}",
        f"add note: {refused.format('add notes')}",
        f"remove note: {refused.format('remove notes')}",
        f"undo: {refused.format('undo an import')}",
        f"remove demo: {refused.format('remove the demo company')}",
        f"load demo: {refused.format('load the demo company')}",
        f"back up: {refused.format('back up the database')}",
    ]
    assert stored(seeded) == before
    assert not (seeded.parent / "backups").exists(), "no backup written either"
    with Store(seeded) as store:
        assert list(annotations.all_annotations(store)["text"]) == ["kept"]


def test_the_same_writes_go_through_for_an_editor(seeded: Path) -> None:
    """The other side of the test above: the calls do write when an editor makes them (so a refusal above is the
    role's doing), and the writes are recorded under the editor's address."""
    with Store(seeded) as store:
        annotations.add(store, date(2026, 1, 2), "to remove", who="ana@example.com")
        (seed_import,) = store.query("SELECT import_id FROM imports")
    answers = _run_every_write(EDITOR)
    assert not [a for a in answers if "Only editors" in a], answers
    assert "load demo: not offered: the database holds data" in answers
    with Store(seeded) as store:
        assert store.get_setting(DEMO_OFFERED) == "no: the database already held data"
        notes = annotations.all_annotations(store)
        assert list(notes["text"]) == ["new note"] and list(notes["created_by"]) == ["ana@example.com"]
        assert store.query("SELECT undone_at IS NOT NULL FROM imports WHERE import_id = ?", seed_import) == [(True,)]
        assert store.query("SELECT source, imported_by FROM imports WHERE import_id <> ? AND status = 'ok' "
                           "ORDER BY import_id", seed_import) == [("events_csv", "ana@example.com"),
                                                                  ("targets_csv", "ana@example.com")]


def test_a_signed_out_session_cannot_write_either(seeded: Path) -> None:
    with Store(seeded) as store:
        annotations.add(store, date(2026, 1, 2), "kept", who="ana@example.com")
    before = stored(seeded)
    answers = _run_every_write({"is_logged_in": False})
    assert len(answers) == 9 and all("you are not signed in as one" in a for a in answers), answers
    assert stored(seeded) == before
    assert not (seeded.parent / "backups").exists(), "no backup written either"


def test_local_mode_writes_as_local(db_path: Path) -> None:
    from app_pages.ui import actions

    with Store(db_path) as store:
        outcome = actions.import_upload(store, "e.csv", io.BytesIO(GOOD_EVENTS))  # no Streamlit session: local
        assert outcome.level == "success"
        assert store.query("SELECT imported_by FROM imports") == [("local",)]


def test_a_secrets_file_that_cannot_be_read_keeps_the_dashboard_closed(tmp_path: Path) -> None:
    """It may hold [auth]: falling back to local mode (everyone edits) would open the dashboard."""
    from streamlit.runtime.secrets import secrets_singleton
    from streamlit.testing.v1.util import patch_config_options

    broken = tmp_path / "secrets.toml"
    broken.write_text('[auth]\nredirect_uri = "https://kpis.example.com/oauth2callback\n', encoding="utf-8")
    missing = tmp_path / "nowhere" / "secrets.toml"
    with patch_config_options({"secrets.files": [str(broken)]}):
        secrets_singleton._reset()
        try:
            current = auth.visitor()
            assert current.mode == "misconfigured" and not current.can_edit
            assert current.problem is not None and current.problem.startswith("The secrets file could not be read")
            assert auth.refusal("import") == ("Only editors can import files, and you are not signed in as "
                                                    "one. Nothing was changed.")
        finally:
            secrets_singleton._reset()
    with patch_config_options({"secrets.files": [str(missing)]}):
        secrets_singleton._reset()
        try:
            assert auth.visitor().mode == "local"
        finally:
            secrets_singleton._reset()
