"""The command line with ``--engine spark`` prints DuckDB's numbers: real processes on the demo company's
database and its lake, each run against the session's Spark Connect server."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.spark.compare import same_value

#: How long one command may take on a busy machine (Spark's first queries in a new client are slow).
COMMAND_SECONDS = 300


def kpis(*args: str, env: dict[str, str]) -> str:
    """Run ``python -m kpis ARGS`` and return its output; it must succeed."""
    done = subprocess.run([sys.executable, "-m", "kpis", *args], capture_output=True, text=True, env=env,
                          timeout=COMMAND_SECONDS, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def rows(output: str) -> list[tuple[str, str]]:
    """The ``period_start,value`` rows of ``series``."""
    found = list(csv.reader(io.StringIO(output)))
    assert found[0] == ["period_start", "value"]
    return [(period, value) for period, value in found[1:]]


@pytest.fixture(scope="module")
def demo_lake(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, str]]:
    """The demo company loaded and exported by the command line, and the environment its commands run in (the
    tables Spark computes kept in a folder of this module, so every command here asks Spark)."""
    folder = tmp_path_factory.mktemp("cli")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KPI_")}
    env["KPI_RESULTS"] = str(folder / "results")
    db, lake = folder / "kpis.duckdb", folder / "lake"
    kpis("--db", str(db), "demo", env=env)
    kpis("--db", str(db), "export", str(lake), env=env)
    return db, lake, env


@pytest.mark.parametrize("command", [
    ("series", "mrr", "--grain", "month"),
    ("series", "active_users", "--grain", "week", "--segment", "segment=SMB"),
], ids=["mrr", "active_users_of_a_segment"])
def test_series_on_spark_prints_duckdb_s_numbers(demo_lake, spark_remote, command):
    db, lake, env = demo_lake
    duck = rows(kpis("--db", str(db), *command, env=env))
    spark = rows(kpis("--db", str(db), "--engine", "spark", "--lake", str(lake), "--spark-remote", spark_remote,
                      *command, env=env))
    assert len(duck) > 3
    assert any(Path(env["KPI_RESULTS"]).rglob("*.parquet"))  # what Spark computed, kept by the Spark engine only
    assert [p for p, _ in spark] == [p for p, _ in duck]
    wrong = [(p, a, b) for (p, a), (_, b) in zip(duck, spark, strict=True)
             if not same_value(float(a) if a else None, float(b) if b else None)]
    assert wrong == []


def test_series_by_plan_on_spark_prints_duckdb_s_numbers(demo_lake, spark_remote):
    """``series --by``: the same periods and groups, in the same order, and the same values."""
    db, lake, env = demo_lake
    command = ("series", "mrr", "--grain", "quarter", "--by", "plan")
    duck = list(csv.reader(io.StringIO(kpis("--db", str(db), *command, env=env))))
    spark = list(csv.reader(io.StringIO(kpis("--db", str(db), "--engine", "spark", "--lake", str(lake),
                                             "--spark-remote", spark_remote, *command, env=env))))
    assert duck[0] == spark[0] == ["period_start", "group", "value"]
    assert len(duck) > 10 and [r[:2] for r in spark] == [r[:2] for r in duck]
    assert all(same_value(float(a[2]), float(b[2])) for a, b in zip(duck[1:], spark[1:], strict=True))


def test_lifecycle_on_spark_prints_duckdb_s_numbers(demo_lake, spark_remote):
    """The lifecycle: DuckDB reads it as rows, Spark as the engine's table (kept on disk); the same counts."""
    db, lake, env = demo_lake
    command = ("lifecycle", "--grain", "month")
    duck = kpis("--db", str(db), *command, env=env)
    kept_before = set(Path(env["KPI_RESULTS"]).rglob("*.parquet"))
    spark = kpis("--db", str(db), "--engine", "spark", "--lake", str(lake), "--spark-remote", spark_remote,
                 *command, env=env)
    assert duck.splitlines()[0] == "period_start,new,returning,resurrected,dormant"
    assert len(duck.splitlines()) > 6
    assert spark == duck
    assert set(Path(env["KPI_RESULTS"]).rglob("*.parquet")) - kept_before  # the table Spark computed, kept
