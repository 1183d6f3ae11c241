"""Import pipeline: idempotence, versions, event de-duplication and exact undo, on real files and a real database."""

from __future__ import annotations

import itertools
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpis.core.errors import InputError
from kpis.ingest.importer import import_file, undo
from kpis.store.db import Store

EVENTS_HEADER = "user_id,event,timestamp\n"


def _events(store: Store) -> list[tuple[str, str, datetime, int]]:
    return [tuple(r) for r in store.query("SELECT user_id, event, ts, import_id FROM events ORDER BY ts, user_id")]


def test_same_file_twice_is_a_no_op(store, write):
    path = write("e.csv", EVENTS_HEADER + "u1,signup,2026-01-05T10:00:00Z\n")
    first = import_file(store, path)
    again = import_file(store, path)
    assert (first.status, first.rows_added) == ("ok", 1)
    assert (again.status, again.import_id) == ("duplicate", first.import_id)
    assert "nothing changed" in again.summary()
    assert store.query("SELECT count(*) FROM imports")[0][0] == 1


def test_overlapping_exports_never_double_count_and_undo_hands_over(store, write):
    week1 = write("w1.csv", EVENTS_HEADER + "u1,a,2026-01-05T10:00:00Z\nu2,a,2026-01-06T10:00:00Z\n")
    weeks12 = write("w12.csv", EVENTS_HEADER + "u1,a,2026-01-05T10:00:00Z\nu2,a,2026-01-06T10:00:00Z\n"
                                               "u3,b,2026-01-12T09:00:00Z\n")
    r1 = import_file(store, week1)
    r2 = import_file(store, weeks12)
    assert (r2.rows_added, r2.duplicates) == (1, 2)
    assert len(_events(store)) == 3
    undo(store, r1.import_id)
    # week 1's rows were also in the second export: they stay, now owned by it
    assert _events(store) == [
        ("u1", "a", datetime(2026, 1, 5, 10), r2.import_id),
        ("u2", "a", datetime(2026, 1, 6, 10), r2.import_id),
        ("u3", "b", datetime(2026, 1, 12, 9), r2.import_id),
    ]
    undo(store, r2.import_id)
    assert _events(store) == []
    assert store.query("SELECT count(*) FROM event_claims")[0][0] == 0


def test_undo_twice_and_unknown_import_are_clear_errors(store, write):
    r = import_file(store, write("e.csv", EVENTS_HEADER + "u1,a,2026-01-05T10:00:00Z\n"))
    undo(store, r.import_id)
    with pytest.raises(InputError, match="already undone"):
        undo(store, r.import_id)
    with pytest.raises(InputError, match="no import 99"):
        undo(store, 99)


def test_after_undo_the_same_file_imports_again(store, write):
    path = write("e.csv", EVENTS_HEADER + "u1,a,2026-01-05T10:00:00Z\n")
    r = import_file(store, path)
    undo(store, r.import_id)
    again = import_file(store, path)
    assert again.status == "ok" and again.rows_added == 1


SUBS_HEADER = "subscription_id,customer_id,plan,amount,currency,interval,status,started_at,ended_at\n"


def test_newer_export_replaces_a_subscription_and_undo_restores_it(store, write):
    old = write("old.csv", SUBS_HEADER + "s1,c1,Pro,99.00,usd,month,active,2026-01-01,\n"
                                         "s2,c2,Team,49.00,usd,month,active,2026-01-02,\n")
    new = write("new.csv", SUBS_HEADER + "s1,c1,Pro,99.00,usd,month,canceled,2026-01-01,2026-03-01\n"
                                         "s2,c2,Team,49.00,usd,month,active,2026-01-02,\n")
    r_old = import_file(store, old)
    r_new = import_file(store, new)
    assert (r_new.rows_added, r_new.rows_updated, r_new.duplicates) == (0, 1, 1)
    current = store.query("SELECT subscription_id, status, ended_at FROM subscriptions ORDER BY 1")
    assert current == [("s1", "canceled", datetime(2026, 3, 1)), ("s2", "active", None)]
    undo(store, r_new.import_id)
    current = store.query("SELECT subscription_id, status, ended_at FROM subscriptions ORDER BY 1")
    assert current == [("s1", "active", None), ("s2", "active", None)]
    assert store.query("SELECT import_id FROM subscriptions WHERE subscription_id = 's1'") == [(r_old.import_id,)]


def test_an_older_export_uploaded_later_does_not_win(store, write):
    new = write("new.csv", SUBS_HEADER + "s1,c1,Pro,99.00,usd,month,canceled,2026-01-01,2026-03-01\n")
    old = write("old.csv", SUBS_HEADER + "s1,c1,Pro,99.00,usd,month,active,2026-01-01,\n")
    import_file(store, new)
    import_file(store, old)  # its latest date is 2026-01-01, older than the first file's 2026-03-01
    assert store.query("SELECT status FROM subscriptions") == [("canceled",)]


def test_within_one_file_the_last_row_for_a_key_wins(store, write):
    path = write("s.csv", SUBS_HEADER + "s1,c1,Pro,99.00,usd,month,active,2026-01-01,\n"
                                        "s1,c1,Pro,199.00,usd,month,active,2026-01-01,\n")
    result = import_file(store, path)
    assert (result.rows_added, result.duplicates) == (1, 1)
    assert store.query("SELECT amount FROM subscriptions") == [(199.0,)]


def test_a_failed_import_stores_nothing(store, write):
    import_file(store, write("ok.csv", SUBS_HEADER + "s1,c1,Pro,99.00,usd,month,active,2026-01-01,\n"))
    before = store.query("SELECT * FROM subscription_versions ORDER BY ALL")
    bad = write("bad.csv", SUBS_HEADER + "s2,c2,Pro,99.00,usd,month,active,2026-01-01,\n"
                                         "s3,c3,Pro,lots,usd,month,active,2026-01-01,\n")
    with pytest.raises(InputError) as info:
        import_file(store, bad)
    assert str(info.value) == "bad.csv, line 3, column 'amount': cannot read \"lots\": expected a number such as 99.00"
    assert store.query("SELECT * FROM subscription_versions ORDER BY ALL") == before
    assert store.query("SELECT count(*) FROM imports")[0][0] == 1


# -- property: undo is exact for any sequence of overlapping event exports -----------------------------------------

UNIVERSE = [(f"u{u}", e, f"2026-01-0{d}T10:00:00Z") for u, e, d in itertools.product((1, 2), ("a", "b"), (5, 6, 7))]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=st.lists(st.sets(st.sampled_from(UNIVERSE), min_size=1), min_size=1, max_size=4),
       undone=st.lists(st.integers(0, 3), max_size=3, unique=True))
def test_stored_events_are_the_union_of_live_imports(tmp_path: Path, files, undone):
    """Oracle: after any imports and undos, events = the set union of the files of imports still live."""
    db = tmp_path / f"p{abs(hash((tuple(map(frozenset, files)), tuple(undone))))}.duckdb"
    with Store(db) as store:
        ids, contents = [], {}
        for index, rows in enumerate(files):
            path = tmp_path / f"f{index}.csv"
            path.write_text(EVENTS_HEADER + "".join(f"{u},{e},{t}\n" for u, e, t in sorted(rows)))
            result = import_file(store, path)
            if result.status == "ok":
                ids.append(result.import_id)
                contents[result.import_id] = rows
        for position in undone:
            if position < len(ids) and ids[position] in contents:
                undo(store, ids[position])
                del contents[ids[position]]
        expected = set().union(*contents.values()) if contents else set()
        stored = store.query("SELECT user_id, event, strftime(ts, '%Y-%m-%dT%H:%M:%SZ'), import_id FROM events")
        assert sorted(r[:3] for r in stored) == sorted(expected)  # each event exactly once
        assert all(r[3] in contents for r in stored)  # and owned by a live import
    db.unlink()


def test_undoing_a_middle_import_keeps_what_a_later_one_still_states(store, write):
    v1 = write("v1.csv", SUBS_HEADER + "s1,c1,Pro,10,usd,month,active,2026-01-01,\n")
    v2 = write("v2.csv", SUBS_HEADER + "s1,c1,Pro,20,usd,month,active,2026-01-01,\n"
                                       "s2,c2,Pro,5,usd,month,active,2026-02-01,\n")
    v3 = write("v3.csv", SUBS_HEADER + "s1,c1,Pro,20,usd,month,active,2026-01-01,\n"
                                       "s2,c2,Pro,5,usd,month,active,2026-02-01,\n"
                                       "s3,c3,Pro,1,usd,month,active,2026-03-01,\n")
    import_file(store, v1)
    r2 = import_file(store, v2)
    r3 = import_file(store, v3)
    assert (r3.rows_added, r3.rows_updated, r3.duplicates) == (1, 0, 2)
    undo(store, r2.import_id)
    # the third export still says s1 = 20 and s2 exists: undoing the second changes nothing it states
    assert store.query("SELECT subscription_id, amount FROM subscriptions ORDER BY 1") == [
        ("s1", 20.0), ("s2", 5.0), ("s3", 1.0)]


def test_an_older_export_after_a_newer_one_reports_no_update(store, write):
    import_file(store, write("new.csv", SUBS_HEADER + "s1,c1,Pro,99.00,usd,month,canceled,2026-01-01,2026-03-01\n"))
    late = import_file(store, write("old.csv", SUBS_HEADER + "s1,c1,Pro,99.00,usd,month,active,2026-01-01,\n"))
    assert (late.rows_added, late.rows_updated) == (0, 0)
    assert store.query("SELECT status FROM subscriptions") == [("canceled",)]


# -- the import log row: written first, final with the data ----------------------------------------------------------

def test_the_log_row_is_running_until_the_data_commits_and_caches_keep_their_key(store, write):
    first_file = write("a.csv", EVENTS_HEADER + "u1,a,2026-01-05T10:00:00Z\n")
    import_file(store, first_file)
    seen = []

    def progress(message: str) -> None:
        if "storing" in message:  # inside the data transaction: other readers see the log row, not the data
            seen.append((store.query("SELECT import_id, status FROM imports ORDER BY 1"),
                         store.query("SELECT count(*) FROM events")[0][0], store.data_version()))

    result = import_file(store, write("b.csv", EVENTS_HEADER + "u2,a,2026-01-06T10:00:00Z\n"), progress=progress)
    assert seen == [([(1, "ok"), (2, "running")], 1, (1, 0, 0, 0, 0))]
    assert result.import_id == 2
    assert store.query("SELECT import_id, status, rows_added FROM imports ORDER BY 1") == [(1, "ok", 1), (2, "ok", 1)]
    assert store.data_version() == (2, 0, 0, 0, 0)


def test_an_import_stopped_by_ctrl_c_is_logged_interrupted_and_stores_nothing(store, write):
    def stop(message: str) -> None:
        if "rows read" in message:
            raise KeyboardInterrupt

    path = write("e.csv", EVENTS_HEADER + "u1,a,2026-01-05T10:00:00Z\n")
    with pytest.raises(KeyboardInterrupt):
        import_file(store, path, progress=stop)
    assert store.query("SELECT import_id, status FROM imports") == [(1, "interrupted")]
    assert store.query("SELECT count(*) FROM events") == [(0,)]
    with pytest.raises(InputError, match=r"^import 1 \(e.csv\) was interrupted and stored nothing; there is "
                                         r"nothing to undo$"):
        undo(store, 1)
    assert (import_file(store, path).status, store.query("SELECT count(*) FROM events")) == ("ok", [(1,)])


def test_the_same_file_from_two_threads_is_stored_once(store, write):
    import threading

    path = write("e.csv", EVENTS_HEADER + "u1,a,2026-01-05T10:00:00Z\nu2,a,2026-01-05T11:00:00Z\n")
    results, start = [], threading.Barrier(2)

    def load() -> None:
        start.wait(timeout=30)
        results.append(import_file(store, path))

    threads = [threading.Thread(target=load) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(r.status for r in results) == ["duplicate", "ok"]
    assert store.query("SELECT count(*) FROM events") == [(2,)]
    assert store.query("SELECT count(*) FROM imports") == [(1,)]
