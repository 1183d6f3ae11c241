"""Each translation rule of :mod:`kpis.store.dialect` on Spark: the translated query gives DuckDB's answer on a
few rows written here, with the answer written by hand too."""

from __future__ import annotations

import itertools
from datetime import date, datetime
from typing import Any

import duckdb
import pandas as pd
import pytest

from kpis.store.dialect import to_spark

_names = itertools.count(1)


def on_duckdb(sql: str, params: dict[str, Any], tables: dict[str, pd.DataFrame]) -> list[tuple[Any, ...]]:
    """The rows of ``sql`` on an in-memory DuckDB in UTC, each frame of ``tables`` a table of its name."""
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        for name, frame in tables.items():
            con.register(f"{name}_frame", frame)
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM {name}_frame")
        return con.execute(sql, params).fetchall()


def on_spark(session: Any, sql: str, params: dict[str, Any], tables: dict[str, pd.DataFrame]) -> list[tuple[Any, ...]]:
    """The rows of ``sql`` translated for Spark, each frame of ``tables`` a view under a name of its own."""
    names = {}
    for name, frame in tables.items():
        names[name] = f"rule_{name}_{next(_names)}"
        session.createDataFrame(frame).createOrReplaceTempView(names[name])
    try:
        return [tuple(row) for row in session.sql(to_spark(sql, names), args=params or None).collect()]
    finally:
        for view in names.values():
            session.catalog.dropTempView(view)


def both(session: Any, sql: str, params: dict[str, Any] | None = None,
         tables: dict[str, pd.DataFrame] | None = None) -> list[tuple[Any, ...]]:
    """The answer of ``sql`` on DuckDB, checked equal to the translated query's on Spark."""
    duck = on_duckdb(sql, params or {}, tables or {})
    assert on_spark(session, sql, params or {}, tables or {}) == duck
    return duck


EVENTS = pd.DataFrame({
    "user_id": ["a", "b", "c", "d"],
    "event": ["view", "export", "click", "view"],
    # a UTC evening that is the next day in Berlin, and both sides of the two daylight-saving changes of 2026
    "ts": pd.to_datetime(["2026-01-05 23:30", "2026-03-29 00:30", "2026-03-29 01:30", "2026-10-25 00:30"]),
})


def test_a_utc_instant_s_day_in_a_zone(spark_session):
    sql = """SELECT user_id, CAST(timezone($tz, CAST(ts AS TIMESTAMPTZ)) AS DATE) AS d,
                    hour(timezone($tz, CAST(ts AS TIMESTAMPTZ))) AS h FROM events ORDER BY user_id"""
    assert both(spark_session, sql, {"tz": "Europe/Berlin"}, {"events": EVENTS}) == [
        ("a", date(2026, 1, 6), 0), ("b", date(2026, 3, 29), 1), ("c", date(2026, 3, 29), 3),
        ("d", date(2026, 10, 25), 2)]


def test_list_position_of_a_missing_name_is_null(spark_session):
    sql = "SELECT user_id, list_position($names, event) AS i FROM events ORDER BY user_id"
    assert both(spark_session, sql, {"names": ["view", "export"]}, {"events": EVENTS}) == [
        ("a", 1), ("b", 2), ("c", None), ("d", 1)]


def test_a_materialized_cte(spark_session):
    sql = "WITH t AS MATERIALIZED (SELECT user_id FROM events WHERE event = 'view') SELECT count(*) FROM t"
    assert both(spark_session, sql, tables={"events": EVENTS}) == [(2,)]


def test_lag_and_lead_with_a_frame(spark_session):
    sql = """SELECT user_id,
                    lag(user_id) OVER (ORDER BY ts ROWS BETWEEN 1 PRECEDING AND 1 PRECEDING) AS before,
                    lead(user_id) OVER (ORDER BY ts ROWS BETWEEN 1 FOLLOWING AND 1 FOLLOWING) AS after,
                    count(*) OVER (ORDER BY ts ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS n
             FROM events ORDER BY ts"""
    assert both(spark_session, sql, tables={"events": EVENTS}) == [
        ("a", None, "b", 1), ("b", "a", "c", 2), ("c", "b", "d", 3), ("d", "c", None, 4)]


def test_arg_max_and_arg_min_skip_a_null_value(spark_session):
    rows = pd.DataFrame({"k": ["x", "x", "x", "y"], "v": pd.array([1.0, None, 3.0, None], dtype="Float64"),
                         "n": [1, 5, 2, 1]})
    sql = "SELECT k, arg_max(v, n) AS last, arg_min(v, n) AS first FROM t GROUP BY k ORDER BY k"
    assert both(spark_session, sql, tables={"t": rows}) == [("x", 3.0, 1.0), ("y", None, None)]


def test_a_mapped_table_beside_a_cte_named_like_another(spark_session):
    sql = """WITH users AS (SELECT DISTINCT user_id FROM events WHERE event = 'view')
             SELECT count(*) FROM users"""
    assert both(spark_session, sql, tables={"events": EVENTS}) == [(2,)]


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Kolkata"])
def test_wall_times_in_other_zones(spark_session, zone):
    """Zones behind UTC and with a half-hour offset give the same wall times on both engines."""
    sql = "SELECT user_id, timezone($tz, CAST(ts AS TIMESTAMPTZ)) AS t FROM events ORDER BY user_id"
    found = both(spark_session, sql, {"tz": zone}, {"events": EVENTS})
    assert found[0] == ("a", datetime(2026, 1, 5, 18, 30) if zone == "America/New_York"
                        else datetime(2026, 1, 6, 5, 0))
