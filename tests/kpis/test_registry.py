"""The registry says how each KPI is computed: its kind and the table holding its column."""

from __future__ import annotations

from kpis.core.registry import HEADLINE, KPIS, RETENTION_1, REVIEW_GRAINS, TABLES, TARGET_GRAINS, TREND_GRAINS
from kpis.metrics.accounts import ACCOUNT_COLUMNS
from kpis.metrics.activation import ACTIVATION_COLUMNS
from kpis.metrics.engagement import ENGAGEMENT_COLUMNS
from kpis.metrics.lifecycle import LIFECYCLE_COLUMNS
from kpis.metrics.revenue import REVENUE_COLUMNS
from kpis.metrics.trials import TRIAL_COLUMNS


def test_each_kpi_names_its_kind_and_table() -> None:
    kinds = {k.id: (k.kind, k.table) for k in KPIS.values()}
    assert kinds["mrr"] == ("snapshot", "revenue")
    assert kinds["new_customers"] == ("flow", "revenue")
    assert kinds["logo_churn_rate"] == ("ratio", "revenue")
    assert kinds["nrr"] == ("ratio", "revenue")
    assert kinds["mau"] == ("snapshot", "engagement")
    assert kinds["active_users"] == ("flow", "engagement")
    assert kinds["adoption"] == ("ratio", "adoption")
    assert kinds["mrr_at_risk"] == ("snapshot", "accounts") and KPIS["mrr_at_risk"].source == "engagement"
    assert (RETENTION_1.kind, RETENTION_1.table, RETENTION_1.source) == ("cohort", "cohorts", "engagement")


def test_every_kpi_column_lives_in_its_table() -> None:
    columns = {"revenue": set(REVENUE_COLUMNS), "engagement": set(ENGAGEMENT_COLUMNS), "adoption": {"adoption"},
               "lifecycle": set(LIFECYCLE_COLUMNS), "activation": set(ACTIVATION_COLUMNS),
               "trials": set(TRIAL_COLUMNS), "accounts": set(ACCOUNT_COLUMNS)}
    assert all(k.id in columns[k.table] for k in KPIS.values())
    assert {k.source for k in KPIS.values()} == set(TABLES.values())


def test_ratios_of_flows_count_over_the_period() -> None:
    # churn rates divide what happened over the period; NRR compares the period's end with a year before
    assert KPIS["logo_churn_rate"].aggregation == "flow" and KPIS["nrr"].aggregation == "snapshot"
    assert [k for k in HEADLINE if KPIS[k].over_period] == ["net_new_mrr", "logo_churn_rate"]


def test_each_part_offers_its_named_grains() -> None:
    assert TREND_GRAINS == ("week", "month", "quarter")
    assert TARGET_GRAINS == ("week", "month", "quarter", "year")
    assert REVIEW_GRAINS == ("week", "month")


def test_only_adoption_needs_an_event() -> None:
    assert [k.id for k in KPIS.values() if k.needs_event] == ["adoption"]
