"""Breakdowns: a revenue KPI per group, period by period (``series KPI --by plan|ATTRIBUTE``, the Revenue page's
"Break down by").

- ``plan``: MRR (and ARR) by the plan of each subscription: the monthly amounts of the subscriptions on plan p
  whose paid interval holds the period's end. A customer on two plans counts in both, each for its own amount, so
  the plans sum to MRR. Movements, customers and ratios belong to customers, not plans: for them the segment
  filter ``plan=NAME`` answers (customers with a subscription on that plan).
- a customer attribute A (``segment``, ``country``, ...): every revenue KPI computed on the customers whose value
  of A is g, exactly as the segment filter ``A=g`` computes it; customers without a value form the group
  ``(none)``. Customers hold one value of an attribute, so the groups of a flow or a snapshot that adds up
  (:data:`ADDITIVE`) sum to its total; a ratio or an average is each group's own.

:data:`BREAKDOWNS` maps each breakdown that is not a customer attribute to the function computing it; any other
name is an attribute. Every function returns ``period_start, group, value, partial``, groups sorted by name within
a period, one row per group and period (a group with nothing in a period: 0 for a KPI that adds up, else
undefined).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pandas as pd

from kpis.core.calendar import period_start, spine
from kpis.core.errors import InputError
from kpis.core.registry import GRAINS, KPIS, Kpi
from kpis.metrics import engine, reasons, revenue
from kpis.metrics.segments import NO_VALUE, Segment, max_segment_values
from kpis.metrics.trials import first_trial_day
from kpis.store.db import Store
from kpis.store.settings import timezone

#: The group of the customers (or subscriptions) without a value.
NONE_GROUP = "(none)"
#: The columns of every breakdown.
COLUMNS = ["period_start", "group", "value", "partial"]
#: Revenue KPIs that are averages, not sums: their groups do not add up to the total.
AVERAGES = frozenset({"arpa", "ltv"})
#: The revenue KPIs whose groups sum to the total (flows and snapshots that are sums over customers).
ADDITIVE = frozenset(k.id for k in KPIS.values()
                     if k.source == "revenue" and k.kind in ("flow", "snapshot") and k.id not in AVERAGES)
#: The KPIs a breakdown by plan computes.
BY_PLAN = ("mrr", "arr")

Breakdown = Callable[..., pd.DataFrame]
"""``(store, kpi_id, grain, *, start, end, segment) -> period_start, group, value, partial``."""


def by_plan(store: Store, kpi_id: str, grain: str, *, start: date | None = None, end: date | None = None,
            segment: Segment | None = None) -> pd.DataFrame:
    """MRR or ARR by the plan of each subscription (plans without a name: ``(none)``), of ``segment``'s
    customers: every plan that pays on some day up to the as-of date has a row in each period."""
    if kpi_id not in BY_PLAN:
        raise InputError(f"--by plan splits {' and '.join(BY_PLAN)} (a subscription's plan); for {kpi_id}, "
                         f"take the customers of one plan with --segment plan=NAME")
    frame = _spine(store, grain, start, end, segment)
    if frame is None:
        return _empty()
    paid, params = revenue.paid_intervals_sql(segment, timezone(store), with_plan=True)
    found = store.df(f"""
        SELECT s.period_start, coalesce(nullif(p.plan, ''), '{NONE_GROUP}') AS "group", sum(p.monthly) AS value
        FROM spine_frame s JOIN ({paid}) p
            ON p.paid_start <= s.period_end AND (p.paid_end IS NULL OR p.paid_end > s.period_end)
        GROUP BY 1, 2""", params, frames={"spine_frame": frame})
    found["period_start"] = pd.to_datetime(found["period_start"]).dt.date
    factor = 12.0 if kpi_id == "arr" else 1.0
    groups = [str(r[0]) for r in store.query(f"""
        SELECT DISTINCT coalesce(nullif(plan, ''), '{NONE_GROUP}') FROM ({paid}) p WHERE paid_start <= $last_day""",
                                             {**params, "last_day": frame["period_end"].max()})]
    grid = _grid(frame, groups)
    values = grid.merge(found, on=["period_start", "group"], how="left")["value"].astype("float64")
    grid["value"] = values.fillna(0.0) * factor
    return _from(grid, start, grain)


def by_attribute(store: Store, attribute: str, kpi_id: str, grain: str, *, start: date | None = None,
                 end: date | None = None, segment: Segment | None = None) -> pd.DataFrame:
    """``kpi_id`` on the customers of each value of ``attribute`` (the segment filter's tables, one per value, so
    each is memoized and shared with the filter), and on those without one (``(none)``)."""
    if segment is not None:
        raise InputError(f"--by {attribute} covers every customer: it cannot be combined with --segment "
                         f"(--by plan can)")
    groups = attribute_groups(store, attribute)
    frame = _spine(store, grain, start, end, None, trials=KPIS[kpi_id].table == "trials")
    if frame is None:
        return _empty()
    grid = _grid(frame, [name for name, _ in groups])
    parts = [_group_series(store, kpi_id, grain, end, name, (attribute, value)) for name, value in groups]
    found = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["period_start", "group", "value"])
    values = grid.merge(found, on=["period_start", "group"], how="left")["value"].astype("float64")
    grid["value"] = values.fillna(0.0) if kpi_id in ADDITIVE else values
    return _from(grid, start, grain)


def _group_series(store: Store, kpi_id: str, grain: str, end: date | None, name: str,
                  segment: Segment) -> pd.DataFrame:
    table = engine.table_holding(store, KPIS[kpi_id].table, kpi_id, grain, end=end, segment=segment)
    return pd.DataFrame({"period_start": table["period_start"], "group": name,
                         "value": table[kpi_id].astype("float64")})


def attribute_groups(store: Store, attribute: str) -> list[tuple[str, str]]:
    """``(group, segment value)`` of each value of ``attribute`` (sorted), then ``(none)`` when some customer with
    subscriptions has no value; an :class:`InputError` when there are more values than a segment may have (each
    group is a full revenue computation) or the attribute is unknown."""
    values = [str(r[0]) for r in store.query(
        """SELECT DISTINCT "value" FROM customer_attributes WHERE "key" = $key AND "value" IS NOT NULL
           AND "value" <> '' ORDER BY 1""", {"key": attribute})]
    if not values:
        raise InputError(f"unknown --by {attribute!r}; known: {', '.join(known(store))}")
    most = max_segment_values()
    if len(values) > most:
        raise InputError(f"--by {attribute}: {attribute} has {len(values):,} values, more than the {most} a "
                         f"breakdown may have (KPI_MAX_SEGMENT_VALUES)")
    groups = [(v, v) for v in values]
    row = store.query("""SELECT count(*) FROM subscriptions WHERE customer_id NOT IN (SELECT customer_id FROM
        customer_attributes WHERE "key" = $key AND "value" IS NOT NULL AND "value" <> '')""", {"key": attribute})
    if row and row[0][0]:
        groups.append((NONE_GROUP, NO_VALUE))
    return sorted(groups)


def attributes(store: Store) -> list[str]:
    """The customer attributes with a value (``plan`` excluded: a breakdown of its own), sorted."""
    rows = store.query("""SELECT DISTINCT "key" FROM customer_attributes WHERE "value" IS NOT NULL AND "value" <> ''
                          AND "key" <> 'plan' ORDER BY 1""")
    return [str(r[0]) for r in rows]


def known(store: Store) -> list[str]:
    """Every ``--by`` name: the breakdowns of :data:`BREAKDOWNS`, then the customer attributes."""
    return [*BREAKDOWNS, *attributes(store)]


#: The KPIs a churn reason splits: a reason belongs to a customer who left.
BY_REASON = ("churned_customers", "churned_mrr")


def by_reason(store: Store, kpi_id: str, grain: str, *, start: date | None = None, end: date | None = None,
              segment: Segment | None = None) -> pd.DataFrame:
    """Churned customers or churned MRR by the cancellation reason of each churned customer
    (:func:`kpis.metrics.reasons.churn_by_reason`; no reason given: ``(none given)``), every reason given in the
    range in each period (0 where nobody left for it)."""
    if kpi_id not in BY_REASON:
        raise InputError(f"--by reason splits {' and '.join(BY_REASON)} (why a customer left), not {kpi_id}")
    frame = _spine(store, grain, start, end, segment)
    found = reasons.churn_by_reason(store, grain, start=start, end=end, segment=segment)
    if frame is None or found.empty:
        return _empty()
    grid = _grid(frame, sorted(set(found["group"])))
    values = grid.merge(found[["period_start", "group", kpi_id]], on=["period_start", "group"], how="left")[kpi_id]
    grid["value"] = values.astype("float64").fillna(0.0)
    return _from(grid, start, grain)


#: The breakdowns that are not a customer attribute: name -> function (:data:`Breakdown`).
BREAKDOWNS: dict[str, Breakdown] = {
    "plan": by_plan,
    "reason": by_reason,
}


def breakdown(store: Store, kpi_id: str, grain: str, by: str, *, start: date | None = None, end: date | None = None,
              segment: Segment | None = None) -> pd.DataFrame:
    """``kpi_id`` per group of ``by`` (:data:`BREAKDOWNS`, else a customer attribute), from the first period with
    revenue (or the one holding ``start``) to the as-of period (``end`` sets the as-of date): ``period_start,
    group, value, partial``."""
    kpi = _checked(kpi_id, grain)
    if by in BREAKDOWNS:
        return BREAKDOWNS[by](store, kpi.id, grain, start=start, end=end, segment=segment)
    return by_attribute(store, by, kpi.id, grain, start=start, end=end, segment=segment)


def _checked(kpi_id: str, grain: str) -> Kpi:
    kpi = KPIS.get(kpi_id)
    if kpi is None:
        raise InputError(f"unknown KPI {kpi_id!r}; known: {', '.join(KPIS)}")
    if grain not in kpi.grains:
        raise InputError(f"{kpi_id} exists at {', '.join(kpi.grains)} grain, not {grain}")
    if kpi.source != "revenue":
        raise InputError(f"--by breaks down revenue KPIs (groups are customers' attributes and plans); {kpi_id} is "
                         f"counted from events")
    return kpi


def _spine(store: Store, grain: str, start: date | None, end: date | None,
           segment: Segment | None, *, trials: bool = False) -> pd.DataFrame | None:
    """The periods of the revenue series (from the first paid day of ``segment``, or ``start`` when earlier, to the
    as-of date: :func:`kpis.metrics.revenue.revenue_table`'s), as a frame; with ``trials``, those of the trials'
    series, which start at the first trial when it comes before the first paid day
    (:func:`kpis.metrics.trials.trials_table`'s)."""
    if grain not in GRAINS:
        raise ValueError(f"unknown grain {grain!r}")
    revenue.check_currencies(store)
    as_of = end or revenue.revenue_as_of(store)
    firsts = [revenue.first_paid_day(store, segment)]
    if trials:
        firsts.append(first_trial_day(store, segment))
    known = [d for d in firsts if d is not None]
    if as_of is None or not known:
        return None
    first = min(known)
    periods = spine(min(first, start) if start else first, as_of, grain)
    if not periods:
        return None
    return pd.DataFrame({"period_start": [p.start for p in periods], "period_end": [p.end for p in periods],
                         "partial": [p.partial for p in periods]})


def _grid(frame: pd.DataFrame, groups: list[str]) -> pd.DataFrame:
    """One row per period and group, groups sorted by name within a period."""
    rows = [(p, g, partial) for p, partial in zip(frame["period_start"], frame["partial"], strict=True)
            for g in sorted(groups)]
    return pd.DataFrame(rows, columns=["period_start", "group", "partial"])


def _from(grid: pd.DataFrame, start: date | None, grain: str) -> pd.DataFrame:
    if start is not None:
        grid = grid[grid["period_start"] >= period_start(start, grain)]
    grid["partial"] = grid["partial"].astype(bool)
    return grid[COLUMNS].reset_index(drop=True)


def _empty() -> pd.DataFrame:
    return pd.DataFrame({"period_start": [], "group": [], "value": [], "partial": []})


#: The MRR bridge's movements by group (a breakdown by a customer attribute; a plan's MRR has no movements).
BRIDGE_COLUMNS = ("new_mrr", "expansion_mrr", "reactivation_mrr", "contraction_mrr", "churned_mrr")


def bridge_by_group(store: Store, grain: str, by: str, period: date, *, end: date | None = None,
                    segment: Segment | None = None) -> pd.DataFrame:
    """The MRR bridge of ``period`` per group of ``by``: ``group``, ``mrr_start`` (MRR at the end of the period
    before), the five movements (undefined by plan: movements are a customer's), ``net_new_mrr``, ``mrr_end``;
    one row per group, sorted by name. The groups' rows add up to the bridge of everyone."""
    mrr = breakdown(store, "mrr", grain, by, end=end, segment=segment)
    starts = sorted(set(mrr["period_start"]))
    if period not in starts:
        return pd.DataFrame(columns=["group", "mrr_start", *BRIDGE_COLUMNS, "net_new_mrr", "mrr_end"])
    index = starts.index(period)
    at_end = _values_at(mrr, period)
    at_start = _values_at(mrr, starts[index - 1]) if index else {g: 0.0 for g in at_end}
    rows = pd.DataFrame({"group": sorted(at_end)})
    rows["mrr_start"] = rows["group"].map(at_start).astype("float64")
    for column in BRIDGE_COLUMNS:
        if by in BREAKDOWNS:
            rows[column] = float("nan")
        else:
            moved = _values_at(breakdown(store, column, grain, by, end=end, segment=segment), period)
            rows[column] = rows["group"].map(moved).astype("float64")
    rows["mrr_end"] = rows["group"].map(at_end).astype("float64")
    rows["net_new_mrr"] = rows["mrr_end"] - rows["mrr_start"]
    return rows[["group", "mrr_start", *BRIDGE_COLUMNS, "net_new_mrr", "mrr_end"]]


def _values_at(table: pd.DataFrame, period: date) -> dict[str, float]:
    rows = table[table["period_start"] == period]
    return {str(g): float(v) for g, v in zip(rows["group"], rows["value"], strict=True)}
