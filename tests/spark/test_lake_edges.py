"""The Spark engine on lakes at the edges of what an export writes."""

from __future__ import annotations

import json
from datetime import date

import duckdb

from kpis.ingest.importer import import_file
from kpis.ingest.sources.detect import event_source_names
from kpis.metrics.series import series
from kpis.store.engines import Choice, open_engine
from kpis.store.lake import export_lake
from kpis.store.settings import set_event_sources
from tests.kpis.helpers import subs
from tests.kpis.test_accounts_exact import build_company
from tests.kpis.test_derived import EVENTS, POSTHOG
from tests.spark.compare import differences
from tests.spark.conftest import pair


def test_a_lake_without_events_gives_the_revenue_kpis(tmp_path, store, spark_remote):
    """Billing data only: the lake's events folder is empty, and Spark still reads it (as no events)."""
    subs(store, tmp_path, "s1,c1,pro,100,1,USD,month,1,active,2026-01-05,,,")
    both = pair(tmp_path, store, spark_remote)
    try:
        assert not any((both.lake / "events").iterdir())
        mrr = series(both.spark, "mrr", "month")
        assert list(mrr["period_start"]) == [date(2026, 1, 1)]
        assert list(mrr["value"]) == [100.0]
        assert differences(series(store, "mrr", "month"), mrr, "mrr") == []
        assert series(both.spark, "dau", "day").empty and series(store, "dau", "day").empty
    finally:
        both.spark.close()


def test_the_event_sources_setting_chooses_the_events_spark_counts(tmp_path, store, spark_remote, write):
    """Events of two tools; choosing PostHog's for the days it has events: the lake keeps each event's source, and
    Spark applies the setting stored locally as DuckDB does."""
    import_file(store, write("events.csv", EVENTS))
    import_file(store, write("ph.csv", POSTHOG))
    both = pair(tmp_path, store, spark_remote)
    try:
        # 5 Jan: u1, u2 (a page leave counts by default), u9; 6 Jan: u1; nobody until u3 on 12 Jan
        assert list(series(both.spark, "dau", "day")["value"]) == [3, 1, 0, 0, 0, 0, 0, 1]
        store.set_setting("inactive_events", "[]")
        set_event_sources(store, known=event_source_names(), names=["posthog_events"])
        # 5 January has PostHog events: only u9's count that day
        assert list(series(both.spark, "dau", "day")["value"]) == [1, 1, 0, 0, 0, 0, 0, 1]
        for kpi in ("dau", "active_users", "new_users", "events_per_active_user"):
            for grain in ("day", "week"):
                assert differences(series(store, kpi, grain), series(both.spark, kpi, grain), kpi) == []
    finally:
        both.spark.close()


def test_a_landed_event_without_a_source_counts_as_an_unlisted_source(tmp_path, store, spark_remote):
    """A lake landed by another tool may leave an event's source empty: with ``event_sources`` set, it counts on a
    day without events of a listed source (6 Jan, u2) and not on a day with them (5 Jan, u3), as any unlisted
    source's event does."""
    export_lake(store, tmp_path / "lake")
    lake = tmp_path / "lake"
    with duckdb.connect() as con:
        con.execute("""COPY (SELECT * FROM (VALUES
            ('e1', 'u1', 'x', TIMESTAMPTZ '2026-01-05 10:00:00+00', NULL::VARCHAR, 'posthog_events', DATE '2026-01-05'),
            ('e2', 'u2', 'x', TIMESTAMPTZ '2026-01-06 10:00:00+00', NULL::VARCHAR, NULL::VARCHAR, DATE '2026-01-06'),
            ('e3', 'u3', 'x', TIMESTAMPTZ '2026-01-05 11:00:00+00', NULL::VARCHAR, NULL::VARCHAR, DATE '2026-01-05'))
            t(uuid, user_id, event, ts, account_id, source, day))
            TO ? (FORMAT parquet, PARTITION_BY (day), OVERWRITE_OR_IGNORE)""", [str(lake / "events")])
    store.set_setting("event_sources", json.dumps(["posthog_events"]))
    engine = open_engine(store, Choice(engine="spark", lake=str(lake), remote=spark_remote))
    try:
        assert engine.query("SELECT user_id, day FROM user_days ORDER BY 1") == [
            ("u1", date(2026, 1, 5)), ("u2", date(2026, 1, 6))]
    finally:
        engine.close()


def test_the_account_kpis_on_spark_read_the_lake_mapping(tmp_path, store, spark_remote):
    """Accounts linked through each kind of mapping: Spark flags the same customers as DuckDB (cus_a and cus_b on
    25 February, MRR 150)."""
    build_company(store, tmp_path)  # every kind of account link, customers at risk
    both = pair(tmp_path, store, spark_remote)
    try:
        at_risk = series(both.spark, "mrr_at_risk", "day")
        assert at_risk.set_index("period_start")["value"][date(2026, 2, 25)] == 150.0
        for kpi in ("accounts_at_risk", "mrr_at_risk", "engaged_mrr_share"):
            for grain in ("day", "month"):
                assert differences(series(store, kpi, grain), series(both.spark, kpi, grain), kpi) == []
    finally:
        both.spark.close()


def test_a_lake_exported_before_account_links_reads_as_no_mapping(tmp_path, store, spark_remote, write):
    """An earlier version's lake has no account_links table: the account KPIs read it as no mapping rows."""
    subs(store, tmp_path, "s1,acme,pro,100,1,USD,month,1,active,2026-01-01,,,")
    import_file(store, write("e.csv", "user_id,event,timestamp,account_id\nu1,view,2026-01-05T10:00:00Z,acme\n"))
    exported = export_lake(store, tmp_path / "lake")
    manifest = json.loads((exported.path / "_lake.json").read_text(encoding="utf-8"))
    del manifest["tables"]["account_links"]
    (exported.path / "_lake.json").write_text(json.dumps(manifest), encoding="utf-8")
    (exported.path / "account_links.parquet").unlink()
    engine = open_engine(store, Choice(engine="spark", lake=str(exported.path), remote=spark_remote))
    try:
        assert list(series(engine, "engaged_mrr_share", "week")["value"]) == [1.0]  # acme by its account id
    finally:
        engine.close()
