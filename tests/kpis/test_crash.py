"""A real import process killed with SIGKILL in the middle of its data transaction: the database opens again,
holds exactly the data it held before that import, and the import log says the import was interrupted."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import duckdb
import pytest

from kpis.ingest.importer import import_file
from kpis.metrics.series import series
from kpis.store.db import Store

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
#: rows of the large export: its import takes a couple of seconds, most of it in the data transaction
BIG_ROWS = 400_000


def write_events(path: Path, rows: int, *, users: int = 5_000, start: str = "2026-01-01") -> Path:
    """An events CSV (``uuid,user_id,event,timestamp``) with ``rows`` distinct events, written by DuckDB.

    Row ``i``: uuid ``e<i>``, user ``u<i mod users>``, event ``ev<i mod 7>``, at ``start`` + ``i mod 2,000,000`` s.
    """
    con = duckdb.connect()
    try:
        con.execute(f"""COPY (SELECT 'e' || range AS uuid, 'u' || (range % {int(users)}) AS user_id,
                                     'ev' || (range % 7) AS event,
                                     TIMESTAMP '{start}' + to_seconds(range % 2000000) AS timestamp
                              FROM range({int(rows)})) TO '{path}' (HEADER)""")
    finally:
        con.close()
    return path


def fingerprints(store: Store, imports_up_to: int | None = None) -> dict[str, tuple[int, int]]:
    """Every table of the database: (rows, sum of row hashes); ``imports`` limited to ids up to
    ``imports_up_to`` when given (the log rows of earlier imports must not change)."""
    tables = [row[0] for row in store.query(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main' "
        "ORDER BY 1")]
    out = {}
    for table in tables:
        where = f"WHERE import_id <= {int(imports_up_to)}" if table == "imports" and imports_up_to else ""
        count, checksum = store.query(f'SELECT count(*), coalesce(sum(hash(t)), 0) FROM "{table}" t {where}')[0]
        out[table] = (int(count), int(checksum))
    return out


def _lines(stream: object, into: queue.Queue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        into.put(line)
    into.put("")


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_kill_9_during_an_import_keeps_the_database_as_it_was(tmp_path: Path, write) -> None:
    db = tmp_path / "crash.duckdb"
    small = write("small.csv", "user_id,event,timestamp\nu1,a,2026-01-05T10:00:00Z\nu2,a,2026-01-06T10:00:00Z\n")
    subs = write("subs.csv", "subscription_id,customer_id,plan,amount,currency,interval,status,started_at,ended_at\n"
                             "s1,c1,Pro,99.00,usd,month,active,2026-01-01,\n")
    with Store(db) as store:
        assert import_file(store, small).import_id == 1
        assert import_file(store, subs).import_id == 2
        assert list(series(store, "dau", "day")["value"]) == [1.0, 1.0]  # builds the derived tables too
        before = fingerprints(store)
    assert before["events"][0] == 2 and before["imports"][0] == 2 and before["user_days"][0] == 2
    big = write_events(tmp_path / "big.csv", BIG_ROWS)

    seen = []
    with subprocess.Popen([sys.executable, "-m", "kpis", "--db", str(db), "import", "--progress", str(big)],
                          cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) as proc:
        lines: queue.Queue[str] = queue.Queue()
        reader = threading.Thread(target=_lines, args=(proc.stderr, lines), daemon=True)
        reader.start()
        try:
            while True:  # the signal: the import's data transaction has begun and the rows are being stored
                line = lines.get(timeout=120)
                seen.append(line)
                assert line, f"the import ended before it was killed: {seen}"
                if line.startswith("big.csv: import 3: storing events"):
                    break
            proc.kill()
            assert proc.wait(timeout=60) == -signal.SIGKILL
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=60)
        reader.join(timeout=60)
    assert seen[0] == "big.csv: import 3 started (events_csv)\n"

    with Store(db) as store:
        after = fingerprints(store, imports_up_to=2)
        log = store.query("SELECT import_id, filename, status, rows_added, undone_at FROM imports WHERE import_id = 3")
        stray = store.query("SELECT count(*) FROM events WHERE import_id = 3")[0][0]
    assert after == before  # every table, row for row: nothing of the killed import, nothing else lost
    assert log == [(3, "big.csv", "interrupted", None, None)]
    assert stray == 0

    history = subprocess.run([sys.executable, "-m", "kpis", "--db", str(db), "imports"], cwd=ROOT, env=ENV,
                             capture_output=True, text=True, timeout=120)
    assert history.returncode == 0, history.stderr
    row = history.stdout.splitlines()[3].split()
    assert row[:2] == ["3", "interrupted"] and row[-1] == "big.csv" and row[-6:-2] == ["-", "-", "-", "-"]

    undo = subprocess.run([sys.executable, "-m", "kpis", "--db", str(db), "undo", "3"], cwd=ROOT, env=ENV,
                          capture_output=True, text=True, timeout=120)
    assert (undo.returncode, undo.stderr) == (
        2, "error: import 3 (big.csv) was interrupted and stored nothing; there is nothing to undo\n")

    with Store(db) as store:  # the interrupted import is no obstacle: the same file imports in full
        again = import_file(store, big)
        assert (again.status, again.import_id, again.rows_added) == ("ok", 4, BIG_ROWS)
        assert store.query("SELECT count(*) FROM events")[0][0] == 2 + BIG_ROWS
        assert store.query("SELECT status FROM imports WHERE import_id = 3") == [("interrupted",)]


def test_an_import_running_in_this_process_is_not_marked_interrupted(tmp_path: Path, write) -> None:
    """Opening the same file again inside the process (a second Store) leaves a running import alone."""
    db = tmp_path / "same.duckdb"
    path = write("e.csv", "user_id,event,timestamp\nu1,a,2026-01-05T10:00:00Z\n")
    seen: list[str] = []
    with Store(db) as store:

        def progress(message: str) -> None:
            if "storing" in message:
                with Store(db) as second:  # opened while import 1 is running
                    seen.extend(row[0] for row in second.query("SELECT status FROM imports"))

        result = import_file(store, path, progress=progress)
        assert result.status == "ok"
        assert store.query("SELECT status FROM imports") == [("ok",)]
    assert seen == ["running"]
