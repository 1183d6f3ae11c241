"""The load part of ``make bench`` (bench/load.py), small: a real server, three Chromium sessions at once, three
pages. Every page load must render without an error and the report must have the expected shape; no timing
thresholds (this machine's speed is not what is tested)."""

from __future__ import annotations

import math
import os
from collections import Counter
from pathlib import Path

import pytest

from bench import load
from tests.browser.conftest import STARTUP_SECONDS, WAIT_MS

PATHS = ("", "revenue", "retention")
SESSIONS = 3
ROUNDS = 1


def test_a_small_load_renders_every_page_and_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # the bench's budgets suit a quiet machine; here a page may wait as long as any browser test does
    monkeypatch.setattr(load, "PAGE_TIMEOUT", WAIT_MS / 1000)
    monkeypatch.setattr(load, "STARTUP_TIMEOUT", float(STARTUP_SECONDS))
    if not os.access(load.CHROMIUM, os.X_OK):
        pytest.fail(f"the load test needs Chromium at {load.CHROMIUM}: sudo apt-get install -y chromium")
    db = load.demo_database(tmp_path)
    with load.serve(db, tmp_path / "streamlit.log") as server:
        report = load.run_load(server, sessions=SESSIONS, rounds=ROUNDS, paths=PATHS)

    failed = [x for phase in (report.warmup, report.alone, report.together) for x in phase.errors()]
    assert failed == []
    assert report.server_errors == []

    names = ("overview", "revenue", "retention")
    assert Counter((x.session, x.round, x.page) for x in report.together.loads) == Counter(
        (s, r, p) for s in range(SESSIONS) for r in range(ROUNDS) for p in names)
    assert len(report.together.loads) == SESSIONS * ROUNDS * len(PATHS)
    assert len(report.alone.loads) == ROUNDS * len(PATHS)
    assert len(report.warmup.loads) == len(PATHS)
    assert report.together.peak_in_flight >= 2  # the sessions really overlapped

    for phase in (report.alone, report.together):
        for page in (None, *names):
            seconds = phase.ok(page)
            assert seconds and min(seconds) > 0
            assert load.percentile(seconds, 95) >= load.percentile(seconds, 50) > 0
        assert phase.server_cpu > 0
        assert 0 < phase.machine_busy <= 1
    assert math.isfinite(report.ratio()) and report.ratio() > 0

    assert set(report.memory_mb) == {"start", "before", "peak", "after"}
    assert all(mb > 0 for mb in report.memory_mb.values())
    assert report.memory_mb["peak"] >= report.memory_mb["before"]

    load.print_report(report)
    printed = capsys.readouterr().out
    assert f"{SESSIONS} sessions at once, 1 round: {SESSIONS * ROUNDS * len(PATHS)} page loads" in printed
    assert "ratio" in printed and "peak" in printed


def test_percentile_interpolates_between_ranks() -> None:
    assert load.percentile([3.0, 1.0, 2.0, 4.0], 50) == 2.5
    assert load.percentile([1.0, 2.0, 3.0, 4.0, 5.0], 95) == pytest.approx(4.8)
    assert load.percentile([7.0], 95) == 7.0
    assert math.isnan(load.percentile([], 50))
