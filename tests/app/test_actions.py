"""Every write through one wrapper (:mod:`app_pages.ui.actions`): the permission check, a one-line message for
what went wrong (the traceback in the server log only), and the caches forgotten after the write; and the notes
on dates read once per data version for all the charts of a page."""

from __future__ import annotations

import errno
import logging
from datetime import date
from pathlib import Path

import plotly.graph_objects as go
import pytest

from app_pages.ui import actions, cache, charts
from kpis.plan import annotations
from kpis.store.db import Store


def _time_chart() -> go.Figure:
    figure = go.Figure(go.Scatter(x=[date(2026, 11, 2), date(2026, 11, 9)], y=[1.0, 2.0], name="MRR"))
    figure.update_layout(meta={charts.TIME_AXIS: "week"})
    return figure


def test_an_unexpected_failure_is_one_line_and_the_traceback_goes_to_the_log(
        db_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    def change() -> list[actions.Said]:
        raise RuntimeError("internal detail the user should not see")

    with caplog.at_level(logging.ERROR, logger="app_pages.ui.actions"):
        said = actions.perform("undo", change, lambda exc: f"Undoing failed unexpectedly ({type(exc).__name__}).")
    assert said == [("error", "Undoing failed unexpectedly (RuntimeError).")]
    assert "internal detail the user should not see" in caplog.text  # with its traceback, for whoever runs it


def test_a_write_forgets_the_cached_results(db_path: Path) -> None:
    calls: list[int] = []

    def counted(store: Store) -> int:
        calls.append(1)
        return len(calls)

    store = cache.open_store()
    assert cache.cached(store, counted) == 1
    assert cache.cached(store, counted) == 1  # cached
    assert actions.perform("edit", lambda: [("success", "done")], str) == [("success", "done")]
    assert cache.cached(store, counted) == 2


def test_the_notes_are_read_once_for_all_the_charts_until_one_is_added(
        db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Revenue draws six time charts: the page reads the notes once (through the cache) and passes them to each."""
    reads: list[int] = []
    every_note = annotations.all_annotations

    def counted(store: Store):  # type: ignore[no-untyped-def]
        reads.append(1)
        return every_note(store)

    monkeypatch.setattr(annotations, "all_annotations", counted)
    for _ in range(6):
        charts.show(_time_chart(), cache.annotations(cache.open_store()))
    assert len(reads) == 1
    level, text = actions.add_note(cache.open_store(), date(2026, 11, 5), "Price change")
    assert (level, text) == ("success", "Added the note on 5 Nov 2026.")
    figure = _time_chart()
    charts.with_notes(figure, cache.annotations(cache.open_store()))
    assert len(reads) == 2 and [s.x0 for s in figure.layout.shapes] == [date(2026, 11, 5)]


def test_a_full_disk_is_one_answer_for_the_preview_and_the_import(caplog: pytest.LogCaptureFixture) -> None:
    full = OSError(errno.ENOSPC, "No space left on device")
    with caplog.at_level(logging.ERROR, logger="app_pages.ui.actions"):
        assert actions.disk_full(full, "big.csv", "previewing", "it will not be imported") == (
            "big.csv: the server's disk is full, so the file could not be copied for reading; it will not be "
            "imported. Tell whoever runs the dashboard.")
    assert "previewing 'big.csv': the disk holding" in caplog.text
    assert actions.disk_full(OSError(errno.EACCES, "denied"), "big.csv", "importing", "nothing was stored") is None
    assert actions._failed_import("big.csv", OSError(errno.EDQUOT, "quota")) == (
        "big.csv: the server's disk is full, so the file could not be copied for reading; nothing was stored. "
        "Tell whoever runs the dashboard.")
