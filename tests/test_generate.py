"""The demo data generator (sample_data/generate.py) and the demo loader (kpis/ops/demo.py).

The generator must be deterministic, write exactly the vendors' export headers, and hold every case the KPIs
must handle; the committed files must be exactly what it writes with the default settings.
"""

from __future__ import annotations

import csv
import gzip
import importlib.util
import sys
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from types import ModuleType

import pytest

from kpis.ingest.importer import import_file, undo
from kpis.ops import demo

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data"
#: the committed PostHog export is gzipped (large sets written with --events stay plain CSV)
EVENTS_GZ = SAMPLE / "posthog_events.csv.gz"

# The headers, written out as FORMATS.md gives them (plus Stripe's optional Interval Count column).
SUBSCRIPTIONS_HEADER = [
    "id", "Customer ID", "Customer Name", "Customer Email", "Plan", "Product", "Quantity", "Currency", "Interval",
    "Interval Count", "Amount", "Status", "Cancellation Reason", "Cancellation Feedback", "Cancellation Comment",
    "Coupon", "Created (UTC)", "Start Date (UTC)",
    "Current Period Start (UTC)", "Current Period End (UTC)", "Trial Start (UTC)", "Trial End (UTC)",
    "Canceled At (UTC)", "Ended At (UTC)", "segment (metadata)", "country (metadata)",
]
CUSTOMERS_HEADER = ["id", "Name", "Email", "Description", "Created (UTC)", "segment (metadata)", "country (metadata)"]
POSTHOG_HEADER = ["uuid", "event", "distinct_id", "properties.$browser", "properties.$groups.company", "timestamp",
                  "elements_chain"]
TARGETS_HEADER = ["kpi", "grain", "period_start", "target", "owner", "note"]
STATUSES = {"trialing", "active", "past_due", "canceled", "unpaid", "incomplete", "incomplete_expired"}
LAUNCH = date(2026, 6, 1)


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    """sample_data/generate.py as a module (it is a script, not part of a package)."""
    spec = importlib.util.spec_from_file_location("sample_data_generate", SAMPLE / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _open(path: Path):
    """A CSV opened as text: ``.gz`` files through gzip."""
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def _rows(path: Path) -> list[dict[str, str]]:
    with _open(path) as fh:
        return list(csv.DictReader(fh))


def _header(path: Path) -> list[str]:
    with _open(path) as fh:
        return next(csv.reader(fh))


def _stamp(text: str) -> datetime | None:
    return datetime.strptime(text, "%Y-%m-%d %H:%M") if text else None


def _event_time(text: str) -> datetime:
    assert text.endswith(("+00:00", "Z")), text
    return datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)


@pytest.fixture(scope="module")
def subscriptions() -> list[dict[str, str]]:
    return _rows(SAMPLE / "stripe_subscriptions.csv")


@pytest.fixture(scope="module")
def events() -> list[dict[str, str]]:
    return _rows(EVENTS_GZ)


# -- determinism and the committed files -----------------------------------------------------------------------------

def test_same_seed_and_size_give_the_same_bytes(generator, tmp_path, capsys):
    for name in ("a", "b"):
        assert generator.main(["--out", str(tmp_path / name), "--events", "3000"]) == 0
    written = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert written == sorted([*generator.file_names(gzipped=False), "events.csv", generator.SETTINGS_FILE])  # plain CSV
    for name in written:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    # --events is exact, and the plain events.csv holds the same events in the simple shape
    posthog = _rows(tmp_path / "a" / "posthog_events.csv")
    plain = _rows(tmp_path / "a" / "events.csv")
    assert len(posthog) == len(plain) == 3000
    assert _header(tmp_path / "a" / "events.csv") == ["user_id", "event", "timestamp"]
    assert [(r["user_id"], r["event"]) for r in plain] == [(r["distinct_id"], r["event"]) for r in posthog]
    assert [_event_time(r["timestamp"]) for r in plain] == [_event_time(r["timestamp"]) for r in posthog]
    assert "3,000 events" in capsys.readouterr().out


def test_another_seed_gives_another_company(generator, tmp_path):
    generator.main(["--out", str(tmp_path / "a"), "--events", "2000"])
    generator.main(["--out", str(tmp_path / "b"), "--events", "2000", "--seed", "7"])
    name = "stripe_customers.csv"
    assert (tmp_path / "a" / name).read_bytes() != (tmp_path / "b" / name).read_bytes()


def test_committed_files_are_exactly_a_fresh_default_generation(generator, tmp_path):
    generator.main(["--out", str(tmp_path)])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*generator.FILES, generator.SETTINGS_FILE])
    for name in [*generator.FILES, generator.SETTINGS_FILE]:
        # gzip's bytes depend on the zlib build; what must match is the export inside
        unpack = gzip.decompress if name.endswith(".gz") else bytes
        assert unpack((SAMPLE / name).read_bytes()) == unpack((tmp_path / name).read_bytes()), (
            f"sample_data/{name} differs from the generator's output: never edit it by hand, "
            "run `python sample_data/generate.py` and commit the result")


def test_gzipped_events_are_deterministic_and_hold_the_plain_export(generator, tmp_path):
    for name in ("a", "b"):
        generator.main(["--out", str(tmp_path / name), "--events", "2000", "--gzip"])
    gz = tmp_path / "a" / "posthog_events.csv.gz"
    assert gz.read_bytes() == (tmp_path / "b" / gz.name).read_bytes()
    assert gz.read_bytes()[:10] == b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"  # no name, mtime 0, level 9
    assert not (tmp_path / "a" / "posthog_events.csv").exists() and (tmp_path / "a" / "events.csv").exists()
    generator.main(["--out", str(tmp_path / "plain"), "--events", "2000"])
    assert gzip.decompress(gz.read_bytes()) == (tmp_path / "plain" / "posthog_events.csv").read_bytes()


def test_committed_set_stays_small():
    total = sum((SAMPLE / name).stat().st_size for name in demo.DEMO_FILES)
    assert not (SAMPLE / "posthog_events.csv").exists(), "the committed event export is the gzipped one"
    assert EVENTS_GZ.stat().st_size <= 5_000_000
    assert total <= 6_000_000


# -- the Stripe exports ----------------------------------------------------------------------------------------------

def test_headers_are_the_vendors_ones():
    assert _header(SAMPLE / "stripe_subscriptions.csv") == SUBSCRIPTIONS_HEADER
    assert _header(SAMPLE / "stripe_customers.csv") == CUSTOMERS_HEADER
    assert _header(EVENTS_GZ) == POSTHOG_HEADER
    assert _header(SAMPLE / "targets.csv") == TARGETS_HEADER


def test_subscriptions_hold_every_status_and_plan_shape(subscriptions):
    assert {r["Status"] for r in subscriptions} == STATUSES
    shapes = {(r["Interval"], r["Interval Count"]) for r in subscriptions}
    assert {("year", "1"), ("month", "3"), ("week", "1"), ("month", "1")} <= shapes
    assert {r["Currency"] for r in subscriptions} == {"usd"}
    assert all(r["Amount"].count(".") == 1 and len(r["Amount"].split(".")[1]) == 2 for r in subscriptions)
    assert max(int(r["Quantity"]) for r in subscriptions) > 20
    assert {r["segment (metadata)"] for r in subscriptions} == {"SMB", "Mid-Market", "Enterprise"}
    assert [r["Created (UTC)"] for r in subscriptions] == sorted(r["Created (UTC)"] for r in subscriptions)


def test_dates_are_consistent_and_never_after_the_export(subscriptions):
    end = datetime(2026, 11, 22, 23, 59)
    for r in subscriptions:
        created, canceled, ended = _stamp(r["Created (UTC)"]), _stamp(r["Canceled At (UTC)"]), \
            _stamp(r["Ended At (UTC)"])
        assert created is not None and created <= end and r["Start Date (UTC)"] == r["Created (UTC)"]
        assert canceled is None or created <= canceled <= end
        assert ended is None or (canceled is not None and canceled <= ended <= end)
        assert (r["Status"] == "canceled") == (ended is not None), r["id"]
        assert _stamp(r["Current Period Start (UTC)"]) < _stamp(r["Current Period End (UTC)"])  # type: ignore[operator]
    assert min(r["Created (UTC)"] for r in subscriptions).startswith("2024-11")
    # cancellations requested but not yet effective: still active, Canceled At set, Ended At empty
    assert any(r["Canceled At (UTC)"] and not r["Ended At (UTC)"] for r in subscriptions)


def test_trials_convert_or_end_at_trial_end(subscriptions):
    trials = [r for r in subscriptions if r["Trial Start (UTC)"]]
    assert all(_stamp(r["Trial End (UTC)"]) - _stamp(r["Trial Start (UTC)"]) == timedelta(days=14)  # type: ignore[operator]
               for r in trials)
    lost = [r for r in trials if r["Status"] == "canceled" and r["Ended At (UTC)"] == r["Trial End (UTC)"]]
    converted = [r for r in trials if r["Status"] in ("active", "past_due", "unpaid")]
    assert len(lost) > 20 and len(converted) > 100
    assert any(r["Status"] == "trialing" for r in trials)


def test_trials_convert_at_a_realistic_rate_in_each_segment(subscriptions):
    # KPI_DEFINITIONS trial_conversion_rate: of the trials that ended by the export, those still paying after it
    ended: dict[str, list[bool]] = defaultdict(list)
    for r in subscriptions:
        if r["Trial End (UTC)"] and r["Trial End (UTC)"] <= "2026-11-22 23:59":
            ended[r["segment (metadata)"]].append(r["Ended At (UTC)"][:10] != r["Trial End (UTC)"][:10])
    for segment in ("SMB", "Mid-Market"):  # the segments with enough trials to judge
        assert len(ended[segment]) >= 50 and 0.4 <= sum(ended[segment]) / len(ended[segment]) <= 0.7, segment


def _by_customer(subscriptions: list[dict[str, str]]) -> dict[str, list[dict[str, str]]]:
    grouped: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in subscriptions:
        if not r["Status"].startswith("incomplete"):
            grouped[r["Customer ID"]].append(r)
    return grouped


def _monthly(r: dict[str, str]) -> float:
    per_month = {"week": 52 / 12, "month": 1.0, "year": 1 / 12}[r["Interval"]]
    return float(r["Amount"]) * int(r["Quantity"]) * per_month / int(r["Interval Count"])


def test_expansions_downgrades_churn_and_reactivations_exist(subscriptions):
    expansions = downgrades = reactivations = 0
    for subs in _by_customer(subscriptions).values():
        for sub in subs:
            created = _stamp(sub["Created (UTC)"])
            before = [s for s in subs if _stamp(s["Created (UTC)"]) < created]  # type: ignore[operator]
            ended = [_stamp(s["Ended At (UTC)"]) for s in before]
            if any(e is None or e > created for e in ended):
                expansions += 1  # added while another subscription was live
            if any(e is not None and e.date() == created.date() and _monthly(s) > _monthly(sub)  # type: ignore[union-attr]
                   for s, e in zip(before, ended, strict=True)):
                downgrades += 1  # one ended, a cheaper one started the same day
            if before and all(e is not None and e < created - timedelta(days=30) for e in ended):
                reactivations += 1  # came back more than a month after leaving
    churned = [r for r in subscriptions if r["Status"] == "canceled" and r["Cancellation Reason"]]
    assert expansions > 50 and downgrades >= 5 and reactivations >= 5
    assert {r["Cancellation Reason"] for r in churned} == {"cancellation_requested", "payment_failed",
                                                          "payment_disputed"}


FEEDBACK = {"too_expensive", "missing_features", "switched_service", "unused", "customer_service", "too_complex",
            "low_quality", "other"}


def test_cancellations_carry_stripe_feedback_and_comments(subscriptions):
    canceled = [r for r in subscriptions if r["Canceled At (UTC)"]]
    assert all(r["Cancellation Reason"] for r in canceled if r["Status"] != "canceled")  # asked, not yet effective
    for r in subscriptions:
        if not r["Canceled At (UTC)"] or r["Cancellation Reason"] != "cancellation_requested":
            # only a customer who asked answers the survey (Stripe: "if canceled explicitly by the user")
            assert not r["Cancellation Feedback"] and not r["Cancellation Comment"], r["id"]
        assert not r["Cancellation Comment"] or r["Cancellation Feedback"], r["id"]
    answered = [r for r in canceled if r["Cancellation Feedback"]]
    assert {r["Cancellation Feedback"] for r in answered} <= FEEDBACK
    assert len({r["Cancellation Feedback"] for r in answered}) >= 6
    assert 0.3 < len(answered) / len(canceled) < 0.8  # some cancellations come without an answer
    comments = [r["Cancellation Comment"] for r in answered if r["Cancellation Comment"]]
    assert 10 < len(comments) < len(answered)
    assert any("," in c for c in comments) and any(not c.isascii() for c in comments)


def test_small_customers_leave_over_price_and_disuse_bigger_ones_for_competitors(subscriptions):
    def share(segments: tuple[str, ...], answers: set[str]) -> float:
        given = [r["Cancellation Feedback"] for r in subscriptions
                 if r["segment (metadata)"] in segments and r["Cancellation Feedback"]]
        return sum(f in answers for f in given) / len(given)

    assert share(("SMB",), {"too_expensive", "unused"}) > 0.4
    assert share(("Mid-Market", "Enterprise"), {"switched_service", "missing_features"}) > \
        share(("SMB",), {"switched_service", "missing_features"})


def test_customers_export_covers_every_subscription_customer(subscriptions):
    customers = _rows(SAMPLE / "stripe_customers.csv")
    assert 400 <= len(customers) <= 700
    assert {r["id"] for r in customers} == {r["Customer ID"] for r in subscriptions}
    assert len({r["Name"] for r in customers}) == len(customers)
    assert any("," in r["Name"] for r in customers) and any(not r["Name"].isascii() for r in customers)


def test_mrr_grows_from_about_20k_to_about_150k(generator):
    company = generator.CompanySimulation(generator.DEFAULT_SEED, 1.0).run()
    start = sum(generator.mrr_by_customer(company, date(2024, 11, 30)).values())
    end = sum(generator.mrr_by_customer(company, date(2026, 11, 22)).values())
    assert 14_000 < start < 26_000 and 120_000 < end < 180_000


# -- the PostHog export ----------------------------------------------------------------------------------------------

def test_a_tiny_event_count_is_still_exact(generator, tmp_path):
    generator.main(["--out", str(tmp_path), "--events", "50"])
    assert len(_rows(tmp_path / "posthog_events.csv")) == 50


def test_events_span_the_year_in_time_order(events):
    times = [_event_time(r["timestamp"]) for r in events]
    assert times == sorted(times)
    assert times[0].date() == date(2025, 11, 23) and times[-1].date() == date(2026, 11, 22)
    assert {r["timestamp"][-1] for r in events} == {"Z", "0"}  # both "...Z" and "...+00:00"
    assert 100_000 <= len(events) <= 250_000
    assert len({r["uuid"] for r in events}) == len(events)


def test_launched_feature_appears_only_after_launch_and_grows(events):
    feature = [_event_time(r["timestamp"]) for r in events if r["event"] == "ai_summary_generated"]
    assert feature and min(feature).date() >= LAUNCH
    by_month = defaultdict(set)
    for r in events:
        if r["event"] == "ai_summary_generated":
            by_month[r["timestamp"][:7]].add(r["distinct_id"])
    assert len(by_month["2026-10"]) > 2 * len(by_month["2026-06"])


def test_events_belong_to_the_stripe_customers_and_show_a_weekly_rhythm(events):
    customers = {r["id"] for r in _rows(SAMPLE / "stripe_customers.csv")}
    mapping = _mapping()
    assert set(mapping.values()) <= customers
    accounts = {r["properties.$groups.company"] for r in events}
    assert sum(1 for a in accounts if a in mapping or a in customers) >= 0.9 * len(accounts)
    names = {r["event"] for r in events}
    assert {"$pageview", "dashboard_viewed", "report_created", "export_csv", "invite_sent", "signed_up"} <= names
    weekday = defaultdict(int)
    for r in events:
        weekday[_event_time(r["timestamp"]).weekday()] += 1
    assert 0.15 < (weekday[5] + weekday[6]) / 2 / (sum(weekday[d] for d in range(5)) / 5) < 0.45
    chains = [r["elements_chain"] for r in events if r["elements_chain"]]
    assert any("," in c for c in chains) and all('"' in c for c in chains)


# -- accounts: the product's accounts, the mapping to billing customers, usage before churn and expansion ----------

def _mapping() -> dict[str, str]:
    rows = _rows(SAMPLE / "account_mapping.csv")
    assert _header(SAMPLE / "account_mapping.csv") == ["account_id", "customer_id"]
    assert len({r["account_id"] for r in rows}) == len(rows)
    return {r["account_id"]: r["customer_id"] for r in rows}


@pytest.fixture(scope="module")
def usage(events) -> dict[str, dict[str, set[date]]]:
    """Each billing customer's users and the days each was active, through the mapping file (an account whose id
    is a Stripe customer id belongs to that customer)."""
    mapping, customers = _mapping(), {r["id"] for r in _rows(SAMPLE / "stripe_customers.csv")}
    found: dict[str, dict[str, set[date]]] = defaultdict(lambda: defaultdict(set))
    for r in events:
        account = r["properties.$groups.company"]
        customer = mapping.get(account, account if account in customers else None)
        if customer is not None:
            found[customer][r["distinct_id"]].add(_event_time(r["timestamp"]).date())
    return found


def _active(users: dict[str, set[date]], first: date, last: date) -> int:
    """Users active on some day of ``first`` .. ``last``."""
    return sum(1 for days in users.values() if any(first <= d <= last for d in days))


def _paying_on(subscriptions: list[dict[str, str]], day: date) -> set[str]:
    """Customers with a paid (not trialing, not incomplete) subscription on ``day``."""
    found = set()
    for r in subscriptions:
        start = _stamp(r["Trial End (UTC)"]) or _stamp(r["Created (UTC)"])
        ended = _stamp(r["Ended At (UTC)"])
        if (not r["Status"].startswith("incomplete") and start is not None and start.date() <= day
                and (ended is None or ended.date() > day)):
            found.add(r["Customer ID"])
    return found


def test_most_accounts_have_their_own_ids_and_most_paying_customers_are_mapped(subscriptions, events):
    mapping = _mapping()
    customers = {r["id"] for r in _rows(SAMPLE / "stripe_customers.csv")}
    accounts = {r["properties.$groups.company"] for r in events}
    own = {a for a in accounts if a not in customers}
    assert len(own) > 0.8 * len(accounts)  # product ids like "brightwater-labs-inc" or "org_482913"
    assert any(a.startswith("org_") for a in own) and any("-" in a for a in own)
    assert accounts - own  # a few accounts were set up with the Stripe id itself
    unmapped = own - set(mapping)
    assert unmapped  # some accounts nobody has mapped yet
    linked = {mapping.get(a, a) for a in accounts if a in mapping or a in customers}
    paying = _paying_on(subscriptions, date(2026, 11, 22))
    assert 0.88 <= len(paying & linked) / len(paying) <= 0.97


def _churns(subscriptions: list[dict[str, str]], first: date) -> list[tuple[str, date]]:
    """(customer, day) of every paid life a customer chose to end (not a failed card) on ``first`` or later: the
    day its last subscription ended, with nothing of the customer live that day."""
    found = []
    for customer, subs in _by_customer(subscriptions).items():
        for r in subs:
            ended = _stamp(r["Ended At (UTC)"])
            if ended is None or ended.date() < first or r["Cancellation Reason"] in ("", "payment_failed"):
                continue
            if r["Trial End (UTC)"] and r["Ended At (UTC)"] == r["Trial End (UTC)"]:
                continue  # a trial that never paid
            if all(s is r or not (_stamp(s["Created (UTC)"]) <= ended < (_stamp(s["Ended At (UTC)"]) or datetime.max))
                   for s in subs):  # type: ignore[operator]
                found.append((customer, ended.date()))
    return found


def test_usage_fades_over_the_weeks_before_a_customer_leaves(subscriptions, usage):
    churns = _churns(subscriptions, date(2026, 3, 1))
    assert len(churns) >= 30
    before = sum(_active(usage[c], end - timedelta(days=98), end - timedelta(days=71)) for c, end in churns)
    last = sum(_active(usage[c], end - timedelta(days=28), end - timedelta(days=1)) for c, end in churns)
    assert before >= 60 and last <= 0.3 * before
    # while those still paying at the end keep their users
    staying = _paying_on(subscriptions, date(2026, 11, 22))
    end = date(2026, 11, 22)
    then = sum(_active(usage[c], end - timedelta(days=97), end - timedelta(days=70)) for c in staying)
    now = sum(_active(usage[c], end - timedelta(days=27), end) for c in staying)
    assert now >= 0.9 * then


def _seat_packs(subscriptions: list[dict[str, str]], first: date) -> list[tuple[str, date]]:
    """(customer, day) of every seat pack bought on ``first`` or later: a subscription to the plan of another of the
    customer's subscriptions, live when it was added."""
    found = []
    for customer, subs in _by_customer(subscriptions).items():
        for r in subs:
            created = _stamp(r["Created (UTC)"])
            assert created is not None
            if created.date() >= first and "Add-on" not in r["Plan"] and any(
                    s is not r and s["Plan"] == r["Plan"] and _stamp(s["Created (UTC)"]) < created  # type: ignore[operator]
                    and (_stamp(s["Ended At (UTC)"]) or datetime.max) > created for s in subs):
                found.append((customer, created.date()))
    return found


def test_active_users_grow_before_a_customer_buys_more_seats(subscriptions, usage):
    packs = _seat_packs(subscriptions, date(2026, 2, 1))
    assert len(packs) >= 10
    before = sum(_active(usage[c], day - timedelta(days=70), day - timedelta(days=43)) for c, day in packs)
    last = sum(_active(usage[c], day - timedelta(days=28), day - timedelta(days=1)) for c, day in packs)
    assert last >= 1.3 * before


def _first_days(events: list[dict[str, str]]) -> dict[str, date]:
    first: dict[str, date] = {}
    for r in events:
        day = _event_time(r["timestamp"]).date()
        first[r["distinct_id"]] = min(first.get(r["distinct_id"], day), day)
    return first


def test_users_who_create_a_report_in_their_first_week_stay(generator, events):
    # the activation setting's definition (KPI_DEFINITIONS, Activation), counted on users who signed up in the
    # window and whose first week ended by the export day
    assert generator.ACTIVATION_EVENT == "report_created" and generator.ACTIVATION_DAYS == 7
    first = _first_days(events)
    signed = {r["distinct_id"] for r in events if r["event"] == "signed_up"}
    users = {u for u in signed if first[u] <= date(2026, 11, 16)}
    activated = {r["distinct_id"] for r in events if r["event"] == "report_created" and r["distinct_id"] in users
                 and (_event_time(r["timestamp"]).date() - first[r["distinct_id"]]).days < 7}
    assert 0.3 <= len(activated) / len(users) <= 0.5
    # still active 30 to 60 days after their first day, for users whose window is over by the export day
    later = defaultdict(bool)
    for r in events:
        user = r["distinct_id"]
        if user in users and 30 <= (_event_time(r["timestamp"]).date() - first[user]).days < 60:
            later[user] = True
    old = [u for u in users if first[u] <= date(2026, 9, 22)]
    kept = {flag: [later[u] for u in old if (u in activated) == flag] for flag in (True, False)}
    rate = {flag: sum(v) / len(v) for flag, v in kept.items()}
    assert rate[True] > 0.7 and rate[False] < 0.5 and rate[True] - rate[False] > 0.3


def test_signup_opens_a_funnel_with_drop_off_at_every_step(events):
    # KPI_DEFINITIONS Funnel, window 14 days: signed_up -> dashboard_viewed -> report_created -> export_csv
    steps = ("signed_up", "dashboard_viewed", "report_created", "export_csv")
    by_user: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    for r in events:
        by_user[r["distinct_id"]].append((_event_time(r["timestamp"]), r["event"]))
    reached = [0] * len(steps)
    for timeline in by_user.values():
        starts = [t for t, e in timeline if e == steps[0]]
        if not starts:
            continue
        t1 = at = min(starts)
        for k, step in enumerate(steps):
            found = [t for t, e in timeline if e == step and at <= t <= t1 + timedelta(days=14)]
            if not found:
                break
            at = min(found)
            reached[k] += 1
    assert reached[0] > 1000
    assert all(0.3 < reached[k] / reached[k - 1] < 0.95 for k in range(1, len(steps))), reached


def test_targets_cover_2026_q3_and_q4():
    targets = _rows(SAMPLE / "targets.csv")
    assert {(r["kpi"], r["grain"]) for r in targets} >= {("mrr", "quarter"), ("active_customers", "quarter"),
                                                        ("new_customers", "quarter"), ("logo_churn_rate", "month"),
                                                        ("stickiness", "month")}
    assert all(r["period_start"] >= "2026-07-01" and float(r["target"]) > 0 for r in targets)


# -- kpis/ops/demo.py --------------------------------------------------------------------------------------------------

def test_demo_files_are_the_generated_ones(generator):
    assert demo.DEMO_DIR == SAMPLE
    assert sorted(demo.DEMO_FILES) == sorted(generator.FILES)


def test_load_and_remove_the_demo_leave_real_imports_alone(store, write):
    assert not demo.has_demo(store) and not demo.has_real_data(store)
    results = demo.load_demo(store)
    assert [r.file for r in results] == list(demo.DEMO_FILES)
    assert [r.status for r in results] == ["ok"] * 5
    assert demo.has_demo(store) and not demo.has_real_data(store)
    assert [r.status for r in demo.load_demo(store)] == ["duplicate"] * 5
    real = import_file(store, write("mine.csv", "user_id,event,timestamp\nme,login,2026-11-20T09:00:00Z\n"))
    assert demo.has_real_data(store)
    undone = demo.remove_demo_with_backup(store).messages
    assert len(undone) == 5 and undone[0].startswith(f"import {results[-1].import_id} ")
    assert not demo.has_demo(store) and demo.has_real_data(store)
    assert store.query("SELECT count(*) FROM subscriptions")[0][0] == 0
    assert store.query("SELECT user_id FROM events") == [("me",)]
    assert store.query("SELECT import_id FROM imports WHERE status = 'ok'") == [(real.import_id,)]
    assert demo.remove_demo_with_backup(store).messages == ()


def test_the_demo_is_offered_once_and_only_to_an_empty_database(store, write):
    loaded = demo.offer_demo(store)
    assert [r.status for r in loaded] == ["ok"] * 5 and demo.has_demo(store)
    assert store.get_setting(demo.DEMO_OFFERED) is not None
    demo.remove_demo_with_backup(store)
    assert demo.offer_demo(store) == [] and not demo.has_demo(store)  # never again once removed


def test_a_database_holding_data_is_never_offered_the_demo(store, write):
    import_file(store, write("mine.csv", "user_id,event,timestamp\nme,login,2026-11-20T09:00:00Z\n"))
    assert demo.offer_demo(store) == [] and not demo.has_demo(store)
    assert store.get_setting(demo.DEMO_OFFERED) == "no: the database already held data"
    undo(store, 1, backup=False)
    assert demo.offer_demo(store) == [] and not demo.has_demo(store)


def test_a_failing_demo_file_leaves_no_demo_behind(store, tmp_path):
    for name in demo.DEMO_FILES:
        (tmp_path / name).write_bytes((SAMPLE / name).read_bytes())
    (tmp_path / "posthog_events.csv.gz").write_bytes(gzip.compress(b"not,an,export\n1,2,3\n", mtime=0))
    with pytest.raises(Exception):  # noqa: B017 - whatever the importer raises, nothing may stay
        demo.load_demo(store, tmp_path)
    assert not demo.has_demo(store)
    assert store.query("SELECT count(*) FROM subscriptions")[0][0] == 0
