"""The DuckDB-to-Spark translation rules of :mod:`kpis.store.dialect`, one by one, on the text alone (the Spark
tests under ``tests/spark`` run the same queries on Spark)."""

from __future__ import annotations

from kpis.store.dialect import tables_in, to_spark


def test_a_utc_instant_s_wall_time_in_a_zone_is_from_utc_timestamp():
    sql = "SELECT CAST(timezone($tz, CAST(ts AS TIMESTAMPTZ)) AS DATE) AS d FROM events"
    assert to_spark(sql) == "SELECT CAST(FROM_UTC_TIMESTAMP(ts, :tz) AS DATE) AS d FROM events"


def test_timezone_of_an_uncast_instant_keeps_it_as_it_is():
    assert to_spark("SELECT timezone('Europe/Berlin', ts) FROM events") == \
        "SELECT FROM_UTC_TIMESTAMP(ts, 'Europe/Berlin') FROM events"


def test_list_position_says_null_where_array_position_says_zero():
    assert to_spark("SELECT list_position($names, event) AS i FROM events") == \
        "SELECT NULLIF(ARRAY_POSITION(:names, event), 0) AS i FROM events"


def test_materialized_is_dropped_from_a_cte():
    assert to_spark("WITH t AS MATERIALIZED (SELECT 1 AS x) SELECT x FROM t") == \
        "WITH t AS (SELECT 1 AS x) SELECT x FROM t"


def test_lag_and_lead_lose_their_frame_and_other_windows_keep_theirs():
    sql = ("SELECT lag(x) OVER (PARTITION BY k ORDER BY x ROWS BETWEEN 1 PRECEDING AND 1 PRECEDING) AS p, "
           "lead(x) OVER (ORDER BY x ROWS BETWEEN 1 FOLLOWING AND 1 FOLLOWING) AS n, "
           "sum(x) OVER (ORDER BY x ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS s FROM t")
    assert to_spark(sql) == (
        "SELECT LAG(x) OVER (PARTITION BY k ORDER BY x NULLS LAST) AS p, LEAD(x) OVER (ORDER BY x NULLS LAST) AS n, "
        "SUM(x) OVER (ORDER BY x NULLS LAST ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS s FROM t")


def test_arg_max_and_arg_min_skip_rows_whose_value_is_null():
    assert to_spark("SELECT arg_max(v, x) AS a, arg_min(v, x) AS b FROM t") == \
        "SELECT MAX_BY(v, IF(v IS NULL, NULL, x)) AS a, MIN_BY(v, IF(v IS NULL, NULL, x)) AS b FROM t"


def test_tables_are_read_under_the_names_they_are_mapped_to_but_not_ctes_of_the_same_name():
    sql = "WITH events AS (SELECT 1 AS x) SELECT * FROM events, users u JOIN settings s ON true"
    assert to_spark(sql, {"events": "kpi_events_1", "users": "kpi_users_2"}) == (
        "WITH events AS (SELECT 1 AS x) SELECT * FROM events, kpi_users_2 AS u JOIN settings AS s ON TRUE")


def test_the_tables_a_query_reads_leave_its_ctes_out():
    assert tables_in("WITH t AS (SELECT * FROM events) SELECT * FROM t, users") == frozenset({"events", "users"})
