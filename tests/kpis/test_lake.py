"""The lake (``python -m kpis export DIR``): real databases exported to real Parquet, read back with DuckDB."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpis.core.errors import InputError
from kpis.ingest.importer import import_file
from kpis.ingest.sources.base import NULLS
from kpis.ops.demo import load_demo
from kpis.store.db import COLUMNS, SCHEMA_VERSION, Store
from kpis.store.lake import MANIFEST, TABLES, export_lake, read_manifest
from tests.kpis.helpers import SUBS_HEADER, load

ROOT = Path(__file__).resolve().parents[2]
SCALE_DOC = ROOT / "docs" / "scale.md"
EVENT_COLUMNS = ("uuid", "user_id", "event", "ts", "account_id")


# -- helpers ---------------------------------------------------------------------------------------------------------

def kpis(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "kpis", "--db", str(db), *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=300)


def parquet(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    """Rows of a query over Parquet files, in a fresh DuckDB connection whose time zone is UTC."""
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        return con.execute(sql, params).fetchall()


def events_glob(lake: Path) -> str:
    return str(lake / "events" / "*" / "*.parquet")


def lake_rows(lake: Path, table: str) -> list[tuple[Any, ...]]:
    """A table's rows as the lake holds them, in the store's column order (UTC instants made naive again)."""
    names = ", ".join(f'"{c}"' for c in COLUMNS[table])
    if table == "events":
        rows = parquet(f"SELECT {names} FROM read_parquet(?, hive_partitioning = true)", [events_glob(lake)])
    else:
        rows = parquet(f"SELECT {names} FROM read_parquet(?)", [str(lake / f"{table}.parquet")])
    return [tuple(_naive_utc(v) for v in row) for row in rows]


def store_rows(store: Store, table: str) -> list[tuple[Any, ...]]:
    """A table's rows as the KPI queries read them: the events, or the current versions (the plain-named view)."""
    names = ", ".join(f'"{c}"' for c in COLUMNS[table])
    return store.query(f"SELECT {names} FROM {table}")


def _naive_utc(value: Any) -> Any:
    """An instant read back from the lake as the store keeps it (naive UTC); it must come back as UTC."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        assert value.utcoffset() == timedelta(0), value
        return value.replace(tzinfo=None)
    return value


def day_folders(lake: Path) -> dict[str, set[str]]:
    """``{day folder: the user ids in its files}``, each folder read by itself (no partition column)."""
    found = {}
    for folder in sorted((lake / "events").iterdir()):
        users = parquet("SELECT user_id FROM read_parquet(?)", [str(folder / "*.parquet")])
        found[folder.name] = {u for (u,) in users}
    return found


def listing(folder: Path) -> list[str]:
    """Every path under ``folder`` (relative), to show that nothing was added, removed or left behind."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


SMALL = {  # one small import of each kind of file, all seven tables with rows
    "events.csv": "user_id,event,timestamp,account_id,event_id\n"
                  "u1,open,2026-01-05T23:30:00Z,acme,e-1\n"
                  "u2,open,2026-01-06T00:30:00Z,,e-2\n"
                  "u1,save,2026-01-06T09:15:30.250000Z,acme,e-3\n",
    "subs_old.csv": SUBS_HEADER + "\n"
                    "s1,c1,Pro,10,1,USD,month,1,active,2026-01-01,,,\n"
                    "s2,c2,Pro,20,1,USD,month,1,active,2026-01-02,,,\n",
    "subs_new.csv": SUBS_HEADER + "\n"  # a later export: s1 now 15, s3 new
                    "s1,c1,Pro,15,1,USD,month,1,active,2026-01-01,,,\n"
                    "s3,c3,Basic,5,2,EUR,year,1,canceled,2026-02-01,,2026-02-10,2026-03-01\n",
    "customers.csv": "customer_id,name,email,created_at,segment\n"
                     "c1,Acme,ops@acme.test,2025-12-01T08:00:00Z,Enterprise\n"
                     "c2,Bolt,,2025-12-15,SMB\n",
    "targets.csv": "kpi,grain,period_start,target,owner,note\nmrr,month,2026-01-01,1000,ana,\n",
    "points.csv": "metric,day,value\nvisits,2026-01-05,12\n",
    "rates.csv": "currency,rate\nEUR,1.1\n",
}


@pytest.fixture
def small(tmp_path: Path) -> Iterator[Store]:
    """A database with :data:`SMALL` imported, one file after the other."""
    store = Store(tmp_path / "small.duckdb")
    for name, text in SMALL.items():
        load(store, tmp_path, name, text)
    yield store
    store.close()


@pytest.fixture(scope="module")
def demo_lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Path]]:
    """The demo company, exported once for the tests that only read it."""
    folder = tmp_path_factory.mktemp("demo")
    store = Store(folder / "demo.duckdb")
    load_demo(store)
    export_lake(store, folder / "lake")
    yield store, folder / "lake"
    store.close()


# -- the layout and its rows ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("table", TABLES)
def test_every_demo_table_reads_back_from_the_lake_exactly(demo_lake, table):
    store, lake = demo_lake
    expected = store_rows(store, table)
    if table not in ("metric_points", "fx_rates", "account_links"):  # the demo company has none of these
        assert expected, f"the demo has no {table}: the test would prove nothing"
    assert Counter(lake_rows(lake, table)) == Counter(expected)


def test_the_small_import_reads_back_exactly_with_only_current_versions(small, tmp_path):
    lake = export_lake(small, tmp_path / "lake").path
    for table in TABLES:
        assert Counter(lake_rows(lake, table)) == Counter(store_rows(small, table)), table
    subscriptions = parquet("SELECT subscription_id, amount, started_at, ended_at FROM read_parquet(?) "
                            "ORDER BY subscription_id", [str(lake / "subscriptions.parquet")])
    assert subscriptions == [  # s1 as its later export says; the superseded version is not in the lake
        ("s1", 15.0, datetime(2026, 1, 1, tzinfo=UTC), None),
        ("s2", 20.0, datetime(2026, 1, 2, tzinfo=UTC), None),
        ("s3", 5.0, datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)),
    ]
    assert parquet("SELECT * FROM read_parquet(?) ORDER BY ALL", [str(lake / "customer_attributes.parquet")]) == [
        ("c1", "segment", "Enterprise"), ("c2", "segment", "SMB")]


def test_events_land_in_the_folder_of_their_utc_day_whatever_the_reporting_time_zone(small, tmp_path):
    small.set_setting("timezone", "Europe/Berlin")  # 23:30 UTC on 5 Jan is 6 Jan in Berlin: the lake stays UTC
    lake = export_lake(small, tmp_path / "lake").path
    assert day_folders(lake) == {"day=2026-01-05": {"u1"}, "day=2026-01-06": {"u1", "u2"}}
    rows = parquet("SELECT uuid, user_id, ts, day, source FROM read_parquet(?, hive_partitioning = true) "
                   "ORDER BY ts", [events_glob(lake)])
    assert rows == [
        ("e-1", "u1", datetime(2026, 1, 5, 23, 30, tzinfo=UTC), date(2026, 1, 5), "events_csv"),
        ("e-2", "u2", datetime(2026, 1, 6, 0, 30, tzinfo=UTC), date(2026, 1, 6), "events_csv"),
        ("e-3", "u1", datetime(2026, 1, 6, 9, 15, 30, 250000, tzinfo=UTC), date(2026, 1, 6), "events_csv"),
    ]


def test_timestamps_are_utc_instants_in_the_parquet_files(small, tmp_path):
    lake = export_lake(small, tmp_path / "lake").path
    types = parquet("SELECT name, logical_type FROM parquet_schema(?) WHERE name IN ('started_at', 'ended_at')",
                    [str(lake / "subscriptions.parquet")])
    assert [(name, "isAdjustedToUTC=1" in str(kind)) for name, kind in types] == [
        ("started_at", True), ("ended_at", True)]


def test_the_manifest_says_what_the_lake_holds(small, tmp_path):
    lake = export_lake(small, tmp_path / "lake").path
    assert read_manifest(lake) == {
        "lake_format": 1,
        "schema_version": SCHEMA_VERSION,
        "data_version": [7, 0, 0, 0, 0],  # seven imports, none undone, no notes, no settings written
        "tables": {
            "events": {"path": "events", "rows": 3, "partitioned_by": "day", "partition_time_zone": "UTC"},
            "subscriptions": {"path": "subscriptions.parquet", "rows": 3},
            "customers": {"path": "customers.parquet", "rows": 2},
            "customer_attributes": {"path": "customer_attributes.parquet", "rows": 2},
            "metric_points": {"path": "metric_points.parquet", "rows": 1},
            "targets": {"path": "targets.parquet", "rows": 1},
            "fx_rates": {"path": "fx_rates.parquet", "rows": 1},
            "account_links": {"path": "account_links.parquet", "rows": 0},
        },
    }


def test_the_demo_manifest_counts_equal_the_store(demo_lake):
    store, lake = demo_lake
    counts = {table: entry["rows"] for table, entry in read_manifest(lake)["tables"].items()}
    assert counts == {table: len(store_rows(store, table)) for table in TABLES}
    assert read_manifest(lake)["data_version"] == list(store.data_version())


def test_a_folder_without_a_manifest_is_not_a_lake(tmp_path):
    (tmp_path / "half").mkdir()
    with pytest.raises(InputError, match=re.escape(f"{tmp_path / 'half'} is not a finished lake: it holds no "
                                                   "_lake.json")):
        read_manifest(tmp_path / "half")
    (tmp_path / "half" / MANIFEST).write_text('{"lake_format": 99}', encoding="utf-8")
    with pytest.raises(InputError, match="lake format 99, this program reads format 1"):
        read_manifest(tmp_path / "half")


def test_an_empty_store_exports_empty_tables(store, tmp_path):
    lake = export_lake(store, tmp_path / "lake").path
    assert {t: e["rows"] for t, e in read_manifest(lake)["tables"].items()} == dict.fromkeys(TABLES, 0)
    assert listing(lake / "events") == []
    assert parquet("SELECT count(*) FROM read_parquet(?)", [str(lake / "subscriptions.parquet")]) == [(0,)]


def test_paths_with_quotes_and_pattern_characters_are_written_as_named(small, tmp_path):
    lake = export_lake(small, tmp_path / "it's [a]*?lake").path
    assert lake.name == "it's [a]*?lake"
    assert [name for name in os.listdir(tmp_path) if "lake" in name] == ["it's [a]*?lake"]
    assert {p.name for p in lake.iterdir()} == {"events", MANIFEST, "subscriptions.parquet", "customers.parquet",
                                                "customer_attributes.parquet", "metric_points.parquet",
                                                "targets.parquet", "fx_rates.parquet",
                                                "account_links.parquet"}


# -- where it is written: all or nothing ------------------------------------------------------------------------------

def test_a_non_empty_folder_is_refused_and_left_as_it_was(small, tmp_path):
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("mine", encoding="utf-8")
    before = listing(tmp_path)
    with pytest.raises(InputError, match="is not empty: choose a new or empty folder, or --replace"):
        export_lake(small, taken)
    assert listing(tmp_path) == before


def test_replace_refuses_a_folder_that_holds_no_lake(small, tmp_path):
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("mine", encoding="utf-8")
    before = listing(tmp_path)
    with pytest.raises(InputError, match=re.escape("holds no lake (_lake.json): --replace replaces only a lake")):
        export_lake(small, taken, replace=True)
    assert listing(tmp_path) == before


def test_a_file_is_refused_even_with_replace(small, tmp_path):
    (tmp_path / "lake").write_text("x", encoding="utf-8")
    with pytest.raises(InputError, match="is a file, not a folder"):
        export_lake(small, tmp_path / "lake", replace=True)
    assert (tmp_path / "lake").read_text(encoding="utf-8") == "x"


def test_an_empty_folder_is_filled(small, tmp_path):
    (tmp_path / "lake").mkdir()
    export_lake(small, tmp_path / "lake")
    assert read_manifest(tmp_path / "lake")["tables"]["events"]["rows"] == 3


def test_replace_swaps_an_earlier_lake_for_the_new_one_and_leaves_nothing_beside(small, tmp_path):
    export_lake(small, tmp_path / "lake")
    load(small, tmp_path, "more.csv", "user_id,event,timestamp\nu9,open,2026-01-07T10:00:00Z\n")
    export_lake(small, tmp_path / "lake", replace=True)
    assert read_manifest(tmp_path / "lake")["tables"]["events"]["rows"] == 4
    assert day_folders(tmp_path / "lake") == {"day=2026-01-05": {"u1"}, "day=2026-01-06": {"u1", "u2"},
                                              "day=2026-01-07": {"u9"}}
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def _damage(db: Path, view: str) -> None:
    """Make reading one view of a closed database fail the way a read error midway would: with an error."""
    with duckdb.connect(str(db)) as con:
        con.execute(f"CREATE OR REPLACE VIEW {view} AS SELECT * EXCLUDE (is_current) FROM fx_rate_versions "
                    "WHERE is_current AND error('read error on the disk') IS NULL")


def test_a_failure_midway_leaves_no_lake_and_nothing_beside(small, tmp_path):
    db = small.path
    small.close()
    _damage(db, "fx_rates")  # the last table written: every other one is on disk when it fails
    before = listing(tmp_path)
    with Store(db) as damaged, pytest.raises(OSError, match=r"cannot export to .*lake: .*read error on the disk; "
                                                           "nothing was written"):
        export_lake(damaged, tmp_path / "lake")
    assert listing(tmp_path) == before


def test_a_failed_replace_keeps_the_earlier_lake(small, tmp_path):
    export_lake(small, tmp_path / "lake")
    db = small.path
    small.close()
    _damage(db, "fx_rates")
    before = listing(tmp_path)
    with Store(db) as damaged, pytest.raises(OSError, match="nothing was written"):
        export_lake(damaged, tmp_path / "lake", replace=True)
    assert listing(tmp_path) == before
    assert read_manifest(tmp_path / "lake")["tables"]["events"]["rows"] == 3


# -- the command ------------------------------------------------------------------------------------------------------

def test_export_command_writes_the_lake(tmp_path, write):
    db = tmp_path / "cli.duckdb"
    events = write("e.csv", "user_id,event,timestamp\nu1,a,2026-01-05T23:30:00Z\nu2,a,2026-01-06T00:30:00Z\n")
    assert kpis("import", str(events), db=db).returncode == 0
    done = kpis("export", str(tmp_path / "lake"), db=db)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == (f"exported to {tmp_path / 'lake'}: events 2 rows, subscriptions 0 rows, customers 0 rows, "
                           "customer_attributes 0 rows, metric_points 0 rows, targets 0 rows, fx_rates 0 rows, "
                           "account_links 0 rows\n")
    assert day_folders(tmp_path / "lake") == {"day=2026-01-05": {"u1"}, "day=2026-01-06": {"u2"}}


def test_export_command_refuses_a_non_empty_folder_with_one_line(tmp_path):
    (tmp_path / "lake").mkdir()
    (tmp_path / "lake" / "notes.txt").write_text("mine", encoding="utf-8")
    done = kpis("export", str(tmp_path / "lake"), db=tmp_path / "cli.duckdb")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (f"error: {tmp_path / 'lake'} is not empty: choose a new or empty folder, or --replace to "
                           "replace the lake it holds\n")
    assert listing(tmp_path / "lake") == ["notes.txt"]


def test_export_command_failing_midway_is_one_line_and_leaves_nothing(small, tmp_path):
    db = small.path
    small.close()
    _damage(db, "fx_rates")
    done = kpis("export", str(tmp_path / "lake"), db=db)
    assert done.returncode == 1
    assert re.fullmatch(rf"error: cannot export to {re.escape(str(tmp_path / 'lake'))}: .*read error on the disk"
                        r"[^\n]*; nothing was written\n", done.stderr), done.stderr
    assert not (tmp_path / "lake").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs /proc (Linux), a folder nothing can be written in")
def test_export_command_into_a_folder_that_cannot_be_written_is_one_line(tmp_path, write):
    db = tmp_path / "cli.duckdb"
    assert kpis("import", str(write("e.csv", "user_id,event,timestamp\nu1,a,2026-01-05T10:00:00Z\n")),
                db=db).returncode == 0
    done = kpis("export", "/proc/kpis-lake", db=db)
    assert done.returncode == 1
    assert done.stderr.startswith("error: cannot export to /proc/kpis-lake: ")
    assert done.stderr.endswith("; nothing was written\n") and done.stderr.count("\n") == 1
    assert not Path("/proc/kpis-lake").exists()


# -- any events round-trip --------------------------------------------------------------------------------------------

NULL_WORDS = NULLS  # read as empty by the importer (docs/formats.md): "(none)", "nan", "--" too
names = st.text(alphabet=st.characters(categories=("L", "N", "P", "S"), max_codepoint=0x2FFF),
                min_size=1, max_size=6).filter(lambda s: s.strip().lower() not in NULL_WORDS)
instants = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 12, 31, 23, 59, 59))
events = st.lists(st.tuples(names, names, instants, st.one_of(st.none(), names)), min_size=1, max_size=12)


@settings(max_examples=int(os.environ.get("LAKE_EXAMPLES", "30")), deadline=None)
@given(rows=events)
def test_any_small_set_of_events_round_trips_through_the_lake(rows):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / "events.csv"
        with open(path, "w", encoding="utf-8", newline="") as handle:
            out = csv.writer(handle)
            out.writerow(["user_id", "event", "timestamp", "account_id"])
            for user, event, ts, account in rows:
                out.writerow([user, event, ts.isoformat() + "Z", account or ""])
        with Store(folder / "p.duckdb") as store:
            assert import_file(store, path).status == "ok"
            lake = export_lake(store, folder / "lake").path
            assert Counter(lake_rows(lake, "events")) == Counter(store_rows(store, "events"))
        back = parquet("SELECT user_id, event, ts, account_id, day FROM read_parquet(?, hive_partitioning = true)",
                       [events_glob(lake)])
        assert Counter((u, e, _naive_utc(t), a) for u, e, t, a, _ in back) == Counter(rows)
        assert all(day == t.date() for _, _, t, _, day in back)
        assert read_manifest(lake)["tables"]["events"]["rows"] == len(rows)


# -- the documentation ------------------------------------------------------------------------------------------------

def _documented_columns() -> dict[str, list[tuple[str, str]]]:
    """``{table: [(column, type), ...]}`` from the column tables of docs/scale.md (``### table`` headings of its
    "The layout" section)."""
    text = SCALE_DOC.read_text(encoding="utf-8").split("\n## The layout\n", 1)[1].split("\n## ", 1)[0]
    found: dict[str, list[tuple[str, str]]] = {}
    for section in re.split(r"^### ", text, flags=re.MULTILINE)[1:]:
        table = section.split()[0].strip("`")
        found[table] = re.findall(r"^\| `(\w+)` \| `([A-Z ]+)` \|", section, flags=re.MULTILINE)
    return found


def test_docs_scale_documents_every_column_of_the_lake_with_its_type(demo_lake):
    _, lake = demo_lake
    actual = {}
    for table in TABLES:
        source = events_glob(lake) if table == "events" else str(lake / f"{table}.parquet")
        described = parquet("SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM "
                            "read_parquet(?, hive_partitioning = true))", [source])
        actual[table] = [(name, kind) for name, kind in described]
    assert _documented_columns() == actual


def test_the_manifest_in_the_docs_is_a_real_one(demo_lake):
    """The manifest docs/scale.md shows has the keys of a real one, table by table."""
    _, lake = demo_lake
    shown = json.loads(re.search(r"```json\n(.*?)```", SCALE_DOC.read_text(encoding="utf-8"), re.DOTALL).group(1))
    real = read_manifest(lake)
    assert shown.keys() == real.keys() and shown["tables"].keys() == real["tables"].keys()
    assert {t: e.keys() for t, e in shown["tables"].items()} == {t: e.keys() for t, e in real["tables"].items()}
