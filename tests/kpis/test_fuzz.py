"""Hostile files: small valid exports of every format, mutated, imported into a real DuckDB file.

Whatever the bytes, the importer either returns its result and the store holds exactly what the result says, or
raises :class:`InputError` with a one-line message and every table is exactly as before. The command line does
the same as a real process: a non-zero exit, one ``error:`` line on stderr, never a traceback.
"""

from __future__ import annotations

import codecs
import gzip
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kpis.core.errors import InputError
from kpis.ingest.importer import ImportResult, import_file
from kpis.ingest.sources.base import MAX_FIELD_BYTES
from kpis.store.db import Store
from kpis.store.derived import DERIVED_TABLES

ROOT = Path(__file__).resolve().parents[2]

# -- seeds: one small valid file per format ------------------------------------------------------------------------

SEEDS: dict[str, bytes] = {
    "stripe_subscriptions": (
        b"id,Customer ID,Customer Name,Customer Email,Plan,Product,Quantity,Currency,Interval,Amount,Status,"
        b"Created (UTC),Start (UTC),Current Period Start (UTC),Current Period End (UTC),Canceled At (UTC),"
        b"Ended At (UTC),Segment (metadata)\n"
        b"sub_1,cus_1,Acme,a@acme.test,Pro,Pro,1,usd,month,99.00,active,2026-01-01 10:00,2026-01-01 10:00,"
        b"2026-02-01 10:00,2026-03-01 10:00,,,SMB\n"
        b'sub_2,cus_2,"Bolt, Inc",b@bolt.test,Team,Team,3,usd,year,1200.00,canceled,2026-01-02 10:00,'
        b"2026-01-02 10:00,2026-01-02 10:00,2027-01-02 10:00,2026-02-01 10:00,2026-02-01 10:00,Enterprise\n"
    ),
    "stripe_customers": (
        b"id,Name,Email,Description,Created (UTC),Segment (metadata)\n"
        b"cus_1,Acme,a@acme.test,,2026-01-01 10:00,SMB\n"
        b'cus_2,"Bolt, Inc",b@bolt.test,"big ""one""",2026-01-02 10:00,Enterprise\n'
    ),
    "stripe_api_subscriptions": (
        b"id,status,customer_id,start_date,created,current_period_start,current_period_end,canceled_at,ended_at,"
        b"trial_end,plan_amount,plan_currency,plan_interval,quantity\n"
        b"sub_1,active,cus_1,1767261600,1767261600,1767261600,1769940000,,,,9900,usd,month,1\n"
        b"sub_2,trialing,cus_2,2026-01-03T00:00:00Z,2026-01-03T00:00:00Z,,,,,2026-01-17T00:00:00Z,1999,eur,year,2\n"
    ),
    "stripe_json_subscriptions": (
        b'{"id": "sub_1", "object": "subscription", "customer": "cus_1", "status": "active", "created": 1767261600, '
        b'"start_date": 1767261600, "currency": "usd", "metadata": {"segment": "SMB"}, "items": {"object": "list", '
        b'"data": [{"quantity": 5, "price": {"id": "price_seat", "nickname": "Seat", "currency": "usd", '
        b'"unit_amount": 1000, "recurring": {"interval": "month", "interval_count": 1, "usage_type": "licensed"}}}, '
        b'{"quantity": 1, "price": {"id": "price_sso", "currency": "usd", "unit_amount_decimal": "2000", '
        b'"recurring": {"interval": "year", "interval_count": 1}}}]}}\n'
        b'{"id": "sub_2", "object": "subscription", "customer": {"id": "cus_2", "name": "Bolt", "email": null}, '
        b'"status": "canceled", "created": 1767348000, "start_date": 1767348000, "canceled_at": 1769940000, '
        b'"ended_at": 1769940000, "cancellation_details": {"reason": "cancellation_requested", "feedback": null}, '
        b'"items": {"data": [{"quantity": null, "plan": {"id": "gold", "amount": 9900, "currency": "usd", '
        b'"interval": "month", "usage_type": "metered"}}]}}\n'
    ),
    "chartmogul_subscriptions": (
        b"plan_name,plan_amount,plan_currency,plan_interval,plan_interval_count,customer_oid,customer_name,"
        b"customer_email,subscription_oid,subscription_started_at,subscription_canceled_at,subscription_quantity\n"
        b"Pro,9900,usd,month,1,c1,Acme,a@acme.test,s1,2026-01-01,,1\n"
        b"Team,120000,usd,year,1,c2,Bolt,b@bolt.test,s2,2026-01-02,2026-03-01,3\n"
    ),
    "posthog_events": (
        b"uuid,event,distinct_id,properties.$browser,properties.account_id,timestamp,person,elements_chain\n"
        b"0190-1,$pageview,u1,Chrome,acme,2026-01-05T10:00:00Z,,\n"
        b'0190-2,"clicked ""Export, now""",u2,Firefox,bolt,2026-01-05T11:00:00+01:00,,"a:nth-child(1)\nb"\n'
        b"0190-3,$identify,u1,Chrome,acme,2026-01-06T09:30:00.123Z,,\n"
    ),
    "posthog_events_jsonl": (
        b'{"uuid": "0190-1", "event": "$pageview", "distinct_id": "u1", "timestamp": "2026-01-05T10:00:00Z", '
        b'"properties": {"$browser": "Chrome"}}\n'
    ),
    "posthog_trends": (
        b"series,custom name,21-Mar-2023,22-Mar-2023,total\n"
        b'$pageview,Pageviews,"1,250",300,"1,550"\n'
        b"signup,,12,14,26\n"
    ),
    "amplitude_events": (
        b'{"event_type": "login", "event_time": "2026-01-05 10:00:00.123456", "user_id": "u1", "device_id": "d1", '
        b'"$insert_id": "i1", "groups": {"account": ["acme"]}, "event_properties": {"plan": "Pro"}}\n'
        b'{"event_type": "export", "event_time": "2026-01-05 11:00:00", "user_id": null, "device_id": "d2", '
        b'"$insert_id": "i2"}\n'
    ),
    "mixpanel_events": (
        b'{"event": "login", "properties": {"time": 1767607200, "distinct_id": "u1", "$insert_id": "m1", '
        b'"account_id": "acme"}}\n'
        b'{"event": "export", "properties": {"time": 1767610800000, "distinct_id": "u2", "$insert_id": "m2"}}\n'
    ),
    "ga4_report": (
        b"# ----------------------------------------\n"
        b"# Reports snapshot\n"
        b"# 20260101-20260107\n"
        b"# ----------------------------------------\n"
        b"\n"
        b"Date,Active users,New users,Engagement rate\n"
        b'20260101,"1,200",300,0.4889\n'
        b"20260102,1100,250,0.51\n"
        b',"2,300",550,0.5\n'
    ),
    "subscriptions_csv": (
        b"subscription_id,customer_id,plan,amount,currency,interval,status,started_at\n"
        b"s1,c1,Pro,99.00,usd,month,active,2026-01-01\n"
        b's2,c2,"Team, annual",1200.50,eur,year,active,2026-01-02\n'
    ),
    "customers_csv": (
        b"customer_id,name,email,created_at,segment\n"
        b"c1,Acme,a@acme.test,2026-01-01,SMB\n"
        b"c2,Bolt,b@bolt.test,2026-01-02,Enterprise\n"
    ),
    "events_csv": (
        b"user_id,event,timestamp,account_id,event_id\n"
        b"u1,login,2026-01-05T10:00:00Z,acme,e1\n"
        b"u2,export,2026-01-05T11:00:00Z,bolt,e2\n"
        b",login,2026-01-05T12:00:00Z,bolt,e3\n"
    ),
    "targets_csv": (
        b"kpi,grain,period_start,target,owner,note\n"
        b"mrr,month,2026-01-01,100000,CPO,stretch\n"
        b'logo_churn_rate,quarter,2026-01-01,0.02,"Ops, EU",\n'
    ),
    "metric_points_csv": (
        b"metric,day,value,series,source\n"
        b"signups,2026-01-01,12,,csv\n"
        b"signups,2026-01-02,15,,csv\n"
    ),
    "fx_rates_csv": b"currency,rate\nEUR,1.08\nGBP,1.27\n",
    "account_links_csv": b"account_id,user_id,customer_id\nacme,,c1\n,u2,c2\n",
}

#: The canonical kind a source's result counts (its first staged kind).
PRIMARY = {
    "stripe_subscriptions": "subscriptions", "stripe_api_subscriptions": "subscriptions",
    "stripe_json_subscriptions": "subscriptions",
    "chartmogul_subscriptions": "subscriptions", "subscriptions_csv": "subscriptions",
    "stripe_customers": "customers", "customers_csv": "customers",
    "posthog_events": "events", "amplitude_events": "events", "mixpanel_events": "events", "events_csv": "events",
    "posthog_trends": "metric_points", "ga4_report": "metric_points", "metric_points_csv": "metric_points",
    "targets_csv": "targets", "fx_rates_csv": "fx_rates", "account_links_csv": "account_links",
}
#: Tables an import may write to, besides the primary kind's (a Stripe export brings customers too, ...), and the
#: derived engagement tables an import of events brings up to date in the same transaction.
IMPORT_TABLES = {"imports", "event_claims", "events", "subscription_versions", "customer_versions",
                 "customer_attribute_versions", "metric_point_versions", "target_versions", "fx_rate_versions",
                 "account_link_versions", *DERIVED_TABLES}

# -- mutations -----------------------------------------------------------------------------------------------------

NASTY = [b"\x00", b'"', b'""', b"\r", b"\n", b"\r\n", b",", b";", b"\t", b"|", b"{", b"}", b"[", b"\\",
         b"'", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\x80", b"\xc3", b"\xe2\x80\xa8", "é€".encode(),
         b'=HYPERLINK("http://evil.example","x")', b"+1+1", b"-2+3", b"@SUM(A1)", b"<script>alert(1)</script>",
         b"NaN", b"inf", b"-1e309", b"99999999999999999999", b"1e400", b"N/A", b"null", b"#", b"\x1f\x8b"]

Draw = Callable[[st.SearchStrategy[Any]], Any]


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def flip(draw: Draw, data: bytes) -> bytes:
    if not data:
        return data
    at = draw(st.integers(0, len(data) - 1))
    return data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1:]


def truncate(draw: Draw, data: bytes) -> bytes:
    return data[:draw(st.integers(0, max(len(data) - 1, 0)))]


def duplicate_line(draw: Draw, data: bytes) -> bytes:
    lines = _lines(data)
    at = draw(st.integers(0, len(lines) - 1))
    return b"\n".join(lines[:at + 1] + [lines[at]] + lines[at + 1:])


def remove_line(draw: Draw, data: bytes) -> bytes:
    lines = _lines(data)
    at = draw(st.integers(0, len(lines) - 1))
    return b"\n".join(lines[:at] + lines[at + 1:])


def swap_columns(draw: Draw, data: bytes) -> bytes:
    i, j = draw(st.integers(0, 6)), draw(st.integers(0, 6))
    out = []
    for line in _lines(data):
        cells = line.split(b",")
        if max(i, j) < len(cells):
            cells[i], cells[j] = cells[j], cells[i]
        out.append(b",".join(cells))
    return b"\n".join(out)


def insert(draw: Draw, data: bytes) -> bytes:
    at = draw(st.integers(0, len(data)))
    piece = draw(st.one_of(st.sampled_from(NASTY), st.text(max_size=12).map(lambda t: t.encode("utf-8"))))
    return data[:at] + piece + data[at:]


def replace_field(draw: Draw, data: bytes) -> bytes:
    """A whole CSV field (or JSON value) replaced by a nasty one."""
    lines = _lines(data)
    at = draw(st.integers(0, len(lines) - 1))
    cells = lines[at].split(b",")
    k = draw(st.integers(0, len(cells) - 1))
    cells[k] = draw(st.one_of(st.sampled_from(NASTY), st.text(max_size=12).map(lambda t: t.encode("utf-8"))))
    lines[at] = b",".join(cells)
    return b"\n".join(lines)


def huge_field(draw: Draw, data: bytes) -> bytes:
    """A long value, under and over the 1 MB field limit, quoted or not."""
    size = draw(st.sampled_from([5_000, 70_000, MAX_FIELD_BYTES + 10]))
    quote = draw(st.booleans())
    at = draw(st.integers(0, len(data)))
    value = b"x" * size
    return data[:at] + (b'"' + value + b'"' if quote else value) + data[at:]


def reencode(draw: Draw, data: bytes) -> bytes:
    text = data.decode("utf-8", errors="replace")
    how = draw(st.sampled_from(["utf-16", "utf-16-le", "utf-16-be-bom", "cp1252", "latin-1", "utf-8-sig", "gzip",
                                "gzip-cut", "crlf", "cr"]))
    if how == "utf-16-be-bom":
        return codecs.BOM_UTF16_BE + text.encode("utf-16-be")
    if how in ("cp1252", "latin-1"):
        return text.encode(how, errors="replace")
    if how == "gzip":
        return gzip.compress(data)
    if how == "gzip-cut":
        packed = gzip.compress(data)
        return packed[: max(len(packed) // 2, 3)]
    if how == "crlf":
        return data.replace(b"\n", b"\r\n")
    if how == "cr":
        return data.replace(b"\n", b"\r")
    return text.encode(how)


def emptied(draw: Draw, data: bytes) -> bytes:
    return draw(st.sampled_from([b"", b"\xef\xbb\xbf", b"\xff\xfe", b"\n\n", b" \r\n\t", b"\x00" * 8, b'"',
                                 b"{", b"[]", b"null\n", b"#\n#\n"]))


def header_only(draw: Draw, data: bytes) -> bytes:
    return _lines(data)[0] + draw(st.sampled_from([b"", b"\n", b"\n\n"]))


MUTATIONS = [flip, truncate, duplicate_line, remove_line, swap_columns, insert, replace_field, huge_field,
             reencode, emptied, header_only]


@st.composite
def mutated_files(draw: Draw) -> tuple[str, bytes]:
    name = draw(st.sampled_from(sorted(SEEDS)))
    data = SEEDS[name]
    for mutation in draw(st.lists(st.sampled_from(MUTATIONS), min_size=1, max_size=3)):
        data = mutation(draw, data)
    return name, data


# -- what the store holds ------------------------------------------------------------------------------------------

def snapshot(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (sorted), and the temporary tables left behind."""
    tables = [r[0] for r in store.query("SELECT table_name FROM duckdb_tables() WHERE NOT temporary "
                                        "ORDER BY table_name")]
    shot = {t: sorted(store.query(f'SELECT * FROM "{t}"'), key=repr) for t in tables}
    shot["(temporary)"] = store.query("SELECT table_name FROM duckdb_tables() WHERE temporary")
    shot["(views)"] = store.query("SELECT view_name FROM duckdb_views() WHERE NOT internal AND temporary")
    return shot


def current_count(store: Store, kind: str) -> int:
    return int(store.query(f"SELECT count(*) FROM {kind}")[0][0])


def check_outcome(store: Store, path: Path, name: str) -> ImportResult | InputError:
    """Import ``path`` and check that nothing escapes and nothing is half stored; returns what happened."""
    before = snapshot(store)
    counts = {kind: current_count(store, kind) for kind in set(PRIMARY.values())}
    try:
        result = import_file(store, path, name=name)
    except InputError as exc:
        message = str(exc)
        assert message.startswith((name + ": ", name + ", line ")), message
        assert "\n" not in message and "\r" not in message, f"one line: {message!r}"
        assert "Traceback" not in message and len(message) < 1500, message
        assert snapshot(store) == before, "a refused file changed the store"
        return exc
    after = snapshot(store)
    if result.status == "duplicate":
        assert after == before
        return result
    assert result.status == "ok"
    assert after["(temporary)"] == [] and after["(views)"] == [], "staging left behind"
    new = [r for r in after["imports"] if r not in before["imports"]]
    assert len(new) == 1
    row = store.query("""SELECT import_id, source, rows_read, rows_added, rows_updated, duplicates, rows_rejected,
                                status FROM imports WHERE import_id = ?""", [result.import_id])
    assert row == [(result.import_id, result.source, result.rows_read, result.rows_added, result.rows_updated,
                    result.duplicates, result.rows_rejected, "ok")]
    kind = PRIMARY[result.source]
    assert current_count(store, kind) - counts[kind] == result.rows_added, (kind, result)
    for other in set(PRIMARY.values()) - {kind}:
        if other == "events":
            assert current_count(store, other) == counts[other]
    untouched = set(before) - IMPORT_TABLES - {"(temporary)", "(views)"}
    assert {t: after[t] for t in untouched} == {t: before[t] for t in untouched}
    assert result.rows_read >= result.rows_added + result.rows_rejected >= 0
    return result


# -- the properties ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(SEEDS))
def test_every_seed_is_what_it_claims(tmp_path: Path, name: str) -> None:
    """The seeds are valid files of their format (the PostHog JSON line is a format we do not read)."""
    path = tmp_path / f"{name}.txt"
    path.write_bytes(SEEDS[name])
    with Store(tmp_path / "seed.duckdb") as store:
        outcome = check_outcome(store, path, "seed")
        if name == "posthog_events_jsonl":
            assert isinstance(outcome, InputError) and "JSON that is not an event export" in str(outcome)
        else:
            assert isinstance(outcome, ImportResult) and outcome.source == name and outcome.rows_added >= 1


def _run(name: str, data: bytes, base: str | None) -> None:
    with tempfile.TemporaryDirectory(prefix="kpis-fuzz-") as folder:
        root = Path(folder)
        path = root / "upload.bin"
        path.write_bytes(data)
        with Store(root / "fuzz.duckdb") as store:
            if base is not None:  # something already stored, that a refused file must leave as it is
                seed = root / "base.bin"
                seed.write_bytes(SEEDS[base])
                check_outcome(store, seed, "base.csv")
            check_outcome(store, path, "upload.csv")
            check_outcome(store, path, "upload.csv")  # the same bytes again: a no-op or the same refusal


@settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "80")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(file=mutated_files(), base=st.one_of(st.none(), st.sampled_from(sorted(SEEDS))))
@example(file=("events_csv", SEEDS["events_csv"].replace(b"u2,", b'"u2\n=cmd",')), base="events_csv")
@example(file=("subscriptions_csv", SEEDS["subscriptions_csv"].replace(b"99.00", b'"9\n9"')), base=None)
def test_mutated_files_are_imported_whole_or_refused_cleanly(file: tuple[str, bytes], base: str | None) -> None:
    name, data = file
    _run(name, data, base)


# -- cases the fuzzer reaches only by luck -------------------------------------------------------------------------

def test_a_line_over_the_event_csv_limit_is_refused(tmp_path: Path) -> None:
    data = SEEDS["events_csv"] + b"u3,login,2026-01-05T13:00:00Z," + b"y" * (4 * MAX_FIELD_BYTES + 100) + b",e4\n"
    path = tmp_path / "long.csv"
    path.write_bytes(data)
    with Store(tmp_path / "t.duckdb") as store:
        outcome = check_outcome(store, path, "long.csv")
    assert isinstance(outcome, InputError)
    assert "is longer than" in str(outcome)


def test_nul_bytes_inside_a_utf8_csv_are_refused_whole(tmp_path: Path) -> None:
    data = SEEDS["subscriptions_csv"].replace(b"Pro", b"P\x00ro")
    path = tmp_path / "nul.csv"
    path.write_bytes(data)
    with Store(tmp_path / "t.duckdb") as store:
        outcome = check_outcome(store, path, "nul.csv")
    assert isinstance(outcome, InputError)
    assert str(outcome) == "nul.csv: this is a binary file, not a CSV or JSON export"


def test_a_value_with_a_line_break_is_quoted_on_one_line(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_bytes(SEEDS["subscriptions_csv"].replace(b"99.00", b'"9\r\n9"'))
    with Store(tmp_path / "t.duckdb") as store:
        outcome = check_outcome(store, path, "s.csv")
    assert str(outcome) == 's.csv, line 2, column \'amount\': cannot read "9\\r\\n9": expected a number such as 99.00'


def test_an_unreadable_non_ascii_time_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_bytes(SEEDS["amplitude_events"].replace(b"2026-01-05 11:00:00", "5 janvier à 11h".encode()))
    with Store(tmp_path / "t.duckdb") as store:
        outcome = check_outcome(store, path, "a.json")
    assert str(outcome) == ('a.json, line 2, column \'event_time\': cannot read "5 janvier à 11h" as a date and '
                            "time (expected e.g. 2026-01-05 10:00:00, an ISO time with an offset, or Unix seconds)")


def test_text_encoded_twice_is_refused_as_binary(tmp_path: Path) -> None:
    """UTF-16 text saved as UTF-16 once more reads as text full of NUL characters: not an export."""
    path = tmp_path / "twice.csv"
    path.write_bytes(SEEDS["subscriptions_csv"].decode().encode("utf-16").decode("latin-1").encode("utf-16"))
    with Store(tmp_path / "t.duckdb") as store:
        outcome = check_outcome(store, path, "twice.csv")
    assert str(outcome) == "twice.csv: this is a binary file, not a CSV or JSON export"


# -- the command line, as a real process ---------------------------------------------------------------------------

NASTY_FILES = {
    "truncated.csv": SEEDS["posthog_events"][:-12],
    "nul.csv": SEEDS["events_csv"].replace(b"login", b"lo\x00gin"),
    "huge_field.csv": SEEDS["subscriptions_csv"] + b's3,c3,"' + b"x" * (MAX_FIELD_BYTES + 1) + b'",1,usd,month,'
                                                                                                 b"active,2026-01-03\n",
    "newline_amount.csv": SEEDS["subscriptions_csv"].replace(b"99.00", b'"9\n9"'),
    "cut.json.gz": gzip.compress(SEEDS["amplitude_events"])[:40],
    "bad_json.jsonl": SEEDS["mixpanel_events"][:-20] + b"\n",
}


@pytest.mark.parametrize("name", sorted(NASTY_FILES))
def test_cli_refuses_nasty_files_with_one_line(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(NASTY_FILES[name])
    db = tmp_path / "cli.duckdb"
    done = subprocess.run([sys.executable, "-m", "kpis", "--db", str(db), "import", str(path)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith((f"error: {name}: ", f"error: {name}, line ")), done.stderr
    assert "Traceback" not in done.stderr
    with Store(db) as store:
        assert store.query("SELECT count(*) FROM imports") == [(0,)]
