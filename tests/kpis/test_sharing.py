"""The public address share links start with (setting ``public_url``): only a plain http(s) address is stored or
used, and the command line refuses anything else with one line and exit code 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kpis.core.errors import InputError
from kpis.ops.sharing import full_link
from kpis.store.db import Store
from kpis.store.settings import check_public_url, public_url, set_public_url

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("text, stored", [
    ("https://kpis.example.com", "https://kpis.example.com"),
    ("  http://10.0.0.5:8501/board/ ", "http://10.0.0.5:8501/board"),
])
def test_plain_addresses_are_kept_without_a_trailing_slash(text, stored):
    assert check_public_url(text) == stored


@pytest.mark.parametrize("text", [
    "javascript:alert(1)", "ftp://files.example.com", "kpis.example.com", "https://", "https:///board",
    "https://user:secret@kpis.example.com", "https://kpis.example.com/?next=evil", "https://kpis.example.com/#x",
    "https://kpis.example.com:0", "https://kpis.example.com:99999", "https://kpis.exa mple.com",
    "https://kpis.example.com/\nSet-Cookie: x",
])
def test_anything_else_is_refused(text):
    with pytest.raises(InputError, match=r"^public_url: expected an address such as https://kpis\.example\.com"):
        check_public_url(text)


def test_a_stored_value_is_checked_again_before_use(tmp_path):
    with Store(tmp_path / "k.duckdb") as store:
        assert public_url(store) is None
        set_public_url(store, "https://kpis.example.com/")
        assert public_url(store) == "https://kpis.example.com"
        store.set_setting("public_url", "javascript:alert(1)")  # written around the check, e.g. by hand
        assert public_url(store) is None
        assert set_public_url(store, "") is None and public_url(store) is None


def test_the_full_link():
    assert full_link("https://kpis.example.com", "/engagement?grain=month") == \
        "https://kpis.example.com/engagement?grain=month"
    assert full_link(None, "/engagement") == "/engagement"


def test_the_cli_sets_it_and_refuses_a_bad_one(tmp_path):
    db = tmp_path / "cli.duckdb"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "kpis", "--db", str(db), "settings", *args],
                              capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)

    done = run("public_url", "https://kpis.example.com/")
    assert (done.returncode, done.stdout) == (0, "public_url=https://kpis.example.com\n")
    bad = run("public_url", "javascript:alert(1)")
    assert (bad.returncode, bad.stderr) == (
        2, "error: public_url: expected an address such as https://kpis.example.com, got 'javascript:alert(1)'\n")
    assert run("public_url").stdout == "public_url=https://kpis.example.com\n", "the bad value stored nothing"
