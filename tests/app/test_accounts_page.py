"""The Accounts page on a small company of its own, whose customer ids, plans and events are hostile text.

Subscriptions from Jan 1, 2026: ``<b>cus_bold</b>`` (pro, 100 a month), ``=2+3`` (pro, 30), cus_grow (team, 20);
each customer's users name it as their account. Events: b1..b10 on Jan 1, b1..b6 on Jan 29 (``<b>cus_bold</b>``);
g1..g3 on Jan 10, g1..g4 on Feb 25 (cus_grow); e1 on Feb 1 (``=2+3``), an event named like an HTML image; x1 on
Feb 20 (account ``stray``, no customer). The events end on Feb 25, the page's as-of date: 28 days Jan 29 .. Feb 25
against Jan 1 .. Jan 28.

- ``<b>cus_bold</b>``: 6 users against 10, 6 <= 0.7 x 10: at risk.
- cus_grow: 4 against 3, 4 >= 1.3 x 3: growing.
- ``=2+3``: 1 against 0: neither.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from kpis.plan import annotations
from kpis.store.db import Store
from tests.app.test_downloads import download, kept_downloads  # noqa: F401 (a fixture)
from tests.app.test_pages import unescape
from tests.kpis.helpers import EVENTS_HEADER, load, subs

PAGE = "app_pages/accounts.py"
BOLD, FORMULA, IMAGE = "<b>cus_bold</b>", "=2+3", "<img src=x onerror=alert(1)>"


@pytest.fixture
def company(db_path: Path, tmp_path: Path) -> Path:
    with Store(db_path) as store:
        subs(store, tmp_path, f"s1,{BOLD},pro,100,1,USD,month,1,active,2026-01-01,,,\n"
                              f"s2,cus_grow,team,20,1,USD,month,1,active,2026-01-01,,,\n"
                              f"s3,{FORMULA},pro,30,1,USD,month,1,active,2026-01-01,,,")
        rows = [f"b{i},view,2026-01-01T10:00:00Z,{BOLD}" for i in range(1, 11)]
        rows += [f"b{i},view,2026-01-29T10:00:00Z,{BOLD}" for i in range(1, 7)]
        rows += [f"g{i},report,2026-01-10T10:00:00Z,cus_grow" for i in range(1, 4)]
        rows += [f"g{i},report,2026-02-25T10:00:00Z,cus_grow" for i in range(1, 5)]
        rows += [f"e1,{IMAGE},2026-02-01T10:00:00Z,{FORMULA}", "x1,view,2026-02-20T10:00:00Z,stray"]
        load(store, tmp_path, "events.csv", EVENTS_HEADER + "\n" + "\n".join(rows))
        annotations.add(store, date(2026, 2, 2), "price change <b>now</b>")
    return db_path


def accounts(app: Callable[..., AppTest], query: dict[str, str] | None = None) -> AppTest:
    at = app(query)
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def tables(at: AppTest) -> list[list[str]]:
    return [list(d.value["customer_id"]) for d in at.dataframe]


def test_the_list_and_its_two_sides(app: Callable[..., AppTest], company: Path) -> None:
    at = accounts(app)
    assert [t.label for t in at.tabs] == ["All paying accounts (3)", "At risk (1)", "Growing (1)"]
    # all by MRR (100, 30, 20), then the at-risk side, then the growing side
    assert tables(at) == [[BOLD, FORMULA, "cus_grow"], [BOLD], ["cus_grow"]]
    first = at.dataframe[0].value
    assert list(first["plans"]) == ["pro", "pro", "team"]
    assert list(first["active_users"]) == [6, 1, 4] and list(first["previous_active_users"]) == [10, 0, 3]
    assert list(first["last_active_day"]) == ["29 Jan 2026", "1 Feb 2026", "25 Feb 2026"]
    assert list(first["features"]) == ["view", IMAGE, "report"]
    assert any("Accounts as of 25 Feb 2026" in unescape(c.value) for c in at.caption)
    assert {m.label for m in at.metric} == {"Recall", "Precision", "Warning ahead"}


def test_the_signal_check_beside_the_list(app: Callable[..., AppTest], company: Path) -> None:
    at = accounts(app)
    # weeks Dec 29 .. Feb 23 (9); nobody churned. Flags at week ends whose second next week is known (up to the
    # week of Feb 9): <b>cus_bold</b> at risk Jan 29 .. Feb 25 (Feb 1, Feb 8, Feb 15), cus_grow Feb 7 .. Feb 24
    # (g1..g3's Jan 10 out of the 28 days, in the 28 before; Feb 8, Feb 15): 5 flags, none came true
    assert {m.label: m.value for m in at.metric} == {"Recall": "—", "Precision": "0.0%", "Warning ahead": "—"}
    shown = [unescape(c.value) for c in at.caption]
    assert "0 of 0 churned linked customers were flagged (0 churned in all)." in shown
    assert "0 of 5 flags came true." in shown
    assert any(c.startswith("Over the weeks of the date range. Too few churns or flags") for c in shown)


def test_hostile_names_stay_text(app: Callable[..., AppTest], company: Path) -> None:
    at = accounts(app, {"account": BOLD})
    assert not any(m.proto.allow_html for m in at.markdown), "no page text is rendered as HTML"
    (figure,) = [json.loads(e.proto.spec) for e in at.get("plotly_chart")]
    assert figure["layout"]["title"]["text"] == "MRR and active users per week of &lt;b&gt;cus_bold&lt;/b&gt;"


def test_the_download_is_csv_safe(app: Callable[..., AppTest], company: Path,
                                  kept_downloads: dict[str, bytes]) -> None:  # noqa: F811
    at = accounts(app)
    rows = list(csv.reader(io.StringIO(download(at, "Download accounts (CSV)", kept_downloads).decode("utf-8"),
                                       newline="")))
    assert rows[0] == ["customer_id", "name", "plans", "mrr", "active_users", "previous_active_users", "change",
                       "last_active_day", "features", "at_risk", "growing"]
    assert [r[0] for r in rows[1:]] == [BOLD, "'" + FORMULA, "cus_grow"]
    assert rows[1][6] == "-0.4" and rows[2][6] == "", "change as a fraction, empty when undefined"
    assert rows[2][8] == IMAGE


def test_the_plan_is_in_the_url(app: Callable[..., AppTest], company: Path) -> None:
    at = accounts(app, {"plan": "team"})
    assert tables(at) == [["cus_grow"], [], ["cus_grow"]]
    assert at.code[0].value == "/accounts?plan=team"
    at.selectbox(key="_url_plan").set_value("pro").run()
    assert tables(at) == [[BOLD, FORMULA], [BOLD], []]
    assert at.query_params["plan"] == "pro"
    assert at.code[0].value == "/accounts?plan=pro"


def test_a_plan_or_account_not_in_the_list_falls_back_with_a_note(app: Callable[..., AppTest],
                                                                  company: Path) -> None:
    at = accounts(app, {"plan": "<script>x</script>", "account": "cus_gone"})
    warnings = [unescape(w.value) for w in at.warning]
    assert any("plan “<script>x</script>” is not a plan of these accounts" in w for w in warnings), warnings
    assert any("account “cus_gone” is not a paying account of this list" in w for w in warnings), warnings
    assert tables(at)[0] == [BOLD, FORMULA, "cus_grow"]
    assert not at.get("plotly_chart") and at.code[0].value == "/accounts"


def test_one_accounts_chart_from_the_url(app: Callable[..., AppTest], company: Path) -> None:
    at = accounts(app, {"account": "cus_grow"})
    assert at.selectbox(key="_url_account").value == "cus_grow"
    (figure,) = [json.loads(e.proto.spec) for e in at.get("plotly_chart")]
    traces = {t.get("name"): t for t in figure["data"]}
    assert traces["MRR"]["line"]["shape"] == "hv" and traces["MRR"]["y"] == [20.0, 20.0]
    bars = traces["Active users per week"]
    assert bars["yaxis"] == "y2" and figure["layout"]["yaxis2"]["side"] == "right"
    # weeks of Dec 29 .. Feb 23: g1..g3 in the week of Jan 5, g1..g4 in the week of Feb 23
    assert bars["y"] == [0, 3, 0, 0, 0, 0, 0, 0, 4]
    assert "price change &lt;b&gt;now&lt;/b&gt;" in traces["note"]["hovertext"][0], "the notes on dates"
    assert at.code[0].value == "/accounts?account=cus_grow"


def test_no_account_linked_explains_how_to_link(app: Callable[..., AppTest], seeded: Path) -> None:
    at = accounts(app)
    assert any("No paying customer is linked" in i.value and "docs/formats.md" in i.value for i in at.info)
    assert not at.dataframe and not at.tabs


def test_the_data_page_says_how_much_is_linked(app: Callable[..., AppTest], company: Path) -> None:
    at = app()
    at.switch_page("app_pages/data.py").run()
    assert not at.exception, [e.value for e in at.exception]
    shown = {m.label: m.value for m in at.metric}
    # 3 of 3 paying customers linked; events Jan 29 .. Feb 25: b1..b6 6 + g1..g4 4 + e1 1 = 11 of 12 (x1's)
    assert shown == {"Paying customers linked": "100.0%", "Events linked to a customer (28 days)": "91.7%",
                     "Events linked to a paying customer (28 days)": "91.7%"}
    assert {"3 of 3", "11 of 12"} <= {c.value for c in at.caption}
    (unlinked,) = [d.value for d in at.dataframe if "account_id" in d.value.columns]
    assert unlinked.to_dict("list") == {"account_id": ["stray"], "users": [1], "events": [1]}
