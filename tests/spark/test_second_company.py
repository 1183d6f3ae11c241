"""A second company's real exports (tests/spark/second_company.py: Stripe in two currencies with exchange rates,
Mixpanel and PostHog recording the same activity, Europe/Berlin): every KPI at every grain on Spark equals DuckDB's,
and so do one segment's retention cohorts in both modes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kpis.core.registry import COHORT_GRAINS, KPIS
from kpis.metrics.retention import MODES, cohorts
from kpis.metrics.series import series
from kpis.store.db import Store
from tests.spark import second_company
from tests.spark.compare import differences
from tests.spark.conftest import Pair, pair

EVENT = "Created report"


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory, spark_remote: str) -> Iterator[Pair]:
    folder = tmp_path_factory.mktemp("second-company")
    store = Store(folder / "kpis.duckdb")
    second_company.build(store, folder)
    opened = pair(folder, store, spark_remote)
    try:
        yield opened
    finally:
        opened.spark.close()
        store.close()


def test_the_company_is_what_its_exports_say(company):
    """The files were recognised as the tools' exports, and the settings are the company's."""
    sources = dict(company.store.query("SELECT source, rows_added FROM imports ORDER BY import_id"))
    assert list(sources) == ["stripe_subscriptions", "fx_rates_csv", "mixpanel_events", "posthog_events"]
    assert sources["stripe_subscriptions"] == 60 and sources["fx_rates_csv"] == 1
    assert company.store.get_setting("timezone") == "Europe/Berlin"
    assert second_company.SEGMENT in [tuple(s) for s in company.store.query(
        'SELECT "key", "value" FROM customer_attributes')]


def test_every_kpi_at_every_grain_equals_duckdb(company):
    """Everyone (the demo's tests filter every KPI by a segment; here the cohorts are)."""
    segment = None
    found = []
    for kpi in KPIS.values():
        event = EVENT if kpi.needs_event else None
        for grain in kpi.grains:
            duck = series(company.store, kpi.id, grain, segment=segment, event=event)
            assert not duck.empty, (kpi.id, grain)
            found += differences(duck, series(company.spark, kpi.id, grain, segment=segment, event=event),
                                 f"{kpi.id} at {grain} grain")
    assert found == []


@pytest.mark.parametrize("grain", COHORT_GRAINS)
def test_retention_cohorts_equal_duckdb(company, grain):
    for mode in MODES:
        duck = cohorts(company.store, grain, mode, segment=second_company.SEGMENT)
        assert len(duck) > 5
        spark = cohorts(company.spark, grain, mode, segment=second_company.SEGMENT)
        assert differences(duck, spark, f"{mode} cohorts") == []


def test_the_files_are_written_where_asked(tmp_path: Path):
    """The generator writes the same files every run (a seeded generator: a red build is a code change)."""
    first, second = tmp_path / "a", tmp_path / "b"
    for folder in (first, second):
        folder.mkdir()
        with Store(folder / "kpis.duckdb") as store:
            second_company.build(store, folder)
    for name in ("subscriptions.csv", "rates.csv", "mixpanel.jsonl", "posthog.csv"):
        assert (first / name).read_bytes() == (second / name).read_bytes()
