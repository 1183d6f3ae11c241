"""The Spark engine on lakes at the edges of what an export writes."""

from __future__ import annotations

from datetime import date

from kpis.metrics.series import series
from tests.kpis.helpers import subs
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
