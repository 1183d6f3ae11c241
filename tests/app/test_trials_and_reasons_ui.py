"""The Customers page's trials and churn reasons, on a small Stripe export with hostile reasons and comments: the
trial tiles and charts, the churned customers by reason, and "Who moved" showing each churned customer's reason,
feedback and comment as plain text, downloaded with formulas neutralised.

    customer  start    trial end  ended    reason (feedback, comment)
    cus_1     3 Aug    -          18 Nov   too_expensive (too_expensive, "<b>Too</b> pricey")
    cus_2     3 Aug    -          19 Nov   "<b>bad</b>" (-, "=1+1 <b>x</b>")
    cus_3     2 Nov    16 Nov     -        trial: converts
    cus_4     3 Nov    17 Nov     17 Nov   trial: ends the day its trial ends, does not convert
    cus_5     22 Nov   -          -        sets the as-of date: Sunday 22 Nov 2026

The last complete week is 16-22 Nov 2026: two trials ended (cus_3, cus_4), one converted: 50.0%; two customers
churned (cus_1 100, cus_2 60).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from kpis.ingest.importer import import_file
from kpis.store.db import Store
from tests.app.conftest import DASHBOARD, TIMEOUT
from tests.app.test_downloads import download, kept_downloads  # noqa: F401 - the fixture

HEADER = ("id,Customer ID,Customer Name,Plan,Quantity,Currency,Interval,Amount,Status,Cancellation Reason,"
          "Cancellation Feedback,Cancellation Comment,Created (UTC),Start Date (UTC),Trial End (UTC),"
          "Canceled At (UTC),Ended At (UTC)")
EXPORT = "\n".join([
    HEADER,
    "sub_1,cus_1,Acme,Pro,1,usd,month,100.00,canceled,too_expensive,too_expensive,<b>Too</b> pricey,"
    "2026-08-03 10:00,2026-08-03 10:00,,2026-11-18 09:00,2026-11-18 09:00",
    "sub_2,cus_2,Bolt,Pro,1,usd,month,60.00,canceled,<b>bad</b>,,=1+1 <b>x</b>,"
    "2026-08-03 10:00,2026-08-03 10:00,,2026-11-19 09:00,2026-11-19 09:00",
    "sub_3,cus_3,Core,Pro,1,usd,month,30.00,active,,,,2026-11-02 10:00,2026-11-02 10:00,2026-11-16 10:00,,",
    "sub_4,cus_4,Dash,Pro,1,usd,month,30.00,canceled,,,,2026-11-03 10:00,2026-11-03 10:00,2026-11-17 10:00,"
    "2026-11-17 10:00,2026-11-17 10:00",
    "sub_5,cus_5,Echo,Pro,1,usd,month,20.00,active,,,,2026-11-22 10:00,2026-11-22 10:00,,,",
]) + "\n"


@pytest.fixture
def reasons_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    db = tmp_path / "reasons.duckdb"
    monkeypatch.setenv("KPI_DB", str(db))
    path = tmp_path / "subscriptions.csv"
    path.write_text(EXPORT, encoding="utf-8")
    with Store(db) as store:
        assert import_file(store, path, who="test").status == "ok"
    st.cache_data.clear()
    st.cache_resource.clear()
    yield db
    st.cache_data.clear()
    st.cache_resource.clear()


def _customers_page() -> AppTest:
    at = AppTest.from_file(str(DASHBOARD), default_timeout=TIMEOUT)
    at.run()
    at.switch_page("app_pages/customers.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_trials_and_reasons_on_the_customers_page(reasons_db: Path) -> None:
    at = _customers_page()
    assert {"Trials", "Why customers left", "Who moved"} <= {s.value for s in at.subheader}
    metrics = {m.label: m.value for m in at.metric}
    # week of 16 Nov: cus_3 and cus_4 ended their trials, cus_3 converted; cus_3 and cus_4 started the weeks before
    assert (metrics["Trials ended"], metrics["Trial conversion rate"], metrics["Trials started"]) == ("2", "50.0%",
                                                                                                      "0")
    specs = [json.loads(e.proto.spec) for e in at.get("plotly_chart")]
    titles = [s["layout"]["title"]["text"] for s in specs]
    assert "Trials started and ended per week" in titles and "Trial-to-paid conversion of the trials ended" in titles
    (by_reason,) = [s for s, t in zip(specs, titles, strict=True)
                    if t == "Churned customers by the reason given, per week"]
    # the reasons as the legend shows them: escaped, so that Plotly never reads a tag in them
    assert [t["name"] for t in by_reason["data"] if t["type"] == "bar"] == ["&lt;b&gt;bad&lt;/b&gt;", "too_expensive"]
    # the churned MRR by reason of the week: plain cells, the largest loss first
    reasons = at.dataframe[0].value
    assert reasons.to_dict("records") == [{"reason": "too_expensive", "customers": 1, "churned_mrr": "-$100"},
                                         {"reason": "<b>bad</b>", "customers": 1, "churned_mrr": "-$60"}]


def test_who_moved_shows_why_as_text_and_downloads_it_safely(reasons_db: Path,
                                                              kept_downloads: dict[str, bytes]) -> None:  # noqa: F811
    at = _customers_page()
    assert at.segmented_control(key="drill_movement").value == "churned"
    element = at.dataframe[-1]
    table = element.value
    assert table[["customer_id", "reason", "feedback", "comment"]].fillna("").values.tolist() == [
        ["cus_1", "too_expensive", "too_expensive", "<b>Too</b> pricey"],
        ["cus_2", "<b>bad</b>", "", "=1+1 <b>x</b>"]]
    # text columns: the grid shows a cell as typed, never as markup
    config = json.loads(element.proto.columns)
    assert {config[c]["type_config"]["type"] for c in ("reason", "feedback", "comment")} == {"text"}
    rows = list(csv.reader(io.StringIO(download(at, "Download this list (CSV)", kept_downloads).decode("utf-8"),
                                       newline="")))
    assert rows[0] == ["customer_id", "name", "period_start", "period_end", "mrr_before", "mrr_after", "change",
                       "reason", "feedback", "comment"]
    assert [r[7:] for r in rows[1:]] == [["too_expensive", "too_expensive", "<b>Too</b> pricey"],
                                         ["<b>bad</b>", "", "'=1+1 <b>x</b>"]]


def test_a_conversion_target_is_drawn(reasons_db: Path, tmp_path: Path) -> None:
    targets = tmp_path / "targets.csv"
    targets.write_text("kpi,grain,period_start,target,owner,note\n"
                       "trial_conversion_rate,week,2026-11-16,0.6,CPO,\n", encoding="utf-8")
    with Store(reasons_db) as store:
        assert import_file(store, targets, who="test").status == "ok"
    at = _customers_page()
    (spec,) = [json.loads(e.proto.spec) for e in at.get("plotly_chart")
               if json.loads(e.proto.spec)["layout"]["title"]["text"] == "Trial-to-paid conversion of the trials ended"]
    (target,) = [t for t in spec["data"] if t.get("name") == "target"]
    assert 0.6 in target["y"]  # the week of 16 Nov: 60%, against 50.0% converted
