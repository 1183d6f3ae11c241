"""The same activity from several tools: overlap said at preview and import, the ``event_sources`` setting that
decides which source counts where they overlap, the events per source. Real exports written small in the test,
real DuckDB files, the numbers worked out by hand."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpis.core.errors import InputError
from kpis.ingest.importer import import_file
from kpis.ingest.overlap import Overlap
from kpis.ingest.preview import preview_file
from kpis.ingest.sources.detect import event_source_names
from kpis.metrics.engagement import adoption_by_event, engagement_table
from kpis.ops.status import events_by_source
from kpis.store import settings as stored_settings
from kpis.store.db import Store
from kpis.store.settings import event_sources

ROOT = Path(__file__).resolve().parents[2]

#: PostHog: u1 created 2 reports and viewed 3 pages on 2 March, u2 sent an invite on 3 March (6 events).
POSTHOG = ("uuid,event,distinct_id,timestamp\n"
           "p1,report_created,u1,2026-03-02T09:00:00Z\n"
           "p2,report_created,u1,2026-03-02T10:00:00Z\n"
           "p3,$pageview,u1,2026-03-02T09:01:00Z\n"
           "p4,$pageview,u1,2026-03-02T09:05:00Z\n"
           "p5,$pageview,u1,2026-03-02T10:01:00Z\n"
           "p6,invite_sent,u2,2026-03-03T12:00:00Z\n")


def _epoch(text: str) -> int:
    return int(datetime.fromisoformat(text + "+00:00").timestamp())


def _mixpanel(rows: list[tuple[str, str, str]]) -> str:
    return "".join(json.dumps({"event": e, "properties": {"time": _epoch(t), "distinct_id": u, "$insert_id": f"m{i}"}})
                   + "\n" for i, (e, u, t) in enumerate(rows))


#: Mixpanel, the same morning seconds apart under its own names: both reports, 2 of the 3 page views, and an
#: export by u3 that PostHog does not have (5 events).
MIXPANEL = _mixpanel([("report_created", "u1", "2026-03-02T09:00:02"), ("report_created", "u1", "2026-03-02T10:00:01"),
                      ("$mp_web_page_view", "u1", "2026-03-02T09:01:03"),
                      ("$mp_web_page_view", "u1", "2026-03-02T09:05:02"), ("export", "u3", "2026-03-03T08:00:00")])
#: Amplitude: u2's invite (shared with PostHog) and three logins of u9 (4 events).
AMPLITUDE = "".join(json.dumps({"event_type": e, "event_time": t, "user_id": u, "$insert_id": f"a{i}"}) + "\n"
                    for i, (e, u, t) in enumerate([("invite_sent", "u2", "2026-03-03 12:00:05"),
                                                   ("login", "u9", "2026-03-03 08:00:00"),
                                                   ("login", "u9", "2026-03-03 09:00:00"),
                                                   ("login", "u9", "2026-03-03 10:00:00")]))


@pytest.fixture
def files(write) -> dict[str, Path]:
    return {"posthog": write("ph.csv", POSTHOG), "mixpanel": write("mp.jsonl", MIXPANEL),
            "amplitude": write("amp.json", AMPLITUDE)}


def test_the_overlap_is_reported_at_import(store, files):
    assert import_file(store, files["posthog"]).overlaps == ()
    mixpanel = import_file(store, files["mixpanel"])
    # u1 on 2 March: reports min(2, 2) = 2 and page views min(2, 3) = 2 shared; u3's export is not: 4 of 5
    assert mixpanel.overlaps == (Overlap(1, "posthog_events", "ph.csv", 0.8),)
    assert mixpanel.summary() == (
        "mp.jsonl: mixpanel_events, import 2: 5 rows added, 0 updated, 0 duplicates skipped, 0 rows rejected "
        "(these events overlap 80% with import 1 from PostHog (ph.csv))")
    amplitude = import_file(store, files["amplitude"])
    assert amplitude.overlaps == (), "1 of 4 shared with PostHog (25%), none with Mixpanel: below one half"
    assert store.query("SELECT count(*) FROM events") == [(15,)], "nothing is left out by the check itself"


def test_the_preview_says_the_same_and_writes_nothing(store, files):
    import_file(store, files["posthog"])
    tables = store.query("SELECT count(*) FROM duckdb_tables()")
    seen = preview_file(files["mixpanel"], store=store)
    assert seen.overlaps == (Overlap(1, "posthog_events", "ph.csv", 0.8),)
    assert store.query("SELECT count(*) FROM duckdb_tables()") == tables
    assert store.query("SELECT count(*) FROM events") == [(6,)] and len(store.query("SELECT * FROM imports")) == 1
    assert preview_file(files["posthog"], store=store).overlaps == (), "a file already imported is not compared"


def test_another_export_of_the_same_tool_is_not_an_overlap(store, files, write):
    import_file(store, files["posthog"])
    again = write("ph2.csv", POSTHOG.replace("p6,", "p7,").replace("2026-03-03T12", "2026-03-04T12"))
    assert import_file(store, again).overlaps == (), "the same tool's events are de-duplicated by their ids"


def _days(store: Store) -> dict[date, tuple[float, float]]:
    table = engagement_table(store, "day", kpis=("dau", "events_per_active_user"))
    return {r.period_start: (r.dau, r.events_per_active_user) for r in table.itertuples()}


def test_the_chosen_source_counts_where_sources_overlap(store, files):
    import_file(store, files["posthog"])
    import_file(store, files["mixpanel"])
    # every event counts: 2 March u1 with 5 + 4 events; 3 March u2 (1) and u3 (1)
    assert _days(store) == {date(2026, 3, 2): (1.0, 9.0), date(2026, 3, 3): (2.0, 1.0)}
    stored_settings.set_event_sources(store, known=event_source_names(), names=["posthog_events"])
    # PostHog has events on both days, so only its events count: 5 on 2 March, u2's invite on 3 March
    assert _days(store) == {date(2026, 3, 2): (1.0, 5.0), date(2026, 3, 3): (1.0, 1.0)}
    assert set(adoption_by_event(store, "day")) == {"report_created", "$pageview", "invite_sent"}
    stored_settings.set_event_sources(store, known=event_source_names(), names=["mixpanel_events"])
    assert _days(store) == {date(2026, 3, 2): (1.0, 4.0), date(2026, 3, 3): (1.0, 1.0)}
    assert set(adoption_by_event(store, "day")) == {"report_created", "$mp_web_page_view", "export"}
    stored_settings.set_event_sources(store, known=event_source_names(), names=[])
    assert _days(store)[date(2026, 3, 2)] == (1.0, 9.0), "back to every event"


def test_a_day_without_the_chosen_source_keeps_the_others(store, files, write):
    import_file(store, files["posthog"])
    import_file(store, write("later.jsonl", _mixpanel([("export", "u3", "2026-03-05T08:00:00")])))
    stored_settings.set_event_sources(store, known=event_source_names(), names=["posthog_events"])
    assert _days(store)[date(2026, 3, 5)] == (1.0, 1.0), "only Mixpanel has 5 March: it counts"


def test_events_per_source_with_what_counts(store, files):
    import_file(store, files["posthog"])
    import_file(store, files["mixpanel"])
    import_file(store, files["amplitude"])
    stored_settings.set_event_sources(store, known=event_source_names(), names=["posthog_events"])
    table = events_by_source(store)
    assert table[["label", "imports", "events", "users", "counted"]].to_dict("records") == [
        {"label": "PostHog events export (CSV)", "imports": 1, "events": 6, "users": 2, "counted": 6},
        {"label": "Mixpanel raw export (JSON lines)", "imports": 1, "events": 5, "users": 2, "counted": 0},
        {"label": "Amplitude raw export (JSON lines, gzipped or not)", "imports": 1, "events": 4, "users": 2,
         "counted": 0},
    ]
    assert (table["first_day"].iloc[0], table["last_day"].iloc[0]) == (pd.Timestamp("2026-03-02"),
                                                                       pd.Timestamp("2026-03-03"))


def test_only_sources_of_events_are_accepted(store):
    with pytest.raises(InputError, match="stripe_subscriptions: not a source of product events"):
        stored_settings.set_event_sources(store, known=event_source_names(), names=["stripe_subscriptions"])
    with pytest.raises(InputError, match="each source may be listed once"):
        stored_settings.set_event_sources(store, known=event_source_names(), names=["posthog_events", "posthog_events"])
    assert event_sources(store) == []


def test_the_cli_sets_and_shows_the_setting(tmp_path):
    db = tmp_path / "cli.duckdb"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "kpis", "--db", str(db), "settings", *args],
                              capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)

    done = run("event_sources", "posthog_events, amplitude_events")
    assert (done.returncode, done.stdout) == (0, 'event_sources=["posthog_events", "amplitude_events"]\n')
    bad = run("event_sources", "ga4_report")
    assert bad.returncode == 2 and bad.stderr.startswith("error: ga4_report: not a source of product events")
    assert "Traceback" not in bad.stderr


# -- the same activity from two tools, whatever it is ----------------------------------------------------------------

ACTIVITY = st.lists(st.tuples(st.sampled_from(["u0", "u1", "u2", "u3"]), st.integers(0, 6), st.integers(0, 23),
                              st.sampled_from(["report_created", "invite_sent", "$pageview"])),
                    min_size=1, max_size=25)


def _as_csv(rows: list[tuple[str, int, int, str]]) -> str:
    return "user_id,event,timestamp\n" + "".join(f"{u},{e},2026-03-{1 + d:02d}T{h:02d}:00:00Z\n"
                                                 for u, d, h, e in rows)


def _as_mixpanel(rows: list[tuple[str, int, int, str]]) -> str:
    return _mixpanel([(e, u, f"2026-03-{1 + d:02d}T{h:02d}:00:30") for u, d, h, e in rows])


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=ACTIVITY)
def test_a_second_tools_copy_overlaps_wholly_and_the_setting_undoes_it(tmp_path_factory, rows):
    folder = tmp_path_factory.mktemp("same")
    (folder / "ours.csv").write_text(_as_csv(rows), encoding="utf-8")
    (folder / "mp.jsonl").write_text(_as_mixpanel(rows), encoding="utf-8")
    with Store(folder / "alone.duckdb") as alone:
        import_file(alone, folder / "ours.csv")
        expected = engagement_table(alone, "day")
    with Store(folder / "both.duckdb") as both:
        import_file(both, folder / "ours.csv")
        copy = import_file(both, folder / "mp.jsonl")
        assert [(o.import_id, o.share) for o in copy.overlaps] == [(1, 1.0)]
        stored_settings.set_event_sources(both, known=event_source_names(), names=["events_csv"])
        pd.testing.assert_frame_equal(engagement_table(both, "day"), expected)
