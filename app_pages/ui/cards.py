"""The scorecard tiles: a KPI's last complete period, its change, a sparkline, the running period, and under it
its target and an anomaly flag when it has them; :func:`kpi_grid` lays them out in rows."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import pandas as pd
import streamlit as st

from app_pages.ui import format as fmt
from app_pages.ui.series import shown_from
from app_pages.ui.text import plain
from kpis.core import formatting as kformat
from kpis.core.registry import Kpi
from kpis.metrics import warmup
from kpis.plan import anomalies as anomalies_module
from kpis.plan.scorecard import Comparison, compare, headline_row


def kpi_card(kpi: Kpi, table: pd.DataFrame, grain: str, against: str, *, shown_from_day: object = None,
             label: str | None = None, data_start: date | None = None, period: date | None = None) -> None:
    """One scorecard tile: the value of the last complete period, its change against the previous period (or
    the same period a year ago), a sparkline, and the running period marked partial.

    ``table`` is the KPI's series (``period_start``, ``value``, ``partial``) over its whole history, so that a
    year-ago comparison works even when the sparkline starts later (``shown_from_day``). A period that starts
    before ``data_start`` (the source's first day with data) is never compared with. ``period``: the period the
    headline shows (:func:`last_complete`), else the table's last complete one.
    """
    headline = compare(table, grain, against, data_start=data_start, period=period)
    other = compare(table, grain, "previous" if against == "year_ago" else "year_ago", data_start=data_start,
                    period=period)
    shown = shown_from(table, shown_from_day, grain) if shown_from_day is not None else table
    warming = warmup.flags(kpi, shown["period_start"], grain, data_start)
    # st.metric's sparkline takes numbers only: undefined periods and periods warming up are left out (never drawn
    # as zero, never as a ramp that only says the data is young)
    spark = [round(float(v), 6) for v, w in zip(shown["value"], warming, strict=True) if fmt.finite(v) and not w]
    word = "a year ago" if against == "year_ago" else "prev."
    warm = warming_text(kpi, grain, data_start, headline.period, headline.reference_period)
    change = float("nan") if warm else headline.change
    delta = fmt.kpi_delta(kpi, change)
    zero = fmt.is_zero(delta)
    st.metric(
        label or kpi.label,
        fmt.value(kpi, headline.value),
        delta=delta,
        delta_color="off" if zero else ("normal" if kpi.higher_is_better else "inverse"),
        delta_arrow="off" if zero else "auto",
        delta_description=_delta_description(kpi, headline, word, warm),
        chart_data=spark if len(spark) > 1 else None,
        help=f"{kpi.definition} Value of the last complete period ({fmt.period(headline.period, grain)}), "
             f"compared with {fmt.period(headline.reference_period, grain)}." + (f" {warm}" if warm else ""),
        border=True,
    )
    notes = [fmt.period(headline.period, grain)]
    other_word = "vs a year ago" if against == "previous" else "vs previous"
    if (other.reference_period is not None and fmt.finite(other.change)
            and not warming_text(kpi, grain, data_start, other.period, other.reference_period)):
        notes.append(f"{other_word}: {fmt.kpi_delta(kpi, other.change)}")
    if headline.running_period is not None:
        notes.append(f"running {fmt.period(headline.running_period, grain)}: "
                     f"{fmt.value(kpi, headline.running_value)} (partial)")
    st.caption(plain(" · ".join(notes)))


def warming_text(kpi: Kpi, grain: str, first: date | None, *periods: object) -> str | None:
    """Why a tile does not compare: a sentence when one of ``periods`` warms up (:mod:`kpis.metrics.warmup`).

    None when none does.
    """
    if first is None or not any(warmup.period_warming_up(kpi, p, grain, first) for p in periods if p is not None):
        return None
    return f"Warming up, so not compared: {warmup.reason(kpi, first)}"


def _delta_description(kpi: Kpi, headline: Comparison, word: str, warm: str | None) -> str:
    """What the tile's change is against, or why there is none: warming up; an unbounded ratio (the quick ratio
    of a period that lost nothing); nothing to compare with."""
    if warm:
        return "warming up"
    if kpi.undefined_means and not fmt.finite(headline.value):
        return "the ratio is unbounded"
    if kpi.undefined_means and not fmt.finite(headline.reference):
        return f"{word}: {kpi.undefined_means}"
    return f"vs {word}" if fmt.finite(headline.change) else "nothing to compare with"




def range_text(kpi: Kpi, low: object, high: object) -> str:
    """``$127.2k to $136.9k``, ``194 to 200``: :func:`kpis.core.formatting.range_text`, the review's own (within
    what the KPI can take, counts in whole numbers)."""
    return kformat.range_text(kpi, low, high, fmt.currency_symbol())


def method_text(grain: str) -> str:
    """How the usual range is found, in a clause for the flag's help and note."""
    return (f"the trend line of up to {anomalies_module.WINDOW} {grain}s before (periods warming up left out), "
            f"± {anomalies_module.WIDTH:g} prediction standard errors, and at least "
            f"{anomalies_module.MIN_SHARE:.0%} of the KPI's usual size ({anomalies_module.MIN_POINTS * 100:g} "
            "percentage point for a rate)")


def anomaly_caption(kpi: Kpi, flag: Mapping[str, object], grain: str) -> None:
    """The short flag under a tile, with the usual range and the method in its help."""
    st.caption(f":orange[:material/warning: unusual: {flag['direction']} its usual range]",
               help=f"{kpi.label} in {fmt.period(flag['period_start'], grain)} was "  # type: ignore[arg-type]
                    f"{fmt.value(kpi, flag['value'])}, {flag['direction']} its usual range of "
                    f"{range_text(kpi, flag['low'], flag['high'])}: {method_text(grain)}.")


def target_caption(kpi: Kpi, row: Mapping[str, object]) -> None:
    """``Target Q4 2026: $170.0k · 96% · at risk (projected)`` under a tile, the status in its colour."""
    status = "" if fmt.undefined(row.get("status")) else str(row.get("status"))
    colour = {"on track": "green", "at risk": "orange", "off track": "red"}.get(status, "gray")
    paced = bool(row.get("projected")) and kpi.unit != "ratio"
    share = fmt.percent(row.get("attainment"), 0)
    label = f"{status} ({'projected' if paced else 'so far'})" if status and row.get("partial") else status
    st.caption(plain(f"Target {fmt.period(row['period_start'], str(row['grain']))}: "  # type: ignore[arg-type]
                                f"{fmt.value(kpi, row['target'])} · {share}")
               + (f" · :{colour}[{plain(label)}]" if label else ""))


def kpi_grid(cards: list[tuple[Kpi, pd.DataFrame, str]], against: str, *, per_row: int = 4,
             shown_from_day: object = None, data_start: Mapping[str, date | None] | None = None,
             period: date | None = None, periods: Mapping[str, date] | None = None,
             flags: Mapping[str, Mapping[str, object]] | None = None,
             targets: Mapping[str, Mapping[str, object]] | None = None) -> None:
    """Scorecard tiles (KPI, its series, its grain) in rows of ``per_row``; ``data_start``: the first day with
    data per source (``revenue``, ``engagement``); ``period``: the period every headline shows, or ``periods``:
    the period each KPI's headline shows (else its table's last complete one). Under a tile, its target and
    status (``targets``: :func:`app_pages.ui.plan.tile_targets`) and its anomaly flag (``flags``) when its
    headline period is unusual."""
    for offset in range(0, len(cards), per_row):
        columns = st.columns(per_row)
        for column, (kpi, table, grain) in zip(columns, cards[offset:offset + per_row], strict=False):
            with column:
                shown = (periods or {}).get(kpi.id, period)
                kpi_card(kpi, table, grain, against, shown_from_day=shown_from_day,
                         data_start=(data_start or {}).get(kpi.source), period=shown)
                if targets and kpi.id in targets:
                    target_caption(kpi, targets[kpi.id])
                flag = (flags or {}).get(kpi.id)
                if flag is not None and _flags_headline(table, shown, flag):
                    anomaly_caption(kpi, flag, grain)


def _flags_headline(table: pd.DataFrame, period: date | None, flag: Mapping[str, object]) -> bool:
    """Whether an anomaly ``flag`` is about the period the tile's headline shows."""
    at = headline_row(table, period)
    if at is None:
        return False
    return pd.Timestamp(table["period_start"].iloc[at]) == pd.Timestamp(flag["period_start"])  # type: ignore[arg-type]
