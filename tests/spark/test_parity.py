"""Every KPI on Spark equals DuckDB's, on the demo company: the same periods, values within 1e-9 relative (NaN
equal to NaN) and the same partial flags, at every grain, without and with a segment and in another time zone;
and the tables beside the series (retention cohorts, the power-user curve, the customers behind the movements)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from kpis.core.registry import COHORT_GRAINS, KPIS
from kpis.metrics import engine
from kpis.metrics.breakdown import breakdown
from kpis.metrics.engagement import power_curve
from kpis.metrics.movements import customer_changes
from kpis.metrics.retention import MODES, cohorts
from kpis.metrics.segments import offered_segments
from kpis.metrics.series import series
from tests.spark.compare import differences
from tests.spark.conftest import Pair, demo_pair

#: The event adoption is measured for: one the demo's users do on some days only.
EVENT = "report_created"
#: The segment filter of the segmented runs: one of the demo's customer attributes, as the filter offers it.
SEGMENT = ("segment", "SMB")


def every_series(pair: Pair, segment: tuple[str, str] | None = None) -> list[str]:
    """The differences between the engines over every KPI of the registry at every grain it has."""
    found = []
    for kpi in KPIS.values():
        event = EVENT if kpi.needs_event else None
        for grain in kpi.grains:
            duck = series(pair.store, kpi.id, grain, segment=segment, event=event)
            spark = series(pair.spark, kpi.id, grain, segment=segment, event=event)
            assert not duck.empty, (kpi.id, grain)
            found += differences(duck, spark, f"{kpi.id} at {grain} grain")
    return found


def test_the_segment_is_one_the_filter_offers(demo):
    """The segmented runs filter by a segment the dashboard offers on both engines."""
    assert SEGMENT in offered_segments(demo.store).segments
    assert offered_segments(demo.spark) == offered_segments(demo.store)


@pytest.mark.parametrize("segment", [None, SEGMENT], ids=["everyone", "segment"])
def test_every_kpi_at_every_grain_equals_duckdb(demo, segment):
    """All KPIs of the registry, adoption with an event, over the whole demo history."""
    assert every_series(demo, segment) == []


@pytest.mark.parametrize("kpi, by, grain, segment", [("mrr", "plan", "week", None), ("arr", "plan", "month", SEGMENT),
                                                     ("new_mrr", "segment", "month", None),
                                                     ("logo_churn_rate", "country", "quarter", None)])
def test_breakdowns_equal_duckdb(demo, kpi, by, grain, segment):
    """MRR by plan (within a segment too) and revenue KPIs by a customer attribute, every group and period."""
    duck = breakdown(demo.store, kpi, grain, by, segment=segment)
    assert duck["group"].nunique() > 1
    assert differences(duck, breakdown(demo.spark, kpi, grain, by, segment=segment), f"{kpi} by {by}") == []


@pytest.mark.parametrize("segment", [None, SEGMENT], ids=["everyone", "segment"])
@pytest.mark.parametrize("grain", COHORT_GRAINS)
def test_retention_cohorts_equal_duckdb(demo, grain, segment):
    """Both retention modes: every cell, its size, retained users, retention and partial flag."""
    for mode in MODES:
        duck = cohorts(demo.store, grain, mode, segment=segment)
        assert len(duck) > 10
        assert differences(duck, cohorts(demo.spark, grain, mode, segment=segment), f"{mode} cohorts") == []


@pytest.mark.parametrize("grain", COHORT_GRAINS)
def test_power_curve_equals_duckdb(demo, grain):
    """The power-user curve of the last period with data and of one a year earlier."""
    _, as_of = engine.as_of_dates(demo.store)
    for day in (as_of, as_of - timedelta(days=365)):
        duck = power_curve(demo.store, grain, day)
        assert duck["users"].sum() > 0
        assert differences(duck, power_curve(demo.spark, grain, day), f"curve of {day}") == []


@pytest.mark.parametrize("before, after", [(date(2026, 9, 30), date(2026, 10, 31)),
                                           (date(2025, 10, 31), date(2026, 10, 31))])
def test_customer_changes_equal_duckdb(demo, before, after):
    """The customers behind the MRR movements of a month and of a year, with their movement."""
    duck = customer_changes(demo.store, before, after)
    assert set(duck["movement"]) >= {"new", "churned"}
    spark = customer_changes(demo.spark, before, after)
    assert differences(duck, spark, "customer changes", keys=["customer_id"]) == []


def test_another_time_zone_gives_duckdb_s_numbers(tmp_path: Path, spark_remote: str):
    """Europe/Berlin: the setting lives in the local store; writing it changes the Spark engine's data version, so
    its derived tables are built again for the new zone and every KPI equals DuckDB's in that zone."""
    berlin = demo_pair(tmp_path, spark_remote)
    try:
        before = berlin.spark.data_version()
        utc_dau = series(berlin.spark, "dau", "day")
        berlin.store.set_setting("timezone", "Europe/Berlin")
        assert berlin.spark.data_version() != before
        moved = series(berlin.spark, "dau", "day")
        assert list(moved["value"]) != list(utc_dau["value"])  # the days are counted in Berlin now
        # every KPI at every grain in Berlin: tests/spark/test_second_company.py; here those the days move
        for kpi in ("dau", "wau", "active_users", "new_users", "events_per_active_user"):
            for grain in ("day", "month"):
                assert differences(series(berlin.store, kpi, grain), series(berlin.spark, kpi, grain),
                                   f"{kpi} at {grain} grain in Berlin") == []
        for mode in MODES:
            assert differences(cohorts(berlin.store, "week", mode), cohorts(berlin.spark, "week", mode),
                               f"{mode} cohorts in Berlin") == []
    finally:
        berlin.spark.close()
        berlin.store.close()
