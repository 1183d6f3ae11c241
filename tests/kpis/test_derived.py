"""The derived engagement tables are built by the writes that change them, so that no read writes: every KPI is
computed on a database opened read-only (where any write fails) after an import, a settings change, an undo and a
restore. Real exports written small in the test, real DuckDB files, the numbers worked out by hand."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpis.core.registry import KPIS
from kpis.ingest.importer import import_file, undo
from kpis.ingest.sources.detect import event_source_names
from kpis.metrics.engagement import adoption_by_event, daily, engagement_as_of, power_curve
from kpis.metrics.retention import MODES, cohorts
from kpis.metrics.segments import offered_segments
from kpis.metrics.series import series
from kpis.ops.status import events_by_source, housekeeping_events
from kpis.review.build import build_review
from kpis.store import backup, derived
from kpis.store import settings as stored_settings
from kpis.store.db import Store
from kpis.store.settings import set_timezone

#: events_csv: u1 (of account acme) on Mon 5 and Tue 6 January, u2 leaves a page at 23:30 UTC on the 5th (00:30
#: on the 6th in Berlin), u3 on Mon 12 January.
EVENTS = ("user_id,event,timestamp,account_id\n"
          "u1,view,2026-01-05T10:00:00Z,acme\n"
          "u2,$pageleave,2026-01-05T23:30:00Z,\n"
          "u1,view,2026-01-06T10:00:00Z,acme\n"
          "u3,view,2026-01-12T09:00:00Z,\n")
#: PostHog: u9 on 5 January only.
POSTHOG = "uuid,event,distinct_id,timestamp\np1,view,u9,2026-01-05T12:00:00Z\n"
#: one more day: u4 on Tue 13 January
LATER = "user_id,event,timestamp,account_id\nu4,view,2026-01-13T09:00:00Z,\n"
SUBS = ("subscription_id,customer_id,plan,amount,currency,interval,status,started_at,ended_at\n"
        "s1,c1,Pro,99.00,usd,month,active,2026-01-01,\n")


def _dau(db: Path) -> list[float]:
    """Daily DAU read from a database opened read-only: a read that wrote would fail."""
    with Store(db, read_only=True) as store:
        return list(series(store, "dau", "day")["value"])


@pytest.fixture
def db(tmp_path: Path, write) -> Path:
    """A closed database holding the events of two tools and one subscription."""
    path = tmp_path / "kpis.duckdb"
    with Store(path) as store:
        import_file(store, write("events.csv", EVENTS))
        import_file(store, write("ph.csv", POSTHOG))
        import_file(store, write("subs.csv", SUBS))
        store.set_setting("activation_event", "view")
    return path


def test_every_kpi_at_every_grain_reads_a_database_opened_read_only(db: Path) -> None:
    with Store(db, read_only=True) as store:
        with pytest.raises(duckdb.Error):
            store.set_setting("currency", "EUR")  # the file really is read-only
        for kpi in KPIS.values():
            for grain in kpi.grains:
                assert isinstance(series(store, kpi.id, grain, event="view").index.size, int)
        for grain in ("week", "month"):
            for mode in MODES:
                assert not cohorts(store, grain, mode).empty
        assert engagement_as_of(store) == date(2026, 1, 12)
        assert list(daily(store)["dau"])[:2] == [3, 1]  # 5 Jan: u1, u2, u9; 6 Jan: u1
        assert list(power_curve(store, "week", date(2026, 1, 5))["users"])[:2] == [2, 1]  # u2, u9: 1 day; u1: 2
        assert sorted(adoption_by_event(store, "week")) == ["$pageleave", "view"]
        assert list(events_by_source(store)["events"]) == [4, 1]
        assert list(housekeeping_events(store)["event"]) == ["$pageleave"]
        assert offered_segments(store) is not None
        assert build_review(store, date(2026, 1, 12), "week") is not None
        # 5 Jan: u1, u2, u9; 6 Jan: u1; nobody until u3 on 12 Jan
        assert list(series(store, "dau", "day")["value"]) == [3, 1, 0, 0, 0, 0, 0, 1]


def test_a_settings_change_shows_in_the_next_read_without_a_rebuild(db: Path) -> None:
    assert _dau(db) == [3, 1, 0, 0, 0, 0, 0, 1]
    with Store(db) as store:
        set_timezone(store, "Europe/Berlin")
    assert _dau(db) == [2, 2, 0, 0, 0, 0, 0, 1], "in Berlin u2's page leave is on 6 January"
    with Store(db) as store:
        set_timezone(store, "UTC")
        store.set_setting("inactive_events", '["$pageleave"]')
    assert _dau(db) == [2, 1, 0, 0, 0, 0, 0, 1], "u2 only left a page: not active"
    with Store(db) as store:
        store.set_setting("inactive_events", "[]")
        stored_settings.set_event_sources(store, known=event_source_names(), names=["posthog_events"])
    assert _dau(db) == [1, 1, 0, 0, 0, 0, 0, 1], "5 January has PostHog events: only u9's count that day"


def test_an_undo_of_events_gives_the_numbers_from_before(db: Path, write) -> None:
    with Store(db) as store:
        later = import_file(store, write("later.csv", LATER))
    assert _dau(db) == [3, 1, 0, 0, 0, 0, 0, 1, 1]
    with Store(db) as store:
        undo(store, later.import_id, backup=False)
    assert _dau(db) == [3, 1, 0, 0, 0, 0, 0, 1]
    with Store(db) as store:
        undo(store, 2, backup=False)  # the PostHog events: u9 goes
    assert _dau(db) == [2, 1, 0, 0, 0, 0, 0, 1]


def test_a_restored_file_is_read_only_ready(db: Path, tmp_path: Path, write) -> None:
    with Store(db) as store:
        saved = backup.backup(store, tmp_path / "saved.duckdb")
        import_file(store, write("later.csv", LATER))
    backup.restore(db, saved)
    assert _dau(db) == [3, 1, 0, 0, 0, 0, 0, 1]


def test_a_file_whose_derived_tables_are_missing_gets_them_when_opened_for_writing(db: Path) -> None:
    with Store(db) as store, store.transaction() as cur:
        derived.drop(cur)  # as a file from before the tables were built on write
    with pytest.raises(OSError, match="for reading only: open it for writing once"):
        Store(db, read_only=True)
    with Store(db):
        pass
    assert _dau(db) == [3, 1, 0, 0, 0, 0, 0, 1]


#: one event: (user, day of January, hour, event name, from PostHog rather than the events CSV)
EVENT = st.tuples(st.sampled_from(["u1", "u2", "u3", "u4"]), st.integers(5, 9), st.integers(0, 23),
                  st.sampled_from(["view", "$pageleave"]), st.booleans())


def _files(folder: Path, batch: list[tuple[str, int, int, str, bool]], n: int) -> list[Path]:
    """The batch as one events CSV and one PostHog export (either may be empty, then not written)."""
    ours = [f"{u},{e},2026-01-{d:02d}T{h:02d}:{n:02d}:00Z,acct_{u}" for u, d, h, e, ph in batch if not ph]
    theirs = [f"p{n}_{i},{e},{u},2026-01-{d:02d}T{h:02d}:00:00Z" for i, (u, d, h, e, ph) in enumerate(batch) if ph]
    out = []
    if ours:
        out.append(folder / f"ours{n}.csv")
        out[-1].write_text("user_id,event,timestamp,account_id\n" + "\n".join(ours) + "\n", encoding="utf-8")
    if theirs:
        out.append(folder / f"ph{n}.csv")
        out[-1].write_text("uuid,event,distinct_id,timestamp\n" + "\n".join(theirs) + "\n", encoding="utf-8")
    return out


def _derived_rows(store: Store) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    return (store.query("SELECT * FROM user_days ORDER BY ALL"), store.query("SELECT * FROM users ORDER BY ALL"))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(st.lists(EVENT, min_size=1, max_size=6), min_size=1, max_size=3),
       tz=st.sampled_from(["UTC", "America/New_York"]), sources=st.sampled_from([[], ["posthog_events"]]),
       inactive=st.booleans())
def test_the_tables_an_import_updates_equal_the_tables_built_afresh(tmp_path_factory, batches, tz, sources,
                                                                   inactive):
    folder = tmp_path_factory.mktemp("incremental")
    with Store(folder / "kpis.duckdb") as store:
        set_timezone(store, tz)
        stored_settings.set_event_sources(store, known=event_source_names(), names=sources)
        if inactive:
            store.set_setting("inactive_events", '["$pageleave"]')
        for n, batch in enumerate(batches):
            for path in _files(folder, batch, n):
                import_file(store, path)
        updated = _derived_rows(store)
        with store.transaction() as cur:
            derived.rebuild(cur)
        assert updated == _derived_rows(store)
