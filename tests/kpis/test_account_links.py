"""The account mapping import: recognised by its header, versioned by key, undone like every import."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from kpis.core.errors import InputError
from kpis.ingest.importer import import_file, undo
from kpis.ingest.sources.base import sniff
from kpis.ingest.sources.detect import detect
from kpis.ingest.textfile import open_text
from kpis.ops.status import import_history
from kpis.store.db import Store
from kpis.store.lake import export_lake

Write = Callable[..., Path]


def _links(store: Store) -> list[tuple[str, str, str]]:
    return store.query("SELECT key_kind, \"key\", customer_id FROM account_links ORDER BY key_kind, \"key\"")


@pytest.mark.parametrize("header, source", [
    ("account_id,customer_id\n", "account_links_csv"),
    ("user_id,customer_id\n", "account_links_csv"),
    ("customer_id,email\n", "account_links_csv"),
    ("Customer_ID,Account_ID,User_ID\n", "account_links_csv"),
    ("customer_id,name,email\n", "customers_csv"),  # a customers file names more than the email
    ("user_id,event,timestamp,customer_id\n", "events_csv"),  # events that name the customer
])
def test_recognised_by_its_header_alone(write: Write, header: str, source: str) -> None:
    with open_text(write("file.csv", header + "x,y,z,w\n")) as text:
        assert detect(sniff(text)).NAME == source


def test_import_stores_each_key_and_a_later_import_replaces_the_same_keys_only(store: Store, write: Write) -> None:
    first = import_file(store, write("a.csv", "account_id,customer_id\nacme-prod,cus_1\nglobex,cus_2\n"))
    assert (first.source, first.rows_added, first.rows_updated) == ("account_links_csv", 2, 0)
    users = import_file(store, write("u.csv", "user_id,customer_id\nu1,cus_1\n"))
    emails = import_file(store, write("e.csv", "email,customer_id\n Ann@Acme.test ,cus_1\n"))
    assert (users.rows_added, emails.rows_added) == (1, 1)
    # globex moves to cus_3; acme-prod is not named and keeps cus_1
    later = import_file(store, write("b.csv", "account_id,customer_id\nglobex,cus_3\n"))
    assert (later.rows_added, later.rows_updated) == (0, 1)
    assert _links(store) == [("account", "acme-prod", "cus_1"), ("account", "globex", "cus_3"),
                             ("email", "ann@acme.test", "cus_1"), ("user", "u1", "cus_1")]
    undo(store, later.import_id, backup=False)  # the earlier row is current again
    assert _links(store)[1] == ("account", "globex", "cus_2")
    history = import_history(store)
    assert list(history["source"]) == ["account_links_csv"] * 4
    assert list(history["status"]) == ["undone", "ok", "ok", "ok"]


def test_a_row_without_a_customer_or_a_key_is_refused_and_nothing_is_stored(store: Store, write: Write) -> None:
    with pytest.raises(InputError) as caught:
        import_file(store, write("m.csv", "account_id,customer_id\nacme,cus_1\nglobex,\n"))
    assert str(caught.value) == "m.csv, line 3, column 'customer_id': this value is required but empty"
    with pytest.raises(InputError) as caught:
        import_file(store, write("n.csv", "account_id,user_id,customer_id\nacme,,cus_1\n,,cus_2\n"))
    assert str(caught.value) == "n.csv, line 3, column 'account_id': a row needs a value in account_id or user_id"
    assert _links(store) == [] and store.is_empty()


def test_the_lake_holds_the_current_mapping(store: Store, write: Write, tmp_path: Path) -> None:
    import_file(store, write("a.csv", "account_id,customer_id\nacme,cus_1\nglobex,cus_2\n"))
    import_file(store, write("b.csv", "account_id,customer_id\nglobex,cus_3\n"))
    lake = export_lake(store, tmp_path / "lake").path
    rows = duckdb.sql(f"SELECT * FROM read_parquet('{lake / 'account_links.parquet'}')").fetchall()
    assert rows == [("account", "acme", "cus_1"), ("account", "globex", "cus_3")]
