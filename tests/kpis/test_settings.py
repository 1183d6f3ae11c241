"""Every setting checked in one place: stored settings refused when bad (nothing stored) and read back as their
default when a file holds a value that is not valid; numbers from the environment refused with one line naming
the variable, whatever the text."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kpis.core.errors import InputError
from kpis.ingest.importer import import_file, import_timeout
from kpis.ingest.textfile import unpack_limits
from kpis.metrics.segments import max_segment_values
from kpis.metrics.series import series
from kpis.store import settings
from kpis.store.backup import backups_kept
from kpis.store.db import Store

EVENTS = ("user_id,event,timestamp\n"
          "u1,view,2026-01-05T10:00:00Z\n"
          "u2,view,2026-01-05T23:30:00Z\n")


@pytest.mark.parametrize(("key", "text", "message"), [
    ("timezone", "Mars/Olympus", "unknown time zone 'Mars/Olympus': use an IANA name such as Europe/Berlin"),
    ("currency", "EURO", "expected a three-letter currency code such as EUR, got 'EURO'"),
    ("event_sources", "stripe_subscriptions",
     "stripe_subscriptions: not a source of product events; use some of posthog_events, events_csv"),
    ("event_sources", "events_csv,events_csv", "each source may be listed once"),
    ("public_url", "javascript:x", "public_url: expected an address such as https://kpis.example.com, "
                                   "got 'javascript:x'"),
    ("at_risk_drop", "1", "at_risk_drop: expected a fraction above 0 and below 1 such as 0.3, got '1'"),
    ("at_risk_drop", "nan", "at_risk_drop: expected a fraction above 0 and below 1 such as 0.3, got 'nan'"),
    ("colour", "blue", "unknown setting 'colour'; use one of timezone, inactive_events, currency, event_sources, "
                       "public_url, activation_event, activation_window_days, at_risk_drop"),
    ("activation_event", "view\nclick", "activation_event: expected an event name such as report_created, "
                                        "got 'view\\nclick'"),
    ("activation_window_days", "91", "activation_window_days: expected a whole number of days from 1 to 90, "
                                     "got '91'"),
    ("activation_window_days", "7.5", "activation_window_days: expected a whole number of days from 1 to 90, "
                                      "got '7.5'"),
    ("activation_window_days", "-1", "activation_window_days: expected a whole number of days from 1 to 90, "
                                     "got '-1'"),
])
def test_a_bad_setting_is_refused_in_one_line_and_nothing_is_stored(store: Store, key: str, text: str,
                                                                      message: str) -> None:
    with pytest.raises(InputError) as refused:
        settings.set_from_text(store, key, text, ["posthog_events", "events_csv"])
    assert str(refused.value) == message
    assert store.query("SELECT count(*) FROM settings WHERE \"key\" = ?", [key]) == [(0,)]


def test_settings_set_from_their_text_read_back_checked(store: Store) -> None:
    for key, text in (("timezone", "Europe/Berlin"), ("inactive_events", " $pageleave, $identify,$pageleave "),
                      ("currency", " eur"), ("event_sources", "events_csv"),
                      ("public_url", "https://kpis.example.com/")):
        settings.set_from_text(store, key, text, ["posthog_events", "events_csv"])
    assert settings.timezone(store) == "Europe/Berlin"
    assert settings.inactive_events(store) == ["$pageleave", "$identify"]
    assert settings.currency(store) == "EUR"
    assert settings.event_sources(store) == ["events_csv"]
    assert settings.public_url(store) == "https://kpis.example.com"


def test_the_activation_settings_are_checked_in_one_place(store: Store) -> None:
    """Unset: no event and a window of 7 days. The event is trimmed, an unknown one is kept with a note, an empty one
    unsets it; the Data page's form checks both values before it writes either."""
    assert (settings.activation_event(store), settings.activation_window_days(store)) == (None, 7)
    assert settings.set_from_text(store, "activation_event", " report_created ", [], ["report_created"]) is None
    assert settings.activation_event(store) == "report_created"
    assert settings.set_from_text(store, "activation_window_days", " 14", [], []) is None
    assert settings.activation_window_days(store) == 14
    note = settings.set_activation(store, "signup", 90, ["report_created"])
    assert note == "note: no imported event is named 'signup' yet: nobody counts as activated until one is"
    assert (settings.activation_event(store), settings.activation_window_days(store)) == ("signup", 90)
    with pytest.raises(InputError, match="got '0'"):
        settings.set_activation(store, "view", 0, ["view"])
    assert (settings.activation_event(store), settings.activation_window_days(store)) == ("signup", 90)
    settings.set_activation(store, "", 1, [])
    assert (settings.activation_event(store), settings.activation_window_days(store)) == (None, 1)


@given(text=st.text(max_size=12))
def test_any_window_text_is_a_number_of_days_from_1_to_90_or_one_line(text: str) -> None:
    try:
        days = settings.check_activation_window(text)
    except InputError as refused:
        assert str(refused).startswith("activation_window_days: expected a whole number of days from 1 to 90")
        assert "\n" not in str(refused)
    else:
        assert 1 <= days <= 90 and days == int(text.strip())


def test_a_stored_value_that_is_not_valid_reads_as_the_default(store: Store, tmp_path: Path) -> None:
    (tmp_path / "e.csv").write_text(EVENTS, encoding="utf-8")
    import_file(store, tmp_path / "e.csv")
    # as a file edited by hand would hold them: written past the checks
    store.set_setting("timezone", "Mars/Olympus")
    store.set_setting("inactive_events", "view")
    store.set_setting("currency", "euros")
    store.set_setting("activation_event", " ")
    store.set_setting("activation_window_days", "a week")
    assert (settings.timezone(store), settings.inactive_events(store), settings.currency(store)) == ("UTC", [], None)
    assert (settings.activation_event(store), settings.activation_window_days(store)) == (None, 7)
    assert list(series(store, "dau", "day")["value"]) == [2.0], "read in UTC, every event active"


def test_every_settings_write_is_a_new_data_version(store: Store) -> None:
    assert store.data_version() == (0, 0, 0, 0, 0)
    settings.set_timezone(store, "Europe/Berlin")
    assert store.data_version() == (0, 0, 0, 0, 1), "a cache of KPI values keyed on the version sees the timezone"
    settings.set_currency(store, "eur")
    assert store.data_version() == (0, 0, 0, 0, 2)
    with pytest.raises(InputError):
        settings.set_currency(store, "EURO")  # refused: nothing stored, the version stays
    assert store.data_version() == (0, 0, 0, 0, 2)
    assert settings.timezone(store) == "Europe/Berlin" and settings.currency(store) == "EUR"


@given(text=st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12))
def test_a_number_from_the_environment_is_a_number_or_one_line(text: str) -> None:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("KPI_BACKUPS_KEPT", text)
        env.setenv("KPI_MAX_SEGMENT_VALUES", text)
        env.setenv("KPI_IMPORT_TIMEOUT", text)
        env.setenv("KPI_MAX_GZIP_RATIO", text)
        for read in (backups_kept, max_segment_values, import_timeout, unpack_limits):
            try:
                value = read()
            except InputError as exc:
                assert str(exc).startswith("KPI_") and "\n" not in str(exc)
            else:
                assert value is None or value != -1


@pytest.mark.parametrize("text", ["²", "①"])  # digits to str.isdigit, not to int()
def test_digits_int_cannot_read_are_refused_by_name(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setenv("KPI_BACKUPS_KEPT", text)
    with pytest.raises(InputError, match=f"KPI_BACKUPS_KEPT: expected a number of backups such as 10, got '{text}'"):
        backups_kept()
