"""The command line, run as a real process: output lines, exit codes, and no traceback ever."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kpis.ops.status import import_history
from kpis.store.db import Store

ROOT = Path(__file__).resolve().parents[2]


def kpis(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "kpis", "--db", str(db), *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=300)


def test_import_imports_undo_round_trip(tmp_path, write):
    db = tmp_path / "cli.duckdb"
    events = write("e.csv", "user_id,event,timestamp\nu1,a,2026-01-05T10:00:00Z\nu2,a,2026-01-05T11:00:00Z\n")
    done = kpis("import", str(events), db=db)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ("e.csv: events_csv, import 1: 2 rows added, 0 updated, 0 duplicates skipped, "
                           "0 rows rejected\n")
    again = kpis("import", str(events), db=db)
    assert again.stdout == "e.csv: already imported as import 1 (events_csv); nothing changed\n"
    history = kpis("imports", db=db)
    assert history.returncode == 0
    lines = history.stdout.splitlines()
    assert lines[0].split()[:4] == ["id", "status", "imported", "at"]
    assert lines[1].split()[:2] == ["1", "ok"] and lines[1].endswith("e.csv")
    undone = kpis("undo", "1", db=db)
    assert (undone.returncode, undone.stdout) == (0, "import 1 (e.csv) undone\n")
    assert kpis("imports", db=db).stdout.splitlines()[1].split()[:2] == ["1", "undone"]


def test_targets_export_writes_the_targets_csv_that_imports_again(tmp_path, write):
    db = tmp_path / "cli.duckdb"
    targets = write("t.csv", b"kpi,grain,period_start,target,owner,note\r\n"
                             b"stickiness,quarter,2026-04-01,0.0000001,,\"line one\rline two\"\r\n"
                             b"mrr,month,2026-01-01,1234567.891234567,=CPO,\"growth, a lot\"\r\n")
    assert kpis("targets", "import", str(targets), db=db).returncode == 0
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "kpis", "--db", str(db), "targets", "export"], capture_output=True,
                          env=env, cwd=ROOT, timeout=300)
    assert (done.returncode, done.stderr) == (0, b"")
    assert done.stdout == (b"kpi,grain,period_start,target,owner,note\n"
                           b"mrr,month,2026-01-01,1234567.891234567,'=CPO,\"growth, a lot\"\n"
                           b"stickiness,quarter,2026-04-01,0.0000001,,\"line one\rline two\"\n")
    again = tmp_path / "again.duckdb"
    assert kpis("targets", "import", str(write("export.csv", done.stdout)), db=again).returncode == 0
    with Store(db) as first, Store(again) as second:
        sql = "SELECT kpi, grain, period_start, \"value\", note FROM targets ORDER BY kpi"
        assert first.query(sql) == second.query(sql)


def test_bad_file_exits_non_zero_with_one_message_and_no_traceback(tmp_path, write):
    db = tmp_path / "cli.duckdb"
    good = write("good.csv", "user_id,event,timestamp\nu1,a,2026-01-05T10:00:00Z\n")
    bad = write("photo.png", b"\x89PNG\r\n\x1a\n" + bytes(100))
    done = kpis("import", str(bad), str(good), db=db)
    assert done.returncode == 2
    assert done.stderr == "error: photo.png: this is a PNG image, not a data export\n"
    assert "good.csv: events_csv, import 1" in done.stdout  # the good file still went in, on its own


@pytest.mark.parametrize("args, message", [
    (("undo", "7"), "error: there is no import 7; `imports` lists them\n"),
    (("import", "/nonexistent/x.csv"), "error: x.csv: no such file\n"),
])
def test_errors_are_one_line(tmp_path, args, message):
    done = kpis(*args, db=tmp_path / "cli.duckdb")
    assert done.returncode == 2
    assert done.stderr == message


def test_unopenable_database_is_a_message(tmp_path):
    not_a_db = tmp_path / "x.duckdb"
    not_a_db.write_bytes(b"this is not a database" * 100)
    done = kpis("imports", db=not_a_db)
    assert done.returncode == 1
    assert done.stderr.startswith("error: cannot open the database")
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("name", __import__("kpis.ops.demo", fromlist=["DEMO_FILES"]).DEMO_FILES)
def test_every_demo_file_round_trips_through_the_cli(tmp_path, name):
    """Import each demo file by itself, list it, undo it: the database is empty again."""
    from kpis.ops.demo import DEMO_DIR

    db = tmp_path / "demo.duckdb"
    done = kpis("import", str(DEMO_DIR / name), db=db)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{name}: ") and " rows added" in done.stdout
    assert kpis("imports", db=db).stdout.splitlines()[1].split()[:2] == ["1", "ok"]
    assert kpis("undo", "1", db=db).returncode == 0
    from kpis.store.db import Store

    with Store(db) as store:
        counts = store.query("""SELECT (SELECT count(*) FROM events) + (SELECT count(*) FROM subscriptions)
                                     + (SELECT count(*) FROM customers) + (SELECT count(*) FROM targets)""")
    assert counts == [(0,)]


def test_demo_command_then_series(tmp_path):
    db = tmp_path / "demo.duckdb"
    assert kpis("demo", db=db).returncode == 0
    mrr = kpis("series", "mrr", "--grain", "month", "--start", "2026-10-01", "--end", "2026-10-31", db=db)
    assert mrr.returncode == 0, mrr.stderr
    lines = mrr.stdout.splitlines()
    assert lines[0] == "period_start,value" and lines[1].startswith("2026-10-01,") and len(lines) == 2
    assert float(lines[1].split(",")[1]) > 0


def test_one_failing_file_does_not_stop_the_next(tmp_path, write):
    db = tmp_path / "cli.duckdb"
    bad = write("bad.csv", "user_id,event,timestamp\nu1,a,2026-01-05T10:00:00Z\n\"u2,a")
    good = write("good.csv", "user_id,event,timestamp\nu3,a,2026-01-05T10:00:00Z\n")
    done = kpis("import", str(bad), str(good), db=db)
    assert done.returncode == 2
    assert done.stderr.startswith("error: bad.csv, line 3: ")
    assert done.stdout.startswith("good.csv: events_csv, import 1: 1 rows added")


def test_import_progress_goes_to_stderr(tmp_path, write):
    events = write("e.csv", "user_id,event,timestamp\nu1,a,2026-01-05T10:00:00Z\nu2,a,2026-01-05T11:00:00Z\n")
    done = kpis("import", "--progress", str(events), db=tmp_path / "p.duckdb")
    assert done.returncode == 0
    assert done.stderr == ("e.csv: import 1 started (events_csv)\n"
                           "e.csv: import 1: storing events\n"
                           "e.csv: import 1: 2 rows read, removing duplicates\n")
    assert done.stdout.startswith("e.csv: events_csv, import 1: 2 rows added")


def test_backup_then_restore_into_a_new_database_file(tmp_path, write):
    db = tmp_path / "a.duckdb"
    assert kpis("import", str(write("e.csv", "user_id,event,timestamp\nu1,a,2026-01-05T10:00:00Z\n")),
                db=db).returncode == 0
    saved = tmp_path / "saved.duckdb"
    assert kpis("backup", str(saved), db=db).returncode == 0
    fresh = tmp_path / "elsewhere" / "b.duckdb"
    done = kpis("restore", str(saved), db=fresh)
    assert (done.returncode, done.stdout, done.stderr) == (0, f"restored {fresh} from {saved}\n", "")
    assert kpis("imports", db=fresh).stdout.splitlines()[1].split()[:2] == ["1", "ok"]
    assert not (fresh.parent / "backups").exists()  # there was no database to keep


def test_restore_of_a_missing_file_is_one_line(tmp_path):
    done = kpis("restore", str(tmp_path / "nope.duckdb"), db=tmp_path / "a.duckdb")
    assert (done.returncode, done.stderr) == (2, f"error: {tmp_path / 'nope.duckdb'}: no such file\n")
    assert not (tmp_path / "a.duckdb").exists()


def test_a_deeply_nested_json_line_is_bad_input_with_its_line(tmp_path, write):
    deep = write("deep.jsonl", '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}\n")
    done = kpis("import", str(deep), db=tmp_path / "cli.duckdb")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == ("error: deep.jsonl, line 1: this JSON is nested too deeply to read (hundreds of levels); "
                           "no event export is\n")


def test_file_names_and_the_temporary_folder_are_never_patterns(tmp_path, write):
    """``import 'ev[1].csv'`` next to ev1.csv reads ev[1].csv, even with a temporary folder named like a pattern."""
    for stem in ("ev1", "ev2", "ev[1]", "ev*"):
        write(f"{stem}.csv", f"user_id,event,timestamp\nu1,from {stem},2026-01-05T10:00:00Z\n")
    odd_tmp = tmp_path / "tmp[1]"
    odd_tmp.mkdir()
    (tmp_path / "tmp1").mkdir()
    db = tmp_path / "cli.duckdb"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(odd_tmp)}
    done = subprocess.run([sys.executable, "-m", "kpis", "--db", str(db), "import", str(tmp_path / "ev[1].csv"),
                           str(tmp_path / "ev*.csv")], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    from kpis.store.db import Store

    with Store(db) as store:
        assert store.query("SELECT import_id, event FROM events ORDER BY 1") == [(1, "from ev[1]"), (2, "from ev*")]


def test_the_import_history_shows_how_a_file_was_read(tmp_path, write):
    db = tmp_path / "cli.duckdb"
    cp1252 = write("c.csv", "customer_id,name\nc1,Müller\n", encoding="cp1252")
    assert kpis("import", str(cp1252), db=db).returncode == 0
    lines = kpis("imports", db=db).stdout.splitlines()
    assert lines[0].split()[-2:] == ["file", "notes"]
    assert lines[1].endswith("c.csv  read as cp1252")


def test_the_command_line_and_the_data_page_list_the_same_import_log(tmp_path, write):
    db = tmp_path / "cli.duckdb"
    assert kpis("import", str(write("e.csv", "user_id,event,timestamp\nu1,a,2026-01-05T10:00:00Z\n")),
                db=db).returncode == 0
    assert kpis("import", str(write("c.csv", "customer_id,name\nc1,Ann\nc2,Bo\n")), db=db).returncode == 0
    assert kpis("undo", "1", db=db).returncode == 0
    lines = kpis("imports", db=db).stdout.splitlines()[1:]
    with Store(db) as store:
        page = import_history(store)
    assert [line.split()[:2] for line in lines] == [["1", "undone"], ["2", "ok"]]
    assert list(page["import_id"]) == [2, 1] and list(page["status"]) == ["ok", "undone"]
    assert [line.split()[5:7] for line in lines] == [["1", "0"], ["2", "0"]]  # added, updated
    assert list(page["rows_added"]) == [2, 1]


def test_activation_settings_and_series_from_the_command_line(tmp_path, write):
    """Unset, the series says how to set the event (exit 2); a bad window is refused in one line and stores
    nothing; an event no import holds is stored with a note; then the series has its values."""
    db = tmp_path / "cli.duckdb"
    # u1 starts Mon 5 Jan and shares on 6 Jan; u2 starts 5 Jan and never shares; 12 Jan is the as-of date
    events = write("e.csv", "user_id,event,timestamp\nu1,view,2026-01-05T10:00:00Z\nu1,share,2026-01-06T10:00:00Z\n"
                            "u2,view,2026-01-05T11:00:00Z\nu2,view,2026-01-12T11:00:00Z\n")
    assert kpis("import", str(events), db=db).returncode == 0
    unset = kpis("series", "activation_rate", "--grain", "week", db=db)
    assert (unset.returncode, unset.stdout) == (2, "")
    assert unset.stderr == ("error: set the activation event: python -m kpis settings activation_event NAME, "
                            "or on the Data page\n")
    goal = write("t.csv", "kpi,grain,period_start,target,owner,note\nactivation_rate,week,2026-01-05,0.4,CPO,\n")
    assert kpis("targets", "import", str(goal), db=db).returncode == 0
    listed = kpis("targets", "list", db=db)  # a target without its actual until the event is set
    assert listed.returncode == 0 and "\nactivation_rate,week,2026-01-05,0.4,,," in listed.stdout
    bad = kpis("settings", "activation_window_days", "0", db=db)
    assert (bad.returncode, bad.stdout) == (2, "")
    assert bad.stderr == "error: activation_window_days: expected a whole number of days from 1 to 90, got '0'\n"
    assert kpis("settings", "activation_window_days", db=db).stdout == "activation_window_days=\n"
    blank = kpis("settings", "activation_event", " \t", db=db)  # blank: unset, nothing to refuse
    assert (blank.returncode, blank.stdout) == (0, "activation_event=\n")
    typo = kpis("settings", "activation_event", " shares ", db=db)
    assert (typo.returncode, typo.stdout) == (0, "activation_event=shares\n")
    assert typo.stderr == "note: no imported event is named 'shares' yet: nobody counts as activated until one is\n"
    done = kpis("settings", "activation_event", "share", db=db)
    assert (done.returncode, done.stdout, done.stderr) == (0, "activation_event=share\n", "")
    # week of 5 Jan: u1 and u2 started (windows 5 .. 11 Jan ended by 12 Jan); u1 shared -> 0.5
    # week of 12 Jan: nobody started there
    shown = kpis("series", "activation_rate", "--grain", "week", db=db)
    assert (shown.returncode, shown.stdout) == (0, "period_start,value\n2026-01-05,0.5\n2026-01-12,\n")
    assert "\nactivation_rate,week,2026-01-05,0.4,0.5," in kpis("targets", "list", db=db).stdout
    assert kpis("settings", "activation_window_days", "8", db=db).stdout == "activation_window_days=8\n"
    # 8 days: the windows run to 12 Jan, the as-of date: still counted
    assert kpis("series", "activation_rate", "--grain", "week", db=db).stdout.splitlines()[1] == "2026-01-05,0.5"
