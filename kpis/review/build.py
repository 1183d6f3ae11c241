"""The periodic business review: one page on the last complete week or month, for the leadership team.

:func:`build_review` gathers the numbers (headline KPIs against the period before and their targets, the
biggest movers, anomalies, the MRR bridge, the customers behind churn and expansion, the period's annotations)
and writes sentences from them; :func:`kpis.review.markdown.render_markdown` and
:func:`kpis.review.html.render_html` turn it into a document. Every
KPI value comes from the same tables as ``python -m kpis series`` with ``--end`` at the review's period end, so
the review and the CLI never disagree. See ``docs/review.md``.
"""

from __future__ import annotations

import dataclasses
import math
from datetime import date, timedelta

import pandas as pd

from kpis.core.calendar import last_day as period_last_day
from kpis.core.calendar import previous_start
from kpis.core.errors import DataError, InputError
from kpis.core.formatting import MAX_FACTOR, day_label, finite, period_label, undefined
from kpis.core.registry import HEADLINE, KPIS, MAGNITUDE, PLAN_GRAINS, REVIEW_GRAINS
from kpis.metrics import engine, warmup
from kpis.metrics.accounts import account_rows
from kpis.metrics.engagement import ENGAGEMENT_COLUMNS
from kpis.metrics.movements import customer_changes
from kpis.metrics.reasons import churn_by_reason
from kpis.metrics.reporting import LastComplete, last_complete_period
from kpis.metrics.revenue import ROUND_DIGITS, check_currencies
from kpis.metrics.revenue import bridge as mrr_bridge
from kpis.metrics.trials import TRIAL_COLUMNS
from kpis.plan import annotations as notes_store
from kpis.plan.anomalies import anomalies
from kpis.plan.targets import attainment, evaluate, load_targets
from kpis.review.markdown import write_sentences
from kpis.review.model import (
    Activation,
    Anomaly,
    AtRisk,
    Change,
    ChurnReason,
    CustomerMove,
    Headline,
    Note,
    Review,
    TargetLine,
    TrialConversion,
)
from kpis.store import settings
from kpis.store.db import Store

#: Not ranked among the movers: ARR moves exactly as MRR; a KPI of one event (adoption) needs the event's name.
NOT_MOVERS = frozenset({"arr", *(k.id for k in KPIS.values() if k.needs_event)})
#: Periods in each sparkline (the reviewed one and those before it).
SPARK_PERIODS = 12
#: Customers listed for churn and for expansion; movers listed each way.
TOP_CUSTOMERS = 5
TOP_MOVERS = 3
#: Movers are ranked by their relative change up to this size (tenfold): beyond it, or across zero, the earlier
#: value was next to nothing and the percentage says nothing more.
RANK_CAP = MAX_FACTOR - 1


# -- numbers --------------------------------------------------------------------------------------------------------

def _float(value: object) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")
    return number if math.isfinite(number) else float("nan")


def relative_change(kpi_id: str, value: float, previous: float) -> float:
    """(value - previous) / |previous|, or the change of the magnitude for churned and contraction MRR; NaN
    when either is undefined or ``previous`` is 0.

    >>> relative_change("mrr", 110.0, 100.0), relative_change("churned_mrr", -150.0, -100.0)
    (0.1, 0.5)
    >>> relative_change("logo_churn_rate", 0.01, 0.0)
    nan
    """
    if not (finite(value) and finite(previous)) or round(previous, ROUND_DIGITS) == 0:
        return float("nan")
    if kpi_id in MAGNITUDE:
        return (abs(value) - abs(previous)) / abs(previous)
    return (value - previous) / abs(previous)


def improved(kpi_id: str, value: float, previous: float) -> bool | None:
    """True when the KPI moved in its better direction, False when in its worse, None when unchanged/undefined.

    >>> improved("mrr", 2.0, 1.0), improved("logo_churn_rate", 0.02, 0.01), improved("churned_mrr", -50.0, -80.0)
    (True, False, True)
    """
    if not (finite(value) and finite(previous)) or round(value - previous, ROUND_DIGITS) == 0:
        return None
    if kpi_id in MAGNITUDE:
        return abs(value) < abs(previous)
    return (value > previous) == KPIS[kpi_id].higher_is_better


def _change(kpi_id: str, value: float, previous: float, comparable: bool = True) -> Change:
    """One KPI against the period before; ``comparable`` False (a period warming up): the values without a
    change."""
    kpi = KPIS[kpi_id]
    if not comparable:
        nan = float("nan")
        return Change(kpi_id, kpi.label, kpi.unit, kpi.higher_is_better, value, previous, nan, nan, None)
    change = value - previous if finite(value) and finite(previous) else float("nan")
    return Change(kpi_id, kpi.label, kpi.unit, kpi.higher_is_better, value, previous, change,
                  relative_change(kpi_id, value, previous), improved(kpi_id, value, previous))


def rank_size(change: Change) -> float:
    """How far a mover moved, for ranking: the size of its relative change, at most :data:`RANK_CAP`.

    >>> rank_size(_change("mrr", 150.0, 100.0)), rank_size(_change("net_new_mrr", -15_800.0, 1_130.0))
    (0.5, 9.0)
    """
    return min(abs(change.relative_change), RANK_CAP)


def _warming_caveats(kpi_ids: list[str], warming: dict[str, bool], firsts: dict[str, date | None]) -> list[str]:
    """One caveat per KPI marked in ``warming`` (it shows a value in the reviewed period or the one before while
    it warms up): why, and that it is not compared."""
    out = []
    for kpi_id in kpi_ids:
        first = firsts.get(KPIS[kpi_id].source)
        if warming.get(kpi_id) and first is not None:
            out.append(f"{warmup.reason(KPIS[kpi_id], first)} Until then it is not compared with the period before "
                       "nor judged unusual.")
    return out


def _customer_moves(changes: pd.DataFrame) -> tuple[list[CustomerMove], list[CustomerMove]]:
    """Every churned customer (largest first) and every expanding one (largest increase first), by the movement
    :func:`kpis.metrics.movements.customer_changes` classified."""
    def moves(movement: str) -> list[CustomerMove]:
        rows = changes[changes["movement"] == movement]
        return [CustomerMove(str(r.customer_id), None if pd.isna(r.name) else str(r.name), float(r.mrr_before),
                             float(r.mrr_after)) for r in rows.itertuples(index=False)]

    churned, expanded = moves("churned"), moves("expansion")
    churned.sort(key=lambda m: (-m.mrr_before, m.customer_id))
    expanded.sort(key=lambda m: (-m.change, m.customer_id))
    return churned, expanded


def _as_date(value: object) -> date:
    return pd.Timestamp(value).date()  # type: ignore[arg-type]


#: Target grains from the finest; a target covers the review only at the review's grain or a coarser one.
TARGET_ORDER = PLAN_GRAINS


def _targets(store: Store, kpi_ids: tuple[str, ...], grain: str, last_day: date,
             segment: tuple[str, str] | None) -> dict[str, tuple[TargetLine, ...]]:
    """Targets of ``kpi_ids`` at ``grain`` or coarser whose period holds ``last_day``, finest grain first, as
    :func:`kpis.plan.targets.evaluate` judges them on ``last_day``."""
    table = evaluate(store, as_of=last_day, segment=segment)
    found: dict[str, list[TargetLine]] = {}
    for row in table.to_dict("records"):
        kpi_id, target_grain = str(row["kpi"]), str(row["grain"])
        if (kpi_id not in kpi_ids or target_grain not in TARGET_ORDER
                or TARGET_ORDER.index(target_grain) < TARGET_ORDER.index(grain)):
            continue
        first, last = _as_date(row["period_start"]), _as_date(row["period_end"])
        if not first <= last_day <= last:
            continue
        kpi = KPIS[kpi_id]
        target, actual, projected_value = (_float(row[k]) for k in ("target", "actual", "projected_value"))
        status = row["status"]
        found.setdefault(kpi_id, []).append(TargetLine(
            target_grain, first, last, target, actual, projected_value,
            attainment(actual, target, kpi.higher_is_better, kpi_id),
            attainment(projected_value, target, kpi.higher_is_better, kpi_id),
            None if status is None or pd.isna(status) else str(status), bool(row["projected"]),
            bool(row["partial"]), _text(row["owner"]), _text(row["note"])))
    return {k: tuple(sorted(v, key=lambda t: TARGET_ORDER.index(t.grain))) for k, v in found.items()}


def later_targets(store: Store, period: LastComplete, kpi_ids: tuple[str, ...] = HEADLINE) -> list[str]:
    """One sentence per target period that has begun in some source's data but starts after the reviewed
    period, naming its KPIs: the review judges the targets covering its own period only, and says which it
    leaves for a later review rather than leaving them out without a word."""
    known = [d for d in (period.revenue_as_of, period.events_as_of) if d is not None]
    latest = min(max(known), period.end) if period.end is not None else max(known)
    table = load_targets(store)
    later = table[table["kpi"].isin(kpi_ids) & table["grain"].isin(TARGET_ORDER[TARGET_ORDER.index(period.grain):])
                  & (table["period_start"] > period.last_day) & (table["period_start"] <= latest)]
    sentences = []
    for (start, grain), group in later.groupby(["period_start", "grain"], sort=True):
        names = ", ".join(KPIS[k].label for k in kpi_ids if k in set(group["kpi"]))
        where = period_label(start, str(grain), in_sentence=True)
        sentences.append(f"Targets of {where} ({names}) start on {day_label(start)}, after the {period.grain} "
                         "reviewed: this review does not judge them.")
    return sentences


def _text(value: object) -> str | None:
    if undefined(value):
        return None
    text = str(value).strip()
    return text or None


def _anomalies(store: Store, grain: str, first: date, last_day: date,
               segment: tuple[str, str] | None) -> tuple[Anomaly, ...]:
    """The headline KPIs outside their trailing band in the period starting ``first``."""
    table = anomalies(store, grain, as_of=last_day, segment=segment)
    found = []
    for row in table.to_dict("records"):
        if _as_date(row["period_start"]) != first:
            continue
        kpi_id = str(row["kpi"])
        label = KPIS[kpi_id].label if kpi_id in KPIS else kpi_id
        found.append(Anomaly(kpi_id, label, _float(row["value"]), _float(row["low"]), _float(row["high"]),
                             str(row["direction"])))
    return tuple(found)


def _values(table: pd.DataFrame, columns: tuple[str, ...]) -> dict[str, dict[date, float]]:
    """``{kpi: {period_start: value}}`` from a KPI table."""
    if table.empty:
        return {c: {} for c in columns}
    starts = [_as_date(p) for p in table["period_start"]]
    return {c: dict(zip(starts, (_float(v) for v in table[c]), strict=True)) for c in columns if c in table}


def _trial_conversion(values: dict[str, dict[date, float]], first: date, previous: date) -> TrialConversion | None:
    """The trials ended and converted in the period starting ``first`` and in the one before; None without a row
    for the period (no revenue data)."""
    def count(column: str, start: date) -> int:
        value = values.get(column, {}).get(start, float("nan"))
        return int(value) if finite(value) else 0

    if first not in values.get("trials_ended", {}):
        return None
    return TrialConversion(count("trials_ended", first), count("trials_converted", first),
                           count("trials_ended", previous), count("trials_converted", previous))


def _churn_reasons(store: Store, grain: str, first: date, last_day: date,
                   segment: tuple[str, str] | None) -> tuple[ChurnReason, ...]:
    """The period's churned customers by reason (:func:`kpis.metrics.reasons.churn_by_reason`), most customers
    first, then the largest MRR lost, then by name."""
    found = churn_by_reason(store, grain, start=first, end=last_day, segment=segment)
    found = found[(found["period_start"] == first) & (found["churned_customers"] > 0)]
    reasons = [ChurnReason(str(r.group), int(r.churned_customers), float(r.churned_mrr))
               for r in found.itertuples(index=False)]
    return tuple(sorted(reasons, key=lambda r: (-r.customers, r.mrr, r.reason)))


def build_review(store: Store, as_of: date | None = None, grain: str = "week",
                 segment: tuple[str, str] | None = None) -> Review:
    """The review of the last complete ``grain`` period (:func:`kpis.metrics.reporting.last_complete_period`).

    The period ends on or before the earlier of the revenue and the engagement as-of dates (of the sources that
    hold data), and on or before ``as_of`` when given. Raises :class:`InputError` for a grain other than week or
    month or when no complete period with data ends by ``as_of``, :class:`DataError` when there is no data at all.
    """
    if grain not in REVIEW_GRAINS:
        raise InputError(f"a review covers a week or a month, not {grain!r}")
    currency = check_currencies(store)
    period = last_complete_period(store, grain, end=as_of)
    if period is None:
        raise DataError("no data to review: import subscriptions or events first "
                        "(python -m kpis demo loads a demo company)")
    as_of, first, last_day = period.as_of, period.start, period.last_day
    previous = previous_start(first, grain)

    revenue = engine.revenue_table(store, grain, end=last_day, segment=segment)
    engagement = engine.engagement_table(store, grain, end=last_day, segment=segment)
    trials = engine.table(store, "trials", grain, end=last_day, segment=segment)
    values = {**_values(revenue, tuple(c for c in revenue.columns if c in KPIS)),
              **_values(engagement, ENGAGEMENT_COLUMNS), **_values(trials, TRIAL_COLUMNS)}
    if not any(first in by_period for by_period in values.values()):
        raise InputError(f"no complete {grain} with data ends on or before {as_of.isoformat()}: "
                         f"the {grain} of {first.isoformat()} has no data")
    caveats = []
    if revenue.empty:
        caveats.append(f"No subscriptions up to {last_day.isoformat()}: revenue KPIs are undefined.")
    if engagement.empty:
        caveats.append(f"No product events up to {last_day.isoformat()}: engagement KPIs are undefined.")

    firsts = engine.first_days(store)

    def warming(kpi_id: str, start: date) -> bool:
        kpi = KPIS[kpi_id]
        return warmup.period_warming_up(kpi, start, grain, firsts.get(kpi.source))

    def at(kpi_id: str, start: date) -> float:
        return values.get(kpi_id, {}).get(start, float("nan"))

    def shown(kpi_id: str, start: date) -> float:
        """A sparkline's value: none while the KPI warms up."""
        return float("nan") if warming(kpi_id, start) else at(kpi_id, start)

    def cut_short(kpi_id: str, start: date) -> bool:
        """A flow over a period that starts before its source's first day counts only part of it (and, at the
        data's start, everyone as new), as on the dashboard."""
        day = firsts.get(KPIS[kpi_id].source)
        return KPIS[kpi_id].over_period and day is not None and start < day

    def compared(kpi_id: str) -> Change:
        return _change(kpi_id, at(kpi_id, first), at(kpi_id, previous),
                       not (warming(kpi_id, first) or warming(kpi_id, previous) or cut_short(kpi_id, previous)))

    targets: dict[str, tuple[TargetLine, ...]] = {}
    if segment is None:
        targets = _targets(store, HEADLINE, grain, last_day, segment)
        caveats += later_targets(store, period)
    else:  # targets are the company's: a segment's share of them is not known
        caveats.append("Targets are set for the whole company, so this segment's review compares with none.")
    found = _anomalies(store, grain, first, last_day, segment)

    spark_periods: list[date] = [first]
    while len(spark_periods) < SPARK_PERIODS:
        spark_periods.insert(0, previous_start(spark_periods[0], grain))
    by_kpi = {a.kpi: a for a in found}
    headlines = tuple(
        Headline(**dataclasses.asdict(compared(k)), targets=targets.get(k, ()),
                 sparkline=tuple(shown(k, p) for p in spark_periods), anomaly=by_kpi.get(k))
        for k in HEADLINE)

    changes = [compared(k) for k, kpi in KPIS.items() if k not in NOT_MOVERS and grain in kpi.grains]
    listed = list(dict.fromkeys([*HEADLINE, *(c.kpi for c in changes)]))
    # a KPI warming up is worth a caveat when it shows a number (an undefined one misleads nobody)
    caveats += _warming_caveats(listed, {k: any(warming(k, p) and finite(at(k, p)) for p in (first, previous))
                                         for k in listed}, firsts)
    ranked = sorted((c for c in changes if c.improved is not None and finite(c.relative_change)),
                    key=lambda c: (-rank_size(c), c.kpi))
    improvers = tuple(c for c in ranked if c.improved)[:TOP_MOVERS]
    decliners = tuple(c for c in ranked if not c.improved)[:TOP_MOVERS]

    bridge = mrr_bridge(revenue, first) if not revenue.empty else None
    churned, expanded = _customer_moves(customer_changes(store, first - timedelta(days=1), last_day, segment))
    period_notes = tuple(Note(int(r.annotation_id), r.day, str(r.text), _text(r.created_by))
                         for r in notes_store.between(store, first, last_day).itertuples(index=False))

    review = Review(grain, as_of, first, last_day, previous, segment, currency, period.revenue_as_of,
                    period.events_as_of, headlines, improvers, decliners, tuple(changes), found, bridge,
                    tuple(churned[:TOP_CUSTOMERS]), tuple(expanded[:TOP_CUSTOMERS]), period_notes,
                    tuple(spark_periods), churned_count=len(churned), expansion_count=len(expanded),
                    period_note=period.statement("the review covers"), caveats=tuple(caveats),
                    activation=_activation(store, grain, last_day, segment),
                    trials=_trial_conversion(values, first, previous),
                    churn_reasons=_churn_reasons(store, grain, first, last_day, segment),
                    at_risk=None if engagement.empty else _at_risk(store, last_day, segment))
    return dataclasses.replace(review, sentences=tuple(write_sentences(review)))


def _at_risk(store: Store, last: date, segment: tuple[str, str] | None) -> AtRisk | None:
    """The accounts at risk on ``last``, as ``accounts --as-of last --at-risk`` lists them, with the largest one's
    name from ``customers`` (its id when unknown); None when none is at risk."""
    rows = account_rows(store, last, segment=segment, at_risk_only=True)
    if rows.empty:
        return None
    top = rows.iloc[0]
    found = store.query("SELECT name FROM customers WHERE customer_id = ?", [str(top["customer_id"])])
    name = _text(found[0][0]) if found else None
    return AtRisk(len(rows), float(rows["mrr"].sum()), str(top["customer_id"]), name, float(top["mrr"]),
                  int(top["active_users"]), int(top["previous_active_users"]))


def _activation(store: Store, grain: str, last: date, segment: tuple[str, str] | None) -> Activation | None:
    """The activation rate of the latest period whose every starter's window had ended by ``last`` (at week grain
    with a 7-day window: the week before the reviewed one), as ``series activation_rate --end last`` has it; None
    without the activation event or without starters then."""
    event = settings.activation_event(store)
    if event is None:
        return None
    window = settings.activation_window_days(store)
    table = engine.table(store, "activation", grain, end=last, segment=segment)
    ended = [i for i, start in enumerate(table["period_start"])
             if period_last_day(start, grain) + timedelta(days=window - 1) <= last]
    if not ended or int(table["started"].iloc[ended[-1]]) == 0:
        return None
    at = ended[-1]
    previous = _float(table["activation_rate"].iloc[at - 1]) if at > 0 else float("nan")
    return Activation(event, window, table["period_start"].iloc[at], int(table["started"].iloc[at]),
                      int(table["activated"].iloc[at]), _float(table["activation_rate"].iloc[at]), previous)
