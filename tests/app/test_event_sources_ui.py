"""The Data page and the same activity from several tools: the overlap warning at preview with its choice
(import anyway, or replace), the message after the import, the events per source with the choice of which
counts where they overlap, and the housekeeping events it offers not to count as activity."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from kpis.ingest.importer import import_file
from kpis.store.db import Store
from kpis.store.settings import event_sources, inactive_events
from tests.app.test_pages import history, open_data_page, texts
from tests.kpis.test_overlap import MIXPANEL, POSTHOG

WARNING = ("These events overlap 80% with import 1 from PostHog (ph.csv): the same users, on the same days, with "
           "similar counts per event. Imported as well, that activity counts twice in every product KPI.")


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture
def posthog(db_path: Path, tmp_path: Path) -> Path:
    """The database holds one PostHog export (import 1)."""
    path = tmp_path / "ph.csv"
    path.write_text(POSTHOG, encoding="utf-8")
    with Store(db_path) as store:
        import_file(store, path, who="test")
    return db_path


def pick_mixpanel(at: AppTest) -> AppTest:
    return ok(at.file_uploader[0].set_value([("mp.jsonl", MIXPANEL.encode(), "application/json")]).run())


def press_import(at: AppTest) -> AppTest:
    return ok(next(b for b in at.button if b.label == "Import 1 file").click().run())


def test_the_preview_warns_and_import_anyway_keeps_both(app: Callable[[], AppTest], posthog: Path) -> None:
    at = pick_mixpanel(open_data_page(app()))
    assert texts(at.warning) == [WARNING]
    (choice,) = [r for r in at.radio if r.label == "What to do"]
    assert (choice.label, choice.options, choice.value) == ("What to do", ["Import anyway", "Replace import 1"],
                                                            "Import anyway")
    at = press_import(at)
    assert texts(at.warning) == [
        "mp.jsonl: Mixpanel raw export (JSON lines), import 2: 5 rows added, 0 updated, 0 duplicates skipped, "
        "0 rows rejected (these events overlap 80% with import 1 from PostHog (ph.csv)). Counted together, that "
        "activity counts twice: undo one of the two imports, or choose under “Product events by source” which "
        "source counts where they overlap."]
    assert list(history(at)["status"]) == ["ok", "ok"]


def test_replace_imports_the_file_then_undoes_the_other(app: Callable[[], AppTest], posthog: Path) -> None:
    at = pick_mixpanel(open_data_page(app()))
    choice = next(r for r in at.radio if r.label == "What to do")
    at = press_import(ok(choice.set_value("Replace import 1").run()))
    (said,) = texts(at.success)
    assert said.startswith("mp.jsonl: Mixpanel raw export (JSON lines), import 2: 5 rows added, 0 updated, "
                           "0 duplicates skipped, 0 rows rejected (these events overlap 80% with import 1 from "
                           "PostHog (ph.csv)). Replaced: import 1 (ph.csv) undone; the database before "
                           "the undo is saved as ")
    shown = history(at)
    assert list(shown["filename"]) == ["mp.jsonl", "ph.csv"]
    assert shown["status"].iloc[0] == "ok" and shown["status"].iloc[1].startswith("undone ")
    with Store(posthog) as store:
        assert store.query("SELECT count(*) FROM events") == [(5,)], "only Mixpanel's events are left"


def _sources_table(at: AppTest) -> pd.DataFrame:
    (table,) = (d.value for d in at.dataframe if "Source" in d.value.columns)
    return table


def test_events_per_source_and_which_counts_where_they_overlap(app: Callable[[], AppTest], posthog: Path,
                                                                tmp_path: Path) -> None:
    path = tmp_path / "mp.jsonl"
    path.write_text(MIXPANEL, encoding="utf-8")
    with Store(posthog) as store:
        import_file(store, path, who="test")
    at = open_data_page(app())
    table = _sources_table(at)
    assert table.to_dict("records") == [
        {"Source": "PostHog events export (CSV)", "Imports": "1", "Events": "6", "Counted": "6", "Users": "2",
         "From": "2 Mar 2026", "To": "3 Mar 2026"},
        {"Source": "Mixpanel raw export (JSON lines)", "Imports": "1", "Events": "5", "Counted": "5", "Users": "2",
         "From": "2 Mar 2026", "To": "3 Mar 2026"}]
    (chosen,) = at.multiselect
    assert chosen.options == ["PostHog events export (CSV)", "Mixpanel raw export (JSON lines)"]
    chosen.set_value(["posthog_events"])
    at = ok(next(b for b in at.button if b.label == "Save").click().run())
    assert texts(at.success) == ["Where sources overlap, only the first of these with events on a day counts: "
                                 "PostHog events export (CSV)."]
    assert list(_sources_table(at)["Counted"]) == ["6", "0"], "PostHog has events on both days"
    with Store(posthog) as store:
        assert event_sources(store) == ["posthog_events"]


def test_housekeeping_events_are_offered_out_of_activity(app: Callable[[], AppTest], db_path: Path,
                                                          tmp_path: Path) -> None:
    path = tmp_path / "ph.csv"
    path.write_text(POSTHOG + "p7,$feature_flag_called,u1,2026-03-02T09:00:00Z\n"
                              "p8,$feature_flag_called,u3,2026-03-03T09:00:00Z\n"
                              "p9,$identify,u3,2026-03-03T09:00:01Z\n", encoding="utf-8")
    with Store(db_path) as store:
        import_file(store, path, who="test")
    at = open_data_page(app())
    (found,) = (d.value for d in at.dataframe if list(d.value.columns) == ["Event", "Events"])
    assert found.to_dict("records") == [{"Event": "Feature flag checked", "Events": "2"},
                                        {"Event": "User identified", "Events": "1"}]
    at = ok(at.button(key="mark_inactive").click().run())
    assert texts(at.success) == ["These events no longer make a user active: Feature flag checked, User "
                                 "identified. The setting inactive_events lists them."]
    assert not [d for d in at.dataframe if list(d.value.columns) == ["Event", "Events"]], "nothing left to offer"
    with Store(db_path) as store:
        assert inactive_events(store) == ["$feature_flag_called", "$identify"]


def test_no_housekeeping_setting_changes_by_itself(app: Callable[[], AppTest], db_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "ph.csv"
    path.write_text(POSTHOG + "p7,$feature_flag_called,u1,2026-03-02T09:00:00Z\n", encoding="utf-8")
    with Store(db_path) as store:
        import_file(store, path, who="test")
    open_data_page(app())
    with Store(db_path) as store:
        assert inactive_events(store) == [], "the default stays empty until the user says otherwise"
