"""The lifecycle on the hand-made events of tests/kpis/test_retention_exact.py, worked out by hand.

    user  active months (2026)
    a     Jan Feb Mar
    b     Jan     Mar
    c     Jan
    d         Feb
    e         Feb Mar
    f             Mar          (as of Wednesday 18 Mar: March is partial)
"""

from __future__ import annotations

import math
from datetime import date

import pytest

from kpis.metrics.lifecycle import LifecycleRow, lifecycle_rows, lifecycle_table
from kpis.metrics.series import series
from kpis.store.db import Store
from tests.kpis.helpers import events
from tests.kpis.test_retention_exact import ROWS


@pytest.fixture(scope="module")
def store_l(tmp_path_factory):
    folder = tmp_path_factory.mktemp("l")
    with Store(folder / "l.duckdb") as store:
        events(store, folder, ROWS)
        yield store


def test_month_lifecycle_by_hand(store_l):
    table = lifecycle_table(store_l, "month")
    assert list(table["period_start"]) == [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]
    assert list(table["partial"]) == [False, False, True]
    # Jan: a, b, c start. Feb: d, e start; a returns; b and c go dormant. Mar: f starts; a, e return; b, first
    # active in January and not in February, is resurrected; d goes dormant.
    assert list(table["new"]) == [3, 2, 1]
    assert list(table["returning"]) == [0, 1, 2]
    assert list(table["resurrected"]) == [0, 0, 1]
    assert list(table["dormant"]) == [0, -2, -1]
    # (new + resurrected) / -dormant: nobody could go dormant in January (undefined); 2/2; (1 + 1)/1
    quick = list(table["user_quick_ratio"])
    assert math.isnan(quick[0]) and quick[1:] == [1.0, 2.0]


def test_the_user_quick_ratio_is_a_series(store_l):
    got = series(store_l, "user_quick_ratio", "month")
    assert math.isnan(got["value"][0]) and list(got["value"][1:]) == [1.0, 2.0]


def test_week_lifecycle_by_hand(store_l):
    # weeks from 5 Jan (W0): a W0, W5, W8; b W0, W10; c W2; d W4; e W7, W10; f W10
    table = lifecycle_table(store_l, "week").set_index("period_start")[["new", "returning", "resurrected",
                                                                         "dormant"]]
    assert table.loc[date(2026, 1, 5)].tolist() == [2, 0, 0, 0]  # W0: a, b start
    assert table.loc[date(2026, 1, 12)].tolist() == [0, 0, 0, -2]  # W1: a, b dormant
    assert table.loc[date(2026, 1, 19)].tolist() == [1, 0, 0, 0]  # W2: c starts
    # W10: f starts; b and e come back after weeks away (nobody was active in W9)
    assert table.loc[date(2026, 3, 16)].tolist() == [1, 0, 2, 0]


def test_only_week_and_month(store_l):
    with pytest.raises(ValueError, match="week and month"):
        lifecycle_table(store_l, "day")


def test_month_lifecycle_rows_by_hand(store_l):
    """The rows the command line prints from: the table's numbers, read without a frame."""
    rows = lifecycle_rows(store_l, "month")
    assert [row[:7] for row in rows] == [
        (date(2026, 1, 1), date(2026, 1, 31), False, 3, 0, 0, 0),
        (date(2026, 2, 1), date(2026, 2, 28), False, 2, 1, 0, -2),
        (date(2026, 3, 1), date(2026, 3, 18), True, 1, 2, 1, -1)]  # partial: ends on the as-of day
    assert math.isnan(rows[0].user_quick_ratio) and [r.user_quick_ratio for r in rows[1:]] == [1.0, 2.0]
    assert all(isinstance(row, LifecycleRow) for row in rows)


def test_week_lifecycle_rows_by_hand(store_l):
    rows = {row.period_start: (row.new, row.returning, row.resurrected, row.dormant)
            for row in lifecycle_rows(store_l, "week")}
    assert rows[date(2026, 1, 5)] == (2, 0, 0, 0)
    assert rows[date(2026, 1, 12)] == (0, 0, 0, -2)
    assert rows[date(2026, 3, 16)] == (1, 0, 2, 0)
    assert len(rows) == 11  # 5 Jan to the week of 16 Mar


def test_lifecycle_rows_as_of_a_day(store_l):
    # as of 28 Feb, February is complete and March not yet there
    rows = lifecycle_rows(store_l, "month", end=date(2026, 2, 28))
    assert [row[:7] for row in rows] == [(date(2026, 1, 1), date(2026, 1, 31), False, 3, 0, 0, 0),
                                          (date(2026, 2, 1), date(2026, 2, 28), False, 2, 1, 0, -2)]


def test_lifecycle_rows_only_week_and_month(store_l):
    with pytest.raises(ValueError, match="week and month"):
        lifecycle_rows(store_l, "day")
