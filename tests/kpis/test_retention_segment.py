"""Retention cohorts of one segment on a hand-made event file, worked out by hand against the total.

    user  active days (2026)         months        account  segment
    a     01-05, 02-10, 03-02        Jan Feb Mar   acme     Enterprise
    b     01-07, 03-16               Jan Mar       bolt     SMB
    c     01-20, 01-21               Jan           bolt     SMB
    d     02-03, 02-04               Feb           acme     Enterprise
    e     02-27, 03-17               Feb Mar       acme     Enterprise
    f     03-18                      Mar           bolt     SMB

The as-of date is the last event day, 2026-03-18: March is partial. Everyone together (tests/kpis/
test_retention_exact.py): January {a, b, c} 1/3 in February, 2/3 in March; February {d, e} 1/2 in March.
"""

from __future__ import annotations

from datetime import date

import pytest

from kpis.metrics.retention import average_row, cohorts
from kpis.store.db import Store
from tests.kpis.helpers import events, load

ROWS = """
a,view,2026-01-05T10:00:00Z,acme
a,view,2026-02-10T10:00:00Z,acme
a,view,2026-03-02T10:00:00Z,acme
b,view,2026-01-07T10:00:00Z,bolt
b,view,2026-03-16T10:00:00Z,bolt
c,view,2026-01-20T10:00:00Z,bolt
c,click,2026-01-21T10:00:00Z,bolt
d,view,2026-02-03T10:00:00Z,acme
d,view,2026-02-04T10:00:00Z,acme
e,view,2026-02-27T10:00:00Z,acme
e,view,2026-03-17T10:00:00Z,acme
f,view,2026-03-18T10:00:00Z,bolt
"""
CUSTOMERS = "customer_id,name,segment\nacme,Acme,Enterprise\nbolt,Bolt,SMB\n"
JAN, FEB, MAR = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)


@pytest.fixture(scope="module")
def store_s(tmp_path_factory):
    folder = tmp_path_factory.mktemp("s")
    with Store(folder / "s.duckdb") as store:
        events(store, folder, ROWS)
        load(store, folder, "customers.csv", CUSTOMERS)
        yield store


def _cells(table) -> list[tuple]:
    return [(r.cohort_start, r.period, r.cohort_size, r.retained, pytest.approx(r.retention), r.partial)
            for r in table.itertuples(index=False)]


def test_everyone(store_s):
    assert _cells(cohorts(store_s, "month")) == [
        (JAN, 0, 3, 3, 1.0, False), (JAN, 1, 3, 1, 1 / 3, False), (JAN, 2, 3, 2, 2 / 3, True),
        (FEB, 0, 2, 2, 1.0, False), (FEB, 1, 2, 1, 1 / 2, True),
        (MAR, 0, 1, 1, 1.0, True),
    ]


def test_one_segment_has_its_own_cohorts(store_s):
    # Enterprise: January {a} (size 1, not 3): a is back in February and in March -> 1/1, 1/1 (partial);
    # February {d, e}: e in March -> 1/2 (partial); no March cohort (f is SMB)
    enterprise = cohorts(store_s, "month", segment=("segment", "Enterprise"))
    assert _cells(enterprise) == [
        (JAN, 0, 1, 1, 1.0, False), (JAN, 1, 1, 1, 1.0, False), (JAN, 2, 1, 1, 1.0, True),
        (FEB, 0, 2, 2, 1.0, False), (FEB, 1, 2, 1, 1 / 2, True),
    ]
    # SMB: January {b, c}: nobody in February (0/2), b in March (1/2, partial); March {f}
    assert _cells(cohorts(store_s, "month", segment=("segment", "SMB"))) == [
        (JAN, 0, 2, 2, 1.0, False), (JAN, 1, 2, 0, 0.0, False), (JAN, 2, 2, 1, 1 / 2, True),
        (MAR, 0, 1, 1, 1.0, True),
    ]
    # the average row of Enterprise: k = 0 over January and February, 3/3; k = 1 only January's complete cell,
    # 1/1 (everyone: 1/3)
    assert [tuple(r) for r in average_row(enterprise).itertuples(index=False)] == [(0, 3, 3, 1.0), (1, 1, 1, 1.0)]


def test_unbounded_of_a_segment(store_s):
    # SMB "on or after": January {b, c}: b's last active month is March, so 1/2 in February too
    assert _cells(cohorts(store_s, "month", "unbounded", segment=("segment", "SMB"))) == [
        (JAN, 0, 2, 2, 1.0, False), (JAN, 1, 2, 1, 1 / 2, False), (JAN, 2, 2, 1, 1 / 2, True),
        (MAR, 0, 1, 1, 1.0, True),
    ]
