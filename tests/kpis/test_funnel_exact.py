"""Funnels on hand-made events, worked out by hand (times UTC; the funnel signup -> invite -> upgrade, 7 days).

    user  events                                            what the funnel sees
    u1    signup 01-05 10:00, invite 01-06 10:00,           all three steps: +1 day, +1 day
          upgrade 01-07 10:00
    u2    invite 01-04 09:00, signup 01-05 12:00,           the invite before signup does not count; the upgrade
          upgrade 01-06 12:00, invite 01-08 12:00           came before the invite (out of order): steps 1-2, +3 days
    u3    signup 01-05 00:00, invite 01-12 00:00,           the invite exactly at t1 + 7 days counts; the upgrade a
          upgrade 01-12 00:00:01                            second later is out of the window: steps 1-2, +7 days
    u4    signup 01-06 08:00, invite 01-13 08:00:01         a second past the window: step 1 only
    u5    signup 01-10 09:00, invite 01-10 09:00,           the same timestamp counts ("at or after"): all three,
          upgrade 01-10 09:30                               +0 s, +30 min
    u6    signup 2025-12-20 10:00, invite 2025-12-21 10:00, enters at 12-20 (+1 day to invite); from 01-01 on, at
          signup 01-05 10:00                                01-05, after their invite: step 1 only
    u7    signup 01-31 23:00, invite 02-01 01:00            steps 1-2 (+2 h), also when the range ends on 01-31
    u8    signup 02-02 10:00, invite 02-02 11:00,           steps 1-2 (+1 h); a second signup after the invite
          signup 02-03 10:00
    u9    invite 01-20 10:00                                never signs up: never enters
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from kpis.core.errors import InputError
from kpis.metrics.funnel import check_funnel, funnel
from kpis.store.db import Store
from kpis.store.settings import set_timezone
from tests.kpis.helpers import events, subs

ROOT = Path(__file__).resolve().parents[2]

ROWS = """
u1,signup,2026-01-05T10:00:00Z,acme
u1,invite,2026-01-06T10:00:00Z,acme
u1,upgrade,2026-01-07T10:00:00Z,acme
u2,invite,2026-01-04T09:00:00Z,
u2,signup,2026-01-05T12:00:00Z,
u2,upgrade,2026-01-06T12:00:00Z,
u2,invite,2026-01-08T12:00:00Z,
u3,signup,2026-01-05T00:00:00Z,
u3,invite,2026-01-12T00:00:00Z,
u3,upgrade,2026-01-12T00:00:01Z,
u4,signup,2026-01-06T08:00:00Z,
u4,invite,2026-01-13T08:00:01Z,
u5,signup,2026-01-10T09:00:00Z,acme
u5,invite,2026-01-10T09:00:00Z,acme
u5,upgrade,2026-01-10T09:30:00Z,acme
u6,signup,2025-12-20T10:00:00Z,
u6,invite,2025-12-21T10:00:00Z,
u6,signup,2026-01-05T10:00:00Z,
u7,signup,2026-01-31T23:00:00Z,
u7,invite,2026-02-01T01:00:00Z,
u8,signup,2026-02-02T10:00:00Z,
u8,invite,2026-02-02T11:00:00Z,
u8,signup,2026-02-03T10:00:00Z,
u9,invite,2026-01-20T10:00:00Z,
"""
#: acme (the account of u1 and u5) is a customer on the Pro plan: the segment plan=Pro
SUBSCRIPTIONS = "s1,acme,Pro,100,1,usd,month,1,active,2026-01-01,,,"
STEPS = ["signup", "invite", "upgrade"]
HOUR, DAY = 3600.0, 86400.0


def build(folder: Path) -> Path:
    """A database of the events above and acme's subscription."""
    with Store(folder / "f.duckdb") as store:
        events(store, folder, ROWS)
        subs(store, folder, SUBSCRIPTIONS)
    return folder / "f.duckdb"


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    """For the command line, which opens the database itself (one process at a time)."""
    return build(tmp_path_factory.mktemp("funnel_cli"))


@pytest.fixture(scope="module")
def store_f(tmp_path_factory):
    with Store(build(tmp_path_factory.mktemp("funnel"))) as store:
        yield store


def rows(table) -> list[tuple]:
    """The table's rows with NaN as None, for exact comparison."""
    return [tuple(None if isinstance(v, float) and math.isnan(v) else v for v in row)
            for row in table.itertuples(index=False)]


def test_the_funnel_by_hand(store_f):
    # step 1: u1..u8 sign up (8). step 2: all but u4 (7). step 3: u1 and u5 (2).
    # medians: signup -> invite over 0 s (u5), 1 h (u8), 2 h (u7), 1 d (u1), 1 d (u6), 3 d (u2), 7 d (u3): 1 day;
    # invite -> upgrade over 1 d (u1) and 30 min (u5): (86400 + 1800) / 2 = 44100 s
    assert rows(funnel(store_f, STEPS, 7)) == [
        (1, "signup", 8, None, 1.0, None),
        (2, "invite", 7, 7 / 8, 7 / 8, DAY),
        (3, "upgrade", 2, 2 / 7, 2 / 8, 44100.0)]


def test_the_date_range_decides_who_enters_and_nothing_else(store_f):
    # entering 01-01 .. 01-31: u1..u7 (u6 at 01-05, their first signup in the range; u8 signs up in February)
    # step 2: u1, u2, u3, u5 and u7, whose invite on 02-01 lies after the range but within the window; u6 invited
    # before entering. step 3: u1, u5.
    table = funnel(store_f, STEPS, 7, start=date(2026, 1, 1), end=date(2026, 1, 31))
    assert list(table["users"]) == [7, 5, 2]
    assert list(table["from_first"]) == [1.0, 5 / 7, 2 / 7]


def test_the_window_is_days_of_24_hours_from_the_first_step(store_f):
    # 6 days: u3's invite (7 days after signing up) is out too; 8 days: u4's (7 days and 1 s) is in, and u3's
    # upgrade at 7 days and 1 s after signing up
    assert list(funnel(store_f, STEPS, 6)["users"]) == [8, 6, 2]
    assert list(funnel(store_f, STEPS, 8)["users"]) == [8, 8, 3]


def test_a_repeated_step_needs_another_occurrence_of_its_event(store_f):
    # signup, invite, signup: u5's one signup (at the time of their invite) cannot be both step 1 and step 3; u8
    # signs up again a day later (23 h after the invite); u6's second signup is 16 days after the first
    table = funnel(store_f, ["signup", "invite", "signup"], 7)
    assert rows(table)[2] == (3, "signup", 1, 1 / 7, 1 / 8, 23 * HOUR)
    # invite, invite: all nine users invite; only u2 twice (01-04 09:00, 01-08 12:00: 4 days 3 hours)
    assert rows(funnel(store_f, ["invite", "invite"], 7)) == [
        (1, "invite", 9, None, 1.0, None), (2, "invite", 1, 1 / 9, 1 / 9, 4 * DAY + 3 * HOUR)]


def test_the_segment_keeps_the_users_of_its_customers(store_f):
    # plan=Pro: acme, the account of u1 and u5, who both go through
    assert list(funnel(store_f, STEPS, 7, segment=("plan", "Pro"))["users"]) == [2, 2, 2]


def test_a_step_nobody_reaches_gives_zero_and_empty_ratios_after_nobody(store_f):
    # u1, u2, u3 and u5 upgrade (4); none of them signs up afterwards: 0 of 4, then 0 of 0 (undefined)
    table = funnel(store_f, ["upgrade", "signup", "invite"], 7)
    assert rows(table) == [(1, "upgrade", 4, None, 1.0, None), (2, "signup", 0, 0.0, 0.0, None),
                           (3, "invite", 0, None, 0.0, None)]


def test_the_entry_day_is_a_day_of_the_reporting_time_zone(tmp_path):
    # in Berlin (UTC+1 in winter), u7's signup at 01-31 23:00 UTC is on 1 February: outside a January range
    with Store(tmp_path / "berlin.duckdb") as store:
        events(store, tmp_path, ROWS)
        set_timezone(store, "Europe/Berlin")
        table = funnel(store, STEPS, 7, start=date(2026, 1, 1), end=date(2026, 1, 31))
    assert list(table["users"]) == [6, 4, 2]


@pytest.mark.parametrize(("steps", "window", "start", "end", "message"), [
    (["signup"], 7, None, None, "a funnel has 2 to 6 steps, got 1"),
    (["signup"] * 7, 7, None, None, "a funnel has 2 to 6 steps, got 7"),
    (["signup", " "], 7, None, None, "step 2 is empty: each step is an event name"),
    (["signup", "invites"], 7, None, None, "step 2: no event is named 'invites' (close: invite)"),
    # the most frequent first: 10 invites, 10 signups (a tie: by name), 4 upgrades
    (["signup", "zzz"], 7, None, None, "step 2: no event is named 'zzz' (the events are invite, signup, upgrade)"),
    (STEPS, 0, None, None, "the conversion window is a whole number of days from 1 to 365, got 0"),
    (STEPS, 366, None, None, "the conversion window is a whole number of days from 1 to 365, got 366"),
    (STEPS, 1.5, None, None, "the conversion window is a whole number of days from 1 to 365, got 1.5"),
    (STEPS, 7, date(2026, 2, 1), date(2026, 1, 1),
     "the date range starts after it ends: 2026-02-01 to 2026-01-01"),
])
def test_bad_funnels_are_refused_with_what_is_wrong(store_f, steps, window, start, end, message):
    with pytest.raises(InputError) as raised:
        funnel(store_f, steps, window, start=start, end=end)
    assert str(raised.value) == message


def test_the_checked_funnel_keeps_the_names_trimmed():
    assert check_funnel([" signup", "invite "], 7, None, None, {"signup", "invite"}).steps == ("signup", "invite")


def kpis(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kpis", "--db", str(db), *args], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT, timeout=300)


def test_the_funnel_command_prints_the_contract(db):
    done = kpis(db, "funnel", "--steps", "signup,invite,upgrade", "--window-days", "7")
    assert done.returncode == 0, done.stderr
    # 8, 7 (7/8), 2 (2/7 of the 7, 2/8 of the 8); step 1 has no previous step: empty
    assert done.stdout == ("step,event,users,from_previous,from_first\n"
                           "1,signup,8,,1\n"
                           "2,invite,7,0.875,0.875\n"
                           "3,upgrade,2,0.2857142857,0.25\n")
    done = kpis(db, "funnel", "--steps", "signup,invite", "--window-days", "7", "--start", "2026-01-01",
                "--end", "2026-01-31", "--segment", "plan=Pro")
    assert done.stdout == "step,event,users,from_previous,from_first\n1,signup,2,,1\n2,invite,2,1,1\n"


@pytest.mark.parametrize(("args", "message"), [
    (("--steps", "signup,invitee"), "error: step 2: no event is named 'invitee' (close: invite)\n"),
    (("--steps", "signup,invite", "--window-days", "400"),
     "error: the conversion window is a whole number of days from 1 to 365, got 400\n"),
])
def test_the_funnel_command_refuses_bad_input_in_one_line(db, args, message):
    done = kpis(db, "funnel", *args)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", message)


def test_the_funnel_command_says_it_runs_on_duckdb_only(db, tmp_path):
    done = kpis(db, "--engine", "spark", "--lake", str(tmp_path), "--spark-master", "local[2]", "funnel",
                "--steps", "signup,invite")
    assert done.returncode == 2
    assert done.stderr == ("error: funnel runs on DuckDB only: leave out --engine spark (and KPI_ENGINE=spark) to "
                           "compute it from the local database\n")
