"""Where segments are chosen: an attribute with more values than a segment may have is not offered, the sidebar
says so, and a link naming one of its values falls back with a note that says why."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from kpis.store.db import Store
from tests.app.test_pages import unescape
from tests.kpis.test_segments import load

OPTIONS = ["all customers", "Plan: Pro", "Plan: Team", "Segment: Enterprise", "Segment: SMB"]
CAPTION = "Not offered as segments (more than 50 values): phone (51 values)."


@pytest.fixture
def phones(db_path: Path, tmp_path: Path) -> Path:
    with Store(db_path) as store:
        load(store, tmp_path)
    return db_path


def captions(at: AppTest) -> list[str]:
    return [unescape(c.value) for c in at.sidebar.caption]


def test_a_phone_number_is_not_offered_as_a_segment(phones: Path, app: Callable[..., AppTest]) -> None:
    at = app()
    assert at.selectbox(key="segment").options == OPTIONS
    assert CAPTION in captions(at)
    assert "more than 50 values is not offered" in at.selectbox(key="segment").help


@pytest.mark.parametrize("link", ["Phone: +1 555 0107", "phone=+1 555 0107"])  # as shown; as links once were
def test_a_link_to_a_phone_segment_says_why_it_is_refused(phones: Path, app: Callable[..., AppTest],
                                                          link: str) -> None:
    at = app({"segment": link})
    assert [unescape(w.value) for w in at.sidebar.warning] == [
        f"The link's segment “{link}” is not offered: phone has 51 values, more than the 50 a segment "
        "may have; showing all customers."]
    assert at.selectbox(key="segment").value == "all customers"


def test_the_limit_follows_its_setting(phones: Path, app: Callable[..., AppTest],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KPI_MAX_SEGMENT_VALUES", "51")
    at = app({"segment": "Phone: +1 555 0107"})
    assert len(at.selectbox(key="segment").options) == 1 + 4 + 51
    assert at.selectbox(key="segment").value == "Phone: +1 555 0107"
    assert not any(c.startswith("Not offered") for c in captions(at))
    monkeypatch.setenv("KPI_MAX_SEGMENT_VALUES", "many")
    at = app()
    assert [unescape(e.value) for e in at.sidebar.error] == [
        "KPI_MAX_SEGMENT_VALUES: expected a number of values such as 50, got 'many'; using 50."]
    assert at.selectbox(key="segment").options == OPTIONS
