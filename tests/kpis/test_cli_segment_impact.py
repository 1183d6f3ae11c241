"""``cohorts --segment`` and ``impact`` run as real processes on hand-made files: their CSV, their refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from kpis.store.db import Store
from tests.kpis import test_impact_exact, test_retention_segment
from tests.kpis.helpers import events, load
from tests.kpis.test_cli import kpis


@pytest.fixture(scope="module")
def retention_db(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("rs")
    with Store(folder / "rs.duckdb") as store:
        events(store, folder, test_retention_segment.ROWS)
        load(store, folder, "customers.csv", test_retention_segment.CUSTOMERS)
    return folder / "rs.duckdb"


@pytest.fixture(scope="module")
def impact_db(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("ic")
    with Store(folder / "ic.duckdb") as store:
        store.set_setting("inactive_events", '["$identify"]')
        events(store, folder, test_impact_exact.ROWS)
        load(store, folder, "customers.csv", test_impact_exact.CUSTOMERS)
    return folder / "ic.duckdb"


def test_cohorts_of_a_segment(retention_db):
    # Enterprise = a, d, e (tests/kpis/test_retention_segment.py): January {a} is back in February and March;
    # February {d, e}: e in March (partial). The average: k = 0 3/3; k = 1 only January's complete cell, 1/1.
    done = kpis("cohorts", "--grain", "month", "--segment", "segment=Enterprise", db=retention_db)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == ("cohort_start,period,cohort_size,retained,retention\n"
                           "2026-01-01,0,1,1,1\n"
                           "2026-01-01,1,1,1,1\n"
                           "2026-01-01,2,1,1,1\n"
                           "2026-02-01,0,2,2,1\n"
                           "2026-02-01,1,2,1,0.5\n"
                           "average,0,3,3,1\n"
                           "average,1,1,1,1\n")
    everyone = kpis("cohorts", "--grain", "month", db=retention_db)
    # everyone: January {a, b, c} has only a back in February: 1/3
    assert "2026-01-01,1,3,1,0.3333333333\n" in everyone.stdout


def test_impact_prints_the_csv_sorted_by_the_difference(impact_db):
    # the numbers of test_impact_exact.test_from_a_start_date: 1 - 1/2, 3/5 - 1/2, 1/2 - 2/3
    done = kpis("impact", "--start", "2026-01-01", "--end", "2026-03-10", "--min-users", "1", db=impact_db)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == ("event,users_did,retention_did,users_did_not,retention_did_not,difference\n"
                           "invite,1,1,6,0.5,0.5\n"
                           "view,5,0.6,2,0.5,0.1\n"
                           "report,4,0.5,3,0.6666666667,-0.1666666667\n")


def test_impact_of_a_segment_leaves_an_undefined_rate_empty(impact_db):
    done = kpis("impact", "--start", "2026-01-01", "--end", "2026-03-10", "--min-users", "1",
                "--segment", "segment=Enterprise", db=impact_db)
    assert done.stdout.splitlines()[1:] == ["report,2,0.5,1,1,-0.5", "view,3,0.6666666667,0,,"]


def test_impact_with_the_default_minimum(impact_db):
    done = kpis("impact", "--end", "2026-03-10", db=impact_db)  # 20 users: none of these events has them
    assert (done.returncode, done.stdout) == (0, "event,users_did,retention_did,users_did_not,retention_did_not,"
                                                 "difference\n")


@pytest.mark.parametrize("args, message", [
    (("--min-users", "0"), "argument --min-users: expected a whole number of users, at least 1, got '0'"),
    (("--min-users", "many"), "argument --min-users: expected a whole number of users, at least 1, got 'many'"),
    (("--start", "2026-03-01", "--end", "2026-02-01"), "error: --start 2026-03-01 is after --end 2026-02-01"),
    (("--segment", "Enterprise"), "expected KEY=VALUE such as segment=Enterprise, got 'Enterprise'"),
])
def test_impact_refuses_bad_input_in_one_line(impact_db, args, message):
    done = kpis("impact", *args, db=impact_db)
    assert done.returncode == 2 and done.stdout == ""
    assert message in done.stderr.splitlines()[-1] and "Traceback" not in done.stderr
