"""Spark equals DuckDB on small random companies: the random data of the oracle tests (``tests/kpis/test_oracle``,
imported through real CSV files, in three time zones, with segments, exchange rates and inactive events), its lake
exported and read by Spark, every revenue and engagement KPI table compared column by column at every grain, and
adoption, the power-user curve and the retention cohorts beside them."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpis.core.registry import COHORT_GRAINS, GRAINS
from kpis.metrics.activation import activation_table
from kpis.metrics.engagement import adoption, engagement_table, power_curve
from kpis.metrics.retention import MODES, cohorts
from kpis.metrics.revenue import revenue_table
from kpis.store.db import Store
from tests.kpis.test_oracle import EngagementCase, RevenueCase, engagement_cases, revenue_cases
from tests.spark.compare import differences
from tests.spark.conftest import Pair, pair

#: A handful of examples: each one exports a lake and computes every table on a Spark server.
SPARK_EXAMPLES = settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
_counter = itertools.count()


def _both(tmp_path: Path, store: Store, remote: str) -> Pair:
    folder = tmp_path / f"lake{next(_counter)}"
    folder.mkdir()
    return pair(folder, store, remote)


@SPARK_EXAMPLES
@given(case=revenue_cases())
def test_revenue_tables_equal_duckdb(tmp_path, spark_remote, case: RevenueCase):
    """Every revenue KPI at every grain, as of the case's end, for its segment."""
    with case.store(tmp_path) as store:
        both = _both(tmp_path, store, spark_remote)
        try:
            found = []
            for grain in GRAINS:
                duck = revenue_table(store, grain, end=case.end, segment=case.seg)
                found += differences(duck, revenue_table(both.spark, grain, end=case.end, segment=case.seg),
                                     f"revenue at {grain} grain")
            assert found == []
        finally:
            both.spark.close()


@SPARK_EXAMPLES
@given(case=engagement_cases(), curve_day=st.integers(0, 45))
def test_engagement_tables_equal_duckdb(tmp_path, spark_remote, case: EngagementCase, curve_day: int):
    """Every engagement KPI, adoption and activation (within 3 days) at every grain, the power-user curve and both
    cohort modes, in the case's time zone, with its inactive events and segment."""
    with case.store(tmp_path) as store:
        store.set_setting("activation_event", "export")
        store.set_setting("activation_window_days", "3")
        both = _both(tmp_path, store, spark_remote)
        try:
            found = []
            for grain in GRAINS:
                found += differences(engagement_table(store, grain, end=case.end, segment=case.seg),
                                     engagement_table(both.spark, grain, end=case.end, segment=case.seg),
                                     f"engagement at {grain} grain")
                found += differences(adoption(store, "export", grain, end=case.end, segment=case.seg),
                                     adoption(both.spark, "export", grain, end=case.end, segment=case.seg),
                                     f"adoption at {grain} grain")
                found += differences(activation_table(store, grain, end=case.end, segment=case.seg),
                                     activation_table(both.spark, grain, end=case.end, segment=case.seg),
                                     f"activation at {grain} grain")
            day = date(2026, 1, 1) + timedelta(days=curve_day)
            for grain in COHORT_GRAINS:
                found += differences(power_curve(store, grain, day, segment=case.seg),
                                     power_curve(both.spark, grain, day, segment=case.seg), f"{grain} curve")
                for mode in MODES:
                    found += differences(cohorts(store, grain, mode, end=case.end, segment=case.seg),
                                         cohorts(both.spark, grain, mode, end=case.end, segment=case.seg),
                                         f"{mode} cohorts at {grain} grain")
            assert found == []
        finally:
            both.spark.close()
