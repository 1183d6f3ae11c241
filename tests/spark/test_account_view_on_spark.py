"""The Accounts page's numbers (the list, the lead time, one account's history, the link's coverage) computed by
Spark from the lake equal DuckDB's, on the demo company: its events name product accounts, a mapping links most of
them to Stripe customers, and some customers' usage fades before they leave."""

from __future__ import annotations

from datetime import date

import pandas as pd

from kpis.metrics.account_view import (
    account_list,
    lead_time,
    link_coverage,
    mrr_steps,
    unlinked_accounts,
    weekly_active_users,
)

AS_OF = date(2026, 11, 22)  # the demo's last event day


def _same(left: pd.DataFrame, right: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(left.reset_index(drop=True), right.reset_index(drop=True), check_dtype=False)


def test_the_account_list_and_its_signal_equal_duckdb(demo):
    ours, theirs = account_list(demo.store, AS_OF), account_list(demo.spark, AS_OF)
    assert len(ours) > 100 and ours["at_risk"].any() and ours["growing"].any()  # a list worth comparing
    _same(ours, theirs)
    assert lead_time(demo.store, "month") == lead_time(demo.spark, "month")


def test_one_accounts_history_and_the_link_coverage_equal_duckdb(demo):
    customer = account_list(demo.store, AS_OF)["customer_id"].iloc[0]
    steps = mrr_steps(demo.store, customer, AS_OF)
    _same(steps, mrr_steps(demo.spark, customer, AS_OF))
    first = steps["day"].iloc[0]
    _same(weekly_active_users(demo.store, customer, first, AS_OF),
          weekly_active_users(demo.spark, customer, first, AS_OF))
    assert link_coverage(demo.store, AS_OF) == link_coverage(demo.spark, AS_OF)
    _same(unlinked_accounts(demo.store, AS_OF), unlinked_accounts(demo.spark, AS_OF))
