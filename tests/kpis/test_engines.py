"""Choosing the engine (command line and environment), the errors a wrong choice gets before any Spark starts, and
the KPI tables kept on disk between processes. Spark itself runs in tests/spark."""

from __future__ import annotations

import os
import socket
from datetime import date

import pandas as pd
import pytest

from kpis.core.errors import InputError
from kpis.metrics import engine, kept
from kpis.store import engines
from kpis.store.lake import export_lake
from tests.kpis.helpers import events, subs
from tests.kpis.test_cli import kpis

SPARK = {"KPI_ENGINE": "spark", "KPI_LAKE": "/lake", "KPI_SPARK_REMOTE": "sc://spark.internal:15002"}


def test_the_environment_chooses_duckdb_unless_told():
    assert engines.from_environment({}) == engines.Choice()
    assert engines.from_environment({"KPI_ENGINE": " DuckDB "}).is_local


def test_the_environment_chooses_spark_with_a_lake_and_an_address():
    choice = engines.from_environment(SPARK)
    assert (choice.engine, choice.lake, choice.remote, choice.master) == (
        "spark", "/lake", "sc://spark.internal:15002", None)


@pytest.mark.parametrize(("environ", "words"), [
    ({"KPI_ENGINE": "sparkle"}, "unknown engine 'sparkle'"),
    ({"KPI_ENGINE": "spark", "KPI_SPARK_MASTER": "local[2]"}, "needs the lake it reads"),
    ({"KPI_ENGINE": "spark", "KPI_LAKE": "/lake"}, "either KPI_SPARK_REMOTE"),
    ({**SPARK, "KPI_SPARK_MASTER": "local[2]"}, "not both"),
    ({**SPARK, "KPI_SPARK_REMOTE": "http://spark:15002"}, "is not a Spark Connect address"),
    ({**SPARK, "KPI_SPARK_REMOTE": "", "KPI_SPARK_MASTER": "local[2]; rm -rf /"}, "is not a Spark master"),
    ({**SPARK, "KPI_LAKE": "/lake\nx"}, "line break"),
    ({"KPI_LAKE": "/lake"}, "the engine is duckdb"),
])
def test_a_wrong_choice_is_named(environ, words):
    with pytest.raises(InputError, match=words.replace("[", r"\[").replace("(", r"\(")):
        engines.from_environment(environ)


def test_the_command_line_overrides_the_environment():
    assert engines.choose("duckdb", environ=SPARK).is_local
    chosen = engines.choose(master="local[1]", environ=SPARK)
    assert (chosen.remote, chosen.master, chosen.lake) == (None, "local[1]", "/lake")
    assert engines.choose("spark", "/other", environ=SPARK).lake == "/other"


def test_the_duckdb_engine_is_the_store_itself(store):
    assert engines.open_engine(store, engines.Choice()) is store
    assert not engines.on_spark(store)


def _company(store, tmp_path) -> None:
    subs(store, tmp_path, "s1,c1,pro,100,1,usd,month,1,active,2026-01-10,,,")
    events(store, tmp_path, "u1,login,2026-01-12T10:00:00Z,c1")


def test_cli_names_a_folder_that_is_not_a_lake_before_starting_spark(tmp_path, store):
    _company(store, tmp_path)
    store.close()
    done = kpis("--engine", "spark", "--lake", str(tmp_path / "nowhere"), "--spark-master", "local[1]",
                "series", "mrr", db=tmp_path / "t.duckdb")
    assert done.returncode == 2
    assert done.stderr == f"error: {tmp_path / 'nowhere'} is not a finished lake: it holds no _lake.json\n"


def test_cli_names_an_unreachable_spark_at_once(tmp_path, store):
    _company(store, tmp_path)
    export_lake(store, tmp_path / "lake")
    store.close()
    with socket.socket() as sock:  # a port nobody listens on: bound, never listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        done = kpis("--engine", "spark", "--lake", str(tmp_path / "lake"), "--spark-remote",
                    f"sc://127.0.0.1:{port}", "series", "mrr", db=tmp_path / "t.duckdb")
    assert done.returncode == 1
    assert done.stderr.startswith(f"error: cannot reach Spark Connect at 127.0.0.1:{port} (")
    assert "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 1


def test_cli_refuses_a_lake_without_the_spark_engine(tmp_path, store):
    store.close()
    done = kpis("--lake", str(tmp_path), "series", "mrr", db=tmp_path / "t.duckdb")
    assert (done.returncode, done.stderr) == (2, "error: a lake or a Spark address is set, but the engine is "
                                                 "duckdb: set KPI_ENGINE=spark (--engine spark) to compute the KPIs "
                                                 "with Spark\n")


def test_warm_on_duckdb_says_nothing_is_kept_between_processes(tmp_path, store):
    _company(store, tmp_path)
    store.close()
    done = kpis("warm", "--grain", "month", db=tmp_path / "t.duckdb")
    assert (done.returncode, done.stdout) == (0, "")
    assert done.stderr == "computed 2 KPI tables, kept in this process only (DuckDB needs no warm-up)\n"


def test_a_kept_table_reads_back_as_it_was_written(tmp_path, store):
    _company(store, tmp_path)
    table = engine.revenue_table(store, "month")
    path = kept.path_of(tmp_path / "kept", store.data_version(), ("revenue", "month"))
    kept.write(path, table)
    back = kept.read(path)
    pd.testing.assert_frame_equal(back, table, check_dtype=False)
    assert back["period_start"].tolist() == [date(2026, 1, 1)]
    assert back["mrr"].tolist() == [100.0]


def test_only_the_last_data_versions_stay_kept(tmp_path):
    frame = pd.DataFrame({"period_start": [date(2026, 1, 1)], "value": [1.0]})
    paths = [kept.path_of(tmp_path, ("v", n), ("t",)) for n in range(kept.VERSIONS_KEPT + 2)]
    for n, path in enumerate(paths):
        kept.write(path, frame)
        os.utime(path.parent, (1_000_000 + n, 1_000_000 + n))  # each version's folder newer than the one before
    left = sorted(p for p in tmp_path.iterdir())
    assert len(left) == kept.VERSIONS_KEPT
    assert paths[-1].is_file() and not paths[0].exists()


def test_a_kept_file_that_cannot_be_read_is_computed_again(tmp_path):
    broken = tmp_path / "v" / "t.parquet"
    broken.parent.mkdir()
    broken.write_text("not parquet")
    assert kept.read(broken) is None
    assert kept.read(tmp_path / "missing.parquet") is None
