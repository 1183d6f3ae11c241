"""Ten threads computing KPIs while two imports run on the same Store: no errors, no lost or doubled rows, and
every KPI answer matches one whole state of the data (before, between or after the imports), never a mix."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import duckdb

from kpis.backup import backup
from kpis.importer import ImportResult, import_file
from kpis.series import series
from kpis.store import Store

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
        # The first read after an import builds the derived tables, a write that waits for a running import: done
        # here, so the readers can read the state before the imports while those run (else all may wait them out).
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
