"""Bounded time and memory: an import past its time limit stores nothing and says so; the limit never reaches
any other query; DuckDB's memory limit and threads come from the documented settings."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from kpis.core.errors import InputError
from kpis.ingest.importer import import_file
from kpis.store.db import Store
from tests.kpis.test_crash import fingerprints, write_events

ROOT = Path(__file__).resolve().parents[2]
ROWS = 2_000  # a small import: it reaches its limit because the test holds it open, never because it is slow
#: sum of 0 .. N-1 for N = 2,000,000,000 is N(N-1)/2 = 1,999,999,999,000,000,000; DuckDB needs seconds for it
LONG_SQL = "SELECT sum(range) FROM range(2000000000)"
LONG_SUM = 1_999_999_999_000_000_000
LIMIT = 0.2
#: a limit every import exceeds: the transaction's statements alone take longer than a microsecond
MICROSECOND = "0.000001"
TIMED_OUT = ("big.csv: the import took longer than {} s and was stopped; nothing was stored "
             "(KPI_IMPORT_TIMEOUT sets the limit)")


def kpis(*args: str, db: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kpis", "--db", str(db), *args], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **env}, cwd=ROOT, timeout=300)


def hold_past(limit: float, *, extra: float = 0.0) -> Callable[[str], None]:
    """A progress callback that keeps the import's transaction open until ``limit`` (+ ``extra``) seconds have
    passed since the data started to be stored: the import is then past its limit on any machine, however fast."""

    def progress(line: str) -> None:
        if ": storing " in line:  # reported inside the timed transaction, after the file was staged
            deadline = time.monotonic() + limit + extra
            while (left := deadline - time.monotonic()) > 0:
                time.sleep(min(left, 0.05))  # short sleeps: the suite also runs under faketime, see README

    return progress


def test_an_import_past_its_time_limit_stores_nothing_and_the_log_says_so(store: Store, tmp_path: Path,
                                                                         write) -> None:
    import_file(store, write("e.csv", "user_id,event,timestamp\nu1,a,2026-01-05T10:00:00Z\n"))
    before = fingerprints(store)
    big = write_events(tmp_path / "big.csv", ROWS)
    with pytest.raises(InputError) as info:
        import_file(store, big, timeout=LIMIT, progress=hold_past(LIMIT))
    assert str(info.value) == TIMED_OUT.format("0.2")
    assert fingerprints(store, imports_up_to=1) == before
    assert store.query("SELECT import_id, filename, status, rows_added FROM imports WHERE import_id = 2") == [
        (2, "big.csv", "timed-out", None)]
    assert store.data_version() == (1, 0, 0, 0, 0)  # caches keyed on it stay valid: nothing changed
    # the same store and file work afterwards, without the limit: the rows all arrive, once
    again = import_file(store, big, timeout=0)
    assert (again.status, again.import_id, again.rows_added) == ("ok", 3, ROWS)
    assert store.query("SELECT count(*) FROM events")[0][0] == 1 + ROWS


def test_an_import_within_its_limit_commits(store: Store, tmp_path: Path) -> None:
    done = import_file(store, write_events(tmp_path / "big.csv", ROWS), timeout=600)
    assert (done.status, done.rows_added) == ("ok", ROWS)


def test_the_cli_reads_the_limit_from_kpi_import_timeout(tmp_path: Path) -> None:
    db = tmp_path / "cli.duckdb"
    big = write_events(tmp_path / "big.csv", ROWS)
    done = kpis("import", str(big), db=db, env={"KPI_IMPORT_TIMEOUT": MICROSECOND})
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"error: {TIMED_OUT.format('1e-06')}\n"
    history = kpis("imports", db=db, env={}).stdout.splitlines()
    assert history[1].split()[:2] == ["1", "timed-out"] and history[1].split()[-6:-2] == ["-"] * 4
    with Store(db) as store:
        assert store.query("SELECT count(*) FROM events") == [(0,)]
    bad = kpis("import", str(big), db=db, env={"KPI_IMPORT_TIMEOUT": "soon"})
    assert (bad.returncode, bad.stderr) == (
        2, "error: big.csv: KPI_IMPORT_TIMEOUT: expected a number of seconds such as 600 (0: no limit), got 'soon'\n")


def test_the_time_limit_never_reaches_another_query(store: Store, tmp_path: Path, write) -> None:
    # a reader busy while an import times out next to it is not interrupted: the import is held open well past
    # its limit (the watchdog interrupts its cursor every 50 ms meanwhile) while the reader's query runs
    big = write_events(tmp_path / "big.csv", ROWS)
    answers: list[object] = []
    started = threading.Event()

    def read() -> None:
        started.set()
        try:
            answers.append(store.query(LONG_SQL)[0][0])
        except BaseException as exc:
            answers.append(exc)

    reader = threading.Thread(target=read)
    with pytest.raises(InputError, match="took longer than 0.2 s"):
        reader.start()
        started.wait()
        try:
            import_file(store, big, timeout=LIMIT, progress=hold_past(LIMIT, extra=0.5))
        finally:
            reader.join(timeout=300)
    assert answers == [LONG_SUM]
    # an import that finishes well within its limit leaves no timer behind for the queries after it
    done = import_file(store, write("e.csv", "user_id,event,timestamp\nu1,a,2026-01-05T10:00:00Z\n"), timeout=600)
    assert done.status == "ok"
    assert not [t for t in threading.enumerate() if t.name == "kpis-timeout" and t.is_alive()], "the timer is gone"
    with store.transaction(timeout=600) as cur:  # the limit's own transaction commits when it is within it
        cur.execute("INSERT INTO settings VALUES ('probe', 'kept')")
    assert store.get_setting("probe") == "kept"


def test_memory_limit_and_threads_come_from_the_environment(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("KPI_MEMORY_LIMIT", "1GiB")
    monkeypatch.setenv("KPI_THREADS", "1")
    with Store(tmp_path / "a.duckdb") as store:
        assert store.query("SELECT current_setting('memory_limit'), current_setting('threads')") == [("1.0 GiB", 1)]
    with Store(tmp_path / "b.duckdb", memory_limit="512MiB") as store:  # an explicit limit wins
        assert store.query("SELECT current_setting('memory_limit')") == [("512.0 MiB",)]


def test_the_default_memory_limit_is_half_the_machine(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("KPI_MEMORY_LIMIT", raising=False)
    monkeypatch.delenv("KPI_THREADS", raising=False)
    plain = duckdb.connect(config={"memory_limit": "50%"})
    try:
        half, cores = plain.execute("SELECT current_setting('memory_limit'), current_setting('threads')").fetchone()
        full = duckdb.connect(config={"memory_limit": "100%"})
        whole = full.execute("SELECT current_setting('memory_limit')").fetchone()[0]
        full.close()
    finally:
        plain.close()
    assert half != whole  # the default is not all of the memory
    with Store(tmp_path / "c.duckdb") as store:
        assert store.query("SELECT current_setting('memory_limit'), current_setting('threads')") == [(half, cores)]


@pytest.mark.parametrize("name, value, message", [
    ("KPI_MEMORY_LIMIT", "lots", "error: KPI_MEMORY_LIMIT: expected a memory size such as 4GB, 512MiB or 50%, "
                                 "got 'lots'\n"),
    ("KPI_MEMORY_LIMIT", "150%", "error: KPI_MEMORY_LIMIT: expected a memory size such as 4GB, 512MiB or 50%, "
                                 "got '150%'\n"),
    ("KPI_THREADS", "0", "error: KPI_THREADS: expected a number of threads such as 2, got '0'\n"),
])
def test_a_bad_setting_is_one_line_naming_it(tmp_path: Path, name: str, value: str, message: str) -> None:
    done = kpis("imports", db=tmp_path / "x.duckdb", env={name: value})
    assert (done.returncode, done.stderr, done.stdout) == (1, message, "")
