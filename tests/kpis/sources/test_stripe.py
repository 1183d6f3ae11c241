"""Stripe exports and the ChartMogul schema: recognised by header, imported exactly, versioned, undone."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from kpis.core.errors import InputError
from kpis.ingest.importer import import_file, undo
from kpis.ingest.sources import ga4, stripe
from kpis.ingest.sources.base import sniff
from kpis.ingest.sources.detect import detect
from kpis.ingest.textfile import open_text
from kpis.store.db import Store

DASHBOARD_HEADER = (
    "id,Customer ID,Customer Name,Customer Email,Plan,Product,Quantity,Currency,Interval,Amount,Status,"
    "Cancellation Reason,Coupon,Created (UTC),Start Date (UTC),Current Period Start (UTC),Current Period End (UTC),"
    "Trial Start (UTC),Trial End (UTC),Canceled At (UTC),Ended At (UTC),Segment (metadata),region (metadata)\n"
)
DASHBOARD = DASHBOARD_HEADER + (
    "sub_1,cus_1,Acme Corp,ops@acme.test,pro-monthly,Pro,2,usd,month,99.00,active,,,"
    "2026-01-05 10:00,2026-01-05 10:00,2026-09-05 10:00,2026-10-05 10:00,,,,,enterprise,EMEA\n"
    "sub_2,cus_2,Beta Ltd,hi@beta.test,basic-yearly,Basic,,eur,year,490.00,canceled,cancellation_requested,SAVE10,"
    "2026-02-01 09:30,2026-02-01 09:30,2026-02-01 09:30,2027-02-01 09:30,,,2026-08-15 12:00,2026-09-01 00:00,smb,\n"
    "sub_3,cus_1,Acme Corp,ops@acme.test,seats,Seats,1,usd,month,30.00,trialing,,,"
    "2026-09-10 08:00,2026-09-10 08:00,2026-09-10 08:00,2026-09-24 08:00,2026-09-10 08:00,2026-09-24 08:00,,,"
    "enterprise,EMEA\n"
)
DASHBOARD_SUBSCRIPTIONS = [
    ("sub_1", "cus_1", "pro-monthly", 99.0, 2.0, "USD", "month", 1, "active", datetime(2026, 1, 5, 10), None,
     None, None),
    ("sub_2", "cus_2", "basic-yearly", 490.0, 1.0, "EUR", "year", 1, "canceled", datetime(2026, 2, 1, 9, 30), None,
     datetime(2026, 8, 15, 12), datetime(2026, 9, 1)),
    ("sub_3", "cus_1", "seats", 30.0, 1.0, "USD", "month", 1, "trialing", datetime(2026, 9, 10, 8),
     datetime(2026, 9, 24, 8), None, None),
]
DASHBOARD_CUSTOMERS = [("cus_1", "Acme Corp", "ops@acme.test", None), ("cus_2", "Beta Ltd", "hi@beta.test", None)]
DASHBOARD_ATTRIBUTES = [("cus_1", "region", "EMEA"), ("cus_1", "segment", "enterprise"), ("cus_2", "segment", "smb")]

CUSTOMERS_EXPORT = (
    "id,Name,Email,Description,Created (UTC),Segment (metadata),Plan Tier (metadata)\n"
    "cus_1,Acme Corp,ops@acme.test,Key account,2025-12-20 16:45,enterprise,gold\n"
    "cus_2,Beta Ltd,hi@beta.test,,2026-01-31 08:00,smb,\n"
)

API_DUMP = (
    "id,customer,status,created,start_date,current_period_start,current_period_end,cancel_at,cancel_at_period_end,"
    "canceled_at,ended_at,trial_end,plan_id,plan_amount,plan_currency,plan_interval,plan_interval_count,quantity\n"
    # epoch seconds: 1767225600 = 2026-01-01 00:00 UTC, 1772323200 = 2026-03-01 00:00 UTC
    "sub_A,cus_A,active,1767225600,1767225600,1772323200,1774992000,,false,,,,price_pro,9900,usd,month,1,3\n"
    "sub_B,cus_B,canceled,2026-02-01T00:00:00Z,2026-02-01T00:00:00Z,2026-02-01T00:00:00Z,2027-02-01T00:00:00Z,,"
    "false,2026-05-20T15:30:00+02:00,2026-06-01T00:00:00Z,,price_team,1999,eur,year,,\n"
)

CHARTMOGUL = (
    "plan_name,plan_amount,plan_currency,plan_interval,plan_interval_count,customer_oid,customer_name,"
    "customer_email,subscription_oid,subscription_started_at,subscription_canceled_at,subscription_quantity\n"
    "Pro,9900,usd,month,1,cus_1,Acme,a@acme.test,sub_1,2026-01-05T00:00:00Z,,2\n"
    "Pro annual,99000,USD,year,,cus_2,Beta,b@beta.test,sub_2,2026-02-01,2026-07-01,\n"
    "Team,4500,usd,week,2,cus_1,Acme,a@acme.test,sub_3,2026-03-02,,\n"
)

CANONICAL_SUBSCRIPTIONS = (
    "subscription_id,customer_id,plan,amount,quantity,currency,interval,interval_count,status,started_at\n"
    "s1,c1,pro,99.00,1,USD,month,1,active,2026-01-05\n"
)
CANONICAL_CUSTOMERS = "customer_id,name,email,created_at,segment\nc1,Acme,a@acme.test,2026-01-05,smb\n"


def _source_of(path: Path) -> str:
    with open_text(path) as text:
        return detect(sniff(text)).NAME


def _claimed_by(path: Path) -> list[str]:
    """Which of this helper's sources (Stripe, ChartMogul, GA4) say the file is theirs."""
    with open_text(path) as text:
        shape = sniff(text)
        return [s.NAME for s in stripe.SOURCES + ga4.SOURCES if s.detect(shape)]


def _subscriptions(store: Store) -> list[tuple[Any, ...]]:
    return store.query("""SELECT subscription_id, customer_id, plan, amount, quantity, currency, "interval",
        interval_count, status, started_at, trial_end, canceled_at, ended_at FROM subscriptions
        ORDER BY subscription_id""")


def _customers(store: Store) -> list[tuple[Any, ...]]:
    return store.query("SELECT customer_id, name, email, created_at FROM customers ORDER BY customer_id")


def _attributes(store: Store) -> list[tuple[Any, ...]]:
    return store.query('SELECT customer_id, "key", "value" FROM customer_attributes ORDER BY customer_id, "key"')


# -- detection -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("content", "expected"), [
    (DASHBOARD, "stripe_subscriptions"),
    (CUSTOMERS_EXPORT, "stripe_customers"),
    (API_DUMP, "stripe_api_subscriptions"),
    (CHARTMOGUL, "chartmogul_subscriptions"),
])
def test_each_export_is_recognised_by_its_header_and_by_one_source_only(write, content, expected):
    path = write("export.csv", content)
    assert _source_of(path) == expected
    assert _claimed_by(path) == [expected]


@pytest.mark.parametrize(("content", "expected"), [
    (CANONICAL_SUBSCRIPTIONS, "subscriptions_csv"),
    (CANONICAL_CUSTOMERS, "customers_csv"),
])
def test_our_canonical_formats_are_not_claimed(write, content, expected):
    path = write("ours.csv", content)
    assert _claimed_by(path) == []
    assert _source_of(path) == expected


@pytest.mark.parametrize("content", [
    # Stripe Dashboard payments export: id, Amount, Status and Customer ID too, but no billing interval
    "id,Description,Created (UTC),Amount,Amount Refunded,Currency,Status,Customer ID,Customer Email\n"
    "ch_1,Pro,2026-01-05 10:00,99.00,0.00,usd,Paid,cus_1,a@acme.test\n",
    # Stripe API charges dump
    "id,object,amount,created,currency,customer,status\nch_1,charge,9900,1767225600,usd,cus_1,succeeded\n",
])
def test_other_stripe_exports_are_not_taken_for_subscriptions(write, content):
    assert _claimed_by(write("payments.csv", content)) == []


def test_every_source_has_a_label_and_a_signature():
    for source in stripe.SOURCES:
        assert source.LABEL and source.signature


# -- Stripe Dashboard subscriptions export ---------------------------------------------------------------------------

def test_dashboard_export_imports_subscriptions_customers_and_metadata(store, write):
    result = import_file(store, write("subscriptions.csv", DASHBOARD))
    assert (result.status, result.source, result.rows_read, result.rows_added) == ("ok", "stripe_subscriptions",
                                                                                     3, 3)
    # Quantity empty -> 1; Interval Count absent -> 1; currency upper-cased; Start Date (UTC) is the start.
    assert _subscriptions(store) == DASHBOARD_SUBSCRIPTIONS
    # cus_1 has two subscriptions: one customer row, one attribute per metadata key
    assert _customers(store) == DASHBOARD_CUSTOMERS
    # cus_2's empty region is not an attribute
    assert _attributes(store) == DASHBOARD_ATTRIBUTES
    # as of: sub_3's trial end 2026-09-24 08:00; Current Period End (2027-02-01, a future renewal) is left out
    assert store.query("SELECT source, kinds, rows_read, data_as_of FROM imports") == [
        ("stripe_subscriptions", "customer_attributes,customers,subscriptions", 3, datetime(2026, 9, 24, 8))]


def test_european_export_with_semicolons_and_decimal_commas(store, write):
    content = (
        "id;Customer ID;Customer Name;Customer Email;Plan;Quantity;Currency;Interval;Amount;Status;Created (UTC);"
        "Start (UTC);Canceled At (UTC);Ended At (UTC)\n"
        "sub_1;cus_1;Müller GmbH;info@mueller.test;pro;1;eur;month;99,00;active;2026-01-05 10:00;"
        "2026-01-05 10:00;;\n"
        "sub_2;cus_2;Dupont SA;contact@dupont.test;enterprise;3;eur;year;1.234,50;past_due;2026-03-01 00:00;"
        "2026-03-01 00:00;;\n"
    )
    import_file(store, write("abos.csv", content))
    assert _subscriptions(store) == [
        ("sub_1", "cus_1", "pro", 99.0, 1.0, "EUR", "month", 1, "active", datetime(2026, 1, 5, 10), None, None,
         None),
        # 1.234,50 = 1234.50
        ("sub_2", "cus_2", "enterprise", 1234.5, 3.0, "EUR", "year", 1, "past_due", datetime(2026, 3, 1), None,
         None, None),
    ]


def test_cp1252_export_keeps_euro_signs_dashes_and_accents(store, write):
    content = DASHBOARD_HEADER + (
        "sub_1,cus_1,Café Münster – €uro GmbH,café@muenster.test,pro,Pro,1,eur,month,49.00,active,,,"
        "2026-01-05 10:00,2026-01-05 10:00,2026-09-05 10:00,2026-10-05 10:00,,,,,Einzelhändler,\n"
    )
    result = import_file(store, write("excel.csv", content.encode("cp1252")))
    assert "read as cp1252" in result.notes
    assert _customers(store) == [("cus_1", "Café Münster – €uro GmbH", "café@muenster.test", None)]
    assert _attributes(store) == [("cus_1", "segment", "Einzelhändler")]
    assert [r[3] for r in _subscriptions(store)] == [49.0]


def test_utf8_bom_and_crlf(store, write):
    result = import_file(store, write("excel-utf8.csv", ("\ufeff" + DASHBOARD).replace("\n", "\r\n")))
    assert result.source == "stripe_subscriptions"
    assert _subscriptions(store) == DASHBOARD_SUBSCRIPTIONS
    assert _customers(store) == DASHBOARD_CUSTOMERS
    assert _attributes(store) == DASHBOARD_ATTRIBUTES


def test_reordered_columns_start_alias_interval_count_and_created_fallback(store, write):
    content = (
        "Status,Amount,Interval Count,Interval,Currency,Customer Email,id,Start (UTC),Customer ID,Plan,Created (UTC)\n"
        "active,300.00,3,month,USD,a@x.test,sub_9,2026-03-01 00:00,cus_9,pro-quarterly,2026-02-27 11:00\n"
        "active,10.00,,week,usd,b@x.test,sub_8,,cus_8,weekly,2026-04-02 12:00\n"
    )
    import_file(store, write("reordered.csv", content))
    assert _subscriptions(store) == [
        # no Start (UTC) value: the subscription starts when it was created
        ("sub_8", "cus_8", "weekly", 10.0, 1.0, "USD", "week", 1, "active", datetime(2026, 4, 2, 12), None, None,
         None),
        ("sub_9", "cus_9", "pro-quarterly", 300.0, 1.0, "USD", "month", 3, "active", datetime(2026, 3, 1), None,
         None, None),
    ]
    assert _customers(store) == [("cus_8", None, "b@x.test", None), ("cus_9", None, "a@x.test", None)]
    assert _attributes(store) == []


def test_bad_amount_names_line_and_column_and_stores_nothing(store, write):
    content = DASHBOARD.replace(",490.00,", ",4g0.00,")
    with pytest.raises(InputError) as caught:
        import_file(store, write("bad.csv", content))
    # line 1 is the header, sub_2 is on line 3
    assert str(caught.value).startswith("bad.csv, line 3, column 'amount': cannot read \"4g0.00\"")
    for table in ("subscription_versions", "customer_versions", "customer_attribute_versions", "imports"):
        assert store.query(f"SELECT count(*) FROM {table}") == [(0,)]


def test_bad_status_and_missing_customer_are_located(store, write):
    with pytest.raises(InputError, match=r"line 2, column 'status': .*expected a subscription status"):
        import_file(store, write("s.csv", DASHBOARD.replace(",active,", ",activ,", 1)))
    with pytest.raises(InputError, match=r"line 4, column 'customer id': this value is required but empty"):
        import_file(store, write("c.csv", DASHBOARD.replace("sub_3,cus_1,", "sub_3,,")))


def test_a_file_cut_off_mid_row_is_refused_and_stores_nothing(store, write):
    """The second export of the same subscriptions, cut off in the last row's metadata: its rows would all be
    duplicates and the cut row would pass with its last columns empty ("0 rows added"), so it must be refused."""
    import_file(store, write("full.csv", DASHBOARD))
    before = store.query("SELECT count(*) FROM imports")
    cut = DASHBOARD[: DASHBOARD.rindex(",enterprise,EMEA") + len(",enterp")]  # sub_3's line, no line end
    with pytest.raises(InputError) as caught:
        import_file(store, write("cut.csv", cut))
    # the header has 23 fields; sub_3 (line 4) stops inside its 22nd, "Segment (metadata)"
    assert str(caught.value) == ("cut.csv, line 4: the last line is cut short: it has 22 of the header's 23 fields "
                                 "and no line end; the file looks truncated (export it again)")
    assert store.query("SELECT count(*) FROM imports") == before


def test_a_last_line_without_a_line_end_is_kept_when_it_is_whole(store, write):
    result = import_file(store, write("s.csv", DASHBOARD.rstrip("\n")))
    assert (result.rows_added, result.rows_rejected) == (3, 0)


def test_a_hand_made_file_that_leaves_out_empty_last_columns_still_imports(store, write):
    header = "subscription_id,customer_id,amount,started_at,plan,status,canceled_at,ended_at\n"
    rows = "s1,c1,10,2026-01-01,basic\ns2,c2,20,2026-01-02,pro"  # no status, dates or final line end
    result = import_file(store, write("subs.csv", header + rows))
    assert (result.source, result.rows_added) == ("subscriptions_csv", 2)


def test_same_file_twice_is_a_duplicate(store, write):
    path = write("subscriptions.csv", DASHBOARD)
    first = import_file(store, path)
    again = import_file(store, path)
    assert (again.status, again.import_id) == ("duplicate", first.import_id)
    assert store.query("SELECT count(*) FROM subscription_versions") == [(3,)]


def test_newer_export_replaces_status_and_undo_restores_it(store, write):
    header = ("id,Customer ID,Plan,Currency,Interval,Amount,Status,Created (UTC),Start (UTC),"
              "Current Period Start (UTC),Canceled At (UTC),Ended At (UTC)\n")
    september = header + "sub_1,cus_1,pro,usd,month,99.00,active,2026-01-05 10:00,2026-01-05 10:00,2026-09-05 10:00,,\n"
    october = header + ("sub_1,cus_1,pro,usd,month,99.00,canceled,2026-01-05 10:00,2026-01-05 10:00,"
                        "2026-10-05 10:00,2026-10-01 09:00,2026-10-05 10:00\n")
    import_file(store, write("september.csv", september))
    newer = import_file(store, write("october.csv", october))
    assert (newer.rows_added, newer.rows_updated) == (0, 1)
    assert _subscriptions(store) == [
        ("sub_1", "cus_1", "pro", 99.0, 1.0, "USD", "month", 1, "canceled", datetime(2026, 1, 5, 10), None,
         datetime(2026, 10, 1, 9), datetime(2026, 10, 5, 10))]
    undo(store, newer.import_id)
    assert _subscriptions(store) == [
        ("sub_1", "cus_1", "pro", 99.0, 1.0, "USD", "month", 1, "active", datetime(2026, 1, 5, 10), None, None,
         None)]


def test_older_export_imported_later_does_not_win(store, write):
    header = "id,Customer ID,Currency,Interval,Amount,Status,Start (UTC),Canceled At (UTC),Ended At (UTC)\n"
    import_file(store, write("october.csv", header + "sub_1,cus_1,usd,month,99,canceled,2026-01-05 10:00,"
                                                     "2026-10-01 09:00,2026-10-05 10:00\n"))
    import_file(store, write("september.csv", header + "sub_1,cus_1,usd,month,99,active,2026-01-05 10:00,,\n"))
    assert [r[8] for r in _subscriptions(store)] == ["canceled"]


# -- Stripe customers export -----------------------------------------------------------------------------------------

def test_customers_export_imports_customers_and_metadata(store, write):
    result = import_file(store, write("customers.csv", CUSTOMERS_EXPORT))
    assert (result.source, result.rows_read, result.rows_added) == ("stripe_customers", 2, 2)
    assert _customers(store) == [
        ("cus_1", "Acme Corp", "ops@acme.test", datetime(2025, 12, 20, 16, 45)),
        ("cus_2", "Beta Ltd", "hi@beta.test", datetime(2026, 1, 31, 8)),
    ]
    assert _attributes(store) == [("cus_1", "plan tier", "gold"), ("cus_1", "segment", "enterprise"),
                                  ("cus_2", "segment", "smb")]
    assert _subscriptions(store) == []
    assert store.query("SELECT data_as_of FROM imports") == [(datetime(2026, 1, 31, 8),)]


# -- Stripe API / warehouse dump -----------------------------------------------------------------------------------

def test_api_dump_divides_cents_and_reads_epoch_and_iso_times(store, write):
    result = import_file(store, write("stripe_subscriptions.csv", API_DUMP))
    assert (result.source, result.rows_read) == ("stripe_api_subscriptions", 2)
    assert _subscriptions(store) == [
        # 9900 cents = 99.00
        ("sub_A", "cus_A", "price_pro", 99.0, 3.0, "USD", "month", 1, "active", datetime(2026, 1, 1), None, None,
         None),
        # 1999 cents = 19.99; 15:30+02:00 = 13:30 UTC; empty quantity and interval count -> 1
        ("sub_B", "cus_B", "price_team", 19.99, 1.0, "EUR", "year", 1, "canceled", datetime(2026, 2, 1), None,
         datetime(2026, 5, 20, 13, 30), datetime(2026, 6, 1)),
    ]
    # sub_B ended 2026-06-01; current_period_end (future renewals) is not an as-of date
    assert store.query("SELECT data_as_of, kinds FROM imports") == [(datetime(2026, 6, 1), "subscriptions")]


def test_api_dump_bad_cents_is_located(store, write):
    with pytest.raises(InputError, match=r"line 3, column 'plan_amount': cannot read \"19,99x\""):
        import_file(store, write("dump.csv", API_DUMP.replace(",1999,", ',"19,99x",')))
    assert store.query("SELECT count(*) FROM imports") == [(0,)]


# -- ChartMogul / Baremetrics schema -------------------------------------------------------------------------------

def test_chartmogul_schema_imports_subscriptions_and_customers(store, write):
    result = import_file(store, write("chartmogul.csv", CHARTMOGUL))
    assert (result.source, result.rows_read, result.rows_added) == ("chartmogul_subscriptions", 3, 3)
    assert _subscriptions(store) == [
        ("sub_1", "cus_1", "Pro", 99.0, 2.0, "USD", "month", 1, "active", datetime(2026, 1, 5), None, None, None),
        # 99000 cents = 990.00; a cancel date means canceled and ended on that date
        ("sub_2", "cus_2", "Pro annual", 990.0, 1.0, "USD", "year", 1, "canceled", datetime(2026, 2, 1), None,
         datetime(2026, 7, 1), datetime(2026, 7, 1)),
        ("sub_3", "cus_1", "Team", 45.0, 1.0, "USD", "week", 2, "active", datetime(2026, 3, 2), None, None, None),
    ]
    assert _customers(store) == [("cus_1", "Acme", "a@acme.test", None), ("cus_2", "Beta", "b@beta.test", None)]
    assert store.query("SELECT data_as_of FROM imports") == [(datetime(2026, 7, 1),)]
