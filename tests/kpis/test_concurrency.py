"""Ten threads computing KPIs while two imports run on the same Store: no errors, no lost or doubled rows, and
every KPI answer matches one whole state of the data (before, between or after the imports), never a mix. And
between processes: one process at a time holds the database, before and after its backups, so a second process
is refused rather than allowed to write under the first."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from kpis.core.errors import InputError
from kpis.ingest.importer import ImportResult, import_file, undo
from kpis.metrics.series import series
from kpis.ops.demo import remove_demo_with_backup
from kpis.store.backup import backup
from kpis.store.db import Store

READERS = 10


def _events(path: Path, prefix: str, users: int, first_day: str, days: int) -> Path:
    """``users`` users active once a day (at noon) on ``days`` days from ``first_day``: users x days rows."""
    con = duckdb.connect()
    try:
        con.execute(f"""COPY (SELECT '{prefix}' || (range % {users}) AS user_id, 'open' AS event,
                                     TIMESTAMP '{first_day} 12:00:00' + to_days(CAST(range // {users} AS INTEGER))
                                         AS timestamp
                              FROM range({users * days})) TO '{path}' (HEADER)""")
    finally:
        con.close()
    return path


def _answer(store: Store) -> tuple[int, int, float]:
    """What one reader records: the events count and the DAU series by day (days, sum), from the same state."""
    events = store.query("SELECT count(*) FROM events")[0][0]
    dau = series(store, "dau", "day")
    return int(events), len(dau), float(dau["value"].sum())


def test_readers_see_whole_states_while_two_imports_run(tmp_path: Path) -> None:
    base = _events(tmp_path / "base.csv", "a", 100, "2026-01-01", 10)     # 1,000 rows, Jan 1-10
    first = _events(tmp_path / "first.csv", "b", 10_000, "2026-01-11", 10)  # 100,000 rows, Jan 11-20
    second = _events(tmp_path / "second.csv", "c", 20_000, "2026-01-21", 5)  # 100,000 rows, Jan 21-25
    # What a reader may see: (events, days in the DAU series, sum of daily DAU). One event per user and day, so
    # the DAU of a day is the rows of that day and the sum of the series equals the events count.
    states = {
        (1_000, 10, 1_000.0),        # before: Jan 1-10 at 100 a day
        (101_000, 20, 101_000.0),    # + first: Jan 11-20 at 10,000 a day
        (101_000, 25, 101_000.0),    # + second only: Jan 21-25 at 20,000, Jan 11-20 at 0
        (201_000, 25, 201_000.0),    # both
    }
    with Store(tmp_path / "busy.duckdb") as store:
        assert import_file(store, base).rows_added == 1_000
        # the state before the imports, which the readers may see while those run
        assert store.consistent(_answer) == (1_000, 10, 1_000.0)
        seen: list[list[tuple[int, int, float]]] = [[] for _ in range(READERS)]
        errors: list[BaseException] = []
        results: list[ImportResult] = []
        imports_done, storing = threading.Event(), threading.Event()
        start = threading.Barrier(READERS + 2)

        def read(mine: list[tuple[int, int, float]]) -> None:
            try:
                start.wait(timeout=60)
                while True:
                    finished = imports_done.is_set()
                    mine.append(store.consistent(_answer))  # one state for all the queries of one answer
                    if finished:
                        return
            except BaseException as exc:
                errors.append(exc)

        def load(path: Path) -> None:
            try:
                start.wait(timeout=60)
                results.append(import_file(store, path, progress=lambda m: storing.set() if "storing" in m
                                           else None))
            except BaseException as exc:
                errors.append(exc)

        readers = [threading.Thread(target=read, args=(seen[i],)) for i in range(READERS)]
        loaders = [threading.Thread(target=load, args=(path,)) for path in (first, second)]
        for thread in readers + loaders:
            thread.start()
        assert storing.wait(timeout=120)
        saved = backup(store, tmp_path / "during.duckdb")  # a backup taken while all that runs
        deadline = time.monotonic() + 300
        for thread in loaders:
            thread.join(timeout=max(deadline - time.monotonic(), 1))
        imports_done.set()
        for thread in readers:
            thread.join(timeout=max(deadline - time.monotonic(), 1))
        assert not any(thread.is_alive() for thread in readers + loaders), "did not finish in 300 s"

        assert errors == []
        assert sorted((r.status, r.rows_added, r.duplicates) for r in results) == [("ok", 100_000, 0)] * 2
        assert store.query("SELECT count(*), count(DISTINCT (user_id, ts)) FROM events") == [(201_000, 201_000)]
        assert store.query("SELECT status, count(*) FROM imports GROUP BY 1") == [("ok", 3)]
        for mine in seen:
            assert mine, "a reader saw nothing"
            assert set(mine) <= states, set(mine) - states
            assert mine[-1] == (201_000, 25, 201_000.0)  # a read that began after both imports sees both
        observed = set().union(*map(set, seen))
        assert (1_000, 10, 1_000.0) in observed or len(observed) > 1, observed

    with Store(saved) as copy:
        assert copy.query("SELECT count(*) FROM events")[0][0] in {1_000, 101_000, 201_000}
        counted = copy.query("SELECT sum(rows_added) FROM imports WHERE status = 'ok'")[0][0]
        assert copy.query("SELECT count(*) FROM events")[0][0] == counted  # the log and the rows agree


# -- one process at a time: the database's lock survives every backup -----------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
EVENTS = "user_id,event,timestamp\n"


def _cli_import(db: Path, path: Path) -> subprocess.CompletedProcess[str]:
    """``python -m kpis --db DB import PATH`` as a second, real process."""
    return subprocess.run([sys.executable, "-m", "kpis", "--db", str(db), "import", str(path)], capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT, timeout=300)


def _refused(db: Path) -> str:
    """What the second process says when this one holds the database."""
    return (f"error: cannot open the database {db}: it is open in another process (PID {os.getpid()}, the "
            "dashboard?); only one process at a time can use it\n")


def _events_file(folder: Path, n: int) -> Path:
    """Export ``n``: two events of users only it has, so that every import adds exactly two rows."""
    path = folder / f"ev{n}.csv"
    path.write_text(EVENTS + f"n{n}a,open,2026-01-05T10:00:00Z\nn{n}b,open,2026-01-06T10:00:00Z\n")
    return path


def _back_up(store: Store, folder: Path) -> None:
    backup(store, folder / "by-hand.duckdb")


def _undo_last(store: Store, folder: Path) -> None:
    undo(store, store.query("SELECT max(import_id) FROM imports WHERE status = 'ok'")[0][0])


def _remove_demo(store: Store, folder: Path) -> None:
    assert remove_demo_with_backup(store).backup is not None


@pytest.mark.parametrize("action", [_back_up, _undo_last, _remove_demo], ids=["backup", "undo", "remove-demo"])
def test_a_second_process_is_refused_after_a_backup(tmp_path: Path, action) -> None:
    db = tmp_path / "live.duckdb"
    with Store(db) as store:
        import_file(store, _events_file(tmp_path, 1), who="demo")
        import_file(store, _events_file(tmp_path, 2), who="cpo")
        action(store, tmp_path)
        second = _cli_import(db, _events_file(tmp_path, 3))
        assert (second.returncode, second.stdout, second.stderr) == (1, "", _refused(db))
        import_file(store, _events_file(tmp_path, 4))  # this process's next write: nothing of the other's to lose
    with Store(db) as store:
        assert store.query("SELECT import_id, filename FROM imports ORDER BY 1") == [
            (1, "ev1.csv"), (2, "ev2.csv"), (3, "ev4.csv")]


def test_importing_the_database_file_itself_is_refused_and_keeps_the_lock(tmp_path: Path) -> None:
    db = tmp_path / "live.duckdb"
    with Store(db) as store:
        with pytest.raises(InputError) as refused:
            import_file(store, db)
        assert str(refused.value) == ("live.duckdb: this is the dashboard's own database, not an export: nothing "
                                      "was read")
        second = _cli_import(db, _events_file(tmp_path, 1))
        assert (second.returncode, second.stderr) == (1, _refused(db))


#: What the process holding the database does between a second process's imports.
STEPS = ("backup", "undo", "remove demo", "import here", "import there", "import there while closed")


@settings(max_examples=12, deadline=None)
@example(steps=["backup", "import there"])  # the lost import: a backup dropped the lock, the next write overwrote
@example(steps=["undo", "import there", "remove demo", "import there while closed"])
@given(steps=st.lists(st.sampled_from(STEPS), min_size=1, max_size=4))
def test_no_interleaving_of_backups_and_a_second_process_loses_an_import(tmp_path_factory, steps) -> None:
    """Every import a process reports as stored is in the database at the end (or was undone here), with its rows;
    a second process that cannot have the database is refused with the message, and stores nothing. The first
    process closes the database only in "import there while closed", so that is the one import of the second
    process that can be stored."""
    folder = tmp_path_factory.mktemp("steps")
    db = folder / "live.duckdb"
    stored: list[str] = []  # files whose import reported success, in order
    undone: set[str] = set()
    files = iter(range(1, 100))

    def next_file() -> Path:
        return _events_file(folder, next(files))

    store = Store(db)
    try:
        import_file(store, next_file(), who="demo")
        stored.append("ev1.csv")
        for step in steps:
            if step == "backup":
                backup(store, folder)
            elif step == "undo":
                live = store.query("SELECT import_id, filename FROM imports WHERE status = 'ok' ORDER BY 1 DESC")
                if live:
                    undo(store, live[0][0])
                    undone.add(live[0][1])
            elif step == "remove demo":
                if remove_demo_with_backup(store).messages:  # the demo is import 1, ev1.csv
                    undone.add("ev1.csv")
            elif step == "import here":
                path = next_file()
                import_file(store, path)
                stored.append(path.name)
            else:
                path = next_file()
                if step == "import there while closed":
                    store.close()
                second = _cli_import(db, path)
                if step == "import there while closed":
                    store = Store(db)
                if second.returncode == 0:
                    stored.append(path.name)
                else:  # refused whole, with the message
                    assert (second.returncode, second.stdout, second.stderr) == (1, "", _refused(db))
        last = next_file()
        import_file(store, last)  # the dashboard's next write comes after everything the other process did
        stored.append(last.name)
    finally:
        store.close()

    with Store(db) as store:
        log = store.query("SELECT filename, status FROM imports ORDER BY import_id")
        events = store.query("SELECT count(*) FROM events")[0][0]
    assert log == [(name, "undone" if name in undone else "ok") for name in stored]
    assert events == 2 * sum(name not in undone for name in stored)
    assert len(stored) == 2 + steps.count("import here") + steps.count("import there while closed")
