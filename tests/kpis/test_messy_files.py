"""Files as people really send them import correctly; broken ones get one clear message and store nothing."""

from __future__ import annotations

import gzip
import os
from datetime import datetime
from pathlib import Path

import pytest

from kpis.core.errors import InputError
from kpis.ingest.importer import import_file
from kpis.store.db import Store

SUBS = ("subscription_id,customer_id,plan,amount,currency,interval,status,started_at\n"
        "s1,c1,Pro,99.00,usd,month,active,2026-01-01\n"
        's2,c2,"Team, annual",1200.50,eur,year,active,2026-01-02\n')
EXPECTED_SUBS = [("s1", "c1", "Pro", 99.0, "USD", "month"), ("s2", "c2", "Team, annual", 1200.5, "EUR", "year")]


def _subs(store: Store) -> list[tuple]:
    return store.query("SELECT subscription_id, customer_id, plan, amount, currency, interval "
                       "FROM subscriptions ORDER BY 1")


def _nothing_stored(store: Store) -> bool:
    counts = store.query("""SELECT (SELECT count(*) FROM imports) + (SELECT count(*) FROM events)
                                 + (SELECT count(*) FROM subscription_versions)
                                 + (SELECT count(*) FROM customer_versions)""")
    return counts[0][0] == 0


def test_utf8_bom_and_crlf(store, write):
    import_file(store, write("s.csv", b"\xef\xbb\xbf" + SUBS.replace("\n", "\r\n").encode()))
    assert _subs(store) == EXPECTED_SUBS


def test_utf16_tab_separated_excel_unicode_text(store, write):
    text = SUBS.replace(",", "\t").replace('"Team\t annual"', "Team, annual").replace("\n", "\r\n")
    import_file(store, write("s.txt", text, encoding="utf-16"))
    assert _subs(store) == EXPECTED_SUBS


def test_cp1252_with_euro_accents_and_curly_quotes(store, write):
    text = "customer_id,name,email,segment\nc1,Café “Zoë” – € GmbH,zoe@example.com,SMB\n"
    result = import_file(store, write("c.csv", text, encoding="cp1252"))
    assert store.query("SELECT name FROM customers") == [("Café “Zoë” – € GmbH",)]
    assert store.query("SELECT key, value FROM customer_attributes") == [("segment", "SMB")]
    assert "cp1252" in result.summary()


def test_semicolons_and_decimal_comma(store, write):
    text = ("subscription_id;customer_id;plan;amount;currency;interval;status;started_at\n"
            "s1;c1;Pro;99,00;usd;month;active;2026-01-01\n"
            "s2;c2;Team, annual;1.200,50;eur;year;active;2026-01-02\n")
    import_file(store, write("s.csv", text))
    assert _subs(store) == EXPECTED_SUBS


def test_gzip(store, write):
    import_file(store, write("s.csv.gz", gzip.compress(SUBS.encode())))
    assert _subs(store) == EXPECTED_SUBS


def test_reordered_and_extra_columns(store, write):
    text = ("note,started_at,amount,customer_id,interval,subscription_id,currency,plan,status,extra\n"
            "x,2026-01-01,99.00,c1,month,s1,usd,Pro,active,1\n"
            'y,2026-01-02,1200.50,c2,year,s2,eur,"Team, annual",active,2\n')
    import_file(store, write("s.csv", text))
    assert _subs(store) == EXPECTED_SUBS


def test_quoted_commas_quotes_and_newlines_in_event_csv(store, write):
    text = ('user_id,event,timestamp,account_id\n'
            'u1,"clicked ""Export, now""",2026-01-05T10:00:00Z,"acme, inc"\n'
            'u2,"multi\nline",2026-01-05T11:00:00+01:00,\n')
    result = import_file(store, write("e.csv", text))
    assert result.rows_added == 2
    assert store.query("SELECT user_id, event, ts, account_id FROM events ORDER BY user_id") == [
        ("u1", 'clicked "Export, now"', datetime(2026, 1, 5, 10), "acme, inc"),
        ("u2", "multi\nline", datetime(2026, 1, 5, 10), None),
    ]


def test_epoch_seconds_and_milliseconds_in_event_csv(store, write):
    # 1767607200 s = 2026-01-05 10:00:00 UTC; the second file has the same instant in ms
    import_file(store, write("a.csv", "user_id,event,timestamp\nu1,a,1767607200\n"))
    import_file(store, write("b.csv", "user_id,event,timestamp\nu2,a,1767607200000\n"))
    assert store.query("SELECT DISTINCT ts FROM events") == [(datetime(2026, 1, 5, 10),)]


def test_rows_without_user_are_rejected_and_counted(store, write):
    result = import_file(store, write("e.csv", "user_id,event,timestamp\nu1,a,2026-01-05T10:00:00Z\n"
                                               ",a,2026-01-05T11:00:00Z\nN/A,b,2026-01-05T12:00:00Z\n"))
    assert (result.rows_read, result.rows_added, result.rows_rejected) == (3, 1, 2)


# -- bad input -----------------------------------------------------------------------------------------------------

BAD = {
    "empty": (b"", "the file is empty"),
    "blank lines only": (b"\n\n  \n", "the file is empty"),
    "random bytes": (bytes(range(256)) * 8, "binary file"),
    "png": (b"\x89PNG\r\n\x1a\n" + bytes(64), "PNG image"),
    "pdf": (b"%PDF-1.7\n%\xe2\xe3\n1 0 obj\n", "PDF document"),
    "xlsx": (b"PK\x03\x04" + bytes(64), "save it as CSV"),
    "xls": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64), "save it as CSV"),
    "unknown shape": (b"foo,bar\n1,2\n", "matches no export we know"),
    "json not events": (b'{"name": "settings", "theme": "dark"}\n', "JSON that is not an event export"),
    "json array": (b'[{"a": 1}]', "JSON that is not an event export"),
    "json huge number": (b'{"a": ' + b"1" * 5000 + b"}\n", "JSON that is not an event export"),
    "bad gzip": (b"\x1f\x8b\x08\x00garbage", "gzip file is damaged"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_files_get_a_clear_message_and_store_nothing(store, write, case):
    content, expected = BAD[case]
    with pytest.raises(InputError) as info:
        import_file(store, write("upload.bin", content))
    message = str(info.value)
    assert message.startswith("upload.bin: ")
    assert expected in message
    assert "Known formats" in message or case not in ("unknown shape", "json not events")
    assert _nothing_stored(store)


def test_unknown_shape_lists_the_formats_we_know(store, write):
    with pytest.raises(InputError) as info:
        import_file(store, write("x.csv", "foo,bar\n1,2\n"))
    assert "Subscriptions CSV" in str(info.value) and "Events CSV" in str(info.value)


def test_unparseable_timestamp_names_line_and_column(store, write):
    text = "user_id,event,timestamp\nu1,a,2026-01-05T10:00:00Z\nu2,a,yesterday\nu3,a,2026-01-05T10:00:00Z\n"
    with pytest.raises(InputError) as info:
        import_file(store, write("e.csv", text))
    assert str(info.value).startswith("e.csv, line 3, column 'timestamp': cannot read \"yesterday\"")
    assert _nothing_stored(store)


def test_unparseable_subscription_date_names_line_and_column(store, write):
    text = SUBS + "s3,c3,Pro,99.00,usd,month,active,31/31/2026\n"
    with pytest.raises(InputError) as info:
        import_file(store, write("s.csv", text))
    assert "line 4, column 'started_at'" in str(info.value)
    assert _nothing_stored(store)


def test_truncated_last_line_of_small_csv(store, write):
    with pytest.raises(InputError) as info:
        import_file(store, write("s.csv", SUBS + 's3,c3,"Pro plan,99.00,usd'))
    assert "line 4" in str(info.value) and "truncated" in str(info.value)
    assert _nothing_stored(store)


def test_truncated_last_line_of_event_csv(store, write):
    text = 'user_id,event,timestamp\nu1,a,2026-01-05T10:00:00Z\nu2,"cut'
    with pytest.raises(InputError) as info:
        import_file(store, write("e.csv", text))
    assert "line 3" in str(info.value)
    assert _nothing_stored(store)


def test_a_12_megabyte_field_is_refused(store, write):
    text = "customer_id,name\nc1," + "x" * (12 * 1024 * 1024) + "\n"
    with pytest.raises(InputError) as info:
        import_file(store, write("c.csv", text))
    assert "line 2" in str(info.value) and "12.6 MB" in str(info.value)
    assert _nothing_stored(store)


def test_a_12_megabyte_field_in_events_is_refused(store, write):
    text = "user_id,event,timestamp\nu1," + "x" * (12 * 1024 * 1024) + ",2026-01-05T10:00:00Z\n"
    with pytest.raises(InputError) as info:
        import_file(store, write("e.csv", text))
    assert str(info.value) == "e.csv: a line of 12.0 MB is longer than the 4 MB limit; the file is not a plain export"
    assert _nothing_stored(store)


def test_missing_file(store, tmp_path):
    with pytest.raises(InputError, match="no such file"):
        import_file(store, tmp_path / "nope.csv")
    assert not os.path.exists(tmp_path / "nope.csv")


def test_bad_time_after_a_quoted_newline_names_the_line_an_editor_shows(store, write):
    # line 2-3 hold one record with a newline inside quotes; the bad time is on line 5, in the 'ts' column
    text = ('note,user_id,event,ts\n"two\nlines",u1,a,2026-01-05T10:00:00Z\nx,u2,a,2026-01-05T11:00:00Z\n'
            "y,u3,a,noon\n")
    with pytest.raises(InputError) as info:
        import_file(store, write("e.csv", text))
    assert str(info.value).startswith("e.csv, line 5, column 'ts': cannot read \"noon\"")
    assert _nothing_stored(store)


def test_every_empty_spelling_is_empty_in_event_csvs(store, write):
    text = ("user_id,event,timestamp\nu1,a,2026-01-05T10:00:00Z\nNone,a,2026-01-05T10:00:00Z\n"
            "n/a,a,2026-01-05T10:00:00Z\nu2,a,None\n")
    result = import_file(store, write("e.csv", text))
    assert (result.rows_added, result.rows_rejected) == (1, 3)


@pytest.mark.parametrize("count", ["0.5", "0", "99999999999"])
def test_an_impossible_interval_count_names_line_and_column(store, write, count):
    text = ("subscription_id,customer_id,amount,interval,interval_count,started_at\n"
            f"s1,c1,10,month,{count},2026-01-01\n")
    with pytest.raises(InputError) as info:
        import_file(store, write("s.csv", text))
    assert str(info.value).startswith("s.csv, line 2, column 'interval_count': cannot read")
    assert _nothing_stored(store)


def test_a_lone_carriage_return_inside_quotes_is_data(store, write):
    text = 'customer_id,name,note\r\nc1,"Acme\rEast",x\r\nc2,Beta,y\r\n'
    result = import_file(store, write("c.csv", text))
    assert result.rows_added == 2
    assert store.query("SELECT name FROM customers ORDER BY customer_id") == [("Acme\rEast",), ("Beta",)]


# -- the encoding is decided on the whole file ---------------------------------------------------------------------

def _customers(count: int) -> bytes:
    return ("customer_id,name,email\n" + "".join(f"c{i},Société {i},c{i}@example.com\n" for i in range(count))).encode()


def test_one_broken_byte_near_the_end_of_a_utf8_file_keeps_it_utf8(store, write):
    data = _customers(12_000).replace(b"c11990@example.com", b"c11990@exa\xffmple.com")
    result = import_file(store, write("c.csv", data))
    note = "read as utf-8, 1 byte that is not valid UTF-8 read as \ufffd (the first at line 11992, character 32)"
    assert result.notes == (note,)
    assert result.summary().endswith(f"({note})")
    assert store.query("SELECT count(*) FROM customers WHERE name = 'Société ' || substr(customer_id, 2)") == [
        (12_000,)]
    assert store.query("SELECT email FROM customers WHERE customer_id = 'c11990'") == [("c11990@exa\ufffdmple.com",)]
    assert store.query("SELECT notes FROM imports") == [(note,)]


def test_a_plain_ascii_file_with_a_byte_cp1252_lacks_is_utf8_with_that_byte_reported(store, write):
    # 0x81 has no character in cp1252 (nor in UTF-8 alone): the file is ASCII with one stray byte, not Windows text
    rows = "".join(f"c{i},Customer {i}\n" for i in range(12_000))
    data = ("customer_id,name\n" + rows).encode().replace(b"Customer 11990", b"Custo\x81mer 11990")
    result = import_file(store, write("c.csv", data))
    # line 11992 (the header is line 1) is "c11990,Custo\x81mer 11990": the byte is its 13th character
    note = "read as utf-8, 1 byte that is not valid UTF-8 read as \ufffd (the first at line 11992, character 13)"
    assert result.notes == (note,)
    assert store.query("SELECT name FROM customers WHERE customer_id = 'c11990'") == [("Custo\ufffdmer 11990",)]
    assert store.query("SELECT count(*) FROM customers") == [(12_000,)]


def test_a_cp1252_file_with_a_stray_utf8_pair_stays_cp1252(store, write):
    """Accents of cp1252 outnumber what reads as UTF-8 (the pair C3 A9 is 'Ã©' in cp1252, 'é' in UTF-8)."""
    text = "customer_id,name\nc1,Müller\nc2,Hélène Côté\nc3,Ã©\n"
    result = import_file(store, write("c.csv", text.encode("cp1252")))
    assert result.notes == ("read as cp1252",)
    assert store.query("SELECT name FROM customers ORDER BY customer_id") == [
        ("Müller",), ("Hélène Côté",), ("Ã©",)]


def test_a_nul_byte_after_the_first_256_kb_is_refused_with_its_line(store, write):
    rows = "".join(f"u{i},login,2026-01-05T10:00:00Z\n" for i in range(20_000))
    data = ("user_id,event,timestamp\n" + rows).encode().replace(b"u19999,login", b"u19999,lo\x00gin")
    with pytest.raises(InputError) as info:
        import_file(store, write("e.csv", data))
    assert str(info.value) == ("e.csv, line 20001: a NUL byte (character 10 of the line): no CSV or JSON export "
                               "holds one, so the file is damaged; export or copy it again")
    assert _nothing_stored(store)


# -- the header is read whole --------------------------------------------------------------------------------------

@pytest.mark.parametrize("data", [
    b"customer_id,name,email," + b"x" * (50 * 2**20),  # one 50 MB line, no line break
    ("customer_id,name,email," + ",".join(f"c{i}" for i in range(10**6)) + "\nc1,A,a@example.com\n").encode(),
], ids=["50 MB line", "a million columns"])
def test_a_first_line_longer_than_256_kb_is_refused(store, write, data):
    with pytest.raises(InputError) as info:
        import_file(store, write("c.csv", data))
    assert str(info.value) == ("c.csv, line 1: the first line is longer than 256 KB: no export starts with a header "
                               "or a first record that long")
    assert _nothing_stored(store)


def test_a_header_of_more_than_10000_columns_is_refused(store, write):
    header = "customer_id,name,email," + ",".join(f"c{i}" for i in range(9_998))  # 10,001 columns, 78 KB
    with pytest.raises(InputError) as info:
        import_file(store, write("c.csv", header + "\nc1,A,a@example.com\n"))
    assert str(info.value) == "c.csv, line 1: the header has 10,001 columns; exports have at most 10,000"
    assert _nothing_stored(store)


# -- deep JSON -----------------------------------------------------------------------------------------------------

AMPLITUDE_LINE = ('{"event_type": "login", "event_time": "2026-01-05 10:00:00", "user_id": "u1", "device_id": "d1", '
                  '"$insert_id": "i1"}\n')
DEEP = '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}\n"


def test_a_deeply_nested_first_json_line_is_bad_input_on_its_line(store, write):
    with pytest.raises(InputError) as info:
        import_file(store, write("deep.jsonl", "\n\n" + DEEP + AMPLITUDE_LINE))
    assert str(info.value) == ("deep.jsonl, line 3: this JSON is nested too deeply to read (hundreds of levels); "
                               "no event export is")
    assert _nothing_stored(store)


def test_a_deeply_nested_later_json_line_is_named_as_such(store, write):
    with pytest.raises(InputError) as info:
        import_file(store, write("deep.jsonl", AMPLITUDE_LINE + "[" * 100_000 + "]" * 100_000 + "\n"))
    assert str(info.value) == ("deep.jsonl, line 2: this line is JSON nested too deeply to read (hundreds of levels), "
                               "not an event object")
    assert _nothing_stored(store)


def test_the_preview_shows_a_deeply_nested_line_as_text(write):
    from kpis.ingest.preview import preview_file

    seen = preview_file(write("deep.jsonl", AMPLITUDE_LINE + DEEP))
    assert seen.ok and seen.source == "amplitude_events"
    assert seen.sample["line"].tolist() == ["", DEEP[:199] + "…"]


# -- a file name is a name, never a pattern ------------------------------------------------------------------------

EVENTS_LINE = "user_id,event,timestamp\nu1,{},2026-01-05T10:00:00Z\n"
POSTHOG_LINE = ("uuid,event,distinct_id,timestamp\n0190-{0},{0},u1,2026-01-05T10:00:00Z\n")
AMPLITUDE_EVENT = ('{{"event_type": "{0}", "event_time": "2026-01-05 10:00:00", "user_id": "u1", '
                   '"$insert_id": "{0}"}}\n')


@pytest.mark.parametrize("template, suffix, pack", [
    (EVENTS_LINE, ".csv", False), (POSTHOG_LINE, ".csv", False), (AMPLITUDE_EVENT, ".jsonl", False),
    (EVENTS_LINE, ".csv.gz", True), (AMPLITUDE_EVENT, ".jsonl.gz", True),
], ids=["events csv", "posthog csv", "amplitude json lines", "gzip csv", "gzip json lines"])
@pytest.mark.parametrize("name", ["ev[1]", "ev*", "ev?"])
def test_a_file_name_with_pattern_characters_reads_only_that_file(store, tmp_path, template, suffix, pack, name):
    def put(stem: str, event: str) -> Path:
        content = template.format(event).encode()
        path = tmp_path / f"{stem}{suffix}"
        path.write_bytes(gzip.compress(content) if pack else content)
        return path

    put("ev1", "from_ev1")
    put("ev2", "from_ev2")
    wanted = put(name, "wanted")
    import_file(store, wanted)
    assert store.query("SELECT event FROM events") == [("wanted",)]


def test_an_unknown_kpi_of_5000_characters_is_quoted_clipped(store, write):
    text = "kpi,grain,period_start,target\n" + "x" * 5000 + ",month,2026-01-01,100\n"
    with pytest.raises(InputError) as info:
        import_file(store, write("t.csv", text))
    assert str(info.value) == ("t.csv, line 2, column 'kpi': unknown KPI '" + "x" * 59 + "…'; `python -m kpis kpis` "
                               "lists them")
    assert _nothing_stored(store)
