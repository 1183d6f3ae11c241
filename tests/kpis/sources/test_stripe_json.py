"""Stripe's own JSON (API list pages, Stripe CLI output, JSON lines): recognised by content, one row per
subscription whose monthly amount is the sum of its items', bad objects named by index or line and field."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import tempfile
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpis.core.errors import InputError
from kpis.ingest.importer import import_file
from kpis.ingest.preview import preview_file
from kpis.ingest.sources.base import sniff
from kpis.ingest.sources.detect import detect
from kpis.ingest.textfile import open_text
from kpis.store.db import Store

ROOT = Path(__file__).resolve().parents[3]

# Stripe's own fixture of the subscription resource (stripe/openapi, openapi/fixtures3.json, "subscription"), keys
# in its order, trimmed of the settings this importer does not read.
FIXTURE = json.loads("""{
  "application": null,
  "application_fee_percent": null,
  "automatic_tax": {"enabled": false},
  "billing_cycle_anchor": 1234567890,
  "billing_thresholds": null,
  "cancel_at": 1234567890,
  "cancel_at_period_end": false,
  "canceled_at": 1234567890,
  "cancellation_details": {"comment": null, "feedback": null, "reason": null},
  "collection_method": "charge_automatically",
  "created": 1234567890,
  "currency": "usd",
  "current_period_end": 1234567890,
  "current_period_start": 1234567890,
  "customer": "cus_NZbFQAsc0ptasX",
  "days_until_due": null,
  "default_payment_method": null,
  "default_source": null,
  "default_tax_rates": [],
  "description": null,
  "discount": null,
  "ended_at": 1234567890,
  "id": "sub_1MoqxHLgUG5tbmjcG8lOfx2N",
  "items": {
    "data": [
      {
        "billing_thresholds": null,
        "created": 1679588735,
        "id": "si_Na0zOJYhm6UPMj",
        "metadata": {},
        "object": "subscription_item",
        "price": {
          "active": true,
          "billing_scheme": "per_unit",
          "created": 1679492997,
          "currency": "usd",
          "custom_unit_amount": null,
          "id": "price_1MoS37LgUG5tbmjcCA3GTNX8",
          "livemode": false,
          "lookup_key": null,
          "metadata": {},
          "nickname": null,
          "object": "price",
          "product": "prod_NZbFOV0OmNHxwl",
          "recurring": {"aggregate_usage": null, "interval": "month", "interval_count": 1, "usage_type": "licensed"},
          "tax_behavior": "unspecified",
          "tiers_mode": null,
          "transform_quantity": null,
          "type": "recurring",
          "unit_amount": 2000,
          "unit_amount_decimal": "2000"
        },
        "quantity": 1,
        "subscription": "sub_1MoqxHLgUG5tbmjcG8lOfx2N",
        "tax_rates": []
      }
    ],
    "has_more": false,
    "object": "list",
    "url": "/v1/subscription_items?subscription=sub_1MoqxHLgUG5tbmjcG8lOfx2N"
  },
  "latest_invoice": null,
  "livemode": false,
  "metadata": {},
  "next_pending_invoice_item_invoice": 1234567890,
  "object": "subscription",
  "on_behalf_of": null,
  "pause_collection": null,
  "pending_invoice_item_interval": null,
  "pending_setup_intent": null,
  "pending_update": null,
  "schedule": null,
  "start_date": 1234567890,
  "status": "active",
  "test_clock": null,
  "transfer_data": null,
  "trial_end": 1234567890,
  "trial_start": 1234567890
}""")
FIXTURE_ITEM = FIXTURE["items"]["data"][0]

# Unix seconds of the days the hand-made subscriptions use (00:00 UTC)
JAN_1, JAN_10, FEB_1, FEB_15 = 1767225600, 1768003200, 1769904000, 1771113600
MAR_1, MAR_20, APR_1, APR_10, MAY_1, JUN_1 = 1772323200, 1773964800, 1775001600, 1775779200, 1777593600, 1780272000


def item(unit_amount: int | None, quantity: int | None = 1, *, nickname: str | None, interval: str = "month",
         interval_count: int = 1, currency: str = "usd", usage_type: str = "licensed") -> dict[str, Any]:
    """Stripe's fixture item with another price."""
    made = copy.deepcopy(FIXTURE_ITEM)
    made["quantity"] = quantity
    price = made["price"]
    price.update(currency=currency, nickname=nickname, unit_amount=unit_amount, id=f"price_{nickname}",
                 unit_amount_decimal=None if unit_amount is None else str(unit_amount))
    price["recurring"].update(interval=interval, interval_count=interval_count, usage_type=usage_type)
    return made


def subscription(sub_id: str, customer: Any, status: str, items: list[dict[str, Any]], *, start: int,
                 **fields: Any) -> dict[str, Any]:
    """Stripe's fixture subscription with these ids, items and dates; no trial, cancel or end unless given."""
    made = copy.deepcopy(FIXTURE)
    made.update(id=sub_id, customer=customer, status=status, created=start, start_date=start,
                billing_cycle_anchor=start, current_period_start=start, current_period_end=JUN_1,
                cancel_at=None, canceled_at=None, ended_at=None, trial_start=None, trial_end=None)
    made["items"].update(data=items, url=f"/v1/subscription_items?subscription={sub_id}")
    for entry in items:
        entry["subscription"] = sub_id
    made.update(fields)
    return made


def list_page(*subscriptions: dict[str, Any]) -> str:
    """What ``stripe subscriptions list`` prints: the list object, indented."""
    return json.dumps({"object": "list", "data": list(subscriptions), "has_more": False,
                       "url": "/v1/subscriptions"}, indent=2) + "\n"


def json_lines(*subscriptions: dict[str, Any]) -> str:
    return "".join(json.dumps(s) + "\n" for s in subscriptions)


# A small company, every subscription shaped like Stripe's fixture:
COMPANY = [
    # 10.00 x 5 seats + 20.00 SSO add-on, both monthly = 70.00 a month, billed as one amount of 70.00
    subscription("sub_seats", "cus_A", "active", [item(1000, 5, nickname="Seat"), item(2000, nickname="SSO add-on")],
                 start=JAN_1, current_period_start=APR_1, cancel_at=JUN_1),
    # 1,200.00 a year = 100.00 a month, + 50.00 monthly support = 150.00 a month (intervals differ: stored monthly)
    subscription("sub_mixed", {"id": "cus_B", "object": "customer", "name": "Beta Ltd", "email": "ops@beta.test",
                               "created": FEB_1, "metadata": {"Region": "EMEA"}}, "active",
                 [item(120000, nickname="Platform", interval="year"), item(5000, nickname="Support")], start=FEB_1,
                 metadata={"Segment": "enterprise", "empty": ""}),
    # 30.00 x 2 = 60.00 a month from the trial's end, 15 Feb
    subscription("sub_trial", "cus_C", "active", [item(3000, 2, nickname="Team")], start=JAN_10, trial_start=JAN_10,
                 trial_end=FEB_15),
    # incomplete: never pays
    subscription("sub_incomplete", "cus_D", "incomplete", [item(1000, 3, nickname="Seat")], start=MAR_1),
    # 40.00 base + a metered price (0.02 a call, no fixed amount: counts 0) = 40.00 a month
    subscription("sub_usage", "cus_E", "active",
                 [item(4000, nickname="Base"), item(2, None, nickname="API calls", usage_type="metered")], start=MAR_1),
    # 99.00 a month, canceled 20 Mar, stopped paying 10 Apr (the latest date of the file: the export's date)
    subscription("sub_gone", "cus_F", "canceled", [item(9900, nickname="Pro")], start=JAN_1, canceled_at=MAR_20,
                 ended_at=APR_10, cancellation_details={"comment": "Too pricey for us", "feedback": "too_expensive",
                                                        "reason": "cancellation_requested"}),
    # a trial that ends after the export's date (1 May): pays nothing yet and does not move the export's date
    subscription("sub_later", "cus_G", "trialing", [item(1500, nickname="Starter")], start=APR_1, trial_start=APR_1,
                 trial_end=MAY_1),
]

COMPANY_ROWS = [
    ("sub_gone", "cus_F", "Pro", 99.0, 1.0, "USD", "month", 1, "canceled", datetime(2026, 1, 1), None,
     datetime(2026, 3, 20), datetime(2026, 4, 10)),
    ("sub_incomplete", "cus_D", "Seat", 10.0, 3.0, "USD", "month", 1, "incomplete", datetime(2026, 3, 1), None, None,
     None),
    ("sub_later", "cus_G", "Starter", 15.0, 1.0, "USD", "month", 1, "trialing", datetime(2026, 4, 1),
     datetime(2026, 5, 1), None, None),
    # 100.00 + 50.00 a month
    ("sub_mixed", "cus_B", "Platform + Support", 150.0, 1.0, "USD", "month", 1, "active", datetime(2026, 2, 1), None,
     None, None),
    # 10.00 x 5 + 20.00 x 1
    ("sub_seats", "cus_A", "Seat + SSO add-on", 70.0, 1.0, "USD", "month", 1, "active", datetime(2026, 1, 1), None,
     None, None),
    ("sub_trial", "cus_C", "Team", 30.0, 2.0, "USD", "month", 1, "active", datetime(2026, 1, 10),
     datetime(2026, 2, 15), None, None),
    # 40.00 + 0 for the metered calls
    ("sub_usage", "cus_E", "Base + API calls", 40.0, 1.0, "USD", "month", 1, "active", datetime(2026, 3, 1), None,
     None, None),
]


def _source_of(path: Path) -> str:
    with open_text(path) as text:
        return detect(sniff(text)).NAME


def _subscriptions(store: Store) -> list[tuple[Any, ...]]:
    return store.query("""SELECT subscription_id, customer_id, plan, amount, quantity, currency, "interval",
        interval_count, status, started_at, trial_end, canceled_at, ended_at FROM subscriptions
        ORDER BY subscription_id""")


def _nothing_stored(store: Store) -> bool:
    tables = ("subscription_versions", "customer_versions", "customer_attribute_versions", "imports")
    return all(store.query(f"SELECT count(*) FROM {t}") == [(0,)] for t in tables)


# -- recognising the file -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("content", [
    list_page(FIXTURE),                                                # the Stripe CLI: indented list page
    json.dumps({"object": "list", "data": [FIXTURE]}),                 # the API's answer on one line
    json_lines(FIXTURE, FIXTURE),                                      # a dump of pages, one object per line
    json.dumps([FIXTURE], indent=2),                                   # the pages' data arrays
    json.dumps({"data": [FIXTURE], "has_more": False, "object": "list"}, indent=2, sort_keys=True),
    json.dumps({"object": "search_result", "data": [FIXTURE], "url": "/v1/subscriptions/search"}),
    json.dumps({"object": "list", "data": [], "has_more": False, "url": "/v1/subscriptions"}),
])
def test_subscription_json_is_recognised_by_its_content(write, content):
    assert _source_of(write("export.txt", content)) == "stripe_json_subscriptions"


def test_a_page_larger_than_the_sample_is_recognised_by_its_first_subscription(write):
    page = list_page(*[subscription(f"sub_{i}", f"cus_{i}", "active", [item(1000, nickname="Pro")], start=JAN_1)
                       for i in range(200)])
    assert len(page) > 300_000  # beyond the 256 KB read to recognise a file
    assert _source_of(write("big.json", page)) == "stripe_json_subscriptions"


@pytest.mark.parametrize("content", [
    # a Stripe event whose object is a subscription: an event export, not subscriptions
    json.dumps({"object": "event", "type": "customer.subscription.updated", "data": {"object": FIXTURE}}) + "\n",
    json.dumps({"object": "list", "data": [{"object": "invoice", "id": "in_1"}], "url": "/v1/invoices"}, indent=2),
    json.dumps({"object": "list", "data": [], "url": "/v1/invoices"}),
    json.dumps([{"object": "customer", "id": "cus_1"}]),
])
def test_other_json_is_still_not_an_export_we_know(store, write, content):
    with pytest.raises(InputError, match="JSON that is not an event export we know") as caught:
        import_file(store, write("other.json", content))
    assert "Stripe subscriptions (API or Stripe CLI JSON)" in str(caught.value)
    assert _nothing_stored(store)


def test_the_preview_counts_subscriptions_not_lines(write):
    page = list_page(*COMPANY)
    assert page.count("\n") > 500  # the Stripe CLI's indented page
    seen = preview_file(write("subscriptions.json", page))
    try:
        assert (seen.source, seen.rows, seen.rows_exact) == ("stripe_json_subscriptions", 7, True)
        assert list(seen.sample["id"]) == ["sub_seats", "sub_mixed", "sub_trial", "sub_incomplete", "sub_usage"]
        assert list(seen.sample["status"]) == ["active", "active", "active", "incomplete", "active"]
    finally:
        seen.close()


# -- what is stored -------------------------------------------------------------------------------------------------

def test_stripes_own_fixture_imports_as_it_is(store, write):
    result = import_file(store, write("subscriptions.json", list_page(FIXTURE)))
    assert (result.status, result.source, result.rows_read, result.rows_added) == (
        "ok", "stripe_json_subscriptions", 1, 1)
    # 2000 cents x 1 a month; no nickname: the price id is the plan; 1234567890 = 2009-02-13 23:31:30 UTC
    at = datetime(2009, 2, 13, 23, 31, 30)
    assert _subscriptions(store) == [("sub_1MoqxHLgUG5tbmjcG8lOfx2N", "cus_NZbFQAsc0ptasX",
                                      "price_1MoS37LgUG5tbmjcCA3GTNX8", 20.0, 1.0, "USD", "month", 1, "active",
                                      at, at, at, at)]
    assert store.query("SELECT customer_id, name, email FROM customers") == [("cus_NZbFQAsc0ptasX", None, None)]


def test_list_page_stores_one_row_per_subscription_with_the_sum_of_its_items(store, write):
    result = import_file(store, write("subscriptions.json", list_page(*COMPANY)))
    assert (result.source, result.rows_read, result.rows_added, result.rows_rejected) == (
        "stripe_json_subscriptions", 7, 7, 0)
    assert _subscriptions(store) == COMPANY_ROWS
    # the export's date: sub_gone's end, 10 Apr; sub_later's trial end (1 May), sub_seats' cancel_at (1 Jun) and
    # every current_period_end (1 Jun) are still to come
    assert store.query("SELECT kinds, data_as_of FROM imports") == [
        ("customer_attributes,customers,subscriptions", datetime(2026, 4, 10))]
    assert result.notes == ("1 metered (usage-priced) item counted as 0: MRR counts fixed prices only",)


def test_json_lines_store_the_same_rows(store, write):
    result = import_file(store, write("subscriptions.jsonl", json_lines(*COMPANY)))
    assert (result.source, result.rows_added) == ("stripe_json_subscriptions", 7)
    assert _subscriptions(store) == COMPANY_ROWS


def test_expanded_customer_and_metadata_become_the_customer_and_its_attributes(store, write):
    import_file(store, write("subscriptions.json", list_page(*COMPANY)))
    assert store.query("SELECT customer_id, name, email, created_at FROM customers WHERE customer_id = 'cus_B'") == [
        ("cus_B", "Beta Ltd", "ops@beta.test", datetime(2026, 2, 1))]
    assert store.query("SELECT count(*) FROM customers") == [(7,)]
    # keys lower case as the Dashboard export's "<key> (metadata)" columns; an empty value is no attribute
    assert store.query('SELECT customer_id, "key", "value" FROM customer_attributes ORDER BY ALL') == [
        ("cus_B", "region", "EMEA"), ("cus_B", "segment", "enterprise")]


def test_cancellation_details_are_kept(store, write):
    import_file(store, write("subscriptions.json", list_page(*COMPANY)))
    assert store.query("""SELECT subscription_id, cancellation_reason, cancellation_feedback, cancellation_comment
                          FROM subscriptions WHERE cancellation_reason IS NOT NULL""") == [
        ("sub_gone", "cancellation_requested", "too_expensive", "Too pricey for us")]


def test_older_objects_with_a_plan_instead_of_a_price(store, write):
    legacy = {"id": "si_old", "object": "subscription_item", "quantity": 2,
              "plan": {"id": "gold", "object": "plan", "amount": 4999, "currency": "eur", "interval": "month",
                       "interval_count": 3, "nickname": None, "usage_type": "licensed"}}
    oldest = subscription("sub_oldest", "cus_2", "active", [], start=JAN_1, currency="eur",
                          plan={"id": "silver", "object": "plan", "amount_decimal": "1250.5", "currency": "eur",
                                "interval": "week", "interval_count": 1}, quantity=4)
    del oldest["items"]
    import_file(store, write("old.jsonl", json_lines(
        subscription("sub_old", "cus_1", "active", [legacy], start=JAN_1, currency="eur"), oldest)))
    assert _subscriptions(store) == [
        # 4999 cents every 3 months, 2 of them: no nickname, so the plan id
        ("sub_old", "cus_1", "gold", 49.99, 2.0, "EUR", "month", 3, "active", datetime(2026, 1, 1), None, None, None),
        # no items at all (the oldest API versions): the subscription's own plan and quantity; 1250.5 cents
        ("sub_oldest", "cus_2", "silver", 12.505, 4.0, "EUR", "week", 1, "active", datetime(2026, 1, 1), None, None,
         None),
    ]


def test_the_same_file_again_is_a_duplicate_and_the_same_data_as_json_lines_adds_nothing(store, write):
    page = write("subscriptions.json", list_page(*COMPANY))
    first = import_file(store, page)
    again = import_file(store, page)
    assert (again.status, again.import_id) == ("duplicate", first.import_id)
    lines = import_file(store, write("subscriptions.jsonl", json_lines(*COMPANY)))
    assert (lines.rows_added, lines.rows_updated, lines.duplicates) == (0, 0, 7)
    assert store.query("SELECT count(*) FROM subscriptions") == [(7,)]


MONTHS_PER = {"day": Fraction(365, 12), "week": Fraction(52, 12), "month": Fraction(1), "year": Fraction(1, 12)}

ITEMS = st.lists(st.tuples(st.integers(0, 10**7), st.integers(0, 500), st.sampled_from(sorted(MONTHS_PER)),
                           st.integers(1, 12), st.booleans()), min_size=1, max_size=5)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items=ITEMS)
def test_one_row_per_subscription_worth_the_sum_of_its_items_monthly_amounts(items):
    """Whatever the items (amounts, quantities, intervals, metered or not), the one stored row's monthly amount,
    computed as the revenue KPIs compute it, is the sum of the items' monthly amounts."""
    made = [item(cents, quantity, nickname=f"P{i}", interval=interval, interval_count=count,
                 usage_type="metered" if metered else "licensed")
            for i, (cents, quantity, interval, count, metered) in enumerate(items)]
    expected = sum((Fraction(cents, 100) * quantity * MONTHS_PER[interval] / count
                    for cents, quantity, interval, count, metered in items if not metered), Fraction(0))
    with tempfile.TemporaryDirectory(prefix="kpis-stripe-json-") as folder:
        path = Path(folder) / "s.jsonl"
        path.write_text(json_lines(subscription("sub_p", "cus_p", "active", made, start=JAN_1)), encoding="utf-8")
        with Store(Path(folder) / "t.duckdb") as store:
            import_file(store, path)
            rows = store.query("""SELECT plan, amount * quantity * CASE "interval" WHEN 'month' THEN 1
                WHEN 'year' THEN 1 / 12 WHEN 'week' THEN 52 / 12 ELSE 365 / 12 END / interval_count
                FROM subscriptions""")
    assert len(rows) == 1
    assert rows[0][0] == " + ".join(f"P{i}" for i in range(len(items)))
    assert rows[0][1] == pytest.approx(float(expected), rel=1e-12, abs=1e-9)


# -- the numbers ----------------------------------------------------------------------------------------------------

def kpis(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "kpis", "--db", str(db), *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=300)


def test_cli_import_then_mrr_by_month(tmp_path, write):
    db = tmp_path / "cli.duckdb"
    done = kpis("import", str(write("subscriptions.json", list_page(*COMPANY))), db=db)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ("subscriptions.json: stripe_json_subscriptions, import 1: 7 rows added, 0 updated, "
                           "0 duplicates skipped, 0 rows rejected (1 metered (usage-priced) item counted as 0: MRR "
                           "counts fixed prices only)\n")
    mrr = kpis("series", "mrr", "--grain", "month", db=db)
    assert mrr.returncode == 0, mrr.stderr
    assert mrr.stdout.splitlines() == [
        "period_start,value",
        # 31 Jan: seats 70 + gone 99 (the trial pays from 15 Feb)
        "2026-01-01,169",
        # 28 Feb: 70 + mixed 150 + trial 60 + 99
        "2026-02-01,379",
        # 31 Mar: 70 + 150 + 60 + 99 (canceled, paying until 10 Apr) + usage 40; the incomplete one pays nothing
        "2026-03-01,419",
        # 10 Apr, the export's date: sub_gone ended that day; sub_later still in its trial
        "2026-04-01,320",
    ]


def test_a_trial_pays_from_its_end_and_an_incomplete_subscription_never(tmp_path, write):
    db = tmp_path / "cli.duckdb"
    subs = [subscription("sub_trial", "cus_C", "trialing", [item(3000, 2, nickname="Team")], start=JAN_10,
                         trial_start=JAN_10, trial_end=FEB_15),
            subscription("sub_incomplete", "cus_D", "incomplete", [item(1000, 3, nickname="Seat")], start=JAN_1),
            subscription("sub_last", "cus_E", "canceled", [item(500, nickname="Mini")], start=JAN_1, ended_at=MAR_1)]
    assert kpis("import", str(write("s.jsonl", json_lines(*subs))), db=db).returncode == 0
    mrr = kpis("series", "mrr", "--grain", "month", db=db)
    # Jan: the trial is not paid yet, the incomplete one never: only sub_last's 5.00; Feb: 30.00 x 2 + 5.00;
    # 1 Mar (the export's date, sub_last's end): 60.00
    assert mrr.stdout.splitlines() == ["period_start,value", "2026-01-01,5", "2026-02-01,65", "2026-03-01,60"]


# -- bad input ------------------------------------------------------------------------------------------------------

def _without(value: dict[str, Any], field: str) -> dict[str, Any]:
    made = copy.deepcopy(value)
    del made[field]
    return made


def _refused(store: Store, write: Any, name: str, content: str) -> str:
    with pytest.raises(InputError) as caught:
        import_file(store, write(name, content))
    assert _nothing_stored(store)
    return str(caught.value)


GOOD = subscription("sub_ok", "cus_1", "active", [item(1000, nickname="Pro")], start=JAN_1)


@pytest.mark.parametrize(("field", "expected"), [
    ("id", 'line 2: subscription (no id), field "id": this value is required but missing'),
    ("customer", 'line 2: subscription sub_bad, field "customer": this value is required but missing'),
    ("status", 'line 2: subscription sub_bad, field "status": this value is required but missing'),
])
def test_a_subscription_without_id_customer_or_status_is_named_by_its_line(store, write, field, expected):
    bad = _without(subscription("sub_bad", "cus_2", "active", [item(1000, nickname="Pro")], start=JAN_1), field)
    assert _refused(store, write, "s.jsonl", json_lines(GOOD, bad)) == f"s.jsonl, {expected}"


def test_in_a_list_page_the_subscription_is_named_by_its_index_and_line(store, write):
    bad = _without(subscription("sub_bad", "cus_2", "active", [item(1000, nickname="Pro")], start=JAN_1), "status")
    page = list_page(GOOD, bad)
    line = page[: page.index('"id": "sub_bad"')].rindex("\n    {") + 1  # the line of the object's opening brace
    assert _refused(store, write, "s.json", page) == (
        f's.json, line {page[:line].count(chr(10)) + 1}: subscription data[1] (sub_bad), field "status": this value '
        "is required but missing")


def test_a_price_without_an_amount(store, write):
    tiered = item(None, 5, nickname="Volume")
    tiered["price"].update(billing_scheme="tiered", tiers_mode="volume")
    bad = subscription("sub_tiers", "cus_2", "active", [item(1000, nickname="Pro"), tiered], start=JAN_1)
    assert _refused(store, write, "s.jsonl", json_lines(GOOD, bad)) == (
        's.jsonl, line 2: subscription sub_tiers, field "items.data[1].price": the price has no amount: no '
        "unit_amount, unit_amount_decimal or plan amount (a tiered price: only prices with one unit amount are read)")


def test_items_in_different_currencies(store, write):
    items = [item(1000, nickname="Pro"), item(900, nickname="EU", currency="eur")]
    bad = subscription("sub_fx", "cus_2", "active", items, start=JAN_1)
    assert _refused(store, write, "s.json", json.dumps({"object": "list", "data": [bad]})) == (
        's.json, line 1: subscription data[0] (sub_fx), field "items.data[1].price.currency": the items are in '
        "different currencies (usd and eur); a subscription has one currency")


@pytest.mark.parametrize(("value", "shown"), [('"next week"', '"next week"'), ("true", "true"), ("{}", "{}")])
def test_a_timestamp_that_is_not_unix_seconds(store, write, value, shown):
    bad = json.dumps(subscription("sub_t", "cus_2", "canceled", [item(1000, nickname="Pro")], start=JAN_1,
                                  ended_at="@@"))
    content = json_lines(GOOD) + bad.replace('"@@"', value) + "\n"
    assert _refused(store, write, "s.jsonl", content) == (
        f's.jsonl, line 2: subscription sub_t, field "ended_at": expected a time in Unix seconds (such as '
        f"1767225600), found {shown}")


def test_another_object_in_a_subscriptions_file(store, write):
    content = json_lines(GOOD, {"object": "invoice", "id": "in_1"})
    assert _refused(store, write, "s.jsonl", content) == (
        's.jsonl, line 2: subscription in_1, field "object": this is a Stripe "invoice" object, not a subscription')


def test_a_file_cut_off_is_refused_on_its_last_line(store, write):
    page = list_page(GOOD, GOOD)
    cut = page[: len(page) // 2 + 7]
    assert _refused(store, write, "s.json", cut) == (
        f"s.json, line {cut.count(chr(10)) + 1}: the file ends inside a JSON value: it looks truncated (export it "
        "again)")
